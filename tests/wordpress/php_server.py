"""PHP's built-in server for a test WordPress, on loopback, with a few workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.waiting import wait_for

ROUTER = Path(__file__).resolve().parent / "router.php"


@dataclass
class PhpServer:
    """``php -S`` serving ``root`` on ``port``; its log is ``root/php-server.log``."""

    root: Path
    port: int
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        with open(self.root / "php-server.log", "ab") as log:
            self._process = subprocess.Popen(  # noqa: S603
                ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root), str(ROUTER)],
                cwd=self.root, env=env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,  # its workers are stopped with it, as one group
            )
        wait_for(self._answers, "PHP's built-in server to answer", timeout=30,
                 interval=0.1)

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError("php -S exited; see php-server.log")
        try:
            return requests.get(self.url + "/wp-login.php", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self._process is not None:
            # PHP_CLI_SERVER_WORKERS forks workers that outlive a parent stopped alone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self._process = None
