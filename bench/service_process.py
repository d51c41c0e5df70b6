"""The service under gunicorn (the Procfile's web command) on loopback, with its CPU time and
memory high-water read from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def command(server: str, port: int, workers: int, threads: int) -> list[str]:
    """The web process's command line: the Procfile's gunicorn line, or (``server="granian"``,
    for bench.web_servers' comparison) granian's WSGI server with the same workers and
    threads."""
    if server == "gunicorn":
        return [str(Path(sys.executable).with_name("gunicorn")), "--config",
                "python:gmail_oneclick.observability.gunicorn_conf",
                "gmail_oneclick.entrypoints.web:create_app()"]
    return [str(Path(sys.executable).with_name("granian")), "--interface", "wsgi",
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--factory", "gmail_oneclick.entrypoints.web:create_app"]


class ServiceProcess:
    """The Procfile's web process (gunicorn on ``create_app``) on a free loopback port,
    configured through environment variables as in production."""

    def __init__(self, values: dict[str, Any], *, workers: int | None = None,
                 threads: int | None = None, extra_env: dict[str, str] | None = None,
                 server: str = "gunicorn") -> None:
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
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed command line
            command(server, self.port, workers, threads),
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
        """The server and every process under it (workers, and theirs)."""
        found = [self.process.pid]
        for pid in found:
            found += _children(pid)
        return found

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
