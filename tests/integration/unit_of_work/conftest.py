"""The two units of work (SQL and in memory) side by side: every test here runs on both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gmail_oneclick.adapters.memory import MemoryDatabase
from gmail_oneclick.adapters.memory import UnitOfWork as MemoryUnitOfWork
from gmail_oneclick.adapters.storage import UnitOfWork as SqlUnitOfWork
from gmail_oneclick.adapters.storage.tables import make_engine
from gmail_oneclick.domain.model import Connection, Site, Status
from token_store import Keyring

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
NewUow = Callable[..., Any]


@pytest.fixture(params=["sql", "memory"])
def new_uow(request: pytest.FixtureRequest, keyring_text: str) -> Iterator[NewUow]:
    keyring = Keyring.parse(keyring_text)
    if request.param == "sql":
        engine = make_engine(request.getfixturevalue("database_url"))
        yield lambda **kw: SqlUnitOfWork(engine, keyring, **kw)
        engine.dispose()
    else:
        database = MemoryDatabase(keyring)
        yield lambda **kw: MemoryUnitOfWork(database, **kw)


def site(uow: Any, site_id: str = "site_a", key_hash: str = "h" * 64,
         webhook_url: str | None = "https://blog.example/hook") -> None:
    uow.sites.add(Site(site_id, "Blog", ("https://blog.example",), webhook_url, T0, T0),
                  key_hash)


def connection(cid: str, *, site_id: str = "site_a", sub: str | None = None,
               email: str | None = None, created: datetime = T0,
               verified: datetime | None = None, next_check: datetime | None = None
               ) -> Connection:
    return Connection(cid, site_id, sub or f"sub-{cid}", email or f"{cid}@example.com",
                      Status.CONNECTED, frozenset({"scope-a", "scope-b"}), created, verified,
                      None, None, T0 + timedelta(hours=1), next_check)


@pytest.fixture
def world(new_uow: NewUow) -> NewUow:
    """One site with two connections (c1 older than c2), committed."""
    with new_uow() as uow:
        site(uow)
        uow.connections.add(connection("c2", created=T0 + S, email="Bob@Example.com"))
        uow.connections.add(connection("c1", verified=T0))
        uow.commit()
    return new_uow

