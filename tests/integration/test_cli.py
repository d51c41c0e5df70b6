"""The gmail-oneclick command, run as an operator runs it: a subprocess with env vars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from token_store import Keyring, generate_key_entry


def run(
    args: list[str], env: dict[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("gmail-oneclick")), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GMAIL_ONECLICK_DATABASE_URL": database_url,
        "GMAIL_ONECLICK_ENCRYPTION_KEYS": generate_key_entry("k1"),
        "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance"),
    }


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def add_site(env: dict[str, str], *extra: str) -> dict[str, Any]:
    proc = run(["sites", "add", "--name", "Blog", "--origin", "https://blog.example.com", *extra],
               env, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_sites_add_refuses_a_loopback_webhook_url_unless_private_targets_are_allowed(
    env: dict[str, str],
) -> None:
    args = ["sites", "add", "--name", "Blog", "--origin", "https://blog.example.com",
            "--webhook-url", "http://127.0.0.1:8080/hook"]
    assert "public internet address" in one_error_line(run(args, env))
    allowed = {**env, "GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS": "allow"}
    proc = run(args, allowed, check=True)
    assert json.loads(proc.stdout)["site_id"].startswith("site_")
    assert "WEBHOOK_PRIVATE_TARGETS=allow" in proc.stderr  # the operator is told


def test_keys_generate_prints_a_keyring_entry_that_parses() -> None:
    proc = run(["keys", "generate"], {}, check=True)
    entry = proc.stdout.strip().splitlines()[-1]
    keyring = Keyring.parse(entry)
    assert len(keyring.primary_key) == 32


def test_two_generated_keys_differ() -> None:
    a = run(["keys", "generate"], {}, check=True).stdout.strip()
    b = run(["keys", "generate"], {}, check=True).stdout.strip()
    assert a != b


def test_sites_add_shows_secrets_once_and_stores_only_hashes(env: dict[str, str]) -> None:
    site = add_site(env, "--webhook-url", "https://blog.example.com/hook")
    assert site["api_key"].startswith("goc_") and len(site["api_key"]) >= 43
    assert site["webhook_secret"].startswith("whsec_")
    listed = json.loads(run(["sites", "list"], env, check=True).stdout)
    assert listed["sites"][0]["site_id"] == site["site_id"]
    assert listed["sites"][0]["verified_at"]  # the operator's sites need no verification
    assert site["api_key"] not in json.dumps(listed)
    db = Path(env["GMAIL_ONECLICK_DATABASE_URL"].removeprefix("sqlite:///"))
    if db.exists():
        blob = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes()
                                  if db.with_name(db.name + "-wal").exists() else b"")
        assert site["api_key"].encode() not in blob
        assert site["webhook_secret"].encode() not in blob


@pytest.mark.parametrize(
    "origin",
    ["http://blog.example.com", "ftp://blog.example.com", "https://blog.example.com/path",
     "not a url", "https://user:pw@blog.example.com"],
)
def test_sites_add_refuses_a_bad_origin(env: dict[str, str], origin: str) -> None:
    proc = run(["sites", "add", "--name", "Blog", "--origin", origin], env)
    assert "origin" in one_error_line(proc)
    assert json.loads(run(["sites", "list"], env, check=True).stdout)["sites"] == []


def test_sites_add_accepts_http_on_loopback(env: dict[str, str]) -> None:
    proc = run(["sites", "add", "--name", "Dev", "--origin", "http://127.0.0.1:8080"], env)
    assert proc.returncode == 0, proc.stderr


def test_sites_add_refuses_a_plain_http_webhook(env: dict[str, str]) -> None:
    proc = run(["sites", "add", "--name", "Blog", "--origin", "https://blog.example.com",
                "--webhook-url", "http://hooks.example.com/x"], env)
    assert "webhook" in one_error_line(proc)


def test_rotate_key_replaces_the_key(env: dict[str, str]) -> None:
    site = add_site(env)
    rotated = json.loads(run(["sites", "rotate-key", site["site_id"]], env, check=True).stdout)
    assert rotated["api_key"] != site["api_key"]


def test_unknown_site_is_a_clear_error(env: dict[str, str]) -> None:
    assert "site_nope" in one_error_line(run(["sites", "remove", "site_nope"], env))
    assert "site_nope" in one_error_line(run(["sites", "rotate-key", "site_nope"], env))


def test_remove_site(env: dict[str, str]) -> None:
    site = add_site(env)
    out = json.loads(run(["sites", "remove", site["site_id"]], env, check=True).stdout)
    assert out["removed"] is True
    assert json.loads(run(["sites", "list"], env, check=True).stdout)["sites"] == []


def test_missing_keyring_names_the_variable(env: dict[str, str]) -> None:
    del env["GMAIL_ONECLICK_ENCRYPTION_KEYS"]
    line = one_error_line(run(["sites", "list"], env))
    assert "GMAIL_ONECLICK_ENCRYPTION_KEYS" in line


@pytest.mark.parametrize(
    "keys", ["k1:short", "k1", "k1:" + "A" * 43 + ",k1:" + "B" * 43, "bad id!:" + "A" * 43]
)
def test_malformed_keyring_names_the_variable_and_not_the_value(env: dict[str, str],
                                                                keys: str) -> None:
    env["GMAIL_ONECLICK_ENCRYPTION_KEYS"] = keys
    line = one_error_line(run(["sites", "list"], env))
    assert "GMAIL_ONECLICK_ENCRYPTION_KEYS" in line
    assert "A" * 20 not in line and "short" not in line


def test_keyring_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(env.pop("GMAIL_ONECLICK_ENCRYPTION_KEYS") + "\n")
    env["GMAIL_ONECLICK_ENCRYPTION_KEYS_FILE"] = str(path)
    assert run(["sites", "list"], env).returncode == 0


def test_a_keyring_lacking_a_key_in_use_refuses_to_start(env: dict[str, str]) -> None:
    add_site(env, "--webhook-url", "https://blog.example.com/hook")
    env["GMAIL_ONECLICK_ENCRYPTION_KEYS"] = generate_key_entry("k2")
    line = one_error_line(run(["sites", "list"], env))
    assert "k1" in line and "GMAIL_ONECLICK_ENCRYPTION_KEYS" in line
    line = one_error_line(run(["keys", "rotate"], env))
    assert "k1" in line


def test_keys_rotate_rewraps_and_old_key_can_then_go(env: dict[str, str]) -> None:
    add_site(env, "--webhook-url", "https://blog.example.com/hook")
    add_site(env)
    old = env["GMAIL_ONECLICK_ENCRYPTION_KEYS"]
    new = generate_key_entry("k2")
    env["GMAIL_ONECLICK_ENCRYPTION_KEYS"] = f"{new},{old}"
    first = json.loads(run(["keys", "rotate"], env, check=True).stdout)
    assert first == {"rewrapped": 2, "already_current": 0}
    again = json.loads(run(["keys", "rotate"], env, check=True).stdout)
    assert again == {"rewrapped": 0, "already_current": 2}
    env["GMAIL_ONECLICK_ENCRYPTION_KEYS"] = new
    assert run(["sites", "list"], env).returncode == 0


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    env["GMAIL_ONECLICK_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    line = one_error_line(run(["sites", "list"], env))
    assert "database" in line


def test_schema_missing_says_to_upgrade(env: dict[str, str], tmp_path: Path) -> None:
    env["GMAIL_ONECLICK_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    line = one_error_line(run(["sites", "list"], env))
    assert "db upgrade" in line


def test_bad_number_setting_is_named(env: dict[str, str]) -> None:
    env["GMAIL_ONECLICK_CONNECT_TTL"] = "soon"
    assert "GMAIL_ONECLICK_CONNECT_TTL" in one_error_line(run(["sites", "list"], env))


def test_every_command_has_help() -> None:
    for args in (["--help"], ["serve", "--help"], ["db", "upgrade", "--help"],
                 ["keys", "generate", "--help"], ["keys", "rotate", "--help"],
                 ["sites", "add", "--help"], ["sites", "list", "--help"],
                 ["sites", "rotate-key", "--help"], ["sites", "remove", "--help"],
                 ["sites", "show", "--help"], ["connections", "list", "--help"],
                 ["checker", "--help"], ["privacy", "export", "--help"],
                 ["privacy", "forget", "--help"]):
        proc = run(args, {})
        assert proc.returncode == 0 and "Usage" in proc.stdout, args
