"""Cross-Account Protection: Security Event Tokens pushed by the sandbox over real HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from gmail_oneclick.adapters.google.risc import REFETCH_INTERVAL, JwksCache, RiscVerifier
from gmail_oneclick.adapters.storage.tables import risc_events
from gmail_oneclick.domain.model import Status
from gmail_oneclick.domain.security_events import (
    ACCOUNT_DISABLED,
    SESSIONS_REVOKED,
    TOKEN_REVOKED,
    TOKENS_REVOKED,
    VERIFICATION,
)
from tests.conftest import register_site
from tests.integration.revocation.conftest import (
    connection_row,
    database_contains,
    stored_secret,
    wait_until,
)


def _status(container: Any, connection_id: str) -> tuple[Status, str | None]:
    row = connection_row(container, connection_id)
    assert row is not None
    return row.status, row.revocation_reason


def _risc_rows(container: Any) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(risc_events)).scalar_one())


def test_remove_access_in_google_purges_every_connection_of_that_account(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    other_site = register_site(container, name="Shop", origin="https://shop.example.com")
    first = link(site.id, "alice@example.com")
    second = link(other_site.id, "alice@example.com")
    bystander = link(site.id, "bob@example.com")

    started = time.monotonic()
    statuses = risc_push.remove_access("alice@example.com")  # what Google does on "Remove access"
    elapsed = time.monotonic() - started

    assert statuses and all(s == 202 for s in statuses)
    assert elapsed < 10  # the number itself belongs to benchmarks
    for linked in (first, second):
        assert _status(container, linked.id) == (Status.RECONNECT_REQUIRED, "risc_tokens_revoked")
        assert stored_secret(container, linked.id) is None
        assert not database_contains(container, linked.refresh_token)
        assert not database_contains(container, linked.access_token)
    assert _status(container, bystander.id) == (Status.CONNECTED, None)
    assert stored_secret(container, bystander.id) == bystander.refresh_token.encode()


@pytest.mark.parametrize("alg", ["prefix", "hash_base64_sha512_sha512"])
def test_token_revoked_purges_only_the_connection_holding_that_token(
    container: Any, risc_push: Any, link: Any, site: Any, alg: str
) -> None:
    other_site = register_site(container, name="Shop", origin="https://shop.example.com")
    target = link(site.id, "alice@example.com")
    same_account = link(other_site.id, "alice@example.com")
    subject = risc_push.subject_for_refresh_token(target.refresh_token, alg=alg)

    assert risc_push.push_event(risc_push.make_security_event(TOKEN_REVOKED, subject)) == 202

    assert _status(container, target.id) == (Status.RECONNECT_REQUIRED, "risc_token_revoked")
    assert not database_contains(container, target.refresh_token)
    assert _status(container, same_account.id) == (Status.CONNECTED, None)
    assert stored_secret(container, same_account.id) == same_account.refresh_token.encode()


def test_account_disabled_purges_every_connection_of_that_account(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "carol@example.org")
    token = risc_push.make_security_event(
        ACCOUNT_DISABLED, risc_push.subject_for_account("carol@example.org"),
        extra={"reason": "hijacking"})

    assert risc_push.push_event(token) == 202

    assert _status(container, linked.id) == (Status.RECONNECT_REQUIRED, "risc_account_disabled")
    assert not database_contains(container, linked.refresh_token)


def test_sessions_revoked_verifies_at_once_and_purges_a_dead_grant(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    risc_push.revoke_grant("alice@example.com")  # dead at Google, nobody told us yet
    token = risc_push.make_security_event(
        SESSIONS_REVOKED, risc_push.subject_for_account("alice@example.com"))

    assert risc_push.push_event(token) == 202

    assert wait_until(lambda: _status(container, linked.id)[0] is Status.RECONNECT_REQUIRED)
    assert _status(container, linked.id) == (Status.RECONNECT_REQUIRED, "invalid_grant")
    assert not database_contains(container, linked.refresh_token)


def test_sessions_revoked_keeps_a_live_grant_after_verifying_it(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    before = risc_push.refresh_count_for("alice@example.com")
    token = risc_push.make_security_event(
        SESSIONS_REVOKED, risc_push.subject_for_account("alice@example.com"))

    assert risc_push.push_event(token) == 202

    assert wait_until(lambda: risc_push.refresh_count_for("alice@example.com") > before)
    assert wait_until(lambda: connection_row(container, linked.id).last_verified_at is not None)
    assert _status(container, linked.id) == (Status.CONNECTED, None)


def test_verification_event_is_accepted_and_changes_nothing(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    token = risc_push.make_security_event(
        VERIFICATION, risc_push.subject_for_account("alice@example.com"),
        extra={"state": "hello"})

    assert risc_push.push_event(token) == 202
    assert _status(container, linked.id) == (Status.CONNECTED, None)


def test_replayed_event_is_accepted_but_does_nothing_again(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    """A replay is answered 202 (the transmitter must not retry it) and deduplicated by jti:
    it cannot purge a connection the user made again after the original event."""
    first = link(site.id, "alice@example.com")
    token = risc_push.make_security_event(
        TOKENS_REVOKED, risc_push.subject_for_account("alice@example.com"))
    assert risc_push.push_event(token) == 202
    assert _status(container, first.id)[0] is Status.RECONNECT_REQUIRED
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    again = link(shop.id, "alice@example.com")  # alice connects again afterwards

    assert risc_push.push_event(token) == 202

    assert _status(container, again.id) == (Status.CONNECTED, None)
    assert stored_secret(container, again.id) == again.refresh_token.encode()
    assert _risc_rows(container) == 1


def test_a_rotated_signing_key_is_fetched_on_its_first_use(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    monotonic = [1000.0]
    container.risc_verifier = RiscVerifier(container.settings, jwks=JwksCache(
        container.settings.risc_jwks_uri, timeout=5.0, monotonic=lambda: monotonic[0]))
    verification = risc_push.make_security_event(
        VERIFICATION, risc_push.subject_for_account(linked.email), extra={"state": "x"})
    assert risc_push.push_event(verification) == 202  # old key now cached
    risc_push.rotate_signing_key()
    monotonic[0] += REFETCH_INTERVAL  # forged kids may refetch only once a minute
    token = risc_push.make_security_event(
        TOKENS_REVOKED, risc_push.subject_for_account(linked.email))

    assert risc_push.push_event(token) == 202
    assert _status(container, linked.id)[0] is Status.RECONNECT_REQUIRED


# ---- bad input: 400, nothing changes -----------------------------------------------------


def _claims(state: Any, email: str, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": state.risc_issuer, "aud": state.client_id, "iat": int(time.time()),
        "jti": uuid.uuid4().hex,
        "events": {TOKENS_REVOKED: {"subject": state.subject_for_account(email)}},
    }
    claims.update(changes)
    return claims


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _bad_tokens(state: Any, email: str) -> dict[str, str]:
    good_kid = state.signing_kid
    headers = {"kid": good_kid, "typ": "secevent+jwt"}
    public_pem = state._signing_key.private_key.public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization",
                            fromlist=["Encoding"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization",
                          fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo,
    )
    unsigned = jwt.encode(_claims(state, email), key=None, algorithm="none", headers=headers)
    return {
        "unsigned": unsigned,
        "wrongly_signed": jwt.encode(_claims(state, email), _other_key(), algorithm="RS256",
                                     headers=headers),
        "unknown_kid": jwt.encode(_claims(state, email), _other_key(), algorithm="RS256",
                                  headers={"kid": "not-a-google-key", "typ": "secevent+jwt"}),
        "hs256_with_public_key": _hs256(state, email, public_pem, headers),
        "wrong_audience": state.sign_jwt(_claims(state, email, aud="someone-else"),
                                         typ="secevent+jwt"),
        "wrong_issuer": state.sign_jwt(_claims(state, email, iss="https://evil.example/"),
                                       typ="secevent+jwt"),
        "no_events": state.sign_jwt(_claims(state, email, events={}), typ="secevent+jwt"),
        "jti_longer_than_its_column": state.sign_jwt(_claims(state, email, jti="j" * 256),
                                                     typ="secevent+jwt"),
        "no_jti": state.sign_jwt({k: v for k, v in _claims(state, email).items() if k != "jti"},
                                 typ="secevent+jwt"),
        "truncated": state.make_security_event(
            TOKENS_REVOKED, state.subject_for_account(email))[:-20],
        "garbage": "this is not a token",
        "empty": "",
    }


def _hs256(state: Any, email: str, secret: bytes, headers: dict[str, str]) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({**headers, "alg": "HS256"}).encode())
    body = b64(json.dumps(_claims(state, email)).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def test_invalid_tokens_are_refused_with_400_and_change_nothing(
    container: Any, risc_push: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    for name, token in _bad_tokens(risc_push, linked.email).items():
        # Posted by hand: the sandbox's transmitter only pushes well-formed tokens.
        response = requests.post(risc_push.risc_push_url, data=token.encode(), timeout=5,
                                 headers={"Content-Type": "application/secevent+jwt"})
        assert response.status_code == 400, name
    assert _status(container, linked.id) == (Status.CONNECTED, None)
    assert stored_secret(container, linked.id) == linked.refresh_token.encode()
    assert _risc_rows(container) == 0


def test_error_body_names_the_problem_but_never_echoes_the_token(client: Any, sandbox: Any) -> None:
    token = sandbox.state.sign_jwt(_claims(sandbox.state, "alice@example.com", aud="x"),
                                   typ="secevent+jwt")
    response = client.post("/risc", data=token, content_type="application/secevent+jwt")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert token not in response.get_data(as_text=True)
