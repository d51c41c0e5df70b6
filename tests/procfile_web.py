"""The Procfile's ``web`` process (gunicorn) for tests that need the real server's behaviour,
not the Flask test client's: configured through environment variables only, on a free loopback
port, against the test's own database and the in-process Google sandbox. Killed at exit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

import requests

from gmail_oneclick.settings import Settings
from tests.multiprocess.conftest import BIN, free_port, procfile, service_env


@contextlib.contextmanager
def web_process(settings: Settings, *, workers: int = 1, threads: int = 4) -> Iterator[str]:
    """Run the Procfile's web command; yields its base URL."""
    url = f"http://127.0.0.1:{free_port()}"
    env = service_env(settings.replace(public_url=url, web_workers=workers,
                                       web_threads=threads),
                      GUNICORN_BIND=url.removeprefix("http://"))
    command = procfile()["web"]
    with tempfile.TemporaryDirectory() as workdir, tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - the Procfile's own command line
            [str(BIN / command[0]), *command[1:]], cwd=workdir, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(url, process, log)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + _tail(log))
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not become ready:\n" + _tail(log))


def _tail(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return str(log.read().decode(errors="replace")[-3000:])  # type: ignore[attr-defined]

