"""Seeding a benchmark's database: sites, connections holding real sandbox tokens (stored as
the consent flow stores them), and messages to send."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class BenchSite:
    id: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def add_site(container: Any, name: str = "Bench Blog") -> BenchSite:
    from gmail_oneclick.services.sites import add_site as add

    with container.uow() as uow:
        new = add(uow, container.clock, name=name, origins=["https://blog.example.com"],
                  webhook_url=None)
    return BenchSite(new.site.id, new.api_key)


def sending_site(world: Any) -> tuple[BenchSite, bytes]:
    """A site with one connection holding a sandbox grant of the world's first account, and a
    small message from that account: what the send benchmarks send. The container's engine
    is disposed, so the service process it is handed to starts on a quiet database."""
    site = add_site(world.container)
    grant = world.sandbox.grants(0, 1)[0]
    store_connections(world.container, site.id, [grant])
    world.container.engine.dispose()
    return site, make_message(grant["email"])


def store_connections(container: Any, site_id: str | Sequence[str],
                      grants: Sequence[dict[str, Any]], *, batch: int = 500) -> list[str]:
    """Connected connections holding these sandbox grants, stored as the consent flow stores
    them (refresh and access token encrypted, refresh token indexed for RISC), ``batch`` per
    transaction. ``site_id`` may give one site per grant. Returns the connection ids."""
    from gmail_oneclick.domain.ids import new_id
    from gmail_oneclick.domain.model import (
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        REQUIRED_SCOPES,
        Connection,
        Status,
        connection_owner,
    )

    sites = [site_id] * len(grants) if isinstance(site_id, str) else list(site_id)
    ids: list[str] = []
    for start in range(0, len(grants), batch):
        with container.uow() as uow:
            now = container.clock.now()
            for body, site in zip(grants[start:start + batch], sites[start:start + batch],
                                  strict=True):
                connection = Connection(
                    id=new_id("conn"), site_id=site, google_sub=body["sub"],
                    email=body["email"], status=Status.CONNECTED,
                    scopes=frozenset(REQUIRED_SCOPES), created_at=now, last_verified_at=now,
                    revoked_at=None, revocation_reason=None,
                    access_token_expires_at=now + timedelta(seconds=int(body["expires_in"])))
                owner = connection_owner(connection.id)
                uow.connections.add(connection)
                uow.tokens.put(owner, REFRESH_TOKEN, body["refresh_token"].encode())
                uow.tokens.put(owner, ACCESS_TOKEN, body["access_token"].encode())
                uow.tokens.index_refresh_token(owner, body["refresh_token"])
                ids.append(connection.id)
            uow.commit()
    return ids


def make_message(sender: str, *, size: int = 0, to: str = "reader@example.net") -> bytes:
    """A plain message from ``sender``; ``size`` pads it with an attachment-like body."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Benchmark"
    msg.set_content("Hello from the benchmark.\n")
    raw = msg.as_bytes()
    if size > len(raw):
        raw += os.urandom((size - len(raw)) // 2 + 1).hex().encode()[: size - len(raw)]
    return raw
