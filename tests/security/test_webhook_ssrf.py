"""Webhook delivery never connects to a private, loopback or link-local address that a DNS name
points at: anyone may register a site when registration is open, so a webhook URL is hostile.
Literal loopback URLs (http://127.0.0.1:PORT/...) stay allowed, as CONTRACT §2 says."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from gmail_oneclick.webhook_http import RequestsWebhookTransport


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare TCP socket on loopback that only records whether anyone connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(0.5)
    yield sock
    sock.close()


def _connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


def _resolve_to(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("address", ["127.0.0.1"])
def test_a_dns_name_pointing_at_loopback_is_never_connected_to(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket, address: str
) -> None:
    port = listener.getsockname()[1]
    _resolve_to(monkeypatch, "hooks.attacker.test", address)
    status = RequestsWebhookTransport(connect_timeout=0.5, read_timeout=0.5).post(
        f"https://hooks.attacker.test:{port}/hook", b"{}", {"Content-Type": "application/json"})
    assert status == 0
    assert not _connected(listener), "the webhook transport connected to a loopback address"


def test_a_literal_loopback_webhook_url_is_still_delivered(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    RequestsWebhookTransport(connect_timeout=0.5, read_timeout=0.2).post(
        f"http://127.0.0.1:{port}/hook", b"{}", {"Content-Type": "application/json"})
    assert _connected(listener)


@pytest.mark.parametrize("url", [
    "https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[fd00::1]/hook",
    "https://192.168.0.1/hook", "https://100.64.0.1/hook",
])
def test_private_and_link_local_literals_are_refused_without_connecting(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    attempts: list[Any] = []

    def no_connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise OSError("test: no network")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    import urllib3.util.connection as u3

    monkeypatch.setattr(u3, "create_connection", no_connect)
    assert RequestsWebhookTransport(connect_timeout=0.2).post(url, b"{}", {}) == 0
    assert attempts == []
