"""Shared helpers of the benchmarks: each script builds its own world from these.

- ``RemoteSandbox``: the Google sandbox in its own process (so the service's CPU and memory,
  and the direct client's, are never mixed with Google's), driven through a command pipe.
- ``fresh_database()``: a migrated temporary SQLite file, or a fresh database on the
  PostgreSQL server named by ``BENCH_DATABASE_URL``.
- ``ServiceProcess``: the service under gunicorn (the Procfile's web command) on loopback, with
  its CPU time and memory high-water read from /proc.
- seeding helpers (sites, connections holding real sandbox tokens) and output helpers (a short
  table, then one JSON line).

Nothing here talks to anything beyond 127.0.0.1. Tokens never get printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback"
BENCH_EMAIL = "bench-{:05d}@example.com"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- arguments and output -------------------------------------------------------------------

def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks the script works, figures mean little")
    return p


def size(description: str, name: str, *, default: int, quick: int) -> int:
    """The one size a benchmark takes (``--NAME``); ``quick`` when run with --quick."""
    p = parser(description)
    p.add_argument(f"--{name}", type=int, default=default)
    args = p.parse_args()
    return quick if args.quick else int(getattr(args, name))


def table(title: str, rows: Sequence[tuple[str, Any, str]]) -> None:
    """Print ``rows`` of (figure, value, target or note) under ``title``."""
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {name:<{width}}  {shown:>12}  {note}")


def emit(bench: str, figures: dict[str, Any]) -> None:
    """The last line every script prints: machine-readable figures."""
    print(json.dumps({"bench": bench, **figures}, sort_keys=True), flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def race(count: int, target: Callable[[threading.Barrier], None]) -> float:
    """Run ``target(start)`` in ``count`` threads, each calling ``start.wait()`` once it is set
    up (connected, say); the seconds from when all are set up until the last one finished."""
    start = threading.Barrier(count + 1)
    threads = [threading.Thread(target=target, args=(start,), daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(terse=True)}


# ---- the sandbox in its own process ----------------------------------------------------------

def _mint(state: Any, account: Any, scopes: frozenset[str]) -> dict[str, Any]:
    """A real offline grant of the sandbox (code issued for the account, then redeemed), as
    the consent page and /token would do, minus their HTML and HTTP."""
    import secrets as _secrets

    from gmail_oneclick.sandbox.records import PendingRequest, utcnow
    from gmail_oneclick.sandbox.tokens import s256

    verifier = _secrets.token_urlsafe(48)
    pending = PendingRequest(
        client_id=state.client_id, redirect_uri=REDIRECT_URI, scopes=tuple(sorted(scopes)),
        state=None, code_challenge=s256(verifier), offline=True, prompt_consent=True,
        login_hint=None, expires_at=utcnow() + timedelta(minutes=5))
    code = state.issue_code(pending, account, scopes)
    issued = state.exchange_code(state.client_id, code, verifier, REDIRECT_URI)
    body = dict(issued.body)
    body.update(email=account.email, sub=account.sub)
    return body


def _sandbox_main(conn: Any, accounts: int) -> None:  # runs in the child process
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    from gmail_oneclick.domain.model import REQUIRED_SCOPES
    from gmail_oneclick.sandbox import start_sandbox
    from gmail_oneclick.sandbox.gmail_state import gmail_state
    from gmail_oneclick.sandbox.records import Account
    from gmail_oneclick.sandbox.state import SandboxState

    # Accounts through the constructor: add_account's duplicate check is linear per account.
    people = [Account(str(300_000_000_000_000_000_000 + i * 7919), BENCH_EMAIL.format(i))
              for i in range(accounts)]
    state = SandboxState(accounts=people)
    state.max_refresh_tokens = 10_000
    server = start_sandbox(state)
    gmail = gmail_state(state)
    by_email = {a.email: a for a in people}
    conn.send({"url": server.url, "client_id": state.client_id,
               "client_secret": state.client_secret})
    scopes = frozenset(REQUIRED_SCOPES)
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        if command == "grants":  # (first, count): one grant each for those bench accounts
            first, count = args
            conn.send([_mint(state, by_email[BENCH_EMAIL.format(i)], scopes)
                       for i in range(first, first + count)])
        elif command == "expire":
            state.expire_access_tokens(args)
            conn.send(None)
        elif command == "counts":
            conn.send({"refreshes": state.refresh_count, "token_calls": state.token_calls,
                       "sent": gmail.sent_count(), "send_requests": gmail.send_requests,
                       "last_sent_size": gmail.sent[-1].size if gmail.sent else 0})
        elif command == "forget_sent":  # the sandbox keeps raw messages in memory
            with gmail.lock:
                gmail.sent.clear()
            conn.send(None)
        elif command == "tokens_revoked":  # signed SETs for these accounts, one each
            from gmail_oneclick.domain.security_events import TOKENS_REVOKED

            conn.send([state.make_security_event(
                TOKENS_REVOKED, state.subject_for_account(by_email[email])) for email in args])
        elif command == "cpu":
            conn.send(time.process_time())
        else:
            conn.send(ValueError(f"unknown command {command!r}"))
    server.stop()


class RemoteSandbox:
    """The sandbox served from a child process, with ``accounts`` bench accounts."""

    def __init__(self, accounts: int = 10) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_sandbox_main, args=(child, accounts),
                                        daemon=True, name="google-sandbox")
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the sandbox process did not start")
        info = self._conn.recv()
        self.url: str = info["url"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]

    def call(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def grants(self, first: int, count: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for start in range(first, first + count, 1000):  # keeps each pipe message small
            out += self.call("grants", (start, min(1000, first + count - start)))
        return out

    def counts(self) -> dict[str, int]:
        return dict(self.call("counts"))

    def stop(self) -> None:
        with suppress(EOFError, BrokenPipeError, OSError):
            self.call("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- database and settings -------------------------------------------------------------------

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
def world(accounts: int) -> Iterator[World]:
    """A sandbox with ``accounts`` accounts, a fresh database and a container built on both."""
    with RemoteSandbox(accounts=accounts) as sandbox, fresh_database() as db, \
            tempfile.TemporaryDirectory() as instance:
        values = settings_values(db, keyring_text(), sandbox, instance)
        yield World(sandbox, values, build_container(values))


# ---- the service under gunicorn ------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class ServiceProcess:
    """The Procfile's web process (gunicorn on ``create_app``) on a free loopback port,
    configured through environment variables as in production."""

    def __init__(self, values: dict[str, Any], *, workers: int | None = None,
                 threads: int | None = None, extra_env: dict[str, str] | None = None) -> None:
        from gmail_oneclick.settings import PREFIX, Settings

        # The production defaults unless a script asks otherwise.
        workers = Settings.web_workers if workers is None else workers
        threads = Settings.web_threads if threads is None else threads
        self.workers, self.threads = workers, threads
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
        env.update({PREFIX + k.upper(): str(v) for k, v in values.items()})
        env.update({PREFIX + "WEB_WORKERS": str(workers), PREFIX + "WEB_THREADS": str(threads),
                    "GUNICORN_BIND": f"127.0.0.1:{self.port}", **(extra_env or {})})
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed command line
            [str(gunicorn), "--config", "python:gmail_oneclick.observability.gunicorn_conf",
             "gmail_oneclick.entrypoints.web:create_app()"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_tail())
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200 and \
                        len(_children(self.process.pid)) >= workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become ready:\n" + self.log_tail())

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def pids(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def worker_kib(self, key: str) -> int:
        """A /proc status figure (VmRSS, VmHWM) summed over the workers."""
        return sum(_status_kib(pid, key) for pid in _children(self.process.pid))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._log.close()

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def idle_cpu_rate(service: ServiceProcess, seconds: float = 2.0) -> float:
    """The service's CPU seconds per second while nobody calls it (gunicorn's own ticking)."""
    before = service.cpu_seconds()
    time.sleep(seconds)
    return (service.cpu_seconds() - before) / seconds


# ---- seeding ---------------------------------------------------------------------------------

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


def keyring_text(key_id: str = "k1") -> str:
    from token_store import generate_key_entry

    return str(generate_key_entry(key_id))
