"""The sandbox's Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, Response, request

from gmail_oneclick.sandbox import accounts, gmail, identity, risc
from gmail_oneclick.sandbox.records import OAuthError
from gmail_oneclick.sandbox.state import SandboxState

# The consent form redirects to the service's callback, so no form-action restriction here.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"


def create_sandbox_app(
    state: SandboxState | None = None, *, service_links: Mapping[str, str] | None = None
) -> Flask:
    """A fresh sandbox app over ``state`` (a new SandboxState when None).

    The app serves at the root of whatever URL it is mounted on; when ``state.base_url`` is
    unset, the first request sets it from its own URL (issuer of id_tokens and SETs).
    ``service_links`` ("home", "demo": URLs) are the pages of the service that mounts it, shown
    on every sandbox page; a sandbox served alone has none.
    """
    app = Flask(__name__)
    state = state if state is not None else SandboxState()
    app.extensions["sandbox_state"] = state
    links = dict(service_links or {})
    app.context_processor(lambda: {"service_links": links})
    app.register_blueprint(accounts.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(risc.bp)
    app.register_blueprint(gmail.bp)
    app.register_error_handler(OAuthError, accounts.oauth_error)

    @app.before_request
    def _learn_base_url() -> None:
        if state.base_url is None:
            with state.lock:
                if state.base_url is None:
                    state.base_url = request.host_url.rstrip("/") + request.script_root

    @app.after_request
    def _headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
