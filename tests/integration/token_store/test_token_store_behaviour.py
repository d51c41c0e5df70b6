"""What every TokenStore does, on every backend (memory, SQLite, PostgreSQL when available):
store, read, delete and purge secrets, and find owners by the RISC identifiers of a refresh
token. What it refuses (tampered rows, missing keys) is in test_token_store_tampering.py."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.integration.token_store.samples import NEW_TOKEN, OTHER, OWNER, TOKEN
from token_store import refresh_token_hash

# -- storing and reading --------------------------------------------------------------


def test_put_then_get_returns_the_plaintext(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"secret-value")
    backend.commit()
    assert backend.store(keyring).get(OWNER, "refresh_token") == b"secret-value"


def test_get_of_absent_secret_is_none(backend, keyring):
    store = backend.store(keyring)
    assert store.get(OWNER, "refresh_token") is None
    store.put(OWNER, "access_token", b"a")
    assert store.get(OWNER, "refresh_token") is None


def test_put_overwrites_only_its_purpose_and_owner(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"old")
    store.put(OWNER, "access_token", b"access")
    store.put(OTHER, "refresh_token", b"other")
    store.put(OWNER, "refresh_token", b"new")
    assert store.get(OWNER, "refresh_token") == b"new"
    assert store.get(OWNER, "access_token") == b"access"
    assert store.get(OTHER, "refresh_token") == b"other"


def test_empty_plaintext_round_trips(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "code_verifier", b"")
    assert store.get(OWNER, "code_verifier") == b""


def test_stored_bytes_are_ciphertext_with_a_fresh_nonce_each_time(backend, keyring):
    store = backend.store(keyring)
    plaintext = b"recognisable-refresh-token-plaintext"
    store.put(OWNER, "refresh_token", plaintext)
    first = backend.secret_bytes(OWNER, "refresh_token")
    store.put(OWNER, "refresh_token", plaintext)
    second = backend.secret_bytes(OWNER, "refresh_token")
    assert plaintext not in first
    assert first != second
    assert first[0] == 1 and len(first) == 1 + 12 + len(plaintext) + 16


def test_delete_removes_one_purpose(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"r")
    store.put(OWNER, "access_token", b"a")
    store.delete(OWNER, "access_token")
    store.delete(OWNER, "never_written")
    assert store.get(OWNER, "access_token") is None
    assert store.get(OWNER, "refresh_token") == b"r"


def test_the_sealed_prefix_purpose_is_reserved(backend, keyring):
    store = backend.store(keyring)
    with pytest.raises(ValueError, match="reserved"):
        store.put(OWNER, "refresh_token#prefix", b"x")
    with pytest.raises(ValueError, match="reserved"):
        store.delete(OWNER, "refresh_token#prefix")


@pytest.mark.parametrize(
    ("owner", "purpose"),
    [("", "p"), ("a" * 129, "p"), ("a\x00b", "p"), ("o", ""), ("o", "p" * 65), ("o", "p\x00q")],
)
def test_unstorable_owner_or_purpose_is_refused(backend, keyring, owner, purpose):
    with pytest.raises(ValueError, match="characters without NUL"):
        backend.store(keyring).put(owner, purpose, b"x")


# -- purge ------------------------------------------------------------------------------


def test_purge_deletes_everything_of_the_owner_and_counts_rows(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", TOKEN.encode())
    store.put(OWNER, "access_token", b"ya29.access")
    store.index_refresh_token(OWNER, TOKEN)
    store.put(OTHER, "refresh_token", b"other")
    # DEK + 2 secrets + sealed prefix + token identifiers
    assert store.purge(OWNER) == 5
    backend.commit()
    store = backend.store(keyring)
    assert store.get(OWNER, "refresh_token") is None
    assert store.get(OWNER, "access_token") is None
    assert store.owners_by_token_hash(refresh_token_hash(TOKEN)) == []
    assert store.owners_by_token_prefix(TOKEN) == []
    assert backend.token_id_row(OWNER) is None
    assert store.get(OTHER, "refresh_token") == b"other"
    assert store.purge(OWNER) == 0


def test_an_owner_written_after_purge_gets_a_new_data_key(backend, keyring):
    store = backend.store(keyring)
    store.put(OWNER, "refresh_token", b"first")
    _, wrapped_before = backend.dek_row(OWNER)
    store.purge(OWNER)
    store.put(OWNER, "refresh_token", b"second")
    _, wrapped_after = backend.dek_row(OWNER)
    assert wrapped_after != wrapped_before
    assert store.get(OWNER, "refresh_token") == b"second"


# -- RISC identifiers ---------------------------------------------------------------------


def google_style_hash(token: str) -> str:
    inner = hashlib.sha512(token.encode()).digest()
    return base64.b64encode(hashlib.sha512(inner).digest()).decode()


def test_owners_are_found_by_the_hash_google_sends(backend, keyring):
    store = backend.store(keyring)
    store.index_refresh_token(OWNER, TOKEN)
    store.index_refresh_token(OTHER, NEW_TOKEN)
    assert store.owners_by_token_hash(google_style_hash(TOKEN)) == [OWNER]
    assert store.owners_by_token_hash(google_style_hash("unknown")) == []
    assert store.owners_by_token_hash("") == []


def test_owners_are_found_by_the_first_16_characters(backend, keyring):
    store = backend.store(keyring)
    store.index_refresh_token(OWNER, TOKEN)
    store.index_refresh_token(OTHER, NEW_TOKEN)
    assert store.owners_by_token_prefix(TOKEN[:16]) == [OWNER]
    assert store.owners_by_token_prefix(NEW_TOKEN[:16]) == [OTHER]
    assert store.owners_by_token_prefix(TOKEN[:15]) == []
    assert store.owners_by_token_prefix("") == []


def test_one_token_indexed_for_two_owners_finds_both(backend, keyring):
    store = backend.store(keyring)
    store.index_refresh_token(OTHER, TOKEN)
    store.index_refresh_token(OWNER, TOKEN)
    assert store.owners_by_token_hash(refresh_token_hash(TOKEN)) == sorted([OWNER, OTHER])
    assert store.owners_by_token_prefix(TOKEN[:16]) == sorted([OWNER, OTHER])


def test_reindexing_replaces_the_identifiers(backend, keyring):
    store = backend.store(keyring)
    store.index_refresh_token(OWNER, TOKEN)
    store.index_refresh_token(OWNER, NEW_TOKEN)
    backend.commit()
    store = backend.store(keyring)
    assert store.owners_by_token_hash(refresh_token_hash(TOKEN)) == []
    assert store.owners_by_token_prefix(TOKEN[:16]) == []
    assert store.owners_by_token_hash(refresh_token_hash(NEW_TOKEN)) == [OWNER]
    assert store.owners_by_token_prefix(NEW_TOKEN[:16]) == [OWNER]


def test_identifiers_never_hold_the_token_or_its_prefix_in_clear(backend, keyring):
    store = backend.store(keyring)
    store.index_refresh_token(OWNER, TOKEN)
    hash_b64, mac, kek_id = backend.token_id_row(OWNER)
    assert hash_b64 == google_style_hash(TOKEN) and len(hash_b64) == 88
    assert len(mac) == 64 and kek_id == "k1"
    assert TOKEN[:16] not in hash_b64 + mac
    sealed = backend.secret_bytes(OWNER, "refresh_token#prefix")
    assert TOKEN[:16].encode() not in sealed
    assert store.get(OWNER, "refresh_token#prefix") == TOKEN[:16].encode()


def test_prefix_lookup_matches_macs_made_under_an_older_key(backend, keyring, rotated_keyring):
    backend.store(keyring).index_refresh_token(OWNER, TOKEN)
    assert backend.store(rotated_keyring).owners_by_token_prefix(TOKEN[:16]) == [OWNER]


def test_prefix_mac_depends_on_the_key(backend, keyring, k2_only):
    backend.store(keyring).index_refresh_token(OWNER, TOKEN)
    assert backend.store(k2_only).owners_by_token_prefix(TOKEN[:16]) == []


def test_indexing_an_empty_token_is_refused(backend, keyring):
    with pytest.raises(ValueError, match="token"):
        backend.store(keyring).index_refresh_token(OWNER, "")

