"""`gmail-oneclick serve`, run as an operator runs it: sandbox mode's banner and pages, what it
refuses, and a taken port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.integration.test_cli import one_error_line, run
from tests.waiting import answers_ok


def _free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_in_sandbox_mode(exe: str, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """`gmail-oneclick serve` on a migrated database, as `make run` starts it."""
    subprocess.run([exe, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    return subprocess.Popen([exe, "serve", "--port", str(port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until_healthy(port: int) -> None:
    """Up to 30 s for /healthz; the requests that follow say what went wrong if it never is."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not answers_ok(f"http://127.0.0.1:{port}/healthz"):
        time.sleep(0.2)


def _demo_site_id_and_new_key(exe: str, env: dict[str, str]) -> tuple[str, str]:
    """The demo site's id from `sites list`, and a key for it from `sites rotate-key`."""
    listed = subprocess.run([exe, "sites", "list"], env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    demo_id = json.loads(listed.stdout)["sites"][0]["site_id"]
    rotated = subprocess.run([exe, "sites", "rotate-key", demo_id], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    return demo_id, json.loads(rotated.stdout)["api_key"]


def test_serve_in_sandbox_mode_prints_where_to_click_and_serves(tmp_path: Path) -> None:
    """What `make run` does on a machine with no Google client configured."""

    port = _free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    env = {**base_env, "GMAIL_ONECLICK_SANDBOX": "1",
           "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance")}
    exe = str(Path(sys.executable).with_name("gmail-oneclick"))
    proc = _serve_in_sandbox_mode(exe, env, port)
    try:
        _wait_until_healthy(port)
        demo = requests.get(f"http://127.0.0.1:{port}/_demo", timeout=5)
        assert demo.status_code == 200 and "Connect Gmail" in demo.text
        google = requests.get(f"http://127.0.0.1:{port}/_sandbox/google/", timeout=5)
        assert google.status_code == 200 and "development only" in google.text
        # The printed way to get the demo site's key for curl works.
        demo_id, key = _demo_site_id_and_new_key(exe, env)
        api = requests.get(f"http://127.0.0.1:{port}/v1/connections", timeout=5,
                           headers={"Authorization": f"Bearer {key}"})
        assert api.status_code == 200 and api.json() == {"connections": []}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/_demo" in err
    assert f"sites rotate-key {demo_id}" in err
    assert "goc_" not in err and "GOCSPX" not in err
    assert (tmp_path / "instance" / "sandbox-keyring.txt").exists()


def test_sandbox_mode_refuses_a_real_google_client_id(tmp_path: Path) -> None:
    proc = run(["serve"], {"GMAIL_ONECLICK_SANDBOX": "1",
                           "GMAIL_ONECLICK_GOOGLE_CLIENT_ID": "123-real.apps.googleusercontent.com",
                           "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path)})
    assert "GMAIL_ONECLICK_GOOGLE_CLIENT_ID" in one_error_line(proc)


def test_outside_sandbox_mode_serve_needs_the_keyring(tmp_path: Path) -> None:
    proc = run(["serve"], {"GMAIL_ONECLICK_GOOGLE_CLIENT_ID": "x.apps.googleusercontent.com",
                           "GMAIL_ONECLICK_GOOGLE_CLIENT_SECRET": "GOCSPX-x",
                           "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path)})
    assert "GMAIL_ONECLICK_ENCRYPTION_KEYS" in one_error_line(proc)


def test_serve_on_a_taken_port_says_so_in_one_line_and_changes_nothing(tmp_path: Path) -> None:

    from gmail_oneclick.sandbox.persist import STATE_FILE

    (tmp_path / STATE_FILE).write_text("{}")  # the sandbox's saved grants, which --fresh drops
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run(["serve", "--fresh", "--port", str(port)],
                   {"GMAIL_ONECLICK_SANDBOX": "1", "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stderr == (f"error: port {port} is in use; stop the other process or run "
                           f"make run PORT={port + 1} (gmail-oneclick serve --port {port + 1})\n")
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]
