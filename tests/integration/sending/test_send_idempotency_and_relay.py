"""Idempotency-Key semantics, and the Post SMTP relay route."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from sqlalchemy import select

from gmail_oneclick.adapters.storage.tables import idempotency_keys
from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.sending.conftest import b64url, link_account, make_message

KEY = {"Idempotency-Key": "order-1234-confirmation"}


def test_repeat_with_same_key_returns_first_result_and_sends_nothing(
        post: Any, alice: Any, gmail: GmailSandbox):
    raw = make_message()
    first = post(raw, headers=KEY)
    second = post(raw, headers=KEY)
    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    assert gmail.sent_count() == 1 and gmail.send_requests == 1


def test_only_hashes_and_gmail_ids_are_kept(post: Any, container: Any, alice: Any):
    raw = make_message()
    gmail_id = post(raw, headers=KEY).get_json()["id"]
    with container.uow() as uow:
        rows = uow.conn.execute(select(idempotency_keys)).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["key_hash"] == hashlib.sha256(KEY["Idempotency-Key"].encode()).hexdigest()
    assert row["gmail_id"] == gmail_id and row["state"] == "done"
    assert KEY["Idempotency-Key"] not in str(dict(row))


def test_different_keys_send_twice(post: Any, alice: Any, gmail: GmailSandbox):
    raw = make_message()
    post(raw, headers={"Idempotency-Key": "a"})
    post(raw, headers={"Idempotency-Key": "b"})
    assert gmail.sent_count() == 2


def test_key_reused_for_another_message_is_refused(post: Any, alice: Any, gmail: GmailSandbox):
    post(make_message(subject="one"), headers=KEY)
    response = post(make_message(subject="two"), headers=KEY)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert gmail.sent_count() == 1


def test_failed_send_frees_the_key_for_a_retry(post: Any, alice: Any, gmail: GmailSandbox):
    gmail.inject_fault("429")
    raw = make_message()
    assert post(raw, headers=KEY).status_code == 429
    assert post(raw, headers=KEY).status_code == 200
    assert gmail.sent_count() == 1


def test_key_expires_after_a_day(post: Any, container: Any, alice: Any, gmail: GmailSandbox):
    from datetime import timedelta

    raw = make_message()
    post(raw, headers=KEY)
    with container.uow() as uow:
        uow.conn.execute(idempotency_keys.update().values(
            created_at=container.clock.now() - timedelta(hours=24, seconds=1)))
        uow.commit()
    assert post(raw, headers=KEY).status_code == 200
    assert gmail.sent_count() == 2


def test_concurrent_duplicate_is_told_and_never_sends_twice(
        app: Any, site: Any, alice: Any, gmail: GmailSandbox):
    gmail.slow_seconds = 1.5
    gmail.inject_fault("slow")
    raw = make_message()
    results: dict[str, Any] = {}

    def first() -> None:
        results["first"] = app.test_client().post(
            "/v1/messages", json={"raw": b64url(raw)}, headers={**site.auth, **KEY})

    thread = threading.Thread(target=first)
    thread.start()
    while gmail.send_requests == 0:  # the first send has reached Gmail and hangs there
        threading.Event().wait(0.01)
    duplicate = app.test_client().post("/v1/messages", json={"raw": b64url(raw)},
                                       headers={**site.auth, **KEY})
    thread.join(30)
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["code"] == "idempotency_in_progress"
    # The real wait: by the end of the first send's lease (300 s by default) it has an outcome.
    assert 295 <= int(duplicate.headers["Retry-After"]) <= 300
    assert results["first"].status_code == 200
    again = app.test_client().post("/v1/messages", json={"raw": b64url(raw)},
                                   headers={**site.auth, **KEY})
    assert again.get_json() == results["first"].get_json()
    assert gmail.sent_count() == 1


# -- Post SMTP ---------------------------------------------------------------------------------
RELAY = "/wp-json/gmail-oauth/v1/send-email"


def _relay_body(raw: bytes, **extra: Any) -> dict[str, Any]:
    head = raw.split(b"\n\n", 1)[0].decode()
    return {"message": b64url(raw), "headers": head, "site_url": "https://blog.example.com",
            **extra}


def test_post_smtp_relay_sends_and_answers_its_shape(client: Any, site: Any, alice: Any,
                                                    gmail: GmailSandbox):
    raw = make_message()
    response = client.post(RELAY, json=_relay_body(raw), headers=site.auth)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert set(data) == {"id", "threadId"}
    assert gmail.sent_by_id(data["id"]).raw == raw


def test_post_smtp_gmail_email_picks_the_connection(client: Any, container: Any, sandbox: Any,
                                                   site: Any, alice: Any, gmail: GmailSandbox):
    link_account(container, sandbox, site.id, "bob@example.com")
    raw = make_message(sender="wordpress@blog.example.com")
    response = client.post(RELAY, json=_relay_body(raw, gmail_email="bob@example.com"),
                           headers=site.auth)
    assert response.status_code == 200
    assert gmail.sent_by_id(response.get_json()["data"]["id"]).email == "bob@example.com"


def test_post_smtp_errors_have_its_shape(client: Any, site: Any, alice: Any,
                                         gmail: GmailSandbox):
    bad = client.post(RELAY, json={"message": "!!!", "headers": "", "site_url": "x"},
                      headers=site.auth)
    assert bad.status_code == 400
    assert bad.get_json() == {"error": True, "code": "invalid_message",
                              "message": bad.get_json()["message"]}
    gmail.inject_fault("429")
    limited = client.post(RELAY, json=_relay_body(make_message()), headers=site.auth)
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    assert limited.get_json()["error"] is True and "Retry-After" in limited.headers
    unauth = client.post(RELAY, json=_relay_body(make_message()))
    assert unauth.status_code == 401 and unauth.get_json()["error"] is True


def test_repeat_after_the_connection_was_purged_still_returns_the_first_result(
        post: Any, container: Any, alice: Any, gmail: GmailSandbox):
    from gmail_oneclick.domain.events import ConnectionRevoked
    from gmail_oneclick.domain.model import RevocationReason
    from gmail_oneclick.services import handlers

    raw = make_message()
    first = post(raw, headers=KEY)
    with container.uow() as uow:
        connection = uow.connections.get(alice.id)
        uow.record(ConnectionRevoked.of(connection, RevocationReason.DISCONNECTED, trigger="test"))
        handlers.commit(uow, container.clock)
    again = post(raw, headers=KEY)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    fresh = post(raw, headers={"Idempotency-Key": "another"})
    assert fresh.get_json()["error"]["code"] == "reconnect_required"
    assert gmail.sent_count() == 1


def test_refused_send_leaves_no_pending_key(post: Any, container: Any, site: Any,
                                            gmail: GmailSandbox):
    assert post(make_message(), headers=KEY).get_json()["error"]["code"] == "connection_required"
    with container.uow() as uow:
        assert uow.idempotency.get(site.id, hashlib.sha256(b"order-1234-confirmation")
                                   .hexdigest()) is None
