"""Administrative commands: database, keys, sites."""

from __future__ import annotations

import click

from gmail_oneclick.entrypoints.cli.support import (
    clean_errors,
    container_for_cli,
    emit,
    settings_for_cli,
)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version.

    A new database is marked for the sandbox or a real Google client (GMAIL_ONECLICK_SANDBOX);
    a database of the other kind is refused."""
    from gmail_oneclick.adapters.storage.migrate import upgrade

    settings = settings_for_cli()
    emit(upgrade(settings.sqlalchemy_url, sandbox=settings.sandbox))


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
@clean_errors
def keys_rotate(batch_size: int) -> None:
    """Re-wrap every stored data key under the primary (first) key. Safe to rerun."""
    from gmail_oneclick.bootstrap import build
    from token_store import rotate_keys

    container = build(settings_for_cli(), need_google=False, check_keys=False)
    result = rotate_keys(container.engine, container.keyring, batch_size=batch_size)
    emit({"rewrapped": result.rewrapped, "already_current": result.already_current})


@click.group()
def sites() -> None:
    """Registered WordPress sites."""


@sites.command("add")
@click.option("--name", required=True, help="the site's name, shown on the consent page")
@click.option("--origin", "origins", required=True, multiple=True,
              help="the site's https origin, e.g. https://blog.example.com (repeatable)")
@click.option("--webhook-url", default=None, help="https URL receiving connection events")
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
    emit({"site_id": new.site.id, "api_key": new.api_key, "webhook_secret": new.webhook_secret})


@sites.command("list")
@clean_errors
def sites_list() -> None:
    """List sites (never their secrets)."""
    container = container_for_cli()
    with container.uow() as uow:
        emit({"sites": [s.to_public() for s in uow.sites.list()]})


@sites.command("rotate-key")
@click.argument("site_id")
@clean_errors
def sites_rotate_key(site_id: str) -> None:
    """Issue a new API key; the old one stops working at once."""
    from gmail_oneclick.services.sites import rotate_api_key

    container = container_for_cli()
    with container.uow() as uow:
        key = rotate_api_key(uow, container.clock, site_id)
    emit({"site_id": site_id, "api_key": key})


@sites.command("remove")
@click.argument("site_id")
@clean_errors
def sites_remove(site_id: str) -> None:
    """Remove a site and purge its connections' tokens."""
    from gmail_oneclick.services.sites import remove_site

    container = container_for_cli()
    with container.uow() as uow:
        removed = remove_site(uow, container.clock, site_id)
    emit({"site_id": site_id, "removed": True, "connections_purged": removed})


def register(main: click.Group) -> None:
    for group in (db, keys, sites):
        main.add_command(group)
    # Commands owned by other modules register themselves here when present.
    for module_name in ("gmail_oneclick.entrypoints.cli.ops",
                        "gmail_oneclick.entrypoints.cli.doctor"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(main)

