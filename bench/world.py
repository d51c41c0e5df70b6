"""One benchmark's world: the sandbox process, a fresh database, the service's settings and a
container built on them.

``fresh_database()`` is a migrated temporary SQLite file, or a fresh database on the
PostgreSQL server named by ``BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.sandbox_process import RemoteSandbox


@contextmanager
def fresh_database() -> Iterator[str]:
    """A migrated empty database URL, removed afterwards."""
    from gmail_oneclick.adapters.storage.migrate import upgrade

    server = os.environ.get("BENCH_DATABASE_URL", "")
    if not server:
        folder = tempfile.mkdtemp(prefix="goc-bench-")
        url = f"sqlite:///{folder}/bench.sqlite"
        try:
            upgrade(url, sandbox=False)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"goc_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, sandbox=False)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_values(database_url: str, keys: str, sandbox: RemoteSandbox,
                    instance: str) -> dict[str, Any]:
    """Settings fields for a service pointed at ``sandbox`` over HTTP (not sandbox mode)."""
    from gmail_oneclick.sandbox import sandbox_urls

    return {"database_url": database_url, "encryption_keys": keys,
            "public_url": "http://127.0.0.1:8000", "google_client_id": sandbox.client_id,
            "google_client_secret": sandbox.client_secret, "instance_path": instance,
            "http_timeout": 30.0, "log_level": "WARNING", **sandbox_urls(sandbox.url)}


def build_container(values: dict[str, Any]) -> Any:
    from gmail_oneclick.bootstrap import build
    from gmail_oneclick.settings import Settings

    return build(Settings(**values))


@dataclass
class World:
    """One benchmark's world: the sandbox process, the service's settings and a container."""

    sandbox: RemoteSandbox
    values: dict[str, Any]
    container: Any


@contextmanager
def world(accounts: int, token_latency: float = 0.0) -> Iterator[World]:
    """A sandbox with ``accounts`` accounts (``/token`` answering ``token_latency`` seconds
    late), a fresh database and a container built on both."""
    with RemoteSandbox(accounts=accounts, token_latency=token_latency) as sandbox, \
            fresh_database() as db, tempfile.TemporaryDirectory() as instance:
        values = settings_values(db, keyring_text(), sandbox, instance)
        yield World(sandbox, values, build_container(values))


def keyring_text(key_id: str = "k1") -> str:
    from token_store import generate_key_entry

    return str(generate_key_entry(key_id))
