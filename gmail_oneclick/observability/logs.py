"""Logs on stderr with a redaction filter as a safety net: one JSON object per line, or, when
stderr is a terminal, one readable line (``12:01:02 INFO  message key=value``) for a person.

The design is to never pass secrets to a logger; the filter only catches mistakes: values that look
like Google tokens, authorization codes, our API keys, keyring entries or long base64 blobs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_PATTERNS = [
    re.compile(r"ya29\.[A-Za-z0-9._\-]+"),  # Google access tokens
    re.compile(r"1//[A-Za-z0-9._\-]+"),  # Google refresh tokens
    re.compile(r"4/[A-Za-z0-9._\-]{10,}"),  # Google authorization codes
    re.compile(r"goc_[A-Za-z0-9_\-]{20,}"),  # our API keys
    re.compile(r"whsec_[A-Za-z0-9+/=]{20,}"),  # webhook secrets
    re.compile(r"GOCSPX-[A-Za-z0-9_\-]+"),  # Google client secrets
    re.compile(r"sbx-[a-z]+-[A-Za-z0-9_\-]{16,}"),  # sandbox tokens
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]+"),
    re.compile(r"(?i)((?:access|refresh|id)_token|code|code_verifier|client_secret|token)"
               r"([\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"[A-Za-z0-9+/_\-]{80,}={0,2}"),  # long base64: keys, raw messages
]
# The case-insensitive patterns cost most of a line's redaction (they try every position):
# each is skipped when the lower-cased line holds none of the words every match contains.
# Exact: every character these patterns match case-insensitively for a letter of these words
# lower-cases to that letter (checked over all of Unicode in tests/unit/test_logs_needles.py).
_NEEDLES: dict[re.Pattern[str], tuple[str, ...]] = {
    _PATTERNS[7]: ("bearer",),
    _PATTERNS[8]: ("token", "code", "ecret"),  # ecret: client_secret
}

REDACTED = "[redacted]"
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _keep_groups(match: re.Match[str]) -> str:
    """Keep the captured prefix (``Bearer ``, ``token=``) and redact what follows it."""
    return "".join(g or "" for g in match.groups()) + REDACTED


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        needles = _NEEDLES.get(pattern)
        if needles is not None:
            lower = text.lower()
            if not any(needle in lower for needle in needles):
                continue
        text = pattern.sub(_keep_groups if pattern.groups else REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class HumanFormatter(logging.Formatter):
    """``12:01:02 INFO  message key=value``: for a person at a terminal, same fields and
    redaction as the JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [f"{stamp} {record.levelname:<5} {record.getMessage()}"]
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                parts.append(f"{key}={_human_value(value)}")
        # A hostile value must not paint the terminal or fake a second line.
        line = " ".join(parts).translate(_CONTROL_ESCAPES)
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def _human_value(value: Any) -> str:
    """A bare word stays bare; anything else as compact JSON, so spaces cannot fake a field."""
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"=" for c in value):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def formatter_for(stream: Any) -> logging.Formatter:
    """Human lines for a terminal, JSON lines for everything else (files, pipes, collectors)."""
    return HumanFormatter() if _is_terminal(stream) else JsonFormatter()


def stderr_formatter() -> logging.Formatter:
    """The formatter for sys.stderr (gunicorn's ``logconfig_dict`` builds it by name)."""
    return formatter_for(sys.stderr)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger to one handler on stderr (idempotent): human lines on a terminal,
    JSON lines otherwise."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(handler.stream))
    handler.set_name("gmail_oneclick_json")
    for existing in list(root.handlers):
        if existing.get_name() == "gmail_oneclick_json":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party loggers that can print request URLs or bodies stay quiet below WARNING.
    for noisy in ("urllib3", "googleapiclient", "google_auth_oauthlib", "oauthlib",
                  "requests_oauthlib", "werkzeug", "apscheduler", "httplib2", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
