"""The send path's own header-block reader gives the From, To, Cc and Bcc values the standard
library's parser gives, on generated header blocks full of the cases it handles specially:
folded lines, every line ending, Unix "From " lines, nameless fields, lines that end the
headers early, repeated fields and raw 8-bit bytes."""

from __future__ import annotations

from email.parser import BytesHeaderParser

from hypothesis import given, settings
from hypothesis import strategies as st

from gmail_oneclick.services.mime import _address_fields

NAMES = ["To", "to", "TO", "Cc", "cc", "Bcc", "BCC", "From", "from", "Subject", "X-Tag", ""]
VALUES = st.lists(st.sampled_from([
    "a@x.io", "Bob <b@y.org>", '"Doe, Jane" <j@z.net>', "c@x.io, d@x.io", "undisclosed:;",
    "no-at-sign", "", " ", "(comment) e@x.io", "é@x.io", "Ünï <u@x.io>", ",", "<f@x.io>",
]), max_size=3).map(", ".join)
ENDINGS = st.sampled_from(["\r\n", "\n", "\r"])


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["field", "field", "field", "fold", "unix", "junk"]))
        if kind == "field":
            space = draw(st.sampled_from(["", " ", "\t"]))
            line = f"{draw(st.sampled_from(NAMES))}:{space}{draw(VALUES)}"
        elif kind == "fold":
            line = draw(st.sampled_from([" ", "\t"])) + draw(VALUES)
        elif kind == "unix":
            line = "From sender@example.com Mon Jan  1 00:00:00 2024"
        else:
            line = "this line has no colon"
        lines.append(line + draw(ENDINGS))
    text = "".join(lines)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # a block whose last line has no line ending
    return text.encode("utf-8")


def _stdlib(block: bytes) -> list[tuple[str, str]]:
    message = BytesHeaderParser().parsebytes(block)
    return [(name.lower(), str(value)) for name, value in message.items()
            if name.lower() in {"from", "to", "cc", "bcc"}]


@settings(max_examples=600, deadline=None)
@given(header_blocks())
def test_address_fields_match_the_standard_librarys_parser(block: bytes) -> None:
    assert _address_fields(block) == _stdlib(block)


def test_known_edge_cases_match() -> None:
    for block in [
        b"To: a@x.io,\r\n b@x.io\r\n\tc@x.io\r\n",
        b"From me Mon\r\nTo: a@x.io\r\n",
        b"To: a@x.io\r\nFrom trailing unix line",
        b"To: a@x.io\r\n:nameless\r\n continued\r\nCc: c@x.io\r\n",
        b"To: a@x.io\r\nno colon here\r\nCc: c@x.io\r\n",
        b"To: \xff\xfe <weird@x.io>\r\n",
        b"Subject: hi\r\n folded subject\r\nBCC: z@x.io\r\n",
    ]:
        assert _address_fields(block) == _stdlib(block), block
