"""The sandbox cannot be switched on by accident: not on a public URL without a second setting,
and never on a real Google client's database (nor a real client on the sandbox's).

The sandbox answers ``invalid_grant`` for every token it did not mint, so one started on the
production database would purge every real connection at its first check.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gmail_oneclick.adapters.storage.deployment import DatabaseModeError
from gmail_oneclick.bootstrap import build
from gmail_oneclick.settings import Settings, SettingsError
from tests.conftest import mark_database, register_site
from tests.integration.revocation.conftest import stored_secret

EXE = str(Path(sys.executable).with_name("gmail-oneclick"))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    return subprocess.run([EXE, *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=60)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def sandbox_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """A sandbox-mode process pointed at the test database (marked for a real Google client)."""
    return {"GMAIL_ONECLICK_SANDBOX": "1", "GMAIL_ONECLICK_DATABASE_URL": database_url,
            "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance")}


def test_sandbox_refuses_a_public_url_off_loopback(sandbox_env: dict[str, str]) -> None:
    mark_database(sandbox_env["GMAIL_ONECLICK_DATABASE_URL"], "sandbox")
    sandbox_env["GMAIL_ONECLICK_PUBLIC_URL"] = "https://mail.example.com"
    line = one_error_line(run(["serve"], sandbox_env))
    assert "GMAIL_ONECLICK_PUBLIC_URL" in line and "GMAIL_ONECLICK_SANDBOX_PUBLIC=1" in line


def test_a_demo_host_says_so_with_a_second_setting(database_url: str, tmp_path: Path) -> None:
    mark_database(database_url, "sandbox")
    settings = Settings(sandbox=True, database_url=database_url,
                        public_url="https://demo.example.com",
                        instance_path=str(tmp_path / "instance"))
    with pytest.raises(SettingsError, match="SANDBOX_PUBLIC"):
        build(settings)
    container = build(settings.replace(sandbox_public=True))
    assert container.sandbox is not None
    assert container.settings.google_token_uri.startswith("https://demo.example.com/")
    container.engine.dispose()


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["sites", "list"]])
def test_sandbox_mode_refuses_a_real_clients_database(
    sandbox_env: dict[str, str], command: list[str], container: Any, sandbox: Any
) -> None:
    """A sandbox started on the real database would purge every connection: it never starts."""
    from tests.accounts import link_account

    site = register_site(container)
    linked = link_account(container, sandbox, site.id, "alice@example.com")

    line = one_error_line(run(command, sandbox_env))

    assert "belongs to a real Google client" in line and "GMAIL_ONECLICK_SANDBOX=1" in line
    assert stored_secret(container, linked.id) == linked.refresh_token.encode()


def test_a_real_client_refuses_the_sandboxs_database(database_url: str, tmp_path: Path) -> None:
    mark_database(database_url, "sandbox")
    env = {"GMAIL_ONECLICK_DATABASE_URL": database_url,
           "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance"),
           "GMAIL_ONECLICK_GOOGLE_CLIENT_ID": "123-real.apps.googleusercontent.com",
           "GMAIL_ONECLICK_GOOGLE_CLIENT_SECRET": "GOCSPX-not-a-real-one",
           "GMAIL_ONECLICK_ENCRYPTION_KEYS": "k1:" + "A" * 43}
    for command in (["checker", "--once"], ["db", "upgrade"], ["serve"]):
        line = one_error_line(run(command, env))
        assert "belongs to the bundled Google sandbox" in line, command


def test_the_first_upgrade_marks_a_new_database_with_its_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    env = {"GMAIL_ONECLICK_SANDBOX": "1", "GMAIL_ONECLICK_DATABASE_URL": url,
           "GMAIL_ONECLICK_INSTANCE_PATH": str(tmp_path / "instance")}
    first = run(["db", "upgrade"], env)
    assert first.returncode == 0, first.stderr
    assert '"mode": "sandbox"' in first.stdout
    assert run(["db", "upgrade"], env).returncode == 0  # idempotent in the same mode
    env.pop("GMAIL_ONECLICK_SANDBOX")
    assert "bundled Google sandbox" in one_error_line(run(["db", "upgrade"], env))


@pytest.mark.parametrize("how", ["row deleted", "table missing"])
def test_an_unmarked_database_is_refused_until_upgraded(database_url: str, settings: Settings,
                                                        how: str) -> None:
    from gmail_oneclick.adapters.storage.tables import deployment, make_engine

    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(deployment.delete())
        if how == "table missing":  # migrated before the marker existed
            deployment.drop(conn)
    engine.dispose()
    with pytest.raises(DatabaseModeError, match="db upgrade"):
        build(settings)
    from gmail_oneclick.adapters.storage.migrate import upgrade

    assert upgrade(database_url, sandbox=False)["mode"] == "google"
    build(settings).engine.dispose()


def test_readyz_fails_when_the_database_is_not_of_this_mode(client: Any,
                                                           database_url: str) -> None:
    assert client.get("/readyz").status_code == 200
    mark_database(database_url, "sandbox")  # e.g. DATABASE_URL now names the demo's database

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["database_mode"] == "sandbox_database"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_refuses_to_start_on_the_other_modes_database(
    sandbox_env: dict[str, str],
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {**base, **sandbox_env, "GUNICORN_BIND": f"127.0.0.1:{_free_port()}",
           "GMAIL_ONECLICK_WEB_WORKERS": "1", "GMAIL_ONECLICK_WEB_THREADS": "1"}
    proc = subprocess.run(
        [gunicorn, "--config", "python:gmail_oneclick.observability.gunicorn_conf",
         "gmail_oneclick.entrypoints.web:create_app()"],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "belongs to a real Google client" in proc.stderr


def test_sandbox_refuses_to_listen_off_loopback(sandbox_env: dict[str, str]) -> None:
    mark_database(sandbox_env["GMAIL_ONECLICK_DATABASE_URL"], "sandbox")
    line = one_error_line(run(["serve", "--host", "0.0.0.0", "--port", "8792"], sandbox_env))  # noqa: S104
    assert "GMAIL_ONECLICK_SANDBOX_PUBLIC=1" in line
    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.run(  # the Procfile's web process binds 0.0.0.0:$PORT by default
        [gunicorn, "--config", "python:gmail_oneclick.observability.gunicorn_conf",
         "gmail_oneclick.entrypoints.web:create_app()"],
        env={**base, **sandbox_env, "PORT": str(_free_port())}, capture_output=True, text=True,
        timeout=60)
    assert proc.returncode != 0 and "SANDBOX_PUBLIC" in proc.stderr
