"""The human view of each command's JSON document: what a terminal shows instead of JSON.

Each view reads only the document the command prints for scripts, so both say the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from gmail_oneclick.entrypoints.cli.output import duration, plural, table, when


def upgrade(doc: dict[str, Any], where: str) -> None:
    if doc["upgraded"]:
        start = f"from {doc['from']} " if doc["from"] else "(new database) "
        click.echo(f"Schema upgraded {start}to {doc['to']}, {doc['mode']} mode, in {where}.")
    else:
        click.echo(f"Schema already at {doc['to']}, {doc['mode']} mode, in {where}.")


def rotation(doc: dict[str, Any]) -> None:
    click.echo(f"Re-wrapped {plural(doc['rewrapped'], 'data key')} under the primary key; "
               f"{doc['already_current']} already were.")


def site_added(doc: dict[str, Any]) -> None:
    click.echo(f"Site {doc['site_id']} registered.")
    click.echo(f"  API key         {doc['api_key']}")
    click.echo(f"  webhook secret  {doc['webhook_secret']}")
    click.echo("Copy both now: they are shown only once (sites rotate-key issues a new key).")


def sites(doc: dict[str, Any]) -> None:
    if not doc["sites"]:
        click.echo("No sites yet. Add one: gmail-oneclick sites add --name NAME --origin URL")
        return
    table(["site id", "name", "origins", "verified", "created"],
          [[s["site_id"], s["name"], " ".join(s["origins"]), when(s["verified_at"]),
            when(s["created_at"])] for s in doc["sites"]])


def site(doc: dict[str, Any]) -> None:
    click.echo(f"Site {doc['site_id']}: {doc['name']}")
    click.echo(f"  origins      {' '.join(doc['origins'])}")
    click.echo(f"  webhook URL  {doc['webhook_url'] or '-'}")
    click.echo(f"  created      {when(doc['created_at'])}")
    click.echo(f"  verified     {when(doc['verified_at'])}")
    click.echo("")
    connections({"connections": doc["connections"]})


def key_rotated(doc: dict[str, Any]) -> None:
    click.echo(f"New API key for {doc['site_id']} (the old one no longer works):")
    click.echo(f"  {doc['api_key']}")


def site_removed(doc: dict[str, Any]) -> None:
    click.echo(f"Removed site {doc['site_id']} and purged the tokens of "
               f"{plural(doc['connections_purged'], 'connection')}.")


def connections(doc: dict[str, Any]) -> None:
    if not doc["connections"]:
        click.echo("No connections.")
        return
    table(["connection id", "site id", "email", "status", "last verified", "next check"],
          [[c["id"], c["site_id"], c["email"], c["status"], when(c["last_verified_at"]),
            when(c["next_check_at"])] for c in doc["connections"]])


def next_due(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "No connection to verify: the next is due when a site connects one."
    if due <= now:
        return "The next connection is due now."
    return f"The next connection is due in {duration((due - now).total_seconds())} " \
           f"({when(due.isoformat())})."


def sweep(doc: dict[str, Any], next_line: str) -> None:
    click.echo(f"Checked {plural(doc['claimed'], 'connection')}: {doc['verified']} verified, "
               f"{doc['revoked']} revoked, {doc['transient']} postponed after a transient "
               f"failure, {doc['skipped']} skipped, {doc['errors']} failed.")
    click.echo(f"Webhooks: {doc['webhooks_delivered']} delivered, {doc['webhooks_retried']} "
               f"to retry, {doc['webhooks_failed']} given up.")
    click.echo(next_line)


def export(doc: dict[str, Any]) -> None:
    found = doc["connections"]
    if not found:
        click.echo(f"Nothing is held about {doc['email']}.")
        return
    click.echo(f"{doc['email']}: {plural(len(found), 'connection')}.")
    table(["connection id", "site", "status", "created", "events"],
          [[c["id"], f"{c['site']['name']} ({c['site']['origin']})", c["status"],
            when(c["created_at"]), len(c["events"])] for c in found])
    click.echo("--json prints every field, events included.")


def forgotten(doc: dict[str, Any], email: str) -> None:
    if doc["forgotten"]:
        click.echo(f"Forgot {email}: {plural(doc['forgotten'], 'connection')} revoked at "
                   "Google and deleted.")
    else:
        click.echo(f"Nothing was held about {email}.")
