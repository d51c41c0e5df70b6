"""Shared fixtures: a real database per test, the Google sandbox on loopback, the app trio.

The database is a SQLite file in the test's tmp_path, or, when TEST_DATABASE_URL points at a
PostgreSQL server, a fresh database cloned from a migrated template.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gmail_oneclick.adapters.storage.migrate import upgrade
from gmail_oneclick.settings import Settings
from token_store import generate_key_entry

# One headless Chromium per session for every browser test (tests/browser, tests/wordpress).
pytest_plugins = ["tests.browsing"]

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_template_lock = threading.Lock()
_template_ready: dict[str, str] = {}


def _pg_admin_url() -> str:
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


def _pg_clone_database() -> str:
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    template = f"goc_template_{worker}"
    try:
        with _template_lock, admin.connect() as conn:
            if template not in _template_ready:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{template}"'))
                url = make_url(PG_URL).set(database=template).render_as_string(False)
                upgrade(url, sandbox=False)
                _template_ready[template] = url
            name = f"goc_t_{uuid.uuid4().hex[:16]}"
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg_drop_database(url: str) -> None:
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = make_url(url).database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Any) -> Iterator[str]:
    """A migrated, empty database owned by this test, marked for a real Google client: the
    ``settings`` fixture runs the real Google adapters (against the sandbox's URLs), not sandbox
    mode. Sandbox-mode tests re-mark it with ``mark_database(url, "sandbox")``."""
    if PG_URL:
        url = _pg_clone_database()
        yield url
        _pg_drop_database(url)
    else:
        url = f"sqlite:///{tmp_path / 'gmail-oneclick.sqlite'}"
        upgrade(url, sandbox=False)
        yield url


def mark_database(url: str, mode: str) -> None:
    """Tests only: change the sandbox/Google marker the first ``db upgrade`` wrote (the service
    itself never changes it)."""
    from gmail_oneclick.adapters.storage.tables import deployment, make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(deployment.update().values(google_mode=mode))
    finally:
        engine.dispose()


@pytest.fixture
def keyring_text() -> str:
    return generate_key_entry("k1")


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """The bundled Google sandbox on 127.0.0.1, with fresh state."""
    from gmail_oneclick.sandbox import start_sandbox

    server = start_sandbox()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(database_url: str, keyring_text: str, sandbox: Any, tmp_path: Any) -> Settings:
    """Settings pointing every Google URL at the sandbox over real HTTP (not sandbox mode)."""
    from gmail_oneclick.sandbox import sandbox_urls

    return Settings(
        database_url=database_url,
        encryption_keys=keyring_text,
        public_url="http://127.0.0.1:8000",
        google_client_id=sandbox.state.client_id,
        google_client_secret=sandbox.state.client_secret,
        instance_path=str(tmp_path / "instance"),
        http_timeout=5.0,
        # Webhooks wait for an explicit sweep, so tests count deliveries deterministically;
        # tests of immediate delivery turn the dispatcher on (tests/integration/webhooks).
        webhook_dispatch_threads=0,
        **sandbox_urls(sandbox.url),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions[EXTENSION].close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def container(app: Any) -> Any:
    from gmail_oneclick.entrypoints.web import EXTENSION

    return app.extensions[EXTENSION]


@dataclass
class RegisteredSite:
    id: str
    api_key: str
    webhook_secret: str
    origin: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def register_site(
    container: Any,
    *,
    name: str = "Example Blog",
    origin: str = "https://blog.example.com",
    webhook_url: str | None = None,
) -> RegisteredSite:
    from gmail_oneclick.domain.netpolicy import TargetPolicy
    from gmail_oneclick.services.sites import add_site

    with container.uow() as uow:
        new = add_site(uow, container.clock, name=name, origins=[origin], webhook_url=webhook_url,
                       targets=TargetPolicy.from_settings(container.settings))
    return RegisteredSite(new.site.id, new.api_key, new.webhook_secret, origin)


@pytest.fixture
def site(container: Any) -> RegisteredSite:
    """A registered site at https://blog.example.com with its API key."""
    return register_site(container)
