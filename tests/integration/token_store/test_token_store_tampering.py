"""What every TokenStore refuses, on every backend (memory, SQLite, PostgreSQL when available):
a stored row altered, truncated, swapped or copied fails to decrypt; a key missing from the
keyring is named; no error carries secret bytes."""

from __future__ import annotations

import base64

import pytest

from tests.integration.token_store.samples import OTHER, OWNER, TOKEN
from token_store import DecryptionError, KeyringError


def flip_bit(data: bytes, index: int = -1) -> bytes:
    mutable = bytearray(data)
    mutable[index] ^= 0x01
    return bytes(mutable)


def test_a_flipped_bit_in_a_secret_fails_to_decrypt(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"secret")
    for index in (0, 5, 20, -1):
        original = backend.secret_bytes(OWNER, "refresh_token")
        backend.set_secret_bytes(OWNER, "refresh_token", flip_bit(original, index))
        with pytest.raises(DecryptionError):
            store.get(OWNER, "refresh_token")
        backend.set_secret_bytes(OWNER, "refresh_token", original)
    assert store.get(OWNER, "refresh_token") == b"secret"


def test_a_truncated_secret_fails_to_decrypt(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"secret")
    truncated = backend.secret_bytes(OWNER, "refresh_token")[:20]
    backend.set_secret_bytes(OWNER, "refresh_token", truncated)
    with pytest.raises(DecryptionError):
        store.get(OWNER, "refresh_token")


def test_a_flipped_bit_in_the_wrapped_data_key_fails_reads_and_writes(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"secret")
    kek_id, wrapped = backend.dek_row(OWNER)
    backend.set_dek_row(OWNER, kek_id, flip_bit(wrapped, 30))
    with pytest.raises(DecryptionError):
        store.get(OWNER, "refresh_token")
    # A write must not quietly start a new key over data it cannot read.
    with pytest.raises(DecryptionError):
        store.put(OWNER, "access_token", b"a")


def test_a_ciphertext_copied_to_another_owner_fails_to_decrypt(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"victim")
    store.put(OTHER, "refresh_token", b"attacker")
    backend.set_secret_bytes(OTHER, "refresh_token", backend.secret_bytes(OWNER, "refresh_token"))
    with pytest.raises(DecryptionError):
        store.get(OTHER, "refresh_token")


def test_a_wrapped_data_key_copied_to_another_owner_fails_to_unwrap(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"victim")
    store.put(OTHER, "refresh_token", b"attacker")
    backend.set_dek_row(OTHER, *backend.dek_row(OWNER))
    backend.set_secret_bytes(OTHER, "refresh_token", backend.secret_bytes(OWNER, "refresh_token"))
    with pytest.raises(DecryptionError):
        store.get(OTHER, "refresh_token")


def test_ciphertexts_swapped_between_purposes_fail_to_decrypt(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"refresh")
    store.put(OWNER, "access_token", b"access")
    refresh = backend.secret_bytes(OWNER, "refresh_token")
    access = backend.secret_bytes(OWNER, "access_token")
    backend.set_secret_bytes(OWNER, "refresh_token", access)
    backend.set_secret_bytes(OWNER, "access_token", refresh)
    with pytest.raises(DecryptionError):
        store.get(OWNER, "refresh_token")
    with pytest.raises(DecryptionError):
        store.get(OWNER, "access_token")


def test_a_wrong_key_id_in_the_row_fails_to_unwrap(backend, rotated_keyring):
    # Both keys are in the keyring, so only the key id bound into the AAD catches it.
    store = backend.store(rotated_keyring)
    store.put(OWNER, "refresh_token", b"secret")
    kek_id, wrapped = backend.dek_row(OWNER)
    assert kek_id == "k2"
    backend.set_dek_row(OWNER, "k1", wrapped)
    with pytest.raises(DecryptionError):
        store.get(OWNER, "refresh_token")


def test_a_key_missing_from_the_keyring_is_named(backend, keyring, k2_only):
    backend.store(keyring).put(OWNER, "refresh_token", b"secret")
    store = backend.store(k2_only)
    with pytest.raises(DecryptionError, match="key id 'k1'") as caught:
        store.get(OWNER, "refresh_token")
    assert "secret" not in str(caught.value)
    with pytest.raises(KeyringError, match="key id 'k1' is used by stored data but missing"):
        k2_only.require(store.key_ids_in_use())


def test_decryption_errors_carry_no_secret_bytes(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", TOKEN.encode())
    ciphertext = backend.secret_bytes(OWNER, "refresh_token")
    backend.set_secret_bytes(OWNER, "refresh_token", flip_bit(ciphertext))
    with pytest.raises(DecryptionError) as caught:
        store.get(OWNER, "refresh_token")
    message = str(caught.value)
    assert TOKEN[:8] not in message
    assert ciphertext.hex()[:16] not in message
    assert base64.b64encode(keyring.primary_key).decode()[:16] not in message


def test_key_ids_in_use_lists_the_keks_of_keys_and_macs(backend, keyring, rotated_keyring):
    assert backend.store(keyring).key_ids_in_use() == set()
    backend.store(keyring).put(OWNER, "refresh_token", b"r")
    backend.store(rotated_keyring).index_refresh_token(OTHER, TOKEN)
    assert backend.store(keyring).key_ids_in_use() == {"k1", "k2"}
