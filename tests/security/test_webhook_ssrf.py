"""Webhooks reach only the public internet: anyone may register a site when registration is
open, so a webhook URL is hostile. Every address that is not global (loopback included, and an
IPv4 address embedded in IPv6) is refused when the URL is registered and again when connecting,
on the address the name resolved to. Sandbox mode and GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS=allow
lift the restriction for development and private networks."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from gmail_oneclick.adapters.webhook_http import RequestsWebhookTransport
from gmail_oneclick.domain.errors import InvalidRequest
from gmail_oneclick.domain.netpolicy import PUBLIC_ONLY, TargetPolicy, is_public
from gmail_oneclick.services.sites import add_site
from gmail_oneclick.settings import Settings, SettingsError, load_settings

ALLOW_PRIVATE = TargetPolicy(allow_private=True)

# Each is, or carries, a loopback, private or link-local IPv4 address.
REFUSED_ADDRESSES = [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "::1", "fd00::1", "fe80::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


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


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection attempt urllib3 makes (none succeeds: no network in tests)."""
    attempts: list[Any] = []

    def no_connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise OSError("test: no network")

    import urllib3.util.connection as u3

    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr(u3, "create_connection", no_connect)
    return attempts


@pytest.mark.parametrize("address", ["127.0.0.1", "::ffff:127.0.0.1"])
def test_a_dns_name_pointing_at_loopback_is_never_connected_to(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket, address: str
) -> None:
    port = listener.getsockname()[1]
    _resolve_to(monkeypatch, "hooks.attacker.test", address)
    status = RequestsWebhookTransport(PUBLIC_ONLY, connect_timeout=0.5, read_timeout=0.5).post(
        f"https://hooks.attacker.test:{port}/hook", b"{}", {"Content-Type": "application/json"})
    assert status == 0
    assert not _connected(listener), "the webhook transport connected to a loopback address"


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_non_global_address_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, connects: list[Any], address: str
) -> None:
    _resolve_to(monkeypatch, "hooks.attacker.test", address)
    transport = RequestsWebhookTransport(PUBLIC_ONLY, connect_timeout=0.2)
    assert transport.post("https://hooks.attacker.test/hook", b"{}", {}) == 0
    assert connects == []


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_literal_non_global_address_is_refused_before_connecting(
    connects: list[Any], address: str
) -> None:
    host = f"[{address}]" if ":" in address else address
    transport = RequestsWebhookTransport(PUBLIC_ONLY, connect_timeout=0.2)
    assert transport.post(f"https://{host}/hook", b"{}", {}) == 0
    assert connects == []


def test_a_literal_loopback_webhook_url_is_refused_by_default(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    RequestsWebhookTransport(PUBLIC_ONLY, connect_timeout=0.5, read_timeout=0.2).post(
        f"http://127.0.0.1:{port}/hook", b"{}", {"Content-Type": "application/json"})
    assert not _connected(listener)


def test_a_loopback_receiver_is_reached_when_private_targets_are_allowed(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    RequestsWebhookTransport(ALLOW_PRIVATE, connect_timeout=0.5, read_timeout=0.2).post(
        f"http://127.0.0.1:{port}/hook", b"{}", {"Content-Type": "application/json"})
    assert _connected(listener)


@pytest.mark.parametrize("address", ["8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808",
                                     "2002:808:808::1", "2606:4700:4700::1111"])
def test_public_addresses_and_public_embedded_ipv4_are_allowed(address: str) -> None:
    assert is_public(address)
    assert PUBLIC_ONLY.allows_address(address)


def _hosts() -> list[str]:
    literal = [f"[{a}]" if ":" in a else a for a in REFUSED_ADDRESSES]
    return [*literal, "localhost", "hooks.localhost", "127.1", "2130706433", "0x7f.0.0.1"]


@pytest.mark.parametrize("host", _hosts())
def test_registering_a_webhook_url_on_a_non_global_address_is_refused(
    container: Any, host: str
) -> None:
    with container.uow() as uow, pytest.raises(InvalidRequest, match="public internet"):
        add_site(uow, container.clock, name="Blog", origins=["https://blog.example.com"],
                 webhook_url=f"https://{host}/hook",
                 targets=TargetPolicy.from_settings(container.settings))
    with container.uow() as uow:
        assert uow.sites.list() == []


@pytest.mark.parametrize("changes", [{"sandbox": True}, {"webhook_private_targets": "allow"}])
def test_sandbox_mode_or_the_allow_setting_accepts_a_loopback_webhook_url(
    settings: Settings, changes: dict[str, Any]
) -> None:
    assert TargetPolicy.from_settings(settings.replace(**changes)).allow_private
    assert not TargetPolicy.from_settings(settings).allow_private
    policy = TargetPolicy.from_settings(settings.replace(**changes))
    assert not policy.refuses_host("127.0.0.1") and policy.allows_address("::1")


def test_the_allow_setting_is_logged_at_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from gmail_oneclick.bootstrap import build

    with caplog.at_level(logging.WARNING, logger="gmail_oneclick.bootstrap"):
        build(settings.replace(webhook_private_targets="allow")).engine.dispose()
    assert "WEBHOOK_PRIVATE_TARGETS=allow" in caplog.text


def test_an_unknown_private_targets_value_is_refused() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_PRIVATE_TARGETS"):
        load_settings({"GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS": "yes"})
