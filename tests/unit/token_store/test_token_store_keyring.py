"""Keyring parsing as an operator meets it: clear errors that never echo key material."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest

from token_store import Keyring, KeyringError, generate_key_entry

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


def b64url(raw: bytes, *, padded: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(raw).decode()
    return encoded if padded else encoded.rstrip("=")


def test_first_entry_is_primary_and_all_keys_are_decoded():
    keyring = Keyring.parse(f"k2:{b64url(KEY_B)},k1:{b64url(KEY_A, padded=True)}")
    assert keyring.primary_id == "k2"
    assert keyring.primary_key == KEY_B
    assert dict(keyring.keys) == {"k2": KEY_B, "k1": KEY_A}


def test_whitespace_around_entries_is_ignored():
    keyring = Keyring.parse(f"  k1:{b64url(KEY_A)} ,\n k2:{b64url(KEY_B)}\n")
    assert list(keyring.keys) == ["k1", "k2"]


def test_keys_cannot_be_changed_after_parsing():
    keyring = Keyring.parse(f"k1:{b64url(KEY_A)}")
    with pytest.raises(TypeError):
        keyring.keys["k9"] = KEY_B  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "keyring is empty"),
        ("   ", "keyring is empty"),
        (f"k1:{b64url(KEY_A)},nocolon", "entry 2 is not KEYID:BASE64URL"),
        (f"k1:{b64url(KEY_A[:31])}", "key 'k1' is not 32 bytes"),
        (f"k1:{b64url(KEY_A + b'x')}", "key 'k1' is not 32 bytes"),
        ("k1:", "key 'k1' is not base64url"),
        ("k1:not*base64!", "key 'k1' is not base64url"),
        (f"k1:{base64.b64encode(bytes([251] * 32)).decode()}", "key 'k1' is not base64url"),
        (f"k1:{b64url(KEY_A)[:-1]}", "key 'k1' is not"),
        (f"k1:{b64url(KEY_A)},k1:{b64url(KEY_B)}", "key 'k1' appears more than once"),
        (f"bad id:{b64url(KEY_A)}", "entry 1 has an invalid key id"),
        (f"{'k' * 65}:{b64url(KEY_A)}", "entry 1 has an invalid key id"),
        (f":{b64url(KEY_A)}", "entry 1 has an invalid key id"),
        (f"k1:{b64url(KEY_A)},", "entry 2 is not KEYID:BASE64URL"),
    ],
)
def test_malformed_keyrings_are_rejected_with_a_named_problem(text, message):
    with pytest.raises(KeyringError, match=re.escape(message)) as caught:
        Keyring.parse(text)
    for encoded in (b64url(KEY_A), b64url(KEY_B)):
        # No run of 8 key characters appears in the message.
        chunks = {encoded[i : i + 8] for i in range(len(encoded) - 8)}
        assert not any(chunk in str(caught.value) for chunk in chunks)


def test_an_entry_written_backwards_does_not_echo_the_key():
    key = b64url(KEY_A)
    with pytest.raises(KeyringError) as caught:
        Keyring.parse(f"{key}:k1")
    assert str(caught.value) == "entry 1 is not 32 bytes"
    assert key[:8] not in str(caught.value)


def test_keyring_error_is_a_value_error():
    assert issubclass(KeyringError, ValueError)


def test_repr_names_key_ids_only():
    keyring = Keyring.parse(f"k2:{b64url(KEY_B)},k1:{b64url(KEY_A)}")
    for text in (repr(keyring), str(keyring), f"{keyring}"):
        assert text == "Keyring(primary_id='k2', key_ids=['k2', 'k1'])"
        assert b64url(KEY_A)[:8] not in text and repr(KEY_A)[:12] not in text


def test_require_passes_when_every_id_is_present():
    keyring = Keyring.parse(f"k2:{b64url(KEY_B)},k1:{b64url(KEY_A)}")
    keyring.require({"k1", "k2"})
    keyring.require([])


def test_require_names_the_missing_ids():
    keyring = Keyring.parse(f"k2:{b64url(KEY_B)}")
    with pytest.raises(
        KeyringError, match="^key id 'k1' is used by stored data but missing from the keyring$"
    ):
        keyring.require(["k1", "k2"])
    with pytest.raises(KeyringError, match="'k0', 'k1'"):
        keyring.require(["k1", "k0"])


def test_a_keyring_must_contain_its_primary():
    with pytest.raises(KeyringError, match="primary key id 'k9'"):
        Keyring(primary_id="k9", keys={"k1": KEY_A})


def test_generated_entries_parse_and_are_random():
    first, second = generate_key_entry(), generate_key_entry()
    assert first != second
    keyring = Keyring.parse(f"{first},{second}")
    assert len(keyring.keys) == 2
    assert keyring.keys[keyring.primary_id] != keyring.keys[second.split(":")[0]]


def test_generated_key_ids_carry_the_utc_date():
    key_id = generate_key_entry().split(":")[0]
    assert re.fullmatch(r"k\d{8}[0-9a-f]{4}", key_id)
    assert key_id[1:9] in {datetime.now(UTC).strftime("%Y%m%d")}


def test_generated_entry_with_a_chosen_id():
    entry = generate_key_entry("ops-2026_1")
    assert Keyring.parse(entry).primary_id == "ops-2026_1"
    with pytest.raises(KeyringError, match="key id"):
        generate_key_entry("no spaces")
