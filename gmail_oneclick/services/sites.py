"""Registering sites, their API keys (stored as hashes) and webhook secrets (encrypted)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from gmail_oneclick.domain.errors import InvalidRequest, NotFound, SiteUnverified, Unauthorized
from gmail_oneclick.domain.ids import new_id, new_secret, same_secret, secret_hash
from gmail_oneclick.domain.model import (
    WEBHOOK_SECRET_PURPOSE,
    Site,
    connection_owner,
    site_owner,
)
from gmail_oneclick.domain.netpolicy import PUBLIC_ONLY, TargetPolicy
from gmail_oneclick.domain.urls import check_service_url, normalise_origin
from gmail_oneclick.ports import Clock, UnitOfWork
from gmail_oneclick.services.consent import state_owner

API_KEY_PREFIX = "goc_"
# Where a self-registered site serves its verification token, under each of its origins.
WELL_KNOWN = "/.well-known/gmail-oneclick/"


@dataclass(frozen=True)
class NewSite:
    site: Site
    api_key: str
    webhook_secret: str
    verification_token: str | None = None  # only for a site registered pending

    def __repr__(self) -> str:
        return f"NewSite(site={self.site!r})"


def _new_webhook_secret() -> str:
    # Standard Webhooks: "whsec_" + base64 of the raw HMAC key.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ord(ch) < 32 for ch in name):
        raise InvalidRequest("name must be 1 to 200 printable characters")
    return name


def _check_origins(origins: list[str]) -> tuple[str, ...]:
    if not origins:
        raise InvalidRequest("at least one origin is required")
    clean: list[str] = []
    for origin in origins:
        normal = normalise_origin(origin.strip())
        if normal is None:
            raise InvalidRequest(
                f"origin {origin!r} must be an https:// origin with no path "
                "(http:// only for loopback hosts)"
            )
        if normal not in clean:
            clean.append(normal)
    return tuple(clean)


def _check_webhook_url(url: str | None, targets: TargetPolicy) -> str | None:
    if url is None or url == "":
        return None
    if not check_service_url(url):
        raise InvalidRequest("webhook URL must be https:// (http:// only for loopback hosts)")
    if targets.refuses_host(urlsplit(url).hostname or ""):
        raise InvalidRequest("webhook URL must reach a public internet address, not a "
                             "loopback, private or link-local one")
    return url


def add_site(
    uow: UnitOfWork, clock: Clock, *, name: str, origins: list[str], webhook_url: str | None,
    targets: TargetPolicy = PUBLIC_ONLY, pending: bool = False,
) -> NewSite:
    """Register a site. Returns its id, API key and webhook secret (shown once, never stored clear).

    ``targets`` says which webhook URLs are acceptable (public addresses only by default).
    A ``pending`` site (open registration) also gets a verification token (stored hashed) and
    can do nothing but verify its origins until it has. Raises InvalidRequest for a bad name,
    origin or webhook URL; nothing is written then.
    """
    now = clock.now()
    site = Site(
        id=new_id("site"),
        name=_check_name(name),
        origins=_check_origins(origins),
        webhook_url=_check_webhook_url(webhook_url, targets),
        created_at=now,
        verified_at=None if pending else now,
    )
    api_key = new_secret(API_KEY_PREFIX)
    webhook_secret = _new_webhook_secret()
    token = new_secret() if pending else None
    uow.sites.add(site, secret_hash(api_key), secret_hash(token) if token else None)
    uow.tokens.put(site_owner(site.id), WEBHOOK_SECRET_PURPOSE, webhook_secret.encode())
    uow.audit.record("site:added", now, site_id=site.id)
    uow.commit()
    return NewSite(site, api_key, webhook_secret, token)


def verification_urls(site: Site) -> list[str]:
    """Where the site must serve its verification token: one URL per origin."""
    return [origin + WELL_KNOWN + site.id for origin in site.origins]


def require_verified(site: Site) -> Site:
    """``site`` if it has proved it controls its origins. Raises SiteUnverified."""
    if site.verified_at is None:
        raise SiteUnverified(
            f"site {site.id} has not verified its origin yet: serve the verification token "
            f"from its registration as the whole body of {verification_urls(site)[0]}"
            + (" (and likewise on its other origins)" if len(site.origins) > 1 else "")
            + f", then call POST /v1/sites/{site.id}/verify"
        )
    return site


_UNAUTHORIZED = "a valid site API key is required (Authorization: Bearer <key>)"


def _plausible_api_key(api_key: str | None) -> str:
    """``api_key`` if it has the shape of one of ours (nothing looked up). Raises Unauthorized."""
    if not api_key or not api_key.startswith(API_KEY_PREFIX) or len(api_key) > 200:
        raise Unauthorized(_UNAUTHORIZED)
    return api_key


def authenticate(uow: UnitOfWork, api_key: str | None, *, allow_pending: bool = False) -> Site:
    """The site owning ``api_key``. Raises Unauthorized (the comparison is constant time), and
    SiteUnverified for a site still pending verification unless ``allow_pending``."""
    digest = secret_hash(_plausible_api_key(api_key))
    found = uow.sites.by_api_key_hash(digest)
    if found is None or not same_secret(found[1], digest):
        raise Unauthorized(_UNAUTHORIZED)
    return found[0] if allow_pending else require_verified(found[0])


def rotate_api_key(uow: UnitOfWork, clock: Clock, site_id: str) -> str:
    """A new API key for the site; the old one stops working at once. Raises NotFound."""
    api_key = new_secret(API_KEY_PREFIX)
    if not uow.sites.set_api_key_hash(site_id, secret_hash(api_key), clock.now()):
        raise NotFound(f"no site with id {site_id!r}")
    uow.audit.record("site:key_rotated", clock.now(), site_id=site_id)
    uow.commit()
    return api_key


def webhook_secret(uow: UnitOfWork, site_id: str) -> str | None:
    raw = uow.tokens.get(site_owner(site_id), WEBHOOK_SECRET_PURPOSE)
    return raw.decode() if raw is not None else None


def remove_site(uow: UnitOfWork, clock: Clock, site_id: str) -> int:
    """Delete a site, its connections and every secret of theirs. Returns connections removed.

    Tokens are not revoked at Google here; the CLI revokes first where it can.
    """
    if uow.sites.get(site_id) is None:
        raise NotFound(f"no site with id {site_id!r}")
    removed = 0
    for connection in uow.connections.list_for_site(site_id):
        uow.tokens.purge(connection_owner(connection.id))
        uow.connections.delete(connection.id)
        removed += 1
    # The states' rows go with the site (ON DELETE CASCADE); their PKCE verifiers live in
    # token_store and would outlive them.
    states = uow.consent.state_hashes_for_site(site_id)
    for state_hash in states:
        uow.tokens.purge(state_owner(state_hash))
    uow.consent.delete_states(states)
    uow.tokens.purge(site_owner(site_id))
    uow.sites.remove(site_id)
    uow.audit.record("site:removed", clock.now(), site_id=site_id, count=removed)
    uow.mark_purged()
    uow.commit()
    return removed
