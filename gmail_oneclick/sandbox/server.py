"""Running the sandbox on a loopback port in a background thread (tests, demos)."""

from __future__ import annotations

import threading
from types import TracebackType

from gmail_oneclick.sandbox.app import create_sandbox_app
from gmail_oneclick.sandbox.keepalive import KeepAliveHandler, KeepAliveServer
from gmail_oneclick.sandbox.state import SandboxState


class _QuietHandler(KeepAliveHandler):
    """Logs method, path and status only: query strings carry tokens (tokeninfo, revoke)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s', self.command, path, code)


class SandboxServer:
    """A running sandbox: ``url`` (no trailing slash), ``state``, ``stop()``; a context manager."""

    def __init__(self, state: SandboxState, host: str, port: int) -> None:
        self.state = state
        # HTTP/1.1 keep-alive, as Google: clients reuse their connections.
        self._server = KeepAliveServer(
            host, port, create_sandbox_app(state), handler=_QuietHandler
        )
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self._server.server_port}"
        with state.lock:
            if state.base_url is None:
                state.base_url = self.url
        self._thread = threading.Thread(
            # A short poll interval keeps stop() (and so each test's teardown) quick.
            target=self._server.serve_forever, args=(0.05,), name="google-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0
) -> SandboxServer:
    """Starts the sandbox on ``host:port`` (0: a free port) in a daemon thread."""
    return SandboxServer(state if state is not None else SandboxState(), host, port)


def sandbox_urls(base_url: str) -> dict[str, str]:
    """The settings overrides that point the service at a sandbox served at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "google_auth_uri": base + "/o/oauth2/v2/auth",
        "google_token_uri": base + "/token",
        "google_revoke_uri": base + "/revoke",
        "google_userinfo_uri": base + "/v1/userinfo",
        "gmail_api_endpoint": base + "/",
        "risc_issuer": base + "/",
        "risc_jwks_uri": base + "/oauth2/v3/certs",
    }
