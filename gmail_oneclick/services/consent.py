"""Connect links and the start of Google consent (POST /v1/connections, the connect page).

A connect link is a random token in a URL path, stored as its SHA-256, usable until its form is
submitted or ``connect_ttl`` passes. Submitting it creates an OAuth ``state`` (stored as a hash,
10 minutes, bound to the browser by the hash of a cookie value) and a PKCE verifier, kept
encrypted in token_store until the callback uses it. The callback is in consent_callback.py.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gmail_oneclick.domain.errors import Gone, InvalidRequest, NotFound
from gmail_oneclick.domain.ids import new_secret, secret_hash
from gmail_oneclick.domain.model import VERIFIER_PURPOSE, Site
from gmail_oneclick.domain.records import ConnectLink
from gmail_oneclick.domain.urls import origin_of
from gmail_oneclick.ports import Clock, GoogleAccounts, UnitOfWork

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
# Used links are kept a while so a second submit says "used" (410) rather than "unknown" (404).
LINK_RETENTION = timedelta(days=1)
RESULT_PARAMS = ("gmail_oneclick", "connection_id", "reason")
MAX_URL_CHARS = 2048
MAX_SECRET_CHARS = 128
SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
# Good enough to refuse obvious mistakes; Google decides what a valid account is.
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
START_AGAIN = "Go back to your site and click “Connect Gmail” again to get a new link."


def state_owner(state_hash: str) -> str:
    """token_store owner key of a state's PKCE verifier."""
    return f"state:{state_hash}"


class LinkNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(f"This connect link is not valid. {START_AGAIN}")


class LinkGone(Gone):
    def __init__(self, why: str) -> None:
        super().__init__(f"This connect link {why}. {START_AGAIN}")


@dataclass(frozen=True)
class NewConnectLink:
    url: str
    expires_at: datetime

    def __repr__(self) -> str:  # the URL carries the link's secret
        return f"NewConnectLink(expires_at={self.expires_at!r})"


@dataclass(frozen=True)
class LinkPage:
    """What the interstitial page shows."""

    site_name: str
    site_origin: str
    login_hint: str | None
    expires_at: datetime


def looks_like_secret(value: str | None) -> bool:
    """Our random tokens are URL-safe base64; anything else is refused before any lookup."""
    return bool(value) and len(value or "") <= MAX_SECRET_CHARS and bool(
        SECRET_CHARS.fullmatch(value or "")
    )


def check_return_url(site: Site, value: Any) -> str:
    """``value`` when it is a URL on one of the site's origins (exact scheme, host and port)."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_CHARS:
        raise InvalidRequest("return_url must be a URL of at most 2048 characters")
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in value):
        raise InvalidRequest("return_url must not contain spaces, backslashes or controls")
    if origin_of(value) not in site.origins:
        raise InvalidRequest(
            "return_url must be on one of the site's registered origins: " + ", ".join(site.origins)
        )
    return value


def check_login_hint(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 320 or not EMAIL.fullmatch(value):
        raise InvalidRequest("login_hint must be an email address")
    return value


def result_url(return_url: str, **params: str | None) -> str:
    """``return_url`` with our result parameters, replacing any it already carried."""
    parts = urlsplit(return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in RESULT_PARAMS]
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def code_challenge(verifier: str) -> str:
    """PKCE S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def create_connect_link(
    uow: UnitOfWork,
    clock: Clock,
    site: Site,
    *,
    public_url: str,
    ttl_seconds: int,
    return_url: Any,
    login_hint: Any = None,
) -> NewConnectLink:
    """A single-use connect link for ``site``. Raises InvalidRequest for a bad return URL or hint.

    Commits. The link's token exists only in the returned URL.
    """
    link_return_url = check_return_url(site, return_url)
    hint = check_login_hint(login_hint)
    token = new_secret()
    now = clock.now()
    expires_at = now + timedelta(seconds=ttl_seconds)
    uow.consent.add_link(
        token_hash=secret_hash(token), site_id=site.id, return_url=link_return_url,
        login_hint=hint, created_at=now, expires_at=expires_at,
    )
    uow.consent.delete_links_expired_before(now - LINK_RETENTION)
    uow.audit.record("connect_link:created", now, site_id=site.id)
    uow.commit()
    return NewConnectLink(f"{public_url.rstrip('/')}/connect/{token}", expires_at)


def _usable_link(uow: UnitOfWork, clock: Clock, token: str) -> ConnectLink:
    link = uow.consent.get_link(secret_hash(token)) if looks_like_secret(token) else None
    if link is None:
        raise LinkNotFound()
    if link.used_at is not None:
        raise LinkGone("was used already")
    if link.expires_at <= clock.now():
        raise LinkGone("has expired")
    return link


def open_link(uow: UnitOfWork, clock: Clock, token: str) -> LinkPage:
    """What the connect page shows. Raises LinkNotFound (404) or LinkGone (410)."""
    link = _usable_link(uow, clock, token)
    site = uow.sites.get(link.site_id)
    if site is None:
        raise LinkNotFound()
    return LinkPage(
        site_name=site.name,
        site_origin=origin_of(link.return_url) or site.origins[0],
        login_hint=link.login_hint,
        expires_at=link.expires_at,
    )


def start_consent(
    uow: UnitOfWork, clock: Clock, google: GoogleAccounts, *, token: str, browser_id: str
) -> str:
    """Use up the link and return Google's consent URL for a new state bound to ``browser_id``.

    Raises LinkNotFound or LinkGone (a second submit included). Commits.
    """
    link = _usable_link(uow, clock, token)
    now = clock.now()
    if not uow.consent.use_link(link.token_hash, now):
        raise LinkGone("was used already")
    state = new_secret()
    verifier = new_secret(nbytes=48)  # 64 characters of [A-Za-z0-9_-]: a valid PKCE verifier
    state_hash = secret_hash(state)
    uow.consent.add_state(
        state_hash=state_hash, link_hash=link.token_hash, site_id=link.site_id,
        return_url=link.return_url, browser_hash=secret_hash(browser_id),
        created_at=now, expires_at=now + STATE_TTL,
    )
    uow.tokens.put(state_owner(state_hash), VERIFIER_PURPOSE, verifier.encode("ascii"))
    auth_url = google.authorization_url(
        state=state, code_challenge=code_challenge(verifier), login_hint=link.login_hint
    )
    purge_expired_states(uow, now)
    uow.audit.record("consent:started", now, site_id=link.site_id)
    uow.commit()
    return auth_url


def purge_expired_states(uow: UnitOfWork, now: datetime) -> int:
    """Delete expired states and their verifiers (the caller commits). Returns how many."""
    hashes = uow.consent.states_expired_before(now)
    for state_hash in hashes:
        uow.tokens.purge(state_owner(state_hash))
    if hashes:
        uow.consent.delete_states(hashes)
        uow.mark_purged()
    return len(hashes)
