"""The one place that turns settings into collaborators: database, keyring, every adapter.

Real Google or the bundled sandbox is chosen here and nowhere else; views, the CLI and the
checker read adapters from the Container and never build one. Tests swap an adapter by
assigning the Container's field.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import Engine, inspect

from gmail_oneclick.adapters.storage import UnitOfWork
from gmail_oneclick.adapters.storage.deployment import require_mode
from gmail_oneclick.adapters.storage.tables import make_engine
from gmail_oneclick.bootstrap import sandbox_mode
from gmail_oneclick.bootstrap.sandbox_mode import (
    SANDBOX_MOUNT,
    forget_sandbox_state,
    refuse_public_sandbox,
    sandbox_settings,
)
from gmail_oneclick.ports import (
    Clock,
    GmailSender,
    GmailSent,
    GoogleAccounts,
    SecurityEventVerifier,
    SystemClock,
    WebhookTransport,
)
from gmail_oneclick.services.sending import Sending
from gmail_oneclick.settings import PREFIX, Settings, SettingsError
from token_store import Keyring, KeyringError, generate_key_entry

if TYPE_CHECKING:
    from gmail_oneclick.adapters.webhook_dispatch import WebhookDispatcher
    from gmail_oneclick.adapters.webhook_http import RequestsOriginFetcher
    from gmail_oneclick.sandbox import SandboxState

log = logging.getLogger(__name__)

__all__ = ["SANDBOX_MOUNT", "Container", "SendPolicy", "build", "check_keyring_covers_data",
           "forget_sandbox_state", "load_keyring", "refuse_public_sandbox", "sandbox_settings"]


@dataclass(frozen=True)
class SendPolicy:
    """How a send waits between attempts after a transient Gmail failure (the number of
    attempts and the Idempotency-Key lease are settings). Tests shorten or record the waits."""

    backoff_base: float = Sending.backoff_base
    backoff_cap: float = Sending.backoff_cap
    sleep: Callable[[float], None] = time.sleep


class GmailOnFirstSend:
    """The Gmail adapter, built on the first send: google-api-python-client takes a quarter
    of a second to import, which the CLI and the checker, who never send, need not pay."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._adapter: GmailSender | None = None

    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        """As ports.GmailSender.send."""
        with self._lock:
            if self._adapter is None:
                from gmail_oneclick.adapters.google.gmail import GmailApiClient

                self._adapter = GmailApiClient(self._settings)
            adapter = self._adapter
        return adapter.send(access_token, message, size)


