"""Bearer authentication of sites for the plugin API."""

from __future__ import annotations

from flask import g, request

from gmail_oneclick.model import Site
from gmail_oneclick.services import sites
from gmail_oneclick.web import container


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_site() -> Site:
    """The site whose API key authenticates this request. Raises Unauthorized."""
    site: Site | None = g.get("site")
    if site is None:
        with container().uow(readonly=True) as uow:
            site = sites.authenticate(uow, bearer_token())
        g.site = site
    return site
