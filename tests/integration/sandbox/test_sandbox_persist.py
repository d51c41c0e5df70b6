"""The Google sandbox's state file, read back by a new SandboxState as after a restart: who
consented, which tokens live, which grants were revoked, where RISC events go."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gmail_oneclick.domain.model import GMAIL_SEND, USERINFO_EMAIL
from gmail_oneclick.sandbox import SandboxState
from gmail_oneclick.sandbox.persist import StateFile
from gmail_oneclick.sandbox.records import OAuthError, PendingRequest
from gmail_oneclick.sandbox.tokens import s256

BASE = "http://127.0.0.1:8000/_sandbox/google"
REDIRECT = "http://127.0.0.1:8000/oauth2/callback"
VERIFIER = "v" * 50


def new_state() -> SandboxState:
    state = SandboxState(client_secret="GOCSPX-sandbox-test")
    state.base_url = BASE
    return state


def consent(state: SandboxState, email: str) -> tuple[str, str]:
    """An offline consent redeemed at the token endpoint: (refresh token, access token)."""
    pending = PendingRequest(
        client_id=state.client_id, redirect_uri=REDIRECT, scopes=(GMAIL_SEND, USERINFO_EMAIL),
        state=None, code_challenge=s256(VERIFIER), offline=True, prompt_consent=True,
        login_hint=email, expires_at=state.now() + timedelta(minutes=5))
    account = state.account(email) or state.add_account(email)
    code = state.issue_code(pending, account, frozenset({GMAIL_SEND, USERINFO_EMAIL}))
    body = state.exchange_code(state.client_id, code, VERIFIER, REDIRECT).body
    return body["refresh_token"], body["access_token"]


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, dict[str, tuple[str, str]]]:
    path = tmp_path / "sandbox-google.json"
    before = new_state()
    StateFile(path).attach(before)
    tokens = {email: consent(before, email) for email in ("alice@example.com", "bob@example.com")}
    tokens["dave@example.net"] = consent(before, "dave@example.net")  # "Use another account"
    before.revoke_token(tokens["bob@example.com"][0])
    before.configure_risc_push("http://127.0.0.1:8000/elsewhere/risc")
    return path, tokens


def test_grants_tokens_and_revocations_survive_a_restart(
    saved: tuple[Path, dict[str, tuple[str, str]]],
) -> None:
    path, tokens = saved
    after = new_state()
    assert StateFile(path).load_into(after) is True
    alice_refresh, alice_access = tokens["alice@example.com"]
    assert after.access_token_info(alice_access) is not None
    assert "access_token" in after.refresh(after.client_id, alice_refresh, None).body
    bob_refresh, bob_access = tokens["bob@example.com"]
    assert after.access_token_info(bob_access) is None
    with pytest.raises(OAuthError) as refused:
        after.refresh(after.client_id, bob_refresh, None)
    assert refused.value.error == "invalid_grant"
    assert after.refresh_tokens_for("bob@example.com") == [bob_refresh]
    assert sorted(g.account.email for g in after.live_grants()) == [
        "alice@example.com", "dave@example.net"]
    assert after.risc_push_url == "http://127.0.0.1:8000/elsewhere/risc"
    # Accounts keep their ids; a new one gets an id nobody had.
    dave = after.account("dave@example.net")
    assert dave is not None and after.access_token_info(tokens["dave@example.net"][1]) is not None
    assert after.add_account("erin@example.net").sub not in {a.sub for a in after.accounts[:-1]}


def test_the_push_url_follows_a_sandbox_that_moved(
    saved: tuple[Path, dict[str, tuple[str, str]]],
) -> None:
    path, _ = saved
    moved = new_state()
    moved.base_url = "http://127.0.0.1:8080/_sandbox/google"
    moved.configure_risc_push("http://127.0.0.1:8080/risc")
    StateFile(path).load_into(moved)
    assert moved.risc_push_url == "http://127.0.0.1:8080/risc"


def test_a_revocation_after_the_restart_is_kept_too(
    saved: tuple[Path, dict[str, tuple[str, str]]],
) -> None:
    path, tokens = saved
    second = new_state()
    StateFile(path).load_into(second)
    StateFile(path).attach(second)
    second.revoke_grant("alice@example.com")
    third = new_state()
    StateFile(path).load_into(third)
    assert third.access_token_info(tokens["alice@example.com"][1]) is None
    assert [g.account.email for g in third.live_grants()] == ["dave@example.net"]
