"""End to end under a real pseudo-terminal: the installed command sees a terminal on its own."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("gmail-oneclick"))


def run_in_terminal(args: list[str], env: dict[str, str], answer: bytes = b"") -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a pty; type ``answer`` once asked. Returns the
    exit code and everything the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([EXE, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the command ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
                if answer and b"[y/N]" in shown:
                    os.write(master, answer)
                    answer = b""
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    return proc.wait(timeout=30), shown.decode().replace("\r\n", "\n")


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}


def test_on_a_terminal_people_get_a_table_and_a_question(env: dict[str, str]) -> None:
    added = subprocess.run([EXE, "sites", "add", "--name", "Blog", "--origin",
                            "https://blog.example.com"], env=env, capture_output=True,
                           text=True, timeout=60, check=True)
    site_id = json.loads(added.stdout)["site_id"]  # a pipe: JSON, as scripts expect
    code, shown = run_in_terminal(["sites", "list"], env)
    assert code == 0 and "SITE ID" in shown and site_id in shown and "{" not in shown
    code, shown = run_in_terminal(["sites", "remove", site_id], env, answer=b"n\n")
    assert code == 1 and f"Remove site {site_id} (Blog)" in shown and "Aborted" in shown
    code, shown = run_in_terminal(["sites", "list", "--json"], env)
    assert json.loads(shown)["sites"][0]["site_id"] == site_id
