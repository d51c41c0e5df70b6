"""Sandbox mode's part of the composition root: settings pointed at the emulated Google this
process mounts, its generated secrets in the instance folder, and its saved state."""

from __future__ import annotations

import logging
import os
import secrets
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from gmail_oneclick.adapters.storage.tables import connections
from gmail_oneclick.domain.model import Status
from gmail_oneclick.domain.urls import is_loopback_host
from gmail_oneclick.settings import PREFIX, Settings, SettingsError

if TYPE_CHECKING:
    from gmail_oneclick.sandbox import SandboxState

log = logging.getLogger(__name__)

SANDBOX_MOUNT = "/_sandbox/google"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def instance_secret(settings: Settings, name: str, make: Any) -> str:
    """A value generated once into the instance folder (sandbox mode only)."""
    path = Path(settings.instance_path) / name
    if not path.exists():
        _write_private(path, make())
        log.warning("sandbox mode: generated %s; never use it in production", path)
    return path.read_text(encoding="utf-8").strip()


def refuse_public_sandbox(settings: Settings, *, listen_host: str | None = None) -> None:
    """In sandbox mode, raise SettingsError for a PUBLIC_URL, or an address to listen on, off
    loopback, unless SANDBOX_PUBLIC=1: the sandbox lets anyone "sign in" as anyone, so it is
    reachable from elsewhere only on purpose (a public demo host)."""
    if not settings.sandbox or settings.sandbox_public:
        return
    hint = f"(set {PREFIX}SANDBOX_PUBLIC=1 for a public demo host)"
    if not is_loopback_host(urlsplit(settings.public_url).hostname):
        raise SettingsError(
            f"{PREFIX}SANDBOX=1 refuses a {PREFIX}PUBLIC_URL that is not on loopback {hint}")
    if listen_host is not None and not is_loopback_host(listen_host.strip("[]")):
        raise SettingsError(f"{PREFIX}SANDBOX=1 refuses to listen off loopback {hint}")


def sandbox_settings(settings: Settings) -> Settings:
    """Point every Google URL and the OAuth client at the sandbox mounted in this process."""
    from gmail_oneclick.sandbox import SANDBOX_CLIENT_ID, sandbox_urls

    if settings.google_client_id and settings.google_client_id != SANDBOX_CLIENT_ID:
        raise SettingsError(
            f"{PREFIX}SANDBOX=1 refuses to run with a real {PREFIX}GOOGLE_CLIENT_ID configured"
        )
    refuse_public_sandbox(settings)
    secret = instance_secret(settings, "sandbox-client-secret.txt",
                             lambda: secrets.token_urlsafe(24))
    base = settings.public_url.rstrip("/") + SANDBOX_MOUNT
    return settings.replace(
        google_client_id=SANDBOX_CLIENT_ID, google_client_secret=secret, **sandbox_urls(base)
    )


def sandbox_state(settings: Settings, engine: Engine) -> SandboxState:
    """The emulated Google this process mounts at SANDBOX_MOUNT (settings already point at it),
    restored from the instance folder and saved there after each change."""
    from gmail_oneclick.sandbox import SandboxState
    from gmail_oneclick.sandbox.persist import STATE_FILE, StateFileError, keep

    state = SandboxState(
        client_id=settings.google_client_id, client_secret=settings.google_client_secret
    )
    state.base_url = settings.public_url.rstrip("/") + SANDBOX_MOUNT
    state.register_redirect_uri(settings.redirect_uri)
    # "Remove access" in the sandbox's account page pushes RISC events to us, as Google does.
    state.configure_risc_push(settings.public_url.rstrip("/") + "/risc")
    try:
        keep(state, Path(settings.instance_path) / STATE_FILE, partial(_connected, engine))
    except StateFileError as exc:
        raise SettingsError(str(exc)) from None
    return state


def _connected(engine: Engine) -> int:
    """How many connections hold a grant at the sandbox, as far as the database knows."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(connections).where(
            connections.c.status == Status.CONNECTED.value)).scalar_one())


def forget_sandbox_state(settings: Settings) -> bool:
    """`serve --fresh`: the sandbox starts with no grants; True when a saved state was deleted.
    The service's database stays (sites, their keys): each connection asks to reconnect at its
    next use, as after "Remove access" at Google."""
    if not settings.sandbox:
        raise SettingsError(f"--fresh starts the Google sandbox clean: it needs {PREFIX}SANDBOX=1")
    from gmail_oneclick.sandbox.persist import STATE_FILE, StateFile

    return StateFile(Path(settings.instance_path) / STATE_FILE).forget()
