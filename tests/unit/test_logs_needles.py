"""The redaction filter's shortcut (skipping a costly pattern on lines without its words)
changes no output: same text out as running every pattern on every line."""

from __future__ import annotations

import re
import sys

import pytest

from gmail_oneclick.observability import logs


def _every_pattern(text: str) -> str:
    for pattern in logs._PATTERNS:
        text = pattern.sub(logs._keep_groups if pattern.groups else logs.REDACTED, text)
    return text


def test_each_needle_letter_is_matched_only_by_characters_lowering_to_it() -> None:
    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1)
                         if not 0xD800 <= cp <= 0xDFFF)
    letters = {ch for needles in logs._NEEDLES.values() for n in needles for ch in n}
    for letter in sorted(letters):
        matched = re.findall("(?i)" + re.escape(letter), everything)
        assert {ch.lower() for ch in matched} == {letter}, letter


@pytest.mark.parametrize("line", [
    "Authorization: BEARER abc.def-ghi",
    "authorization: Bearer\tya29.zzz and token=1//refresh",
    '{"msg": "x", "Access_Token": "s3cret", "CLIENT_SECRET": "GOCSPX-abc"}',
    "to\u212aen=abc code_verifier: xyz",  # KELVIN SIGN K, case-insensitively a k
    "client_\u017fecret=hidden",  # LONG S, case-insensitively an s
    "Code = 4/0AX4XfWh-authorization-code-value&state=1",
    "id_token='eyJhbGciOi.x.y' refresh_token=1//abc",
    "nothing to see: conn_abc sent 3 recipients",
    "A" * 90 + " and tokenless text",
    '{"connection_id": "conn_x", "gmail_id": "18c2f", "outcome": "sent"}',
])
def test_redact_matches_running_every_pattern(line: str) -> None:
    assert logs.redact(line) == _every_pattern(line)
