"""The ``gmail-oneclick`` command. Machine-readable output on stdout, logs on stderr.

Every failure exits non-zero with one line on stderr naming the problem.
"""

from __future__ import annotations

import click

from gmail_oneclick import cli_admin
from gmail_oneclick.cli_support import clean_errors, settings_for_cli


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


cli_admin.register(main)


if __name__ == "__main__":  # pragma: no cover
    main()
