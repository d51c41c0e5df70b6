"""Long work shows done / total, rate and time left on stderr, only when stderr is a terminal."""

from __future__ import annotations

import io
import json

import pytest

from gmail_oneclick.bootstrap import Container
from gmail_oneclick.entrypoints.cli import output as cli_output
from tests.integration.cli.conftest import add_connections, add_site, invoke
from token_store import generate_key_entry

CONNECTIONS = 300


@pytest.fixture
def new_primary_key(store: Container, monkeypatch: pytest.MonkeyPatch,
                    keyring_text: str) -> None:
    """Several hundred connections under the old key, and a new key put first."""
    add_connections(store, add_site(), CONNECTIONS)  # + the site's webhook secret
    new_first = f"{generate_key_entry('k2')},{keyring_text}"
    monkeypatch.setenv("GMAIL_ONECLICK_ENCRYPTION_KEYS", new_first)


def test_keys_rotate_draws_progress_on_a_terminal_stderr(
    new_primary_key: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_output, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli_output, "REDRAW_SECONDS", 0.0)  # every batch, not every 0.1 s
    result = invoke("keys", "rotate", "--batch-size", "50")
    total = CONNECTIONS + 1
    assert json.loads(result.stdout) == {"rewrapped": total, "already_current": 0}
    draws = result.stderr.split("\r")[1:]
    assert draws[0].startswith(f"Re-wrapping keys  50/{total}  16%  ") and " left" in draws[0]
    assert "/s  " in draws[0]
    assert draws[-1].startswith(f"Re-wrapping keys  {total}/{total}  100%  ")
    assert draws[-1].endswith("done\033[K\n")  # the line ends, so logs start on their own
    assert len(draws) == -(-total // 50)


def test_keys_rotate_draws_no_progress_when_stderr_is_not_a_terminal(
    new_primary_key: None,
) -> None:
    result = invoke("keys", "rotate", "--batch-size", "50")
    assert result.exit_code == 0
    assert "\r" not in result.stderr and "Re-wrapping" not in result.stderr


@pytest.mark.usefixtures("terminal")
def test_keys_rotate_on_a_terminal_ends_with_a_sentence(new_primary_key: None) -> None:
    result = invoke("keys", "rotate")
    assert f"Re-wrapped {CONNECTIONS + 1} data keys under the primary key" in result.stdout


def test_progress_line_shows_rate_and_time_left() -> None:
    now = [100.0]
    stream = io.StringIO()
    line = cli_output.ProgressLine("Working", stream, clock=lambda: now[0], every=1.0)
    now[0] = 102.0
    line.update(200, 600)
    now[0] = 102.5
    line.update(250, 600)  # within a second of the last draw: not drawn
    now[0] = 106.0
    line.update(600, 600)
    line.close()
    draws = stream.getvalue().split("\r")[1:]
    assert draws[0] == "Working  200/600  33%  100/s  4 s left\033[K"
    assert draws[1] == "Working  600/600  100%  100/s  done\033[K\n"
