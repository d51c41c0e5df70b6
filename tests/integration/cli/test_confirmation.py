"""Destructive commands ask a person at a terminal first; scripts and --yes are never asked."""

from __future__ import annotations

import json

import pytest

from gmail_oneclick.bootstrap import Container
from tests.integration.cli.conftest import (
    add_connections,
    add_site,
    connection_of,
    invoke,
    site_ids,
)


@pytest.mark.usefixtures("terminal")
def test_sites_remove_declined_on_a_terminal_changes_nothing(store: Container) -> None:
    site_id = add_site()
    (connection_id,) = add_connections(store, site_id, 1)
    result = invoke("sites", "remove", site_id, answer="n\n")
    assert result.exit_code == 1
    assert f"Remove site {site_id} (Blog)" in result.stderr and "1 connection" in result.stderr
    assert site_ids(store) == [site_id]
    assert connection_of(store, connection_id) is not None


@pytest.mark.usefixtures("terminal")
def test_sites_remove_confirmed_on_a_terminal_removes(store: Container) -> None:
    site_id = add_site()
    add_connections(store, site_id, 2)
    result = invoke("sites", "remove", site_id, answer="y\n")
    assert result.exit_code == 0
    assert f"Removed site {site_id}" in result.stdout and "2 connections" in result.stdout
    assert site_ids(store) == []


@pytest.mark.usefixtures("terminal")
def test_yes_skips_the_question() -> None:
    site_id = add_site()
    result = invoke("sites", "remove", site_id, "--yes")
    assert result.exit_code == 0 and "[y/N]" not in result.stderr
    assert "Removed site" in result.stdout


def test_a_script_is_never_asked(store: Container) -> None:
    site_id = add_site()
    result = invoke("sites", "remove", site_id)  # no input at all: a question would abort
    assert result.exit_code == 0 and json.loads(result.stdout)["removed"] is True
    assert site_ids(store) == []


@pytest.mark.usefixtures("terminal")
def test_an_unknown_site_fails_before_asking() -> None:
    result = invoke("sites", "remove", "site_nope")
    assert result.exit_code == 1 and "[y/N]" not in result.stderr
    assert "site_nope" in result.stderr


@pytest.fixture
def google_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # Revocation at Google fails against this closed port; forget deletes locally regardless.
    monkeypatch.setenv("GMAIL_ONECLICK_GOOGLE_CLIENT_ID", "test.apps.googleusercontent.com")
    monkeypatch.setenv("GMAIL_ONECLICK_GOOGLE_CLIENT_SECRET", "GOCSPX-test")
    monkeypatch.setenv("GMAIL_ONECLICK_GOOGLE_REVOKE_URI", "http://127.0.0.1:9/revoke")
    monkeypatch.setenv("GMAIL_ONECLICK_HTTP_TIMEOUT", "1")


@pytest.mark.usefixtures("terminal", "google_client")
def test_privacy_forget_declined_on_a_terminal_keeps_the_account(store: Container) -> None:
    (connection_id,) = add_connections(store, add_site(), 1, email="alice{}@example.com")
    result = invoke("privacy", "forget", "--email", "alice0@example.com", answer="n\n")
    assert result.exit_code == 1 and "Forget alice0@example.com" in result.stderr
    assert connection_of(store, connection_id).email == "alice0@example.com"


@pytest.mark.usefixtures("terminal", "google_client")
def test_privacy_forget_confirmed_on_a_terminal_forgets(store: Container) -> None:
    (connection_id,) = add_connections(store, add_site(), 1, email="alice{}@example.com")
    result = invoke("privacy", "forget", "--email", "alice0@example.com", answer="y\n")
    assert result.exit_code == 0
    assert "Forgot alice0@example.com: 1 connection" in result.stdout
    assert connection_of(store, connection_id) is None
