"""The TokenStore interface, the shared envelope logic, and an in-memory implementation.

Every implementation encrypts the same way (see envelope.py); they differ only in where
rows live. ``EnvelopeStore`` holds the behaviour, subclasses supply row primitives, so
the memory store used by unit tests fails on tampering exactly as the SQL store does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from typing import Protocol

from token_store import envelope
from token_store.envelope import DecryptionError
from token_store.keyring import Keyring

PREFIX_CHARS = 16
# Where index_refresh_token keeps the token's prefix sealed, so key rotation can re-MAC
# it without the token. Reserved: put/delete refuse it so the identifiers stay coherent.
PREFIX_PURPOSE = "refresh_token#prefix"
# A stored secret's ciphertext and its owner's ``(kek_id, wrapped_key)``, None when missing.
SealedRow = tuple[bytes, tuple[str, bytes] | None]


def refresh_token_hash(token: str) -> str:
    """base64 (standard, padded) of SHA-512(SHA-512(token)): Google RISC's token identifier."""
    inner = hashlib.sha512(token.encode("utf-8")).digest()
    return base64.b64encode(hashlib.sha512(inner).digest()).decode("ascii")


def token_prefix(token: str) -> str:
    """The first 16 characters: the other identifier Google RISC may send."""
    return token[:PREFIX_CHARS]


class TokenStore(Protocol):
    """Encrypted secrets per owner (e.g. ``connection:conn_abc``), one per purpose."""

    def put(self, owner: str, purpose: str, plaintext: bytes) -> None: ...
    def get(self, owner: str, purpose: str) -> bytes | None: ...
    def delete(self, owner: str, purpose: str) -> None: ...
    def purge(self, owner: str) -> int: ...
    def index_refresh_token(self, owner: str, token: str) -> None: ...
    def owners_by_token_hash(self, hash_b64: str) -> list[str]: ...
    def owners_by_token_prefix(self, prefix: str) -> list[str]: ...
    def key_ids_in_use(self) -> set[str]: ...


class EnvelopeStore(ABC):
    """TokenStore behaviour over abstract row primitives."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    # -- row primitives -------------------------------------------------------------
    @abstractmethod
    def _dek_row(self, owner: str) -> tuple[str, bytes] | None:
        """``(kek_id, wrapped_key)`` of the owner's DEK, or None."""

    @abstractmethod
    def _insert_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        """Insert unless a row exists already (a concurrent writer won; keep theirs)."""

    @abstractmethod
    def _secret_row(self, owner: str, purpose: str) -> bytes | None: ...

    @abstractmethod
    def _upsert_secret(self, owner: str, purpose: str, ciphertext: bytes) -> None: ...

    @abstractmethod
    def _delete_secret(self, owner: str, purpose: str) -> int: ...

    @abstractmethod
    def _delete_owner(self, owner: str) -> int:
        """Delete the owner's token ids, secrets and DEK; return how many rows went."""

    @abstractmethod
    def _upsert_token_ids(self, owner: str, hash_b64: str, mac: str, mac_kek_id: str) -> None: ...

    @abstractmethod
    def _owners_with_hash(self, hash_b64: str) -> list[str]: ...

    @abstractmethod
    def _owners_with_mac(self, macs: dict[str, str]) -> list[str]:
        """Owners whose ``(mac_kek_id, prefix_mac)`` is one of ``macs.items()``."""

    @abstractmethod
    def _kek_ids(self) -> set[str]: ...

    def _sealed_row(self, owner: str, purpose: str) -> SealedRow | None:
        """``(ciphertext, (kek_id, wrapped_key) or None)`` of a secret, or None when absent.

        Stores that can fetch both in one round trip (SQL: a join) override this.
        """
        ciphertext = self._secret_row(owner, purpose)
        return None if ciphertext is None else (ciphertext, self._dek_row(owner))

    # -- behaviour ------------------------------------------------------------------
    def _load_dek(self, owner: str) -> bytes | None:
        row = self._dek_row(owner)
        return None if row is None else envelope.unwrap_data_key(self.keyring, owner, *row)

    def _ensure_dek(self, owner: str) -> bytes:
        dek = self._load_dek(owner)
        if dek is None:
            kek_id, wrapped = envelope.wrap_data_key(self.keyring, owner, envelope.new_data_key())
            self._insert_dek_row(owner, kek_id, wrapped)
            # Read back rather than use ours: a concurrent writer may have won the insert.
            dek = self._load_dek(owner)
            if dek is None:
                raise DecryptionError(f"data key of {owner!r} vanished while being created")
        return dek

    def _seal_and_store(self, owner: str, purpose: str, plaintext: bytes) -> None:
        dek = self._ensure_dek(owner)
        self._upsert_secret(owner, purpose, envelope.seal_secret(dek, owner, purpose, plaintext))

    def put(self, owner: str, purpose: str, plaintext: bytes) -> None:
        """Encrypt and store ``plaintext``, replacing any earlier value for this purpose.

        Raises DecryptionError when the owner's existing DEK cannot be unwrapped (rather
        than silently starting a new one), ValueError for an unusable owner or purpose.
        """
        _check_public(owner, purpose)
        self._seal_and_store(owner, purpose, plaintext)

    def get(self, owner: str, purpose: str) -> bytes | None:
        """The plaintext, or None when absent. Raises DecryptionError when tampered."""
        _check(owner, purpose)
        row = self._sealed_row(owner, purpose)
        if row is None:
            return None
        ciphertext, dek_row = row
        if dek_row is None:
            raise DecryptionError(f"secret {purpose!r} of {owner!r} has no data key")
        dek = envelope.unwrap_data_key(self.keyring, owner, *dek_row)
        return envelope.open_secret(dek, owner, purpose, ciphertext)

    def delete(self, owner: str, purpose: str) -> None:
        _check_public(owner, purpose)
        self._delete_secret(owner, purpose)

    def purge(self, owner: str) -> int:
        """Hard-delete the DEK, every secret and the token identifiers; returns rows deleted.

        Deleting the DEK alone would already make the ciphertexts useless; the rows go
        too so that nothing about the owner lingers.
        """
        envelope.check_name("owner", owner, envelope.MAX_OWNER_CHARS)
        return self._delete_owner(owner)

    def index_refresh_token(self, owner: str, token: str) -> None:
        """Record the RISC identifiers of ``token`` for ``owner``, replacing earlier ones.

        Stores the double SHA-512 (as Google sends it), an HMAC of the 16-character
        prefix under the primary KEK, and the prefix sealed under the owner's DEK; never
        the token or its prefix in clear.
        """
        envelope.check_name("owner", owner, envelope.MAX_OWNER_CHARS)
        if not token:
            raise ValueError("token must not be empty")
        prefix = token_prefix(token)
        self._seal_and_store(owner, PREFIX_PURPOSE, prefix.encode("utf-8"))
        mac = envelope.prefix_mac(self.keyring.primary_key, prefix)
        self._upsert_token_ids(owner, refresh_token_hash(token), mac, self.keyring.primary_id)

    def owners_by_token_hash(self, hash_b64: str) -> list[str]:
        """Owners whose indexed refresh token has this base64 SHA-512(SHA-512) digest."""
        return sorted(set(self._owners_with_hash(hash_b64))) if hash_b64 else []

    def owners_by_token_prefix(self, prefix: str) -> list[str]:
        """Owners whose indexed refresh token starts with ``prefix`` (its first 16 chars).

        The MAC is computed under every KEK in the keyring so identifiers written before
        a rotation still match.
        """
        if not prefix:
            return []
        prefix = token_prefix(prefix)
        macs = {kid: envelope.prefix_mac(kek, prefix) for kid, kek in self.keyring.keys.items()}
        return sorted(set(self._owners_with_mac(macs)))

    def key_ids_in_use(self) -> set[str]:
        """KEK ids referenced by stored DEKs and prefix MACs."""
        return self._kek_ids()


