"""Sites: name, origins, webhook URL and the hash of the API key (never the key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from gmail_oneclick.adapters.storage.tables import sites
from gmail_oneclick.domain.model import Site, aware

# Every authenticated request runs this one: built once, so its compiled form is reused.
_BY_API_KEY_HASH = select(sites).where(sites.c.api_key_hash == bindparam("key_hash"))


def _site(row: Any) -> Site:
    return Site(
        id=row.id,
        name=row.name,
        origins=tuple(row.origins),
        webhook_url=row.webhook_url,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        verified_at=aware(row.verified_at),
    )


class SiteRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, site: Site, api_key_hash: str,
            verification_token_hash: str | None = None) -> None:
        self.conn.execute(
            insert(sites).values(
                id=site.id,
                name=site.name,
                origins=list(site.origins),
                webhook_url=site.webhook_url,
                api_key_hash=api_key_hash,
                created_at=site.created_at,
                verified_at=site.verified_at,
                verification_token_hash=verification_token_hash,
            )
        )

    def verification_token_hash(self, site_id: str) -> str | None:
        return self.conn.execute(
            select(sites.c.verification_token_hash).where(sites.c.id == site_id)
        ).scalar_one_or_none()

    def mark_verified(self, site_id: str, at: datetime) -> bool:
        """Verify a pending site once; False when it is gone or already verified."""
        result = self.conn.execute(
            update(sites)
            .where(sites.c.id == site_id, sites.c.verified_at.is_(None))
            .values(verified_at=at, verification_token_hash=None)
        )
        return result.rowcount == 1

    def get(self, site_id: str) -> Site | None:
        row = self.conn.execute(select(sites).where(sites.c.id == site_id)).first()
        return _site(row) if row else None

    def by_api_key_hash(self, key_hash: str) -> tuple[Site, str] | None:
        """The site and its stored hash, so the caller can compare in constant time."""
        row = self.conn.execute(_BY_API_KEY_HASH, {"key_hash": key_hash}).first()
        return (_site(row), row.api_key_hash) if row else None

    def list(self) -> list[Site]:
        return [_site(r) for r in self.conn.execute(select(sites).order_by(sites.c.created_at))]

    def set_api_key_hash(self, site_id: str, key_hash: str, at: datetime) -> bool:
        result = self.conn.execute(
            update(sites)
            .where(sites.c.id == site_id)
            .values(api_key_hash=key_hash, key_rotated_at=at)
        )
        return result.rowcount == 1

    def remove(self, site_id: str) -> bool:
        return self.conn.execute(delete(sites).where(sites.c.id == site_id)).rowcount == 1
