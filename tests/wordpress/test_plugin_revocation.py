"""Revoked Google access: wp_mail() fails with the reason, the webhook raises the admin notice,
and forged, stale or replayed webhooks are refused."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from standardwebhooks import Webhook

from tests.wordpress.conftest import WEBHOOK_ROUTE, Service
from tests.wordpress.plugin_flow import connect, settings_page, texts, wp_mail

NOTICE = "gmail-oneclick-revoked-notice"
REASON_WORDS = {
    # Google's "Remove access" reaches the service as a RISC event, or as invalid_grant.
    "risc_tokens_revoked": "the account owner removed this site’s access in their Google Account",
    "invalid_grant": "Google no longer accepts the permission: it was removed, expired or the "
                     "password changed",
}


def _connected(service: Service, email: str = "alice@example.com") -> tuple[str, requests.Session]:
    session = service.wordpress.login()
    connection_id, _ = connect(service, session, email)
    return connection_id, session


def _dashboard_notices(service: Service, session: requests.Session) -> list[str]:
    page = session.get(service.wordpress.admin_url("index.php"), timeout=30)
    assert page.status_code == 200
    return texts(page.text, NOTICE)


def test_removed_access_fails_wp_mail_with_reconnect_required(service: Service) -> None:
    _connected(service)
    service.sandbox.remove_access("alice@example.com")
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body", "From: alice@example.com")
    assert result.sent is False
    assert result.error_code == "reconnect_required"
    assert result.error_message == (
        "Gmail access was removed for alice@example.com. Reconnect it in Settings → Gmail "
        f"one-click: {service.wordpress.admin_url('options-general.php?page=gmail-oneclick')}")
    assert service.gmail.sent == []


def test_the_revoked_webhook_raises_a_notice_on_every_admin_screen(service: Service) -> None:
    _, session = _connected(service)
    assert service.deliver_webhooks()["delivered"] == 1  # connection.connected
    assert _dashboard_notices(service, session) == []
    service.sandbox.remove_access("alice@example.com")
    assert wp_mail(service.wordpress, "a@example.org", "Hi", "b", "From: alice@example.com"
                   ).error_code == "reconnect_required"
    assert service.deliver_webhooks()["delivered"] == 1
    notices = _dashboard_notices(service, session)
    assert len(notices) == 1
    reason = service.connections()[0]["revocation_reason"]
    assert notices[0].startswith(
        f"Gmail access for alice@example.com was removed ({REASON_WORDS[reason]}). Mail from "
        "this site will fail until you reconnect.")
    assert "Reconnect" in notices[0]
    page = session.get(service.wordpress.admin_url("index.php"), timeout=30).text
    assert 'name="action" value="gmail_oneclick_connect"' in page
    # Not for someone who cannot act on it.
    user = "author" + secrets.token_hex(4)
    author = service.wordpress.login(user, service.wordpress.add_user(user, "author"))
    assert _dashboard_notices(service, author) == []


def _signed(service: Service, event: dict[str, Any], *, at: datetime | None = None,
            msg_id: str | None = None, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":"))
    msg_id = msg_id or "msg_" + secrets.token_hex(8)
    at = at or datetime.now(UTC)
    signature = Webhook(secret or service.site.webhook_secret).sign(msg_id, at, body)
    return body.encode(), {"Content-Type": "application/json", "webhook-id": msg_id,
                           "webhook-timestamp": str(int(at.timestamp())),
                           "webhook-signature": signature}


def _post(service: Service, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(service.wordpress.url + WEBHOOK_ROUTE, data=body, headers=headers,
                         timeout=30)


REVOKED: dict[str, Any] = {"type": "connection.revoked", "timestamp": "2026-01-01T00:00:00Z",
           "data": {"connection_id": "conn_abcdefghijklmnop", "email": "eve@example.com",
                    "reason": "risc_account_disabled"}}


def _revoked_ids(service: Service) -> list[str]:
    out = service.wordpress.php(
        "echo json_encode(array_keys(get_option('gmail_oneclick_revoked', [])));").stdout
    return list(json.loads(out))


def test_a_signed_webhook_is_applied_once_and_its_replay_refused(service: Service) -> None:
    body, headers = _signed(service, REVOKED)
    first = _post(service, body, headers)
    assert first.status_code == 200, first.text
    assert _revoked_ids(service) == ["conn_abcdefghijklmnop"]
    again = _post(service, body, headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "replayed"


def test_a_bad_signature_is_refused(service: Service) -> None:
    body, headers = _signed(service, REVOKED, secret="whsec_" + "QUJD" * 8)
    response = _post(service, body, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    body, headers = _signed(service, REVOKED)
    tampered = body.replace(b"risc_account_disabled", b"disconnected")
    assert _post(service, tampered, headers).status_code == 401
    assert _revoked_ids(service) == []


def test_an_old_or_future_timestamp_is_refused(service: Service) -> None:
    for offset in (timedelta(minutes=-6), timedelta(minutes=6)):
        body, headers = _signed(service, REVOKED, at=datetime.now(UTC) + offset)
        response = _post(service, body, headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "timestamp_out_of_range"
    assert _revoked_ids(service) == []


def test_missing_headers_are_refused(service: Service) -> None:
    body, headers = _signed(service, REVOKED)
    del headers["webhook-id"]
    response = _post(service, body, headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_webhook"


def test_connected_webhook_clears_the_notice(service: Service) -> None:
    assert _post(service, *_signed(service, REVOKED)).status_code == 200
    connected = {**REVOKED, "type": "connection.connected",
                 "data": {**REVOKED["data"], "reason": None}}
    assert _post(service, *_signed(service, connected)).status_code == 200
    assert _revoked_ids(service) == []
    session = service.wordpress.login()
    assert texts(settings_page(service.wordpress, session), NOTICE) == []
