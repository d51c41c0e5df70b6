"""Encrypted storage for OAuth tokens and other secrets (no Flask, no gmail_oneclick).

Secrets are sealed with AES-256-GCM under a per-owner data key, itself wrapped by the
primary key of a keyring; see envelope.py for the exact formats.
"""

from token_store.engine import checkpoint, make_engine
from token_store.envelope import DecryptionError
from token_store.keyring import Keyring, KeyringError, generate_key_entry
from token_store.rotation import RotationResult, rotate_keys
from token_store.sql import SqlTokenStore, metadata
from token_store.store import (
    MemoryTokenStore,
    TokenStore,
    refresh_token_hash,
    token_prefix,
)

__all__ = [
    "DecryptionError",
    "Keyring",
    "KeyringError",
    "MemoryTokenStore",
    "RotationResult",
    "SqlTokenStore",
    "TokenStore",
    "checkpoint",
    "generate_key_entry",
    "make_engine",
    "metadata",
    "refresh_token_hash",
    "rotate_keys",
    "token_prefix",
]
