"""The Flask application factory. No work at import time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from gmail_oneclick.bootstrap import SANDBOX_MOUNT, Container, build
from gmail_oneclick.observability.logs import configure_logging
from gmail_oneclick.settings import Settings, load_settings

log = logging.getLogger(__name__)

EXTENSION = "gmail_oneclick"


def create_app(test_config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the web app from settings (the environment when ``test_config`` is None).

    ``test_config`` may be a Settings object or a mapping of setting overrides.
    Raises SettingsError when configuration is missing or malformed.
    """
    if isinstance(test_config, Settings):
        settings = test_config
    else:
        settings = load_settings(**dict(test_config or {}))
    configure_logging(settings.log_level)
    container = build(settings)
    return create_app_from_container(container)


def create_app_from_container(container: Container) -> Flask:
    """The web app over an already built Container (tests and the CLI build their own)."""
    settings = container.settings
    app = Flask(__name__, instance_path=None)
    app.config.update(
        MAX_CONTENT_LENGTH=None,  # each endpoint enforces its own limit while streaming
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        JSON_SORT_KEYS=False,
    )
    app.extensions[EXTENSION] = container
    _register_blueprints(app)
    _wrap_wsgi(app, container)
    return app


def _register_blueprints(app: Flask) -> None:
    from . import (
        access_log,
        api_connections,
        api_lifecycle,
        api_messages,
        api_sites,
        consent,
        declare,
        errors,
        home,
        ops,
        postsmtp,
        risc,
        security,
    )

    access_log.init_app(app)  # first: its after_request hook then runs last, on the final status
    errors.init_app(app)
    security.init_app(app)
    app.before_request(declare.refuse_unknown_query)
    for module in (home, ops, api_connections, api_lifecycle, api_messages, api_sites, postsmtp,
                   consent, risc):
        app.register_blueprint(module.bp)


def _wrap_wsgi(app: Flask, container: Container) -> None:
    """The middleware around the app: exact bodies, trusted proxies, the sandbox's mount."""
    from . import body

    # Innermost, so that whatever reads a body (forms included) gets all of it or a 400.
    app.wsgi_app = body.ExactBody(app.wsgi_app)  # type: ignore[method-assign]
    if container.settings.trusted_proxies:
        n = container.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    if container.sandbox is not None:
        from gmail_oneclick.sandbox import create_sandbox_app

        from . import demo
        from .demo_view import sandbox_links

        app.register_blueprint(demo.bp)
        sandbox_app = create_sandbox_app(
            container.sandbox, service_links=sandbox_links(container.settings.public_url))
        app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, {SANDBOX_MOUNT: sandbox_app.wsgi_app}
        )


def container() -> Container:
    """The current app's Container (inside a request or app context)."""
    from flask import current_app

    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
