"""POST /v1/messages end to end: the service (Flask test client) over real HTTP to the sandbox."""

from __future__ import annotations

from typing import Any

from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.sending.conftest import b64url, link_account, make_message


def test_json_raw_is_sent_and_gmail_ids_returned(post: Any, alice: Any, gmail: GmailSandbox):
    raw = make_message()
    response = post(raw)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["connection_id"] == alice.id
    sent = gmail.sent_by_id(body["id"])
    assert sent is not None and sent.thread_id == body["thread_id"]
    assert sent.raw == raw and sent.email == "alice@example.com" and sent.path == "json"


def test_padded_base64url_is_accepted(client: Any, site: Any, alice: Any, gmail: GmailSandbox):
    import base64

    raw = make_message(body="x" * 7)
    padded = base64.urlsafe_b64encode(raw).decode()
    response = client.post("/v1/messages", json={"raw": padded}, headers=site.auth)
    assert response.status_code == 200
    assert gmail.sent_by_id(response.get_json()["id"]).raw == raw


def test_rfc822_body_is_sent_byte_identical(client: Any, site: Any, alice: Any,
                                            gmail: GmailSandbox):
    raw = make_message(body="line one\r\nline two\r\n")
    response = client.post("/v1/messages", data=raw, headers={
        **site.auth, "Content-Type": "message/rfc822"})
    assert response.status_code == 200, response.get_json()
    assert gmail.sent_by_id(response.get_json()["id"]).raw == raw


def test_connection_is_chosen_by_from_address_case_insensitively(
        post: Any, container: Any, sandbox: Any, site: Any, alice: Any, gmail: GmailSandbox):
    bob = link_account(container, sandbox, site.id, "bob@example.com")
    response = post(make_message(sender='"Bob" <BOB@Example.com>'))
    assert response.status_code == 200
    assert response.get_json()["connection_id"] == bob.id
    assert gmail.sent_by_id(response.get_json()["id"]).email == "bob@example.com"


def test_explicit_connection_id_wins_over_from(post: Any, container: Any, sandbox: Any,
                                               site: Any, alice: Any, gmail: GmailSandbox):
    link_account(container, sandbox, site.id, "bob@example.com")
    response = post(make_message(sender="bob@example.com"), connection_id=alice.id)
    assert response.status_code == 200
    assert gmail.sent_by_id(response.get_json()["id"]).email == "alice@example.com"


def test_only_connection_sends_an_alias_from(post: Any, alice: Any, gmail: GmailSandbox):
    """A send-as alias cannot be listed with gmail.send alone, so it is not rejected."""
    response = post(make_message(sender="newsletter@alias.example.org"))
    assert response.status_code == 200
    assert response.get_json()["connection_id"] == alice.id


def test_from_matching_none_of_several_connections_names_them(
        post: Any, container: Any, sandbox: Any, site: Any, alice: Any, gmail: GmailSandbox):
    link_account(container, sandbox, site.id, "bob@example.com")
    response = post(make_message(sender="someone@else.example"))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "connection_required"
    assert "alice@example.com" in error["message"] and "bob@example.com" in error["message"]
    assert gmail.send_requests == 0


def test_site_without_connection_is_told_so(post: Any, site: Any, gmail: GmailSandbox):
    response = post(make_message())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "connection_required"
    assert gmail.send_requests == 0


def test_connection_of_another_site_is_not_found(post: Any, container: Any, sandbox: Any,
                                                 gmail: GmailSandbox, site: Any):
    from tests.conftest import register_site

    other = register_site(container, name="Other", origin="https://other.example.com")
    theirs = link_account(container, sandbox, other.id, "bob@example.com")
    response = post(make_message(), connection_id=theirs.id)
    assert response.status_code == 404
    assert gmail.send_requests == 0


def test_unknown_api_key_is_unauthorized(client: Any, alice: Any, gmail: GmailSandbox):
    response = client.post("/v1/messages", json={"raw": b64url(make_message())},
                           headers={"Authorization": "Bearer goc_wrong"})
    assert response.status_code == 401
    assert gmail.send_requests == 0


def test_audit_record_has_counts_and_gmail_id_only(post: Any, container: Any, alice: Any):
    raw = make_message(to="a@x.example, b@x.example", cc="c@x.example", bcc="d@x.example")
    response = post(raw)
    assert response.status_code == 200
    with container.uow() as uow:
        events = [e for e in uow.audit.for_connection(alice.id) if e["type"] == "message:sent"]
    assert len(events) == 1
    assert events[0]["data"] == {"outcome": "sent", "gmail_id": response.get_json()["id"],
                                 "recipients": 4, "size": len(raw)}


def test_reconnect_required_connection_is_refused_before_upstream(
        post: Any, container: Any, alice: Any, gmail: GmailSandbox):
    from gmail_oneclick.domain.events import ConnectionRevoked
    from gmail_oneclick.domain.model import RevocationReason
    from gmail_oneclick.services import handlers

    with container.uow() as uow:
        connection = uow.connections.get(alice.id)
        uow.record(ConnectionRevoked.of(connection, RevocationReason.DISCONNECTED, trigger="test"))
        handlers.commit(uow, container.clock)
    response = post(make_message())
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reconnect_required"
    assert gmail.send_requests == 0


def test_connection_without_gmail_send_scope_is_scope_missing(
        post: Any, container: Any, sandbox: Any, site: Any, gmail: GmailSandbox):
    link_account(container, sandbox, site.id, "carol@example.org", gmail_send=False)
    response = post(make_message(sender="carol@example.org"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "scope_missing"
    assert gmail.send_requests == 0


def test_account_without_gmail_gets_mail_service_not_enabled(
        post: Any, container: Any, sandbox: Any, site: Any, gmail: GmailSandbox):
    link_account(container, sandbox, site.id, "nogmail@example.com")
    response = post(make_message(sender="nogmail@example.com"))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "mail_service_not_enabled" and "Gmail" in error["message"]
    assert gmail.sent_count() == 0


def test_scope_revoked_at_google_surfaces_as_scope_missing(
        post: Any, container: Any, sandbox: Any, site: Any, gmail: GmailSandbox):
    """Our record says gmail.send, Google's token says otherwise: Gmail's 403 is the truth."""
    from gmail_oneclick.domain.model import REQUIRED_SCOPES

    link_account(container, sandbox, site.id, "carol@example.org", gmail_send=False,
                 stored_scopes=frozenset(REQUIRED_SCOPES))
    response = post(make_message(sender="carol@example.org"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "scope_missing"


def test_domain_policy_refusal_has_its_own_code(post: Any, alice: Any, gmail: GmailSandbox):
    gmail.inject_fault("domain_policy")
    response = post(make_message())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "gmail_permission_denied"


def test_sent_page_lists_ids_counts_and_sizes_but_no_content(
        post: Any, sandbox: Any, alice: Any):
    import requests

    raw = make_message(to="pagecheck-recipient@example.net", subject="PAGE-SUBJECT-CANARY")
    gmail_id = post(raw).get_json()["id"]
    page = requests.get(f"{sandbox.url}/_sandbox/gmail/sent", timeout=5)
    assert page.status_code == 200
    assert gmail_id in page.text and str(len(raw)) in page.text
    assert "PAGE-SUBJECT-CANARY" not in page.text
    assert "pagecheck-recipient" not in page.text
