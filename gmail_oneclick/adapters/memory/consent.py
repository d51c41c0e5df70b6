"""Connect links and OAuth states in memory, keyed by the SHA-256 of their secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gmail_oneclick.adapters.memory.state import IntegrityError, Row, Tables
from gmail_oneclick.domain.records import ConnectLink, OAuthState


class ConsentRepository:
    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables

    @property
    def _links(self) -> dict[str, Row]:
        return self._tables().connect_links

    @property
    def _states(self) -> dict[str, Row]:
        return self._tables().oauth_states

    def _check_new(self, table: dict[str, Row], key: str, site_id: str) -> None:
        if key in table or site_id not in self._tables().sites:
            raise IntegrityError(f"{key!r} exists or its site does not")

    # -- connect links ---------------------------------------------------------------------
    def add_link(
        self, *, token_hash: str, site_id: str, return_url: str, login_hint: str | None,
        created_at: datetime, expires_at: datetime,
    ) -> None:
        self._check_new(self._links, token_hash, site_id)
        self._links[token_hash] = {
            "token_hash": token_hash, "site_id": site_id, "return_url": return_url,
            "login_hint": login_hint, "created_at": created_at, "expires_at": expires_at,
            "used_at": None,
        }

    def get_link(self, token_hash: str) -> ConnectLink | None:
        row = self._links.get(token_hash)
        return ConnectLink(**row) if row else None

    def use_link(self, token_hash: str, at: datetime) -> bool:
        """Mark the link used; False when it was used already (a concurrent submit won)."""
        row = self._links.get(token_hash)
        if row is None or row["used_at"] is not None:
            return False
        row["used_at"] = at
        return True

    def delete_links_expired_before(self, at: datetime) -> int:
        doomed = [k for k, row in self._links.items() if row["expires_at"] < at]
        for key in doomed:
            del self._links[key]
        return len(doomed)

    # -- OAuth states ----------------------------------------------------------------------
    def add_state(
        self, *, state_hash: str, link_hash: str, site_id: str, return_url: str,
        browser_hash: str, created_at: datetime, expires_at: datetime,
    ) -> None:
        self._check_new(self._states, state_hash, site_id)
        self._states[state_hash] = {
            "state_hash": state_hash, "link_hash": link_hash, "site_id": site_id,
            "return_url": return_url, "browser_hash": browser_hash, "created_at": created_at,
            "expires_at": expires_at, "used_at": None,
        }

    def get_state(self, state_hash: str) -> OAuthState | None:
        row = self._states.get(state_hash)
        return OAuthState(**row) if row else None

    def use_state(self, state_hash: str, at: datetime) -> bool:
        """Mark the state used; False when it was used already (a concurrent callback won)."""
        row = self._states.get(state_hash)
        if row is None or row["used_at"] is not None:
            return False
        row["used_at"] = at
        return True

    def states_expired_before(self, at: datetime, limit: int = 200) -> list[str]:
        return [k for k, row in self._states.items() if row["expires_at"] < at][:limit]

    def state_hashes_for_site(self, site_id: str) -> list[str]:
        return [k for k, row in self._states.items() if row["site_id"] == site_id]

    def delete_states(self, state_hashes: list[str]) -> int:
        return sum(self._states.pop(h, None) is not None for h in set(state_hashes))
