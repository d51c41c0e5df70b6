"""Operator commands: the revocation checker and data-subject requests."""

from __future__ import annotations

import click

from gmail_oneclick.entrypoints.cli.support import clean_errors, container_for_cli, emit


@click.command()
@click.option("--once", is_flag=True, help="run one sweep, print its JSON counts and exit")
@clean_errors
def checker(once: bool) -> None:
    """Verify every connection once per check interval and deliver webhooks.

    Exits 0 after a completed sweep even when upstream calls failed (they are counted);
    non-zero only when it could not sweep (database unreachable, bad settings).
    """
    from gmail_oneclick.entrypoints import checker as checker_module

    container = container_for_cli(need_google=True)
    if once:
        emit(checker_module.sweep(container))
        return
    checker_module.run_forever(container)


@click.group()
def privacy() -> None:
    """Data-subject access and deletion by Google account email."""


@privacy.command("export")
@click.option("--email", required=True, help="the Google account's email address")
@clean_errors
def privacy_export(email: str) -> None:
    """Print everything held about the account (never a secret)."""
    from gmail_oneclick.services.privacy import export_email

    container = container_for_cli()
    with container.uow() as uow:
        emit(export_email(uow, email, retention=container.settings.retention()))


@privacy.command("forget")
@click.option("--email", required=True, help="the Google account's email address")
@clean_errors
def privacy_forget(email: str) -> None:
    """Revoke at Google and delete every record naming the account."""
    from gmail_oneclick.services.privacy import forget_email

    container = container_for_cli(need_google=True)
    emit({"forgotten": forget_email(container.uow, container.google, container.clock, email)})


def register(main: click.Group) -> None:
    main.add_command(checker)
    main.add_command(privacy)
