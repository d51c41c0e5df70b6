"""``connections list``: every site's connections, or one site's, for the operator."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from gmail_oneclick.domain.model import Connection, rfc3339
from gmail_oneclick.entrypoints.cli import views
from gmail_oneclick.entrypoints.cli.output import emit, json_option
from gmail_oneclick.entrypoints.cli.params import SITE_ID_TYPE
from gmail_oneclick.entrypoints.cli.support import clean_errors, container_for_cli


def listed(connections: Iterable[Connection]) -> list[dict[str, Any]]:
    """The API's Connection objects plus what an operator needs: the site and the next check."""
    return [{**c.to_public(), "site_id": c.site_id, "next_check_at": rfc3339(c.next_check_at)}
            for c in connections]


@click.group()
def connections() -> None:
    """Connected Gmail accounts (never their tokens)."""


@connections.command("list")
@click.option("--site", "site_id", type=SITE_ID_TYPE, default=None,
              help="only this site's connections")
@json_option
@clean_errors
def connections_list(site_id: str | None) -> None:
    """List connections, site by site, oldest first, whatever their status."""
    from gmail_oneclick.services.connections import list_for_site, site_overview

    container = container_for_cli()
    found: list[Connection] = []
    with container.uow(readonly=True) as uow:
        if site_id is not None:
            found = site_overview(uow, site_id)[1]  # an unknown site is an error, not "none"
        else:
            for site in uow.sites.list():
                found.extend(list_for_site(uow, site.id))
    emit({"connections": listed(found)}, views.connections)


def register(main: click.Group) -> None:
    main.add_command(connections)
