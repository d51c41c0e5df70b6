"""Which instance folder a command uses: the nearest ``instance/`` here or above; a clear
refusal, naming the variable to set, instead of a new empty one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli.conftest import invoke


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder whose instance/ was made by `db upgrade`, and no location variable set."""
    monkeypatch.delenv("GMAIL_ONECLICK_DATABASE_URL")
    monkeypatch.delenv("GMAIL_ONECLICK_INSTANCE_PATH")
    folder = tmp_path / "deploy"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert invoke("db", "upgrade").exit_code == 0
    assert (folder / "instance" / "gmail-oneclick.sqlite").is_file()
    return folder


def test_a_command_in_a_sub_folder_uses_the_instance_above(
    deployment: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    added = invoke("sites", "add", "--name", "Blog", "--origin", "https://blog.example.com")
    site_id = json.loads(added.stdout)["site_id"]
    deep = deployment / "wp" / "logs"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    listed = invoke("sites", "list")
    assert listed.exit_code == 0, listed.stderr
    assert [s["site_id"] for s in json.loads(listed.stdout)["sites"]] == [site_id]
    assert list(deep.iterdir()) == []


def test_db_upgrade_works_where_serve_runs_and_says_where(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, terminal: None,
) -> None:
    """`make run` upgrades then serves: both use ./instance, never a folder above."""
    (deployment / "sub").mkdir()
    monkeypatch.chdir(deployment / "sub")
    out = invoke("db", "upgrade").stdout
    assert "(new database)" in out and str(deployment / "sub" / "instance") in out
    assert (deployment / "sub" / "instance" / "gmail-oneclick.sqlite").is_file()
    monkeypatch.chdir(deployment)
    assert "already at" in invoke("db", "upgrade").stdout


def test_far_from_any_instance_a_command_names_the_variable_and_creates_nothing(
    deployment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("sites", "list")
    assert result.exit_code == 1
    assert "GMAIL_ONECLICK_INSTANCE_PATH" in result.stderr
    assert str(elsewhere) in result.stderr and "db upgrade" in result.stderr
    assert list(elsewhere.iterdir()) == []
    monkeypatch.setenv("GMAIL_ONECLICK_INSTANCE_PATH", str(deployment / "instance"))
    assert invoke("sites", "list").exit_code == 0  # what the message said to do works


def test_an_instance_path_without_a_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GMAIL_ONECLICK_DATABASE_URL")
    monkeypatch.setenv("GMAIL_ONECLICK_INSTANCE_PATH", str(tmp_path / "typo"))
    result = invoke("connections", "list")
    assert result.exit_code == 1
    assert "GMAIL_ONECLICK_INSTANCE_PATH" in result.stderr and "typo" in result.stderr
    assert not (tmp_path / "typo").exists()


@pytest.fixture
def sandbox_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox made by `make run`'s `db upgrade`, then used with SANDBOX=1 unset."""
    for name in ("GMAIL_ONECLICK_DATABASE_URL", "GMAIL_ONECLICK_INSTANCE_PATH",
                 "GMAIL_ONECLICK_ENCRYPTION_KEYS"):
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GMAIL_ONECLICK_SANDBOX", "1")
    assert invoke("db", "upgrade").exit_code == 0
    return tmp_path


@pytest.mark.parametrize("keyring_generated", [False, True])
def test_a_sandbox_folder_without_sandbox_mode_says_to_set_it(
    sandbox_folder: Path, monkeypatch: pytest.MonkeyPatch, keyring_generated: bool,
) -> None:
    if keyring_generated:
        assert invoke("sites", "list").exit_code == 0
        assert (sandbox_folder / "instance" / "sandbox-keyring.txt").is_file()
    monkeypatch.delenv("GMAIL_ONECLICK_SANDBOX")
    result = invoke("sites", "list")
    assert result.exit_code == 1
    assert "set GMAIL_ONECLICK_SANDBOX=1" in result.stderr
    assert "sandbox's instance folder" in result.stderr
