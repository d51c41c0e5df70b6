"""The keyring: named 256-bit key-encryption keys (KEKs), the first one primary.

The text form is what operators put in ``GMAIL_ONECLICK_ENCRYPTION_KEYS``:
``KEYID:BASE64URL(32 bytes),KEYID:...``. Every error message names the entry or key id
at fault and never echoes key material, because these messages end up in logs and on
stderr.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_MAX_ECHOED_ID = 24


class KeyringError(ValueError):
    """The keyring text is malformed, or lacks a key that stored data needs."""


def _label(position: int, key_id: str) -> str:
    # An entry written backwards (BASE64URL:KEYID) puts a key where the id belongs, and
    # 43 base64url characters pass the id pattern; long ids are named by position only.
    return f"key {key_id!r}" if len(key_id) <= _MAX_ECHOED_ID else f"entry {position}"


def _decode_key(label: str, encoded: str) -> bytes:
    # Checked by pattern first: b64decode would silently skip characters outside the
    # alphabet, and standard-alphabet "+/" must not be mistaken for base64url.
    if not encoded or not _BASE64URL.fullmatch(encoded):
        raise KeyringError(f"{label} is not base64url")
    unpadded = encoded.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise KeyringError(f"{label} is not base64url") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{label} is not {KEY_BYTES} bytes")
    return raw


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys by id; ``primary_id`` names the one new data is wrapped with."""

    primary_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.primary_id not in self.keys:
            raise KeyringError(f"primary key id {self.primary_id!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise KeyringError("a key id is not [A-Za-z0-9_-]{1,64}")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id!r} is not {KEY_BYTES} bytes")
        # Frozen in content too, so a Keyring can be shared between threads safely.
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Parse ``KEYID:BASE64URL,...``; the first entry is primary.

        Raises KeyringError naming the faulty entry (by position or key id), never a key.
        """
        entries = [entry.strip() for entry in text.split(",")] if text.strip() else []
        if not entries:
            raise KeyringError("keyring is empty")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                raise KeyringError(f"entry {position} is not KEYID:BASE64URL")
            key_id = key_id.strip()
            if not _KEY_ID.fullmatch(key_id):
                raise KeyringError(
                    f"entry {position} has an invalid key id (expected [A-Za-z0-9_-]{{1,64}})"
                )
            label = _label(position, key_id)
            if key_id in keys:
                raise KeyringError(f"{label} appears more than once")
            keys[key_id] = _decode_key(label, encoded.strip())
        return cls(primary_id=next(iter(keys)), keys=keys)

    @property
    def primary_key(self) -> bytes:
        return self.keys[self.primary_id]

    def require(self, key_ids: Iterable[str]) -> None:
        """Raise KeyringError naming every id in ``key_ids`` that this keyring lacks."""
        missing = sorted(set(key_ids) - set(self.keys))
        if len(missing) == 1:
            raise KeyringError(
                f"key id {missing[0]!r} is used by stored data but missing from the keyring"
            )
        if missing:
            names = ", ".join(repr(key_id) for key_id in missing)
            raise KeyringError(
                f"key ids {names} are used by stored data but missing from the keyring"
            )

    def __repr__(self) -> str:
        return f"Keyring(primary_id={self.primary_id!r}, key_ids={list(self.keys)!r})"

    __str__ = __repr__


def generate_key_entry(key_id: str | None = None) -> str:
    """A new keyring entry ``KEYID:BASE64URL`` holding 32 random bytes.

    The default key id is ``k`` + the UTC date + 4 random hex digits, so ids sort by age
    and two keys generated on one day still differ.
    """
    if key_id is None:
        key_id = f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(2)}"
    if not _KEY_ID.fullmatch(key_id):
        raise KeyringError(f"key id {key_id!r} is not [A-Za-z0-9_-]{{1,64}}")
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    return f"{key_id}:{encoded.rstrip('=')}"
