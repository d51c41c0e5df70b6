"""Operator commands: the revocation checker and data-subject requests."""

from __future__ import annotations

import click

from gmail_oneclick.entrypoints.cli import views
from gmail_oneclick.entrypoints.cli.output import confirm, emit, json_option, plural, yes_option
from gmail_oneclick.entrypoints.cli.params import EMAIL_ADDRESS
from gmail_oneclick.entrypoints.cli.support import clean_errors, container_for_cli


@click.command()
@click.option("--once", is_flag=True,
              help="run one sweep, print its counts (and, on a terminal, when the next "
                   "connection is due) and exit")
@json_option
@clean_errors
def checker(once: bool) -> None:
    """Verify every connection once per check interval and deliver webhooks.

    Exits 0 after a completed sweep even when upstream calls failed (they are counted);
    non-zero only when it could not sweep (database unreachable, bad settings).
    """
    from gmail_oneclick.entrypoints import checker as checker_module
    from gmail_oneclick.services.connections import next_check_due

    container = container_for_cli(need_google=True)
    if not once:
        checker_module.run_forever(container)
        return
    counts = checker_module.sweep(container)
    now = container.clock.now()
    with container.uow(readonly=True) as uow:
        due = next_check_due(uow, now)
    emit(counts, lambda doc: views.sweep(doc, views.next_due(due, now)))


@click.group()
def privacy() -> None:
    """Data-subject access and deletion by Google account email."""


@privacy.command("export")
@click.option("--email", required=True, type=EMAIL_ADDRESS,
              help="the Google account's email address")
@json_option
@clean_errors
def privacy_export(email: str) -> None:
    """Print everything held about the account (never a secret)."""
    from gmail_oneclick.services.privacy import export_email

    container = container_for_cli()
    with container.uow() as uow:
        document = export_email(uow, email, retention=container.settings.retention())
    emit(document, views.export)


@privacy.command("forget")
@click.option("--email", required=True, type=EMAIL_ADDRESS,
              help="the Google account's email address")
@yes_option
@json_option
@clean_errors
def privacy_forget(email: str, yes: bool) -> None:
    """Revoke at Google and delete every record naming the account (asks first on a
    terminal)."""
    from gmail_oneclick.services.privacy import export_email, forget_email

    container = container_for_cli(need_google=True)
    with container.uow(readonly=True) as uow:
        held = len(export_email(uow, email, retention={})["connections"])
    if held:
        confirm(f"Forget {email}: revoke at Google and delete {plural(held, 'connection')} and "
                "every record naming the account? This cannot be undone.", yes=yes)
    emit({"forgotten": forget_email(container.uow, container.google, container.clock, email)},
         lambda doc: views.forgotten(doc, email))


def register(main: click.Group) -> None:
    main.add_command(checker)
    main.add_command(privacy)