def _check(owner: str, purpose: str) -> None:
    envelope.check_name("owner", owner, envelope.MAX_OWNER_CHARS)
    envelope.check_name("purpose", purpose, envelope.MAX_PURPOSE_CHARS)


def _check_public(owner: str, purpose: str) -> None:
    _check(owner, purpose)
    if purpose == PREFIX_PURPOSE:
        raise ValueError(f"purpose {PREFIX_PURPOSE!r} is reserved for index_refresh_token")


class MemoryTokenStore(EnvelopeStore):
    """Dict-backed TokenStore for unit tests: same encryption, same failures.

    The dicts are public so tests can tamper with stored bytes. Not thread-safe.
    """

    def __init__(self, keyring: Keyring) -> None:
        super().__init__(keyring)
        self.data_keys: dict[str, tuple[str, bytes]] = {}
        self.secrets: dict[tuple[str, str], bytes] = {}
        self.token_ids: dict[str, tuple[str, str, str]] = {}  # owner -> (hash, mac, kek_id)

    def copy(self) -> MemoryTokenStore:
        """A store over copies of these rows (same keyring): a transaction's working copy,
        which the caller publishes on commit or drops on rollback."""
        twin = MemoryTokenStore(self.keyring)
        twin.data_keys = dict(self.data_keys)
        twin.secrets = dict(self.secrets)
        twin.token_ids = dict(self.token_ids)
        return twin

    def _dek_row(self, owner: str) -> tuple[str, bytes] | None:
        return self.data_keys.get(owner)

    def _insert_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        self.data_keys.setdefault(owner, (kek_id, wrapped))

    def _secret_row(self, owner: str, purpose: str) -> bytes | None:
        return self.secrets.get((owner, purpose))

    def _upsert_secret(self, owner: str, purpose: str, ciphertext: bytes) -> None:
        self.secrets[(owner, purpose)] = ciphertext

    def _delete_secret(self, owner: str, purpose: str) -> int:
        return 0 if self.secrets.pop((owner, purpose), None) is None else 1

    def _delete_owner(self, owner: str) -> int:
        doomed = [key for key in self.secrets if key[0] == owner]
        for key in doomed:
            del self.secrets[key]
        deleted = len(doomed)
        deleted += self.token_ids.pop(owner, None) is not None
        deleted += self.data_keys.pop(owner, None) is not None
        return deleted

    def _upsert_token_ids(self, owner: str, hash_b64: str, mac: str, mac_kek_id: str) -> None:
        self.token_ids[owner] = (hash_b64, mac, mac_kek_id)

    def _owners_with_hash(self, hash_b64: str) -> list[str]:
        return [
            owner
            for owner, (stored, _, _) in self.token_ids.items()
            if hmac.compare_digest(stored.encode(), hash_b64.encode())
        ]

    def _owners_with_mac(self, macs: dict[str, str]) -> list[str]:
        return [
            owner
            for owner, (_, mac, kek_id) in self.token_ids.items()
            if kek_id in macs and hmac.compare_digest(mac.encode(), macs[kek_id].encode())
        ]

    def _kek_ids(self) -> set[str]:
        return {kek_id for kek_id, _ in self.data_keys.values()} | {
            kek_id for _, _, kek_id in self.token_ids.values()
        }
