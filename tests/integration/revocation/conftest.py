"""Fixtures for the revocation suite: real sandbox tokens stored the way consent stores them,
a tiny webhook receiver on loopback, and a scan of the database for leftover secrets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from gmail_oneclick.domain.model import REFRESH_TOKEN, Connection, connection_owner
from gmail_oneclick.settings import Settings
from tests.accounts import Linked, link_account
from tests.dbscan import database_bytes
from tests.live import served


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhook receivers here run on loopback: private targets allowed, as an operator does for
    receivers on a private network (tests/security/test_webhook_ssrf.py covers the default)."""
    return settings.replace(webhook_private_targets="allow")


@pytest.fixture
def link(container: Any, sandbox: Any) -> Callable[..., Linked]:
    def make(site_id: str, email: str = "alice@example.com") -> Linked:
        return link_account(container, sandbox, site_id, email)

    return make


def connection_row(container: Any, connection_id: str) -> Connection | None:
    with container.uow() as uow:
        found: Connection | None = uow.connections.get(connection_id)
        return found


def stored_secret(container: Any, connection_id: str, purpose: str = REFRESH_TOKEN) -> Any:
    with container.uow() as uow:
        return uow.tokens.get(connection_owner(connection_id), purpose)


def database_contains(container: Any, needle: str) -> bool:
    """Whether ``needle`` appears anywhere in the database (tests/dbscan.py)."""
    return needle.encode() in database_bytes(container.engine)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers ``status`` after ``delay`` seconds."""

    url: str = ""
    status: int = 204
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        if self.delay:
            time.sleep(self.delay)
        self.received.append({"headers": dict(request.headers), "body": request.get_data()})
        return Response(status=self.status)(environ, start_response)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    with served(recv.app) as url:
        recv.url = url + "/hooks"
        yield recv


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    """The service itself on a loopback port, so the sandbox can push RISC events to it."""
    with served(app) as url:
        yield url


@pytest.fixture
def risc_push(sandbox: Any, live_url: str) -> Any:
    """The sandbox's RISC transmitter, pushing to this service's /risc."""
    sandbox.state.configure_risc_push(f"{live_url}/risc")
    return sandbox.state


def env_for(settings: Any) -> dict[str, str]:
    """The environment variables an operator would set for these settings."""
    from gmail_oneclick.settings import VARIABLES

    env: dict[str, str] = {}
    for var in VARIABLES:
        value = getattr(settings, var.name)
        env[var.env] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return env


def run_cli(args: list[str], settings: Any) -> Any:
    """``gmail-oneclick ARGS`` in a subprocess, as an operator runs it."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("gmail-oneclick")), *args],
        env={**base, **env_for(settings)}, capture_output=True, text=True, timeout=60,
    )
