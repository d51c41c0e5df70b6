"""A throwaway MariaDB for the WordPress tests: its own data directory and unix socket, no TCP
port, started and stopped by its pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from tests.waiting import wait_for


def sbin(name: str) -> str | None:
    """``name`` in /usr/sbin, which is not on every user's PATH."""
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


class MariaDB:
    """A MariaDB server of our own: data directory and socket under ``folder``, no TCP port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.datadir = folder / "data"
        self.socket = folder / "mysqld.sock"
        self.pidfile = folder / "mysqld.pid"
        self.log = folder / "mysqld.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _as_root_flag(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> MariaDB:
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db",
             *self._as_root_flag()],
            check=True, capture_output=True,
        )
        mariadbd = shutil.which("mariadbd") or sbin("mariadbd") or "mariadbd"
        self._process = subprocess.Popen(  # noqa: S603
            [mariadbd, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--pid-file={self.pidfile}", f"--log-error={self.log}", "--skip-networking",
             "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
             *self._as_root_flag()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, "MariaDB to answer", timeout=30, interval=0.1)
        self.sql("CREATE DATABASE wordpress CHARACTER SET utf8mb4")
        return self

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"MariaDB exited: {self.log.read_text(errors='replace')[-2000:]}")
        if not self.socket.exists():
            return False
        return self.sql("SELECT 1", check=False).returncode == 0

    def sql(self, statement: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B",
             "-e", statement],
            check=check, capture_output=True, text=True,
        )

    def stop(self) -> None:
        if self._process is None:
            return
        pid = int(self.pidfile.read_text()) if self.pidfile.exists() else self._process.pid
        os.kill(pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
