"""One document, two readers: JSON for scripts (stdout not a terminal, or --json), tables and
sentences for a person at a terminal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gmail_oneclick.bootstrap import Container
from tests.integration.cli.conftest import add_connections, add_site, invoke


def test_sites_list_is_json_when_stdout_is_not_a_terminal() -> None:
    site_id = add_site()
    result = invoke("sites", "list")
    assert result.exit_code == 0
    assert [s["site_id"] for s in json.loads(result.stdout)["sites"]] == [site_id]


@pytest.mark.usefixtures("terminal")
def test_sites_list_is_a_table_on_a_terminal() -> None:
    site_id = add_site(name="Cooking Blog")
    lines = invoke("sites", "list").stdout.splitlines()
    assert lines[0].split()[:3] == ["SITE", "ID", "NAME"]
    assert site_id in lines[1] and "Cooking Blog" in lines[1]
    assert "https://blog.example.com" in lines[1]


@pytest.mark.usefixtures("terminal")
def test_json_option_prints_json_even_on_a_terminal() -> None:
    site_id = add_site()
    assert json.loads(invoke("sites", "list", "--json").stdout)["sites"][0]["site_id"] == site_id


@pytest.mark.usefixtures("terminal")
def test_no_sites_on_a_terminal_says_how_to_add_one() -> None:
    assert "gmail-oneclick sites add" in invoke("sites", "list").stdout


@pytest.mark.usefixtures("terminal")
def test_sites_add_on_a_terminal_shows_the_secrets_and_says_they_are_shown_once() -> None:
    out = invoke("sites", "add", "--name", "Blog", "--origin", "https://blog.example.com").stdout
    assert "goc_" in out and "whsec_" in out and "shown only once" in out
    assert not out.lstrip().startswith("{")


def test_connections_list_lists_every_site_and_filters_by_site(store: Container) -> None:
    blog, shop = add_site(), add_site(name="Shop", origin="https://shop.example.com")
    blog_ids = add_connections(store, blog, 2)
    shop_ids = add_connections(store, shop, 1, email="owner{}@shop.example.com")
    everything = json.loads(invoke("connections", "list").stdout)["connections"]
    assert sorted(c["id"] for c in everything) == sorted(blog_ids + shop_ids)
    first = next(c for c in everything if c["id"] == shop_ids[0])
    assert first["site_id"] == shop and first["email"] == "owner0@shop.example.com"
    assert first["status"] == "connected" and first["next_check_at"].endswith("Z")
    only_shop = json.loads(invoke("connections", "list", "--site", shop).stdout)
    assert [c["id"] for c in only_shop["connections"]] == shop_ids


@pytest.mark.usefixtures("terminal")
def test_connections_list_is_a_table_on_a_terminal(store: Container) -> None:
    site_id = add_site()
    (connection_id,) = add_connections(store, site_id, 1)
    lines = invoke("connections", "list").stdout.splitlines()
    assert lines[0].startswith("CONNECTION ID")
    assert connection_id in lines[1] and "user0@example.com" in lines[1]


def test_connections_list_of_an_unknown_site_is_an_error() -> None:
    result = invoke("connections", "list", "--site", "site_nope")
    assert result.exit_code == 1 and "site_nope" in result.stderr


def test_sites_show_prints_the_site_and_its_connections(store: Container) -> None:
    site_id = add_site()
    ids = add_connections(store, site_id, 2)
    shown = json.loads(invoke("sites", "show", site_id).stdout)
    assert shown["site_id"] == site_id and shown["name"] == "Blog"
    assert [c["id"] for c in shown["connections"]] == ids
    assert "api_key" not in json.dumps(shown)


@pytest.mark.usefixtures("terminal")
def test_sites_show_on_a_terminal_reads_as_sentences_and_a_table(store: Container) -> None:
    site_id = add_site()
    add_connections(store, site_id, 1)
    out = invoke("sites", "show", site_id).stdout
    assert f"Site {site_id}: Blog" in out and "user0@example.com" in out


def test_sites_show_of_an_unknown_site_is_one_error_line() -> None:
    result = invoke("sites", "show", "site_nope")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: not_found: no site with id 'site_nope'"


@pytest.fixture
def google_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GMAIL_ONECLICK_GOOGLE_CLIENT_ID", "test.apps.googleusercontent.com")
    monkeypatch.setenv("GMAIL_ONECLICK_GOOGLE_CLIENT_SECRET", "GOCSPX-test")


@pytest.mark.usefixtures("terminal", "google_client")
def test_checker_once_on_a_terminal_says_when_the_next_connection_is_due(
    store: Container,
) -> None:
    add_connections(store, add_site(), 1, next_check_in=timedelta(hours=3, seconds=30))
    out = invoke("checker", "--once").stdout
    assert "Checked 0 connections" in out
    assert "The next connection is due in 3 h 0 min" in out


@pytest.mark.usefixtures("terminal", "google_client")
def test_checker_once_without_connections_says_none_is_due() -> None:
    assert "No connection to verify" in invoke("checker", "--once").stdout


@pytest.mark.usefixtures("google_client")
def test_checker_once_for_scripts_prints_todays_json(store: Container) -> None:
    add_connections(store, add_site(), 1)
    counts = json.loads(invoke("checker", "--once").stdout)
    assert counts["claimed"] == 0 and counts["verified"] == 0
    assert all(isinstance(v, int) for v in counts.values())
