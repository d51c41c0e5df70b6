"""Which network addresses the service may connect to on a site's behalf.

Two things make the service connect to an address a site chose: webhook delivery and the
verification of a site's origin (open registration). Anyone may register a site when
registration is open, so both are hostile input: by default only globally routable addresses
are allowed, never loopback, private, link-local, shared (CGNAT) or reserved ones, including an
IPv4 address embedded in an IPv6 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), which
some networks route to the embedded IPv4 host. Sandbox mode and
GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS=allow lift the restriction (development, receivers on a
private network).

The check is made twice: on the URL's spelling when a site registers it (a literal address or a
loopback name), and on every address its name resolves to when connecting (webhook_http pins
the connection to the checked address), since DNS can point a public name anywhere.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Protocol

NAT64 = ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 host
NAT64_LOCAL = ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never global
IPV4_COMPATIBLE = ip_network("::/96")  # deprecated ::a.b.c.d

ALLOW = "allow"
REFUSE = "refuse"


def embedded_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    """Every IPv4 address ``ip`` carries and a network may route to."""
    found: list[IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        found.append(IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client): both are reached through it
    return found


def is_public(address: str) -> bool:
    """True when ``address`` (an IP literal, IPv6 zone allowed) and every IPv4 address it
    embeds are globally routable unicast addresses."""
    try:
        ip = ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates: list[IPv4Address | IPv6Address] = [ip]
    if isinstance(ip, IPv6Address):
        if ip in NAT64_LOCAL:
            return False
        candidates.extend(embedded_ipv4(ip))
    return all(c.is_global and not c.is_multicast for c in candidates)


def _literal(host: str) -> str | None:
    """The IP address ``host`` spells, in any form a resolver accepts without DNS
    (``127.1``, ``2130706433`` and ``0x7f.0.0.1`` all mean 127.0.0.1), else None."""
    try:
        return str(ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    try:
        return str(IPv4Address(socket.inet_aton(host)))
    except OSError:
        return None


class TargetSettings(Protocol):
    """The two settings the policy follows (settings.Settings has them)."""

    @property
    def sandbox(self) -> bool: ...

    @property
    def webhook_private_targets(self) -> str: ...


@dataclass(frozen=True)
class TargetPolicy:
    """Where webhooks and origin verification may connect. ``allow_private`` lifts every
    address check (sandbox mode, or GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS=allow)."""

    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: TargetSettings) -> TargetPolicy:
        return cls(allow_private=settings.sandbox or settings.webhook_private_targets == ALLOW)

    def allows_address(self, address: str) -> bool:
        """May a connection be made to this resolved address?"""
        return self.allow_private or is_public(address)

    def refuses_host(self, host: str) -> bool:
        """True when a URL's host is refused by its spelling alone: a literal address that is
        not public, or a loopback name. Other names are checked when connecting."""
        if self.allow_private:
            return False
        name = host.strip("[]").rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            return True
        literal = _literal(name)
        return literal is not None and not is_public(literal)


PUBLIC_ONLY = TargetPolicy()