@dataclass
class Container:
    """Everything a request, a CLI command or the checker needs, built once per process by
    build(). Tests swap an adapter by assigning its field (or with dataclasses.replace)."""

    settings: Settings
    engine: Engine
    keyring: Keyring
    clock: Clock
    google: GoogleAccounts
    gmail: GmailSender
    risc_verifier: SecurityEventVerifier
    webhook_transport: WebhookTransport
    # A fresh fetcher (a ports.OriginFetcher) per site verification: the view closes its
    # session once the site is judged.
    origin_fetcher: Callable[[], RequestsOriginFetcher]
    send_policy: SendPolicy
    sandbox: SandboxState | None = None
    _dispatcher: WebhookDispatcher | None = field(default=None, init=False, repr=False)
    _dispatcher_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                             repr=False)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        """A unit of work; ``readonly=True`` lets SQLite readers run beside a writer. Webhook
        events it queues are handed to this process's dispatcher once it commits."""
        return UnitOfWork(self.engine, self.keyring, readonly=readonly,
                          on_commit=self._dispatch)

    def dispatcher(self) -> WebhookDispatcher:
        """This process's webhook dispatcher, made on first use (again after a fork). It
        posts with whatever ``webhook_transport`` holds at the time."""
        from gmail_oneclick.adapters.webhook_dispatch import WebhookDispatcher

        with self._dispatcher_lock:
            if self._dispatcher is None or self._dispatcher.pid != os.getpid():
                self._dispatcher = WebhookDispatcher(
                    self.uow, lambda: self.webhook_transport, self.clock,
                    threads=self.settings.webhook_dispatch_threads)
            return self._dispatcher

    def _dispatch(self, event_ids: Sequence[str]) -> None:
        if self.settings.webhook_dispatch_threads <= 0:
            return
        try:
            self.dispatcher().submit(event_ids)
        except Exception as exc:  # e.g. no thread to be had: the commit stands, the sweep posts
            log.error("webhook dispatch unavailable", extra={"error": type(exc).__name__})

    def close(self) -> None:
        """Stop the dispatcher's threads (after posting what is queued) and the engine."""
        with self._dispatcher_lock:
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None and dispatcher.pid == os.getpid():
            dispatcher.stop()
        self.engine.dispose()


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from settings; in sandbox mode one is generated once into the instance folder.

    Raises SettingsError naming GMAIL_ONECLICK_ENCRYPTION_KEYS when missing or malformed.
    """
    text = settings.encryption_keys
    if not text and settings.sandbox:
        text = sandbox_mode.instance_secret(settings, "sandbox-keyring.txt",
                                            lambda: generate_key_entry())
    if not text:
        raise SettingsError(
            f"{PREFIX}ENCRYPTION_KEYS is required (generate one with: gmail-oneclick keys generate)"
        )
    try:
        return Keyring.parse(text)
    except KeyringError as exc:
        raise SettingsError(f"{PREFIX}ENCRYPTION_KEYS is malformed: {exc}") from None


def check_keyring_covers_data(engine: Engine, keyring: Keyring) -> None:
    """Refuse to start when stored data uses a key id missing from the keyring."""
    from token_store import SqlTokenStore

    if not inspect(engine).has_table("ts_data_keys"):
        return
    with engine.connect() as conn:
        used = SqlTokenStore(conn, keyring).key_ids_in_use()
    try:
        keyring.require(used)
    except KeyringError as exc:
        raise SettingsError(f"{PREFIX}ENCRYPTION_KEYS: {exc}") from None


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    check_keys: bool = True,
    need_google: bool = True,
) -> Container:
    """Build the process's collaborators. Raises SettingsError for bad configuration.

    ``need_google=False`` (site and key commands) skips the OAuth client check.
    """
    if settings.sandbox:
        settings = sandbox_mode.sandbox_settings(settings)
    elif need_google and not (settings.google_client_id and settings.google_client_secret):
        raise SettingsError(
            f"{PREFIX}GOOGLE_CLIENT_ID and {PREFIX}GOOGLE_CLIENT_SECRET are required "
            f"(or set {PREFIX}SANDBOX=1 to use the bundled Google sandbox)"
        )
    if settings.webhook_private_targets == "allow" and not settings.sandbox:
        log.warning("%sWEBHOOK_PRIVATE_TARGETS=allow: webhooks and site verification may "
                    "reach loopback and private addresses; never on a public service", PREFIX)
    keyring = load_keyring(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        require_mode(engine, settings.sandbox)
        sandbox_state = sandbox_mode.sandbox_state(settings, engine) if settings.sandbox \
            else None
    except Exception:
        engine.dispose()
        raise
    if check_keys:
        check_keyring_covers_data(engine, keyring)
    from gmail_oneclick.observability import metrics
    from gmail_oneclick.services import telemetry

    telemetry.install(metrics)  # what the services count goes to Prometheus
    return _container(settings, engine, keyring, clock or SystemClock(), sandbox_state)


def _container(settings: Settings, engine: Engine, keyring: Keyring, clock: Clock,
               sandbox_state: SandboxState | None) -> Container:
    """The Container with every adapter. In sandbox mode ``settings`` already point each
    Google URL at the sandbox, which is reached through the same HTTP code as Google."""
    from gmail_oneclick.adapters.google.oauth import GoogleOAuthClient
    from gmail_oneclick.adapters.google.risc import RiscVerifier
    from gmail_oneclick.adapters.webhook_http import RequestsOriginFetcher, RequestsWebhookTransport
    from gmail_oneclick.domain.netpolicy import TargetPolicy

    # Public addresses only, unless sandbox mode or WEBHOOK_PRIVATE_TARGETS=allow.
    targets = TargetPolicy.from_settings(settings)
    return Container(
        settings=settings, engine=engine, keyring=keyring, clock=clock,
        # Pooled connections for the checker's workers (auto: up to 64, or as configured) and
        # a web process's threads.
        google=GoogleOAuthClient(settings, pool_size=max(64, settings.checker_concurrency)),
        gmail=GmailOnFirstSend(settings),
        risc_verifier=RiscVerifier(settings),
        webhook_transport=RequestsWebhookTransport(targets),
        origin_fetcher=partial(RequestsOriginFetcher, targets),
        send_policy=SendPolicy(),
        sandbox=sandbox_state,
    )
