"""The byte formats are the documented ones, so another implementation could read them."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from token_store import (
    DecryptionError,
    Keyring,
    MemoryTokenStore,
    generate_key_entry,
    refresh_token_hash,
    token_prefix,
)

OWNER = "connection:conn_abc"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(generate_key_entry("k1"))


def test_refresh_token_hash_is_base64_of_double_sha512():
    # Independent computation of Google's "hash_base64_sha512_sha512" identifier.
    token = "1//0gExampleToken"
    expected = base64.b64encode(
        hashlib.sha512(hashlib.sha512(token.encode()).digest()).digest()
    ).decode()
    assert refresh_token_hash(token) == expected
    assert len(expected) == 88 and expected.endswith("==")


def test_token_prefix_is_the_first_16_characters():
    assert token_prefix("1//0gABCDEFGHIJKLMNOP") == "1//0gABCDEFGHIJK"
    assert token_prefix("short") == "short"


def test_stored_rows_decrypt_by_the_documented_layout(keyring):
    store = MemoryTokenStore(keyring)
    store.put(OWNER, "refresh_token", b"plain")
    kek_id, wrapped = store.data_keys[OWNER]
    assert kek_id == "k1" and wrapped[0] == 1 and len(wrapped) == 1 + 12 + 32 + 16
    dek = AESGCM(keyring.keys["k1"]).decrypt(
        wrapped[1:13], wrapped[13:], b"token_store/v1/dek\x00k1\x00" + OWNER.encode()
    )
    sealed = store.secrets[(OWNER, "refresh_token")]
    aad = b"token_store/v1/secret\x00" + OWNER.encode() + b"\x00refresh_token"
    plaintext = AESGCM(dek).decrypt(sealed[1:13], sealed[13:], aad)
    assert plaintext == b"plain"


def test_prefix_mac_is_hmac_under_an_hkdf_derived_key(keyring):
    store = MemoryTokenStore(keyring)
    store.index_refresh_token(OWNER, "1//0gABCDEFGHIJKLMNOPQRSTUVWXYZ")
    hash_b64, mac, kek_id = store.token_ids[OWNER]
    mac_key = HKDF(hashes.SHA256(), 32, None, b"token_store/v1/prefix-mac").derive(
        keyring.keys["k1"]
    )
    expected = hmac.new(mac_key, b"1//0gABCDEFGHIJK", hashlib.sha256).hexdigest()
    assert (mac, kek_id) == (expected, "k1")


def test_an_unknown_format_version_is_refused(keyring):
    store = MemoryTokenStore(keyring)
    store.put(OWNER, "refresh_token", b"plain")
    sealed = store.secrets[(OWNER, "refresh_token")]
    store.secrets[(OWNER, "refresh_token")] = b"\x02" + sealed[1:]
    with pytest.raises(DecryptionError, match="not in a known format"):
        store.get(OWNER, "refresh_token")


def test_a_secret_without_its_data_key_is_an_error_not_none(keyring):
    store = MemoryTokenStore(keyring)
    store.put(OWNER, "refresh_token", b"plain")
    del store.data_keys[OWNER]
    with pytest.raises(DecryptionError, match="no data key"):
        store.get(OWNER, "refresh_token")


def test_decryption_error_is_a_value_error():
    assert issubclass(DecryptionError, ValueError)
