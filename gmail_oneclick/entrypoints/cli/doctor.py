"""``gmail-oneclick doctor``: check a deployment the way its operator would before going live.

One line per check, each with what to do next; exit 1 when a check failed (warnings allowed).
The checks themselves live in doctor_local (settings, database, keyring, history) and
doctor_remote (Google's endpoints, RISC keys, clock, webhook addresses).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator

import click
from sqlalchemy import Engine

from gmail_oneclick.entrypoints.cli import doctor_local as local
from gmail_oneclick.entrypoints.cli import doctor_remote as remote
from gmail_oneclick.entrypoints.cli.doctor_remote import FAIL, OK, WARN, Check
from gmail_oneclick.settings import Settings, SettingsError, load_settings

MARKS = {OK: "ok  ", WARN: "WARN", FAIL: "FAIL"}


def _load() -> tuple[Settings | None, Check]:
    """The settings as the service would run with them (sandbox mode: pointed at the sandbox
    the service mounts, so the service must be running for the network checks)."""
    from gmail_oneclick.bootstrap import sandbox_settings

    try:
        settings = load_settings()
        if settings.sandbox:
            settings = sandbox_settings(settings)
    except SettingsError as exc:
        return None, Check("settings", FAIL, str(exc),
                           "fix that variable (environment or the GMAIL_ONECLICK_CONFIG file)")
    return settings, local.check_settings(settings)


def _keyring(settings: Settings, engine: Engine) -> Check:
    from gmail_oneclick.bootstrap import load_keyring

    try:
        keyring = load_keyring(settings)
    except SettingsError as exc:
        return Check("keyring", FAIL, str(exc), "set GMAIL_ONECLICK_ENCRYPTION_KEYS "
                     "(a first key comes from 'gmail-oneclick keys generate')")
    return local.check_keyring(keyring, engine)


def _stored(settings: Settings, engine: Engine) -> Iterator[Check]:
    """The checks that read the database; run only when it is reachable and migrated."""
    database = local.check_database(settings, engine)
    yield database
    if database.status == FAIL:
        return
    yield _keyring(settings, engine)
    yield remote.check_webhooks(settings, local.webhook_urls(engine))
    yield local.check_testing_mode(engine, settings)


def run_checks(settings: Settings) -> Iterator[Check]:
    """Every check after the settings one, in the order an operator would fix things."""
    from gmail_oneclick.adapters.storage.tables import make_engine

    yield local.check_public_url(settings)
    try:
        engine = make_engine(settings.sqlalchemy_url)
    except Exception as exc:  # a malformed URL or a missing driver; never echo the URL
        yield Check("database", FAIL, f"cannot open the database ({type(exc).__name__})",
                    "check GMAIL_ONECLICK_DATABASE_URL")
    else:
        try:
            yield from _stored(settings, engine)
        finally:
            engine.dispose()
    yield remote.check_token_endpoint(settings)
    for name, field, method in remote.ENDPOINTS:
        yield remote.check_endpoint(settings, name, field, method)
    yield remote.check_risc_keys(settings)
    yield remote.check_clock(settings)


def diagnose() -> list[Check]:
    """The report: the settings check, then (when settings load) every other one."""
    settings, first = _load()
    checks = [first]
    if settings is not None:
        checks.extend(run_checks(settings))
    return checks


def render_text(checks: list[Check], echo: Callable[[str], None]) -> None:
    """One line per check with its mark, the next step indented under it."""
    for check in checks:
        echo(f"[{MARKS[check.status]}] {check.name}: {check.message}")
        if check.next_step and check.status != OK:
            echo(f"       -> {check.next_step}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    echo(f"{failed} failed, {warned} warning(s), {len(checks) - failed - warned} ok")


def report(checks: list[Check]) -> dict[str, object]:
    return {"ok": all(c.status != FAIL for c in checks), "checks": [c.as_json() for c in checks]}


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON document (the default when stdout is not a terminal)")
def doctor(as_json: bool) -> None:
    """Check settings, database, keyring, Google's endpoints, RISC keys, webhook addresses,
    the clock and the Testing-mode pattern; say what to do for each problem.

    Exits 1 when a check failed (warnings allowed), 0 otherwise.
    """
    from gmail_oneclick.observability.logs import configure_logging

    configure_logging("WARNING")  # the report is the output; logs stay on stderr, and few
    checks = diagnose()
    if as_json or not sys.stdout.isatty():
        click.echo(json.dumps(report(checks), indent=2))
    else:
        render_text(checks, click.echo)
    if any(c.status == FAIL for c in checks):
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(doctor)
