"""Logs are JSON lines, and the redaction net catches secrets that slip into a message."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from gmail_oneclick.observability.logs import configure_logging, redact


@pytest.mark.parametrize(
    "secret",
    [
        "ya29.a0AfH6SMBx-access-token-value",
        "1//0gLxrefresh-token-value-abcdef",
        "4/0AX4XfWh-authorization-code-value",
        "goc_" + "k" * 43,
        "whsec_" + "A" * 44,
        "GOCSPX-client-secret-value",
    ],
)
def test_redact_removes_known_secret_shapes(secret: str) -> None:
    assert secret not in redact(f"something happened with {secret} today")


def test_redact_keeps_ordinary_text() -> None:
    text = "sent message 18c2f to 3 recipients (2048 bytes) for conn_abc"
    assert redact(text) == text


def test_log_lines_are_one_json_object_each_with_extras() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("gmail_oneclick.test").info(
            "refreshed", extra={"connection_id": "conn_x", "token": "ya29.secret-token"}
        )
    finally:
        configure_logging("INFO")
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["msg"] == "refreshed" and entry["connection_id"] == "conn_x"
    assert "ya29.secret-token" not in lines[0]


class _Terminal(io.StringIO):
    """What a handler sees when stderr is a person's terminal."""

    def isatty(self) -> bool:
        return True


def _log_to(stream: io.StringIO, message: str, **extra: object) -> str:
    configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("gmail_oneclick.test").info(message, extra=extra)
    finally:
        configure_logging("INFO")
    return stream.getvalue()


def test_on_a_terminal_log_lines_are_for_reading() -> None:
    out = _log_to(_Terminal(), "refreshed", connection_id="conn_x", attempts=2)
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO  refreshed connection_id=conn_x attempts=2\n", out)


def test_on_a_terminal_secrets_are_redacted_as_in_json() -> None:
    out = _log_to(_Terminal(), "refreshed ya29.in-the-message", token="1//0gLxrefresh-token",
                  nested={"access_token": "abc123secret"})
    assert "ya29.in-the-message" not in out and "1//0gLxrefresh-token" not in out
    assert "abc123secret" not in out and out.count("[redacted]") == 3


def test_on_a_terminal_a_value_cannot_fake_a_line_or_colour_the_screen() -> None:
    out = _log_to(_Terminal(), "origin\n12:00:00 INFO  forged", origin="a b\x1b[31m")
    assert out.count("\n") == 1 and "\x1b" not in out
    assert 'origin="a b\\u001b[31m"' in out


def test_anything_but_a_terminal_gets_json_lines() -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    for stream in (io.StringIO(), Closed()):
        assert json.loads(_log_to(stream, "refreshed"))["msg"] == "refreshed"
