"""Large messages through the upload endpoint over plain HTTP, and the content canary scan."""

from __future__ import annotations

import base64
import io
import logging
import os
import tracemalloc
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from gmail_oneclick.adapters.google.gmail import GmailApiClient
from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.dbscan import database_bytes
from tests.integration.sending.conftest import make_message

MB = 1024 * 1024
T = TypeVar("T")


def _big_message(size: int) -> bytes:
    head = make_message(body="see attachment\n")
    return head + os.urandom(size // 2).hex().encode()[: size - len(head)]


def test_30mb_rfc822_message_arrives_byte_identical_via_resumable_upload(
        client: Any, site: Any, alice: Any, gmail: GmailSandbox, settings: Any):
    assert settings.gmail_api_endpoint.startswith("http://127.0.0.1")  # plain HTTP on purpose
    raw = _big_message(30 * MB)
    response = client.post("/v1/messages", data=raw,
                           headers={**site.auth, "Content-Type": "message/rfc822"})
    assert response.status_code == 200, response.get_json()
    sent = gmail.sent_by_id(response.get_json()["id"])
    assert sent.path == "resumable" and sent.size == len(raw)
    assert sent.raw == raw


def test_6mb_json_message_goes_through_media_upload(post: Any, alice: Any,
                                                    gmail: GmailSandbox):
    raw = _big_message(6 * MB)
    response = post(raw)
    assert response.status_code == 200, response.get_json()
    sent = gmail.sent_by_id(response.get_json()["id"])
    assert sent.path == "media" and sent.raw == raw


def test_small_messages_use_the_json_endpoint(post: Any, alice: Any, gmail: GmailSandbox):
    response = post(make_message())
    assert gmail.sent_by_id(response.get_json()["id"]).path == "json"


def test_upload_uri_keeps_the_configured_scheme_host_and_prefix(settings: Any):
    client = GmailApiClient(settings.replace(gmail_api_endpoint="http://127.0.0.1:9/g/"))
    fixed = client._fix_upload_uri(
        "https://127.0.0.1:9/upload/gmail/v1/users/me/messages/send?uploadType=media&alt=json")
    assert fixed == ("http://127.0.0.1:9/g/upload/gmail/v1/users/me/messages/send"
                     "?uploadType=media&alt=json")


def test_sandbox_rejects_json_raw_above_its_limit_like_google(settings: Any, alice: Any,
                                                              container: Any, gmail: GmailSandbox):
    """Why large messages must use the upload path: Gmail answers 413 to big JSON bodies."""
    from gmail_oneclick.ports import GmailRejected
    from gmail_oneclick.services import tokens

    token = tokens.access_token(container.uow, container.google, container.clock, alice.id)
    forced_json = GmailApiClient(settings.replace(gmail_upload_threshold=64 * MB))
    raw = _big_message(6 * MB)
    with pytest.raises(GmailRejected) as caught:
        forced_json.send(token, io.BytesIO(raw), len(raw))
    assert caught.value.status == 413


def _container_on(settings: Any, info: dict[str, Any]) -> Any:
    """A container whose Google is the remote sandbox ``info`` describes."""
    from gmail_oneclick.bootstrap import build
    from gmail_oneclick.sandbox import sandbox_urls

    return build(settings.replace(google_client_id=info["client_id"],
                                  google_client_secret=info["client_secret"],
                                  **sandbox_urls(info["url"])))


def _connect_alice(container: Any, site_id: str, tokens: dict[str, str]) -> None:
    """alice@example.com connected to the site, holding the remote sandbox's ``tokens``."""
    from datetime import timedelta

    from gmail_oneclick.domain.ids import new_id
    from gmail_oneclick.domain.model import (
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        REQUIRED_SCOPES,
        Connection,
        Status,
        connection_owner,
    )

    now = container.clock.now()
    connection = Connection(
        id=new_id("conn"), site_id=site_id, google_sub="1", email="alice@example.com",
        status=Status.CONNECTED, scopes=frozenset(REQUIRED_SCOPES), created_at=now,
        last_verified_at=None, revoked_at=None, revocation_reason=None,
        access_token_expires_at=now + timedelta(minutes=30))
    with container.uow() as uow:
        uow.connections.add(connection)
        for purpose in (ACCESS_TOKEN, REFRESH_TOKEN):
            uow.tokens.put(connection_owner(connection.id), purpose, tokens[purpose].encode())
        uow.commit()


def _peak_memory_of(call: Callable[[], T]) -> tuple[T, int]:
    """What ``call()`` returns, and the peak of Python's allocations in this process meanwhile."""
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _peak_of_a_30mb_send(settings: Any, kind: str) -> tuple[int, int]:
    """(peak of Python's allocations in this process during one 30 MB send as ``kind``, the
    message's size). Measured in this process only: the sandbox runs in another (it keeps its
    own copies), and the request body is built before measuring (the client's share)."""
    from gmail_oneclick.entrypoints.web import create_app_from_container
    from tests.conftest import register_site
    from tests.integration.sending.remote_sandbox import RemoteSandbox

    remote = RemoteSandbox()
    try:
        container = _container_on(settings, remote.info)
        site = register_site(container)
        _connect_alice(container, site.id, remote.info["tokens"])
        client = create_app_from_container(container).test_client()
        raw = _big_message(30 * MB)
        data, media_type = raw, "message/rfc822"
        if kind == "json":
            data = b'{"raw": "%s"}' % base64.urlsafe_b64encode(raw).rstrip(b"=")
            media_type = "application/json"
        response, peak = _peak_memory_of(lambda: client.post(
            "/v1/messages", data=data, headers={**site.auth, "Content-Type": media_type}))
        container.engine.dispose()
    finally:
        remote.close()
    assert response.status_code == 200, response.get_json()
    return peak, len(raw)


def test_30mb_message_costs_a_small_multiple_of_its_size(settings: Any):
    peak, size = _peak_of_a_30mb_send(settings, "rfc822")
    assert peak < 3 * size, f"peak {peak / MB:.0f} MB for a {size / MB:.0f} MB message"


def test_30mb_json_message_is_decoded_as_it_streams(settings: Any):
    """Its base64 (a third larger) is never held whole beside the decoded message."""
    peak, size = _peak_of_a_30mb_send(settings, "json")
    assert peak < 2 * size, f"peak {peak / MB:.0f} MB for a {size / MB:.0f} MB message"


# -- canaries ------------------------------------------------------------------------------------
CANARIES = {
    "subject": "CANARY-SUBJECT-7f3a9c",
    "to": "canary-to-51be2d@example.net",
    "cc": "canary-cc-9a0c44@example.net",
    "bcc": "canary-bcc-e61f08@example.net",
    "body": "CANARY-BODY-2b7d15",
    "attachment": "CANARY-ATTACHMENT-c84e3f",
}


def test_no_canary_reaches_logs_or_the_database(
        client: Any, site: Any, alice: Any, gmail: GmailSandbox, container: Any,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], sandbox: Any):
    from gmail_oneclick.observability.logs import configure_logging

    configure_logging("DEBUG")  # the JSON handler on stderr, and everything at DEBUG
    caplog.set_level(logging.DEBUG)
    raw = make_message(
        subject=CANARIES["subject"], to=CANARIES["to"], cc=CANARIES["cc"], bcc=CANARIES["bcc"],
        body=CANARIES["body"], attachment=CANARIES["attachment"].encode() * 3,
    )
    ok = client.post("/v1/messages", data=raw, headers={**site.auth,
                     "Content-Type": "message/rfc822", "Idempotency-Key": "canary-key"})
    assert ok.status_code == 200
    gmail.inject_fault("429")  # a failure path logs too
    client.post("/v1/messages", data=raw, headers={**site.auth, "Content-Type": "message/rfc822"})
    sandbox.state.revoke_grant("alice@example.com")  # and a purge
    client.post("/v1/messages", data=raw, headers={**site.auth, "Content-Type": "message/rfc822"})
    assert gmail.sent_by_id(ok.get_json()["id"]).raw == raw  # the canaries did go out
    out, err = capfd.readouterr()
    logged = caplog.text + out + err + "".join(repr(r.__dict__) for r in caplog.records)
    assert "message sent" in logged  # the log lines were captured, so the scan means something
    database = database_bytes(container.engine)
    assert alice.id.encode() in database  # the scan sees the rows
    for part, canary in CANARIES.items():
        assert canary not in logged, f"{part} canary in logs"
        assert canary.encode() not in database, f"{part} canary in the database"
        assert canary.encode().hex().encode() not in database
