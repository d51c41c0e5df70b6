"""The sandbox's Cross-Account Protection side: keys, discovery, signed events, pushes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
import pytest
import requests
from sandbox_flow import Receiver, connect, refresh

from gmail_oneclick.sandbox import SandboxServer

OAUTH = "https://schemas.openid.net/secevent/oauth/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def verify(google: SandboxServer, token: str) -> dict[str, Any]:
    """Verifies a SET the way a receiver does: discovery, JWKS by kid, iss, aud, no exp."""
    config = requests.get(google.url + "/.well-known/risc-configuration").json()
    keys = requests.get(config["jwks_uri"]).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=google.state.client_id,
        issuer=config["issuer"],
    )
    return claims


def test_discovery_names_the_issuer_and_the_served_keys(google: SandboxServer) -> None:
    config = requests.get(google.url + "/.well-known/risc-configuration").json()
    assert config["issuer"] == google.url + "/"
    assert config["jwks_uri"] == google.url + "/oauth2/v3/certs"
    keys = requests.get(config["jwks_uri"]).json()["keys"]
    assert [(k["kty"], k["alg"], k["kid"]) for k in keys] == [
        ("RSA", "RS256", google.state.signing_kid)
    ]


def test_security_event_verifies_against_the_served_jwks(google: SandboxServer) -> None:
    subject = google.state.subject_for_account("alice@example.com")
    token = google.state.make_security_event(OAUTH + "tokens-revoked", subject, jti="j-1")
    header = jwt.get_unverified_header(token)
    claims = verify(google, token)
    account = google.state.account("alice@example.com")
    assert account is not None
    assert header["typ"] == "secevent+jwt"
    assert claims["jti"] == "j-1"
    assert claims["iss"] == google.url + "/"
    assert claims["events"] == {
        OAUTH + "tokens-revoked": {
            "subject": {"subject_type": "iss-sub", "iss": google.url + "/", "sub": account.sub}
        }
    }


def test_pyjwk_client_verifies_a_security_event(google: SandboxServer) -> None:
    subject = google.state.subject_for_account("bob@example.com")
    token = google.state.make_security_event(
        RISC + "account-disabled", subject, extra={"reason": "hijacking"}
    )
    key = jwt.PyJWKClient(google.url + "/oauth2/v3/certs").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=google.state.client_id)
    assert claims["events"][RISC + "account-disabled"]["reason"] == "hijacking"


def test_rotated_key_is_no_longer_served(google: SandboxServer) -> None:
    subject = google.state.subject_for_account("alice@example.com")
    old = google.state.make_security_event(OAUTH + "tokens-revoked", subject)
    new_kid = google.state.rotate_signing_key()
    new = google.state.make_security_event(OAUTH + "tokens-revoked", subject)
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert verify(google, new)["events"]
    with pytest.raises(StopIteration):
        verify(google, old)


def test_refresh_token_subjects(google: SandboxServer) -> None:
    token = connect(google)["refresh_token"]
    assert google.state.refresh_tokens_for("alice@example.com") == [token]
    prefix = google.state.subject_for_refresh_token(token)
    hashed = google.state.subject_for_refresh_token(token, alg="hash_base64_sha512_sha512")
    double = hashlib.sha512(hashlib.sha512(token.encode()).digest()).digest()
    assert prefix == {
        "subject_type": "oauth_token", "token_type": "refresh_token",
        "token_identifier_alg": "prefix", "token": token[:16],
    }
    assert hashed["token"] == base64.b64encode(double).decode()


def test_push_posts_a_secevent_jwt(google: SandboxServer) -> None:
    with Receiver(status=202) as receiver:
        google.state.configure_risc_push(receiver.url)
        subject = google.state.subject_for_account("alice@example.com")
        token = google.state.make_security_event(RISC + "verification", subject)
        assert google.state.push_event(token) == 202
    assert receiver.received == [("application/secevent+jwt", token)]


def test_push_to_nobody_answers_zero(google: SandboxServer) -> None:
    google.state.configure_risc_push("http://127.0.0.1:9/risc")
    token = google.state.make_security_event(RISC + "verification", {}, extra={"state": "x"})
    assert google.state.push_event(token) == 0


def test_remove_access_pushes_tokens_revoked_and_token_revoked(google: SandboxServer) -> None:
    tokens = connect(google)
    with Receiver() as receiver:
        google.state.configure_risc_push(receiver.url)
        page = requests.post(
            google.url + "/myaccount/permissions", data={"email": "alice@example.com"}
        )
    assert page.status_code == 200
    events = [verify(google, body)["events"] for _, body in receiver.received]
    assert [next(iter(e)) for e in events] == [OAUTH + "tokens-revoked", OAUTH + "token-revoked"]
    assert events[1][OAUTH + "token-revoked"]["subject"]["token"] == tokens["refresh_token"][:16]
    assert refresh(google, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_risc_console_pushes_the_chosen_event(google: SandboxServer) -> None:
    connect(google, "bob@example.com")
    with Receiver() as receiver:
        requests.post(google.url + "/_sandbox/risc", data={"push_url": receiver.url})
        page = requests.post(
            google.url + "/_sandbox/risc",
            data={"email": "bob@example.com", "event_type": OAUTH + "token-revoked"},
        )
    assert "receiver answered 202" in page.text
    (_, body), = receiver.received
    subject = verify(google, body)["events"][OAUTH + "token-revoked"]["subject"]
    assert subject["token"] == google.state.refresh_tokens_for("bob@example.com")[-1][:16]
