"""Bearer authentication of sites for the plugin API."""

from __future__ import annotations

from flask import g, request

from gmail_oneclick.domain.model import Site
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.services import sites


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_site(*, allow_pending: bool = False) -> Site:
    """The site whose API key authenticates this request. Raises Unauthorized, and
    SiteUnverified for a site still pending verification unless ``allow_pending`` (routes that
    only read what the site owns: a pending site owns nothing)."""
    site: Site | None = g.get("site")
    if site is None:
        with container().uow(readonly=True) as uow:
            site = sites.authenticate(uow, bearer_token(), allow_pending=True)
        g.site = site
    return site if allow_pending else sites.require_verified(site)
