"""Open registration (GMAIL_ONECLICK_REGISTRATION=open): sites register themselves, rate limited,
and stay pending until they prove they control their origins (services.site_verification).

Every attempt counts, successful or not, against the client's address and against its network
(IPv4 /24; IPv6 /64 as the address, since one host commonly holds a whole /64, and /48 as the
network). There is no bucket shared by every client: one actor, however busy, can only exhaust
the allowance of its own address and network, never everyone else's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

from gmail_oneclick.domain.errors import Forbidden, RateLimited
from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.ports import Clock, UnitOfWork, UowFactory
from gmail_oneclick.services.sites import NewSite, add_site

WINDOW = timedelta(hours=1)
# A client's network may register this many times the per-address allowance per window.
NETWORK_FACTOR = 4


def client_buckets(client: str, per_hour: int) -> list[tuple[str, int]]:
    """The rate-limit buckets (name, limit per window) one attempt from ``client`` counts in."""
    try:
        ip = ip_address(client.split("%", 1)[0])
    except ValueError:  # no usable address (a test client, a broken proxy header)
        return [("register:addr:unknown", per_hour)]
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    own, net = (64, 48) if isinstance(ip, IPv6Address) else (32, 24)
    return [
        (f"register:addr:{ip_network((ip, own), strict=False)}", per_hour),
        (f"register:net:{ip_network((ip, net), strict=False)}", per_hour * NETWORK_FACTOR),
    ]


def spend(uow: UnitOfWork, now: datetime, buckets: list[tuple[str, int]], message: str) -> None:
    """Count one attempt in every bucket (committed even when refused, so refused attempts
    count too). Raises RateLimited with the longest wait when any bucket is over its limit."""
    waits = []
    for bucket, limit in buckets:
        used, ends = uow.rate_limits.hit(bucket, now, WINDOW)
        if used > limit:
            waits.append(max(1, math.ceil((ends - now).total_seconds())))
    uow.commit()
    if waits:
        raise RateLimited(message, retry_after=max(waits))


def register_site(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    registration: str,
    per_hour: int,
    client: str,
    name: str,
    origins: list[str],
    webhook_url: str | None,
    targets: TargetPolicy,
) -> NewSite:
    """Register a pending site through the open API. Raises Forbidden when registration is
    closed, RateLimited (with retry_after) past the allowance, InvalidRequest for bad fields."""
    if registration != "open":
        raise Forbidden("site registration is closed; the operator adds sites with "
                        "'gmail-oneclick sites add'")
    with uow_factory() as uow:
        spend(uow, clock.now(), client_buckets(client, per_hour),
              "too many site registrations from this address; try again later")
    with uow_factory() as uow:
        return add_site(uow, clock, name=name, origins=origins, webhook_url=webhook_url,
                        targets=targets, pending=True)
