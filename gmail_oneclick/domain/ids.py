"""Random identifiers and secrets, and the one way we hash high-entropy secrets for lookup."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_id(prefix: str) -> str:
    """A public identifier like ``conn_6f3k...`` (80 random bits, lowercase base32)."""
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(10)).decode().lower()}"


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` bytes (256 bits by default)."""
    return prefix + secrets.token_urlsafe(nbytes)


def secret_hash(value: str) -> str:
    """SHA-256 hex of a high-entropy secret: safe to store and index, useless to an attacker."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
