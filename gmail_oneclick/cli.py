"""The ``gmail-oneclick`` command. Machine-readable output on stdout, logs on stderr.

Every failure exits non-zero with one line on stderr naming the problem.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from gmail_oneclick.errors import ServiceError
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
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def settings_for_cli() -> Settings:
    from gmail_oneclick.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def container_for_cli(*, need_google: bool = False) -> Any:
    from gmail_oneclick.bootstrap import build

    return build(settings_for_cli(), need_google=need_google)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gmail-oneclick")
def main() -> None:
    """gmail-oneclick: send a WordPress site's mail through Gmail after one click of consent."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@clean_errors
def serve(host: str, port: int) -> None:
    """Run the web service (development server; use gunicorn in production, see Procfile)."""
    from gmail_oneclick.web import create_app

    settings = settings_for_cli()
    app = create_app(settings)
    from gmail_oneclick.web import EXTENSION

    container = app.extensions[EXTENSION]
    if container.sandbox is not None:
        from gmail_oneclick.demo import announce

        announce(container)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


from gmail_oneclick.cli_admin import register  # noqa: E402  (commands split for size)

register(main)


if __name__ == "__main__":  # pragma: no cover
    main()
