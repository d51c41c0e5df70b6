"""The ``gmail-oneclick`` command. Machine-readable output on stdout, logs on stderr.

Every failure exits non-zero with one line on stderr naming the problem.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import TYPE_CHECKING

import click

from gmail_oneclick.entrypoints.cli import admin as cli_admin
from gmail_oneclick.entrypoints.cli.support import clean_errors, fail, settings_for_cli

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer


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
    sock = _bind(host, port)  # before anything is printed or changed: a taken port says only so
    if fresh and forget_sandbox_state(settings):
        click.echo("Google sandbox: saved state deleted, starting clean.", err=True)
    if settings.public_url == Settings.public_url and port != 8000:
        # PUBLIC_URL left at its default: follow the port we were asked to serve on, so the
        # redirect URI and the printed links point at this server.
        url_host = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        settings = settings.replace(public_url=f"http://{url_host}:{port}")
    app = create_app(settings)
    server = _server(sock, host, port, app)
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
    shown = f"[{host}]" if ":" in host else host
    logging.getLogger(__name__).info("listening on http://%s:%d", shown, port)
    server.serve_forever()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or exit 1 with one line saying why there cannot be.

    Bound here, first, not by werkzeug, which prints two lines of its own and exits, and only
    once the app (and the sandbox's first-run files) are built.
    """
    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            other = port + 1 if port < 65535 else port - 1
            fail(f"port {port} is in use; stop the other process or run make run PORT={other} "
                 f"(gmail-oneclick serve --port {other})")
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock


def _server(sock: socket.socket, host: str, port: int, app: Flask) -> BaseWSGIServer:
    from werkzeug.serving import make_server

    with sock:  # the server keeps its own duplicate of the descriptor
        return make_server(host, port, app, threaded=True, fd=sock.fileno())


cli_admin.register(main)


if __name__ == "__main__":  # pragma: no cover
    main()
