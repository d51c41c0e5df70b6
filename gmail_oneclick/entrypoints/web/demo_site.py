"""Sandbox-mode conveniences for `make run`: a demo site, and where to click.

Only in sandbox mode (fake Google, development only). No key is printed: the demo page shows
the demo site's connections itself, and an API key for curl comes from the CLI (`sites
rotate-key`), which shows it once, as in production.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gmail_oneclick.domain.model import Site
from gmail_oneclick.domain.urls import origin_of
from gmail_oneclick.services.sites import add_site

if TYPE_CHECKING:
    from gmail_oneclick.bootstrap import Container

DEMO_SITE_NAME = "gmail-oneclick demo"
DEMO_PATH = "/_demo"


def ensure_demo_site(container: Container) -> Site:
    """The demo site (origin = PUBLIC_URL), registered on first use."""
    origin = origin_of(container.settings.public_url)
    if origin is None:
        raise ValueError("PUBLIC_URL is not a usable origin")
    with container.uow() as uow:
        for site in uow.sites.list():
            if site.name == DEMO_SITE_NAME and origin in site.origins:
                return site
        return add_site(
            uow, container.clock, name=DEMO_SITE_NAME, origins=[origin], webhook_url=None
        ).site


def announce(container: Container) -> None:
    """Print (stderr) the sandbox banner and the URLs to click; never a key or token."""
    url = container.settings.public_url.rstrip("/")
    lines = [
        "",
        "  gmail-oneclick is running in SANDBOX mode (fake Google, development only).",
        f"  Start here:      {url}/",
        f"  Google sandbox:  {url}/_sandbox/google/",
    ]
    if container.sandbox is not None:
        site = ensure_demo_site(container)
        lines += [
            f"  Try it:          {url}{DEMO_PATH}",
            f"  Demo site:       {site.id} (its connections also at GET {url}/v1/connections)",
            "  Its API key (shown once, by the CLI): GMAIL_ONECLICK_SANDBOX=1 "
            f".venv/bin/gmail-oneclick sites rotate-key {site.id}",
        ]
    print("\n".join([*lines, ""]), file=sys.stderr, flush=True)
