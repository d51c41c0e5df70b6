"""Helpers every command module shares: one-line errors, JSON output, settings loading."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from gmail_oneclick.domain.errors import ServiceError
from gmail_oneclick.settings import Settings, SettingsError, load_settings
from token_store import KeyringError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def clean_errors(func: F) -> F:
    """Turn known failures into one stderr line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SettingsError, KeyringError) as exc:
            fail(str(exc))
        except ServiceError as exc:
            fail(f"{exc.code}: {exc.message}")
        except (OperationalError, ProgrammingError) as exc:
            fail(_database_problem(exc))
        return None

    return wrapper  # type: ignore[return-value]


def _database_problem(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
    if "no such table" in text or "does not exist" in text and "relation" in text:
        return "the database schema is missing or old: run 'gmail-oneclick db upgrade'"
    return f"database unreachable or failing: {text}"


def emit(document: Any) -> None:
    """The JSON document, whatever stdout is (output.emit gives people a human view)."""
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def settings_for_cli() -> Settings:
    from gmail_oneclick.observability.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def settings_for_instance(*, may_create: bool = False) -> Settings:
    """Settings for a command working on an instance's data: the instance folder found from
    here (entrypoints.cli.instance), refused with the variable to set when there is none."""
    from gmail_oneclick.entrypoints.cli.instance import locate_instance

    return locate_instance(settings_for_cli(), may_create=may_create)


def container_for_cli(*, need_google: bool = False, check_keys: bool = True) -> Any:
    """The process's container, closed when the command ends (queued webhooks posted, the
    database's connections returned)."""
    from gmail_oneclick.bootstrap import build

    container = build(settings_for_instance(), need_google=need_google, check_keys=check_keys)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(container.close)
    return container
