"""Refreshes skip requests only when no proxy applies: a deployment whose egress goes through
a proxy named in the environment keeps refreshing through it."""

from __future__ import annotations

import pytest

from gmail_oneclick.adapters.google.token_http import TokenPoster

TOKEN_URL = "https://oauth2.googleapis.com/token"


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy",
                 "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_refreshes_take_the_direct_path() -> None:
    assert TokenPoster(TOKEN_URL, pool_size=2).usable


def test_with_an_https_proxy_refreshes_go_through_requests_which_honours_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")

    assert not TokenPoster(TOKEN_URL, pool_size=2).usable


def test_a_host_exempted_by_no_proxy_takes_the_direct_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", "oauth2.googleapis.com")

    assert TokenPoster(TOKEN_URL, pool_size=2).usable
