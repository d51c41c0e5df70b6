"""AES-256-GCM envelope encryption: per-owner data keys (DEKs) wrapped by keyring KEKs.

Layouts (version byte first so the format can change without guessing):

- wrapped DEK: ``0x01 || nonce(12) || AESGCM(kek).encrypt(nonce, dek, aad)`` with
  ``aad = b"token_store/v1/dek\\x00" + kek_id + b"\\x00" + owner``
- secret: ``0x01 || nonce(12) || AESGCM(dek).encrypt(nonce, plaintext, aad)`` with
  ``aad = b"token_store/v1/secret\\x00" + owner + b"\\x00" + purpose``

Binding owner, purpose and key id into the associated data is what makes a ciphertext
copied to another row, or a row relabelled with another key id, fail to decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from token_store.keyring import KEY_BYTES, Keyring

VERSION = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_OWNER_CHARS = 128
MAX_PURPOSE_CHARS = 64
_DEK_AAD = b"token_store/v1/dek\x00"
_SECRET_AAD = b"token_store/v1/secret\x00"
_PREFIX_MAC_INFO = b"token_store/v1/prefix-mac"


class DecryptionError(ValueError):
    """Stored ciphertext cannot be opened: tampered, moved, or its key is missing.

    The message names the owner, purpose or key id, never secret bytes.
    """


def check_name(kind: str, value: str, max_chars: int) -> None:
    """Raise ValueError unless ``value`` fits its column and cannot blur the AAD fields.

    A NUL inside an owner or purpose would let ("a\\0b", "c") and ("a", "b\\0c") share
    associated data, so a ciphertext could be replayed under the other pair.
    """
    if not value or len(value) > max_chars or "\x00" in value:
        raise ValueError(f"{kind} must be 1-{max_chars} characters without NUL")


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes, what: str) -> bytes:
    return _open_with(AESGCM(key), blob, aad, what)


def _open_with(aead: AESGCM, blob: bytes, aad: bytes, what: str) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[:1] != VERSION:
        raise DecryptionError(f"{what} is not in a known format")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(f"{what} failed authentication") from None


def _dek_aad(kek_id: str, owner: str) -> bytes:
    return _DEK_AAD + kek_id.encode("ascii") + b"\x00" + owner.encode("utf-8")


def _secret_aad(owner: str, purpose: str) -> bytes:
    return _SECRET_AAD + owner.encode("utf-8") + b"\x00" + purpose.encode("utf-8")


def wrap_data_key(keyring: Keyring, owner: str, dek: bytes) -> tuple[str, bytes]:
    """Wrap ``dek`` under the primary KEK; returns ``(kek_id, wrapped)`` for the row."""
    kek_id = keyring.primary_id
    return kek_id, _seal(keyring.primary_key, dek, _dek_aad(kek_id, owner))


def unwrap_data_key(keyring: Keyring, owner: str, kek_id: str, wrapped: bytes) -> bytes:
    """The owner's DEK; raises DecryptionError when the KEK is missing or the row altered."""
    kek = keyring.keys.get(kek_id)
    if kek is None:
        raise DecryptionError(
            f"data key of {owner!r} is wrapped by key id {kek_id!r}, "
            "which is missing from the keyring"
        )
    dek = _open(kek, wrapped, _dek_aad(kek_id, owner), f"data key of {owner!r}")
    return _checked_dek(owner, dek)


def _checked_dek(owner: str, dek: bytes) -> bytes:
    if len(dek) != KEY_BYTES:
        raise DecryptionError(f"data key of {owner!r} has the wrong length")
    return dek


class DataKeyRewrapper:
    """``unwrap_data_key`` then ``wrap_data_key`` for many rows, as key rotation does.

    Same formats and errors; only the per-row setup goes: one AESGCM per KEK and the fixed
    part of each associated data built once, which cost about as much as the AES work.
    """

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._openers: dict[str, tuple[AESGCM, bytes]] = {}
        self._sealer = AESGCM(keyring.primary_key)
        self._seal_aad = _dek_aad(keyring.primary_id, "")

    def unwrap(self, owner: str, kek_id: str, wrapped: bytes) -> bytes:
        opener = self._openers.get(kek_id)
        if opener is None:
            kek = self.keyring.keys.get(kek_id)
            if kek is None:
                return unwrap_data_key(self.keyring, owner, kek_id, wrapped)  # raises its error
            opener = self._openers[kek_id] = (AESGCM(kek), _dek_aad(kek_id, ""))
        aead, aad = opener
        dek = _open_with(aead, wrapped, aad + owner.encode("utf-8"), f"data key of {owner!r}")
        return _checked_dek(owner, dek)

    def wrap(self, owner: str, dek: bytes) -> bytes:
        """``dek`` wrapped under ``keyring.primary_id``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = self._seal_aad + owner.encode("utf-8")
        return VERSION + nonce + self._sealer.encrypt(nonce, dek, aad)


def seal_secret(dek: bytes, owner: str, purpose: str, plaintext: bytes) -> bytes:
    return _seal(dek, plaintext, _secret_aad(owner, purpose))


def open_secret(dek: bytes, owner: str, purpose: str, ciphertext: bytes) -> bytes:
    """The plaintext; raises DecryptionError when the ciphertext is not this row's."""
    return _open(dek, ciphertext, _secret_aad(owner, purpose), f"secret {purpose!r} of {owner!r}")


def prefix_mac(kek: bytes, prefix: str) -> str:
    """Hex HMAC-SHA256 of a token prefix under a key derived from ``kek``.

    A keyed MAC rather than a plain hash: 16 characters of a token with a known format
    are too few to resist a dictionary attack on a stolen database.
    """
    return prefix_mac_with(prefix_mac_key(kek), prefix)


def prefix_mac_key(kek: bytes) -> bytes:
    """The HMAC key ``prefix_mac`` derives from ``kek``; derived once, it serves a whole
    rotation batch (HKDF per row cost as much as the AES work)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PREFIX_MAC_INFO).derive(kek)


def prefix_mac_with(mac_key: bytes, prefix: str) -> str:
    """``prefix_mac`` under a key from ``prefix_mac_key``."""
    return hmac.new(mac_key, prefix.encode("utf-8"), hashlib.sha256).hexdigest()
