"""The Google sandbox in its own process (so the service's CPU and memory, and the direct
client's, are never mixed with Google's), driven through a command pipe.

The child holds ``accounts`` bench accounts (``BENCH_EMAIL`` numbered from 0) and answers the
commands of ``_Commands``; ``RemoteSandbox`` is the parent's end. Tokens cross the pipe, never
a log or the terminal.

``token_latency`` (seconds, default 0) makes every answer of ``/token`` wait that long first, in
the sandbox's own request thread, as Google's token endpoint takes tens of milliseconds: a
benchmark of refreshes then measures how well the service overlaps them, not loopback speed.
"""

from __future__ import annotations

import multiprocessing
import time
from contextlib import suppress
from datetime import timedelta
from typing import Any

REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback"
BENCH_EMAIL = "bench-{:05d}@example.com"


def _mint(state: Any, account: Any, scopes: frozenset[str]) -> dict[str, Any]:
    """A real offline grant of the sandbox (code issued for the account, then redeemed), as
    the consent page and /token would do, minus their HTML and HTTP."""
    import secrets as _secrets

    from gmail_oneclick.sandbox.records import PendingRequest, utcnow
    from gmail_oneclick.sandbox.tokens import s256

    verifier = _secrets.token_urlsafe(48)
    pending = PendingRequest(
        client_id=state.client_id, redirect_uri=REDIRECT_URI, scopes=tuple(sorted(scopes)),
        state=None, code_challenge=s256(verifier), offline=True, prompt_consent=True,
        login_hint=None, expires_at=utcnow() + timedelta(minutes=5))
    code = state.issue_code(pending, account, scopes)
    issued = state.exchange_code(state.client_id, code, verifier, REDIRECT_URI)
    body = dict(issued.body)
    body.update(email=account.email, sub=account.sub)
    return body


def _bench_state(accounts: int) -> Any:
    """A sandbox state holding ``accounts`` bench accounts and room for their refresh tokens."""
    from gmail_oneclick.sandbox.records import Account
    from gmail_oneclick.sandbox.state import SandboxState

    # Accounts through the constructor: add_account's duplicate check is linear per account.
    people = [Account(str(300_000_000_000_000_000_000 + i * 7919), BENCH_EMAIL.format(i))
              for i in range(accounts)]
    state = SandboxState(accounts=people)
    state.max_refresh_tokens = 10_000
    return state


class _Commands:
    """The child's answers to the parent's commands, over one sandbox state."""

    def __init__(self, state: Any, gmail: Any) -> None:
        from gmail_oneclick.domain.model import REQUIRED_SCOPES

        self.state, self.gmail = state, gmail
        self.by_email = {a.email: a for a in state.accounts}
        self.scopes = frozenset(REQUIRED_SCOPES)

    def answer(self, command: str, args: Any) -> Any:
        """The reply to one command (an exception object for an unknown one)."""
        handler = getattr(self, "do_" + command, None)
        if handler is None:
            return ValueError(f"unknown command {command!r}")
        return handler(args)

    def do_grants(self, args: tuple[int, int]) -> list[dict[str, Any]]:
        """(first, count): one grant each for those bench accounts."""
        first, count = args
        return [_mint(self.state, self.by_email[BENCH_EMAIL.format(i)], self.scopes)
                for i in range(first, first + count)]

    def do_expire(self, args: Any) -> None:
        self.state.expire_access_tokens(args)

    def do_counts(self, _: Any) -> dict[str, int]:
        gmail = self.gmail
        return {"refreshes": self.state.refresh_count, "token_calls": self.state.token_calls,
                "sent": gmail.sent_count(), "send_requests": gmail.send_requests,
                "last_sent_size": gmail.sent[-1].size if gmail.sent else 0}

    def do_forget_sent(self, _: Any) -> None:
        """The sandbox keeps raw messages in memory: a long run would fill it."""
        with self.gmail.lock:
            self.gmail.sent.clear()

    def do_tokens_revoked(self, emails: list[str]) -> list[str]:
        """Signed SETs for these accounts, one each."""
        from gmail_oneclick.domain.security_events import TOKENS_REVOKED

        return [self.state.make_security_event(
            TOKENS_REVOKED, self.state.subject_for_account(self.by_email[email]))
            for email in emails]

    def do_cpu(self, _: Any) -> float:
        return time.process_time()


class _SlowToken:
    """WSGI middleware: ``/token`` answers ``seconds`` later (each request in its own thread,
    so concurrent refreshes overlap their waits as they would at Google)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/token":
            time.sleep(self.seconds)
        return self.app(environ, start_response)


def _sandbox_main(conn: Any, accounts: int, token_latency: float) -> None:  # in the child
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    from gmail_oneclick.sandbox import start_sandbox
    from gmail_oneclick.sandbox.gmail_state import gmail_state

    state = _bench_state(accounts)
    server = start_sandbox(state)
    if token_latency > 0:
        wsgi = server._server  # the werkzeug server: its ``app`` is what each request calls
        wsgi.app = _SlowToken(wsgi.app, token_latency)
    gmail = gmail_state(state)
    conn.send({"url": server.url, "client_id": state.client_id,
               "client_secret": state.client_secret})
    commands = _Commands(state, gmail)
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        conn.send(commands.answer(command, args))
    server.stop()


class RemoteSandbox:
    """The sandbox served from a child process, with ``accounts`` bench accounts and
    ``token_latency`` seconds before each ``/token`` answer."""

    def __init__(self, accounts: int = 10, token_latency: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_sandbox_main,
                                        args=(child, accounts, token_latency),
                                        daemon=True, name="google-sandbox")
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the sandbox process did not start")
        info = self._conn.recv()
        self.url: str = info["url"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]

    def call(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def grants(self, first: int, count: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for start in range(first, first + count, 1000):  # keeps each pipe message small
            out += self.call("grants", (start, min(1000, first + count - start)))
        return out

    def counts(self) -> dict[str, int]:
        return dict(self.call("counts"))

    def stop(self) -> None:
        with suppress(EOFError, BrokenPipeError, OSError):
            self.call("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
