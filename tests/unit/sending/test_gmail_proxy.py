"""Small sends go through an HTTPS proxy named in the environment, as the library's other
Google calls do (requests and httplib2 both read ``https_proxy`` and ``no_proxy``)."""

from __future__ import annotations

import pytest

from gmail_oneclick.adapters.google.gmail_http import KeptAlive

GMAIL = "https://gmail.googleapis.com"


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_with_an_https_proxy_the_connection_tunnels_through_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://egress:s%40cret@proxy.internal:3128")
    conn = KeptAlive(GMAIL, 5)._new_connection()
    assert (conn.host, conn.port) == ("proxy.internal", 3128)
    assert (conn._tunnel_host, conn._tunnel_port) == ("gmail.googleapis.com", 443)  # type: ignore[attr-defined]
    # Basic base64("egress:s@cret"): the password's escape undone, as curl and requests do.
    assert conn._tunnel_headers == {  # type: ignore[attr-defined]
        "Proxy-Authorization": "Basic ZWdyZXNzOnNAY3JldA=="}


def test_no_proxy_exempts_gmail_and_no_setting_means_direct(
        monkeypatch: pytest.MonkeyPatch) -> None:
    direct = KeptAlive(GMAIL, 5)._new_connection()
    assert (direct.host, direct.port) == ("gmail.googleapis.com", 443)
    assert direct._tunnel_host is None  # type: ignore[attr-defined]
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", ".googleapis.com")
    exempt = KeptAlive(GMAIL, 5)._new_connection()
    assert (exempt.host, exempt._tunnel_host) == ("gmail.googleapis.com", None)  # type: ignore[attr-defined]
