"""Connect links and OAuth states: both keyed by the SHA-256 of their secret, never the secret.

The PKCE code_verifier of a state is a secret too; it lives in token_store under
``state:<state_hash>``, which services.consent purges with the state. Writes take keyword
arguments, as ports.ConsentRepository states them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from gmail_oneclick.adapters.storage.tables import connect_links, oauth_states
from gmail_oneclick.domain.model import aware
from gmail_oneclick.domain.records import ConnectLink, OAuthState


def _link(row: Any) -> ConnectLink:
    return ConnectLink(
        token_hash=row.token_hash,
        site_id=row.site_id,
        return_url=row.return_url,
        login_hint=row.login_hint,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        expires_at=aware(row.expires_at),  # type: ignore[arg-type]
        used_at=aware(row.used_at),
    )


def _state(row: Any) -> OAuthState:
    return OAuthState(
        state_hash=row.state_hash,
        link_hash=row.link_hash,
        site_id=row.site_id,
        return_url=row.return_url,
        browser_hash=row.browser_hash,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        expires_at=aware(row.expires_at),  # type: ignore[arg-type]
        used_at=aware(row.used_at),
    )


class ConsentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- connect links ---------------------------------------------------------------------
    def add_link(
        self, *, token_hash: str, site_id: str, return_url: str, login_hint: str | None,
        created_at: datetime, expires_at: datetime,
    ) -> None:
        self.conn.execute(
            insert(connect_links).values(
                token_hash=token_hash, site_id=site_id, return_url=return_url,
                login_hint=login_hint, created_at=created_at, expires_at=expires_at, used_at=None,
            )
        )

    def get_link(self, token_hash: str) -> ConnectLink | None:
        query = select(connect_links).where(connect_links.c.token_hash == token_hash)
        row = self.conn.execute(query).first()
        return _link(row) if row else None

    def use_link(self, token_hash: str, at: datetime) -> bool:
        """Mark the link used; False when it was used already (a concurrent submit won)."""
        result = self.conn.execute(
            update(connect_links)
            .where(connect_links.c.token_hash == token_hash, connect_links.c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    def delete_links_expired_before(self, at: datetime) -> int:
        result = self.conn.execute(delete(connect_links).where(connect_links.c.expires_at < at))
        return int(result.rowcount)

    # -- OAuth states ----------------------------------------------------------------------
    def add_state(
        self, *, state_hash: str, link_hash: str, site_id: str, return_url: str,
        browser_hash: str, created_at: datetime, expires_at: datetime,
    ) -> None:
        self.conn.execute(
            insert(oauth_states).values(
                state_hash=state_hash, link_hash=link_hash, site_id=site_id,
                return_url=return_url, browser_hash=browser_hash, created_at=created_at,
                expires_at=expires_at, used_at=None,
            )
        )

    def get_state(self, state_hash: str) -> OAuthState | None:
        query = select(oauth_states).where(oauth_states.c.state_hash == state_hash)
        row = self.conn.execute(query).first()
        return _state(row) if row else None

    def use_state(self, state_hash: str, at: datetime) -> bool:
        """Mark the state used; False when it was used already (a concurrent callback won)."""
        result = self.conn.execute(
            update(oauth_states)
            .where(oauth_states.c.state_hash == state_hash, oauth_states.c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    def states_expired_before(self, at: datetime, limit: int = 200) -> list[str]:
        rows = self.conn.execute(
            select(oauth_states.c.state_hash).where(oauth_states.c.expires_at < at).limit(limit)
        )
        return [r.state_hash for r in rows]

    def state_hashes_for_site(self, site_id: str) -> list[str]:
        rows = self.conn.execute(
            select(oauth_states.c.state_hash).where(oauth_states.c.site_id == site_id)
        )
        return [r.state_hash for r in rows]

    def delete_states(self, state_hashes: list[str]) -> int:
        if not state_hashes:
            return 0
        result = self.conn.execute(
            delete(oauth_states).where(oauth_states.c.state_hash.in_(state_hashes))
        )
        return int(result.rowcount)
