"""The bundled Google emulator ("Google sandbox") for development, demos and tests.

It speaks Google's OAuth 2.0 endpoints (consent, token, revoke, userinfo, tokeninfo), its
Cross-Account Protection (RISC) keys and pushes, and the Gmail API's send shape, on loopback,
from memory (`gmail-oneclick serve` also keeps it in the instance folder: persist.py). It is not
Google: every page says so.

Redirect URIs: those added with ``state.register_redirect_uri``; while none is registered,
any ``http://127.0.0.1:<port>/oauth2/callback`` (or ``localhost`` / ``[::1]``) is accepted.
"""

from gmail_oneclick.sandbox.app import create_sandbox_app
from gmail_oneclick.sandbox.records import SANDBOX_CLIENT_ID, AccessInfo, Account
from gmail_oneclick.sandbox.server import SandboxServer, sandbox_urls, start_sandbox
from gmail_oneclick.sandbox.state import SandboxState

__all__ = [
    "SANDBOX_CLIENT_ID",
    "AccessInfo",
    "Account",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
    "sandbox_urls",
    "start_sandbox",
]
