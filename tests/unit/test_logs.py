"""Logs are JSON lines, and the redaction net catches secrets that slip into a message."""

from __future__ import annotations

import io
import json
import logging

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
