"""The Procfile's processes against one PostgreSQL database, as an operator runs them.

``stack`` runs the Procfile's ``release`` step, then its ``web`` command (gunicorn, several
workers and threads) and two ``checker`` processes, each in its own process group, from a
directory outside the repository, configured only through ``GMAIL_ONECLICK_*`` variables. The
Google sandbox runs in this test process (its counters are read directly) and a webhook receiver
here records every delivery. Every process is killed at teardown, whatever the outcome.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.settings import VARIABLES, Settings
from tests.conftest import RegisteredSite

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CSRF = "name=\"csrf_token\" value=\""
RETURN_URL = "https://blog.example.com/wp-admin/options-general.php?page=gmail"
SWEEP_SECONDS = 1
IDLE_SWEEP = '"claimed": 0, "verified": 0, "revoked": 0, "transient": 0, "skipped": 0, ' \
    '"errors": 0, "webhooks_delivered": 0, "webhooks_retried": 0, "webhooks_failed": 0'


def procfile() -> dict[str, list[str]]:
    """The Procfile's commands, split as a shell would split them."""
    entries: dict[str, list[str]] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This environment without any GMAIL_ONECLICK_ or metrics variable, plus ``settings``
    as the variables an operator sets, with the venv's scripts first on PATH."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GMAIL_ONECLICK_", "PROMETHEUS_", "GUNICORN_"))}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    for var in VARIABLES:
        value = getattr(settings, var.name)
        base[var.env] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return {**base, **extra}


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        busy = [line for line in text.splitlines() if IDLE_SWEEP not in line]
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(busy[-lines:])


@dataclass
class Stack:
    url: str
    workdir: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    killed: set[str] = field(default_factory=set)

    @property
    def web(self) -> Proc:
        return self.procs[0]

    @property
    def checkers(self) -> list[Proc]:
        return self.procs[1:]

    def start(self, name: str, argv: list[str]) -> Proc:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(BIN / argv[0]), *argv[1:]], cwd=self.workdir, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def kill_9(self, proc: Proc) -> None:
        """A crash: SIGKILL, no cleanup, leases and claims left as they were."""
        self.killed.add(proc.name)
        proc.signal_group(signal.SIGKILL)
        proc.popen.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            proc.signal_group(signal.SIGKILL)  # the group: gunicorn's workers too
            proc.popen.wait(timeout=10)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               stack: Stack | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n"
                                 + (stack.logs() if stack else ""))
        if stack is not None:
            dead = [p.name for p in stack.procs if not p.alive() and p.name not in stack.killed]
            assert not dead, f"{dead} exited\n{stack.logs()}"
        time.sleep(0.1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook receiver runs on loopback: private targets allowed, as an operator does for
    receivers on a private network."""
    return settings.replace(webhook_private_targets="allow")


@pytest.fixture
def stack_settings(settings: Settings) -> Settings:
    """The root settings (PostgreSQL, sandbox URLs) for a service on its own loopback port:
    three workers of four threads, two checkers sweeping every second, checks hourly (a test
    makes connections due by hand)."""
    return settings.replace(
        public_url=f"http://127.0.0.1:{free_port()}", web_workers=3, web_threads=4,
        check_interval=3600, checker_sweep_seconds=SWEEP_SECONDS, checker_concurrency=4,
        log_level="INFO",
        # as in production: each process posts the webhooks it commits, checkers retry
        webhook_dispatch_threads=Settings.webhook_dispatch_threads)


@pytest.fixture
def stack(stack_settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    workdir = tmp_path / "run"
    (workdir / "metrics").mkdir(parents=True)
    url = stack_settings.public_url
    env = service_env(stack_settings, GUNICORN_BIND=url.removeprefix("http://"),
                      PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"))
    running = Stack(url, workdir, env)
    commands = procfile()
    release = subprocess.run([str(BIN / commands["release"][0]), *commands["release"][1:]],
                             cwd=workdir, env=env, capture_output=True, text=True, timeout=60)
    assert release.returncode == 0, release.stderr
    try:
        running.start("web", commands["web"])
        running.start("checker-1", commands["checker"])
        running.start("checker-2", commands["checker"])
        wait_until(lambda: _ready(url), 30, "/readyz", running)
        yield running
    finally:
        running.stop()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Delivery:
    id: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A site's webhook endpoint: answers 503 to the first attempt of every third event (so
    retries happen across processes), 204 otherwise, and records every request."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seen: list[str] = field(default_factory=list)

    def app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        event_id = request.headers.get("webhook-id", "")
        with self.lock:
            first = event_id not in self._seen
            if first:
                self._seen.append(event_id)
            status = 503 if first and len(self._seen) % 3 == 0 else 204
            self.deliveries.append(Delivery(event_id, status, dict(request.headers),
                                            request.get_data()))
        return Response(status=status)(environ, start_response)

    def accepted(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def refused(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.status >= 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    server = make_server("127.0.0.1", 0, recv.app, threaded=True)
    recv.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield recv
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def connect(stack: Stack, site: RegisteredSite, email: str) -> str:
    """A site admin's whole click-through against gunicorn and the sandbox; the connection id."""
    with requests.Session() as browser, requests.Session() as google:
        created = browser.post(f"{stack.url}/v1/connections", json={"return_url": RETURN_URL},
                               headers=site.auth, timeout=10)
        assert created.status_code == 201, created.text
        link = created.json()["connect_url"]
        page = browser.get(link, timeout=10)
        assert page.status_code == 200, page.text
        csrf = page.text.split(CSRF, 1)[1].split('"', 1)[0]
        to_google = browser.post(link, data={"csrf_token": csrf}, allow_redirects=False,
                                 timeout=10)
        assert to_google.status_code == 303, to_google.text
        callback = approve_consent(google, to_google.headers["Location"], email)
        back = browser.get(callback, allow_redirects=False, timeout=10)
        assert back.status_code == 303, back.text
        query = parse_qs(urlsplit(back.headers["Location"]).query)
        assert query["gmail_oneclick"] == ["connected"], query
        return query["connection_id"][0]
