"""Sandbox-mode conveniences for `make run`: a demo site, and where to click.

Only in sandbox mode (fake Google, development only): the demo site's API key is rotated at
each start and printed so a person can also call the plugin API with curl. Nothing here runs
against real Google.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gmail_oneclick.model import Site
from gmail_oneclick.services.sites import add_site, rotate_api_key
from gmail_oneclick.urls import origin_of

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
    """Print (stderr) the sandbox banner, the demo page's URL and, in sandbox mode only, the
    demo site's freshly rotated API key."""
    url = container.settings.public_url.rstrip("/")
    lines = [
        "",
        "  gmail-oneclick is running in SANDBOX mode (fake Google, development only).",
        f"  Google sandbox:  {url}/_sandbox/google/",
    ]
    if container.sandbox is not None:
        site = ensure_demo_site(container)
        with container.uow() as uow:
            api_key = rotate_api_key(uow, container.clock, site.id)
        lines += [
            f"  Try it:          {url}{DEMO_PATH}",
            f"  Demo site:       {site.id} (sandbox API key, rotated at each start: {api_key})",
            f"  Its connections: curl -H 'Authorization: Bearer {api_key}' {url}/v1/connections",
        ]
    print("\n".join([*lines, ""]), file=sys.stderr, flush=True)
