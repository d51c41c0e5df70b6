"""The CLI in-process (click's CliRunner) on a real database, as a script or as a terminal.

CliRunner's streams are not terminals; the ``terminal`` fixture answers "yes" at the one place
the CLI asks (entrypoints.cli.output), as a person's shell would.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gmail_oneclick.bootstrap import Container, build
from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.domain.model import REFRESH_TOKEN, Connection, Status, connection_owner
from gmail_oneclick.entrypoints.cli import main
from gmail_oneclick.entrypoints.cli import output as cli_output
from gmail_oneclick.settings import SCOPES, Settings


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, keyring_text: str,
            tmp_path: Path) -> dict[str, str]:
    """Only this test's variables, as an operator would set them."""
    import os

    for name in list(os.environ):
        if name.startswith("GMAIL_ONECLICK_"):
            monkeypatch.delenv(name)
    values = {"GMAIL_ONECLICK_DATABASE_URL": database_url,
              "GMAIL_ONECLICK_ENCRYPTION_KEYS": keyring_text,
              "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance"),
              "GMAIL_ONECLICK_WEBHOOK_DISPATCH_THREADS": "0"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    """Each command points logging at its CliRunner's stderr, closed once the command ends."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin, stdout and stderr are a person's terminal."""
    for name in ("stdin_is_terminal", "stdout_is_terminal", "stderr_is_terminal"):
        monkeypatch.setattr(cli_output, name, lambda: True)


def invoke(*args: str, answer: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=answer, catch_exceptions=False)


@pytest.fixture
def store(database_url: str, keyring_text: str) -> Iterator[Container]:
    """The same database, for setting up data and looking at it afterwards."""
    container = build(Settings(database_url=database_url, encryption_keys=keyring_text,
                               webhook_dispatch_threads=0), need_google=False)
    yield container
    container.close()


@dataclass
class Seeded:
    site_id: str
    connection_ids: list[str]


def add_site(name: str = "Blog", origin: str = "https://blog.example.com") -> str:
    import json

    result = invoke("sites", "add", "--name", name, "--origin", origin, "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["site_id"])


def add_connections(store: Container, site_id: str, count: int, *,
                    next_check_in: timedelta = timedelta(hours=3),
                    email: str = "user{}@example.com") -> list[str]:
    """``count`` connected accounts, each with a refresh token, next checked in
    ``next_check_in``."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    with store.uow() as uow:
        for i in range(count):
            connection = Connection(
                id=new_id("conn"), site_id=site_id, google_sub=f"sub-{site_id}-{i}",
                email=email.format(i), status=Status.CONNECTED, scopes=frozenset(SCOPES),
                # One second apart: sites show and connections list go oldest first.
                created_at=now + timedelta(seconds=i), last_verified_at=now, revoked_at=None,
                revocation_reason=None,
                next_check_at=now + next_check_in)
            uow.connections.add(connection)
            uow.tokens.put(connection_owner(connection.id), REFRESH_TOKEN, b"1//test-token")
            ids.append(connection.id)
        uow.commit()
    return ids


def site_ids(store: Container) -> list[str]:
    with store.uow(readonly=True) as uow:
        return [s.id for s in uow.sites.list()]


def connection_of(store: Container, connection_id: str) -> Any:
    with store.uow(readonly=True) as uow:
        return uow.connections.get(connection_id)
