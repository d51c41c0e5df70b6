"""The ``gmail-oneclick`` command. Machine-readable output on stdout, logs on stderr.

Every failure exits non-zero with one line on stderr naming the problem.
"""

from __future__ import annotations

import click

from gmail_oneclick.entrypoints.cli import admin as cli_admin
from gmail_oneclick.entrypoints.cli.support import clean_errors, settings_for_cli


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gmail-oneclick")
def main() -> None:
    """gmail-oneclick: send a WordPress site's mail through Gmail after one click of consent."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--fresh", is_flag=True,
              help="sandbox mode: start the Google sandbox clean (forget its saved grants)")
@clean_errors
def serve(host: str, port: int, fresh: bool) -> None:
    """Run the web service (development server; use gunicorn in production, see Procfile)."""
    from gmail_oneclick.bootstrap import forget_sandbox_state, refuse_public_sandbox
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app
    from gmail_oneclick.settings import Settings

    settings = settings_for_cli()
    refuse_public_sandbox(settings, listen_host=host)
    if fresh and forget_sandbox_state(settings):
        click.echo("Google sandbox: saved state deleted, starting clean.", err=True)
    if settings.public_url == Settings.public_url and port != 8000:
        # PUBLIC_URL left at its default: follow the port we were asked to serve on, so the
        # redirect URI and the printed links point at this server.
        url_host = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        settings = settings.replace(public_url=f"http://{url_host}:{port}")
    app = create_app(settings)
    container = app.extensions[EXTENSION]
    if container.sandbox is not None:
        import threading

        from gmail_oneclick.entrypoints import checker
        from gmail_oneclick.entrypoints.web.demo_site import announce

        # One process for the whole demo: the checker (revocations, webhooks) runs beside the
        # web server. In production it is its own process (Procfile: checker).
        threading.Thread(target=checker.run_forever, args=(container,), daemon=True,
                         name="sandbox-checker").start()
        announce(container)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


cli_admin.register(main)


if __name__ == "__main__":  # pragma: no cover
    main()
