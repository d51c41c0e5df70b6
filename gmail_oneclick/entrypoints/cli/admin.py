"""Administrative commands: database, keys, sites."""

from __future__ import annotations

from pathlib import Path

import click

from gmail_oneclick.entrypoints.cli import views
from gmail_oneclick.entrypoints.cli.output import (
    confirm,
    emit,
    json_option,
    plural,
    progress,
    yes_option,
)
from gmail_oneclick.entrypoints.cli.params import SITE_ID_TYPE
from gmail_oneclick.entrypoints.cli.support import (
    clean_errors,
    container_for_cli,
    settings_for_instance,
)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@json_option
@clean_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version.

    Without GMAIL_ONECLICK_DATABASE_URL or _INSTANCE_PATH it upgrades the nearest instance/
    folder here or above, and creates ./instance when there is none. A new database is marked
    for the sandbox or a real Google client (GMAIL_ONECLICK_SANDBOX); a database of the other
    kind is refused."""
    from gmail_oneclick.adapters.storage.migrate import upgrade

    settings = settings_for_instance(may_create=True)
    # Never the URL itself: it may carry a password.
    where = "the database of GMAIL_ONECLICK_DATABASE_URL" if settings.database_url else \
        str(Path(settings.instance_path).resolve())
    emit(upgrade(settings.sqlalchemy_url, sandbox=settings.sandbox),
         lambda doc: views.upgrade(doc, where))


@click.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("generate")
@click.option("--key-id", default=None, help="key id (letters, digits, _ and -); random by default")
@clean_errors
def keys_generate(key_id: str | None) -> None:
    """Print a new random 256-bit key as a keyring entry KEYID:BASE64URL."""
    from token_store import Keyring, generate_key_entry

    entry = generate_key_entry(key_id)
    Keyring.parse(entry)  # validates the key id
    click.echo(entry)


@keys.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100000))
@json_option
@clean_errors
def keys_rotate(batch_size: int) -> None:
    """Re-wrap every stored data key under the primary (first) key. Safe to rerun.

    On a terminal, stderr shows the progress: keys done / total, rate and time left."""
    from token_store import rotate_keys

    container = container_for_cli(check_keys=False)
    with progress("Re-wrapping keys") as on_progress:
        result = rotate_keys(container.engine, container.keyring, batch_size=batch_size,
                             on_progress=on_progress)
    emit({"rewrapped": result.rewrapped, "already_current": result.already_current},
         views.rotation)


@click.group()
def sites() -> None:
    """Registered WordPress sites."""


@sites.command("add")
@click.option("--name", required=True, help="the site's name, shown on the consent page")
@click.option("--origin", "origins", required=True, multiple=True,
              help="the site's https origin, e.g. https://blog.example.com (repeatable)")
@click.option("--webhook-url", default=None, help="https URL receiving connection events")
@json_option
@clean_errors
def sites_add(name: str, origins: tuple[str, ...], webhook_url: str | None) -> None:
    """Register a site. Prints its id, API key and webhook secret: they are shown only once."""
    from gmail_oneclick.domain.netpolicy import TargetPolicy
    from gmail_oneclick.services.sites import add_site

    container = container_for_cli()
    with container.uow() as uow:
        new = add_site(uow, container.clock, name=name, origins=list(origins),
                       webhook_url=webhook_url,
                       targets=TargetPolicy.from_settings(container.settings))
    emit({"site_id": new.site.id, "api_key": new.api_key, "webhook_secret": new.webhook_secret},
         views.site_added)


@sites.command("list")
@json_option
@clean_errors
def sites_list() -> None:
    """List sites (never their secrets)."""
    container = container_for_cli()
    with container.uow(readonly=True) as uow:
        listed = [s.to_public() for s in uow.sites.list()]
    emit({"sites": listed}, views.sites)


@sites.command("show")
@click.argument("site_id", type=SITE_ID_TYPE)
@json_option
@clean_errors
def sites_show(site_id: str) -> None:
    """Show one site and its connections (never a secret)."""
    from gmail_oneclick.entrypoints.cli.connections import listed
    from gmail_oneclick.services.connections import site_overview

    container = container_for_cli()
    with container.uow(readonly=True) as uow:
        site, connections = site_overview(uow, site_id)
    emit({**site.to_public(), "connections": listed(connections)}, views.site)


@sites.command("rotate-key")
@click.argument("site_id", type=SITE_ID_TYPE)
@json_option
@clean_errors
def sites_rotate_key(site_id: str) -> None:
    """Issue a new API key; the old one stops working at once."""
    from gmail_oneclick.services.sites import rotate_api_key

    container = container_for_cli()
    with container.uow() as uow:
        key = rotate_api_key(uow, container.clock, site_id)
    emit({"site_id": site_id, "api_key": key}, views.key_rotated)


@sites.command("remove")
@click.argument("site_id", type=SITE_ID_TYPE)
@yes_option
@json_option
@clean_errors
def sites_remove(site_id: str, yes: bool) -> None:
    """Remove a site and purge its connections' tokens (asks first on a terminal)."""
    from gmail_oneclick.services.connections import site_overview
    from gmail_oneclick.services.sites import remove_site

    container = container_for_cli()
    with container.uow(readonly=True) as uow:
        site, connections = site_overview(uow, site_id)  # an unknown site fails before asking
    confirm(f"Remove site {site_id} ({site.name}) and purge the tokens of "
            f"{plural(len(connections), 'connection')}? This cannot be undone.", yes=yes)
    with container.uow() as uow:
        removed = remove_site(uow, container.clock, site_id)
    emit({"site_id": site_id, "removed": True, "connections_purged": removed},
         views.site_removed)


def register(main: click.Group) -> None:
    for group in (db, keys, sites):
        main.add_command(group)
    # Commands owned by other modules register themselves here when present.
    for module_name in ("gmail_oneclick.entrypoints.cli.ops",
                        "gmail_oneclick.entrypoints.cli.doctor",
                        "gmail_oneclick.entrypoints.cli.connections"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(main)

