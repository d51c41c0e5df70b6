"""Gmail ``users.messages.send`` through google-api-python-client (implements ports.GmailSender).

Small messages go as JSON ``{"raw": base64url}``; above ``settings.gmail_upload_threshold``
they go to the upload endpoint as ``message/rfc822`` (``uploadType=media``, and ``resumable``
in chunks above RESUMABLE_ABOVE, streamed from the caller's file so no extra copy is made).

A small send is the library's own request (built once per process from the discovery
document) written on the thread's kept-alive ``http.client`` connection, its answer read by
the library's model; uploads go through the library's ``execute`` on httplib2. Each request is
written at most once (``gmail_http``): a send is retried by the caller only
when Gmail cannot have accepted it, and the adapter says which (TransientUpstream, or
GmailDeliveryUnknown when the request that completes the message went out unanswered).

The library builds upload URIs from the discovery document's ``rootUrl`` and only swaps the
host for ``api_endpoint``, which turns ``http://127.0.0.1:P/prefix/`` into
``https://127.0.0.1:P/upload/...``; ``_fix_upload_uri`` rebuilds them on the configured
endpoint so plain-HTTP loopback servers (the sandbox) and path prefixes work too.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import math
import re
import threading
import weakref
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit, urlunsplit

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaIoBaseUpload

from gmail_oneclick.adapters.google.gmail_http import (
    BearerHttp,
    KeptAlive,
    OnceHttp,
    RequestNotSent,
)
from gmail_oneclick.adapters.google.retry_after import retry_after_header
from gmail_oneclick.ports import (
    GmailDeliveryUnknown,
    GmailRateLimited,
    GmailRejected,
    GmailSent,
    GmailUnauthorized,
    TransientUpstream,
)
from gmail_oneclick.settings import Settings

log = logging.getLogger(__name__)

RESUMABLE_ABOVE = 8 * 1024 * 1024
CHUNK_SIZE = 8 * 1024 * 1024  # a multiple of 256 KiB, as the upload protocol requires
DEFAULT_RETRY_AFTER = 60
DAILY_LIMIT_RETRY_AFTER = 3600
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_RETRY_AT = re.compile(r"Retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)")


class _Transports(threading.local):
    """Per thread (neither is thread safe), reused across sends so a send does not pay a new
    TCP (and, against Google, TLS) handshake: the small sends' ``KeptAlive`` connection, and
    the uploads' ``OnceHttp``. Neither carries credentials: each send's token travels in that
    request's own header."""

    http: OnceHttp | None = None
    kept: KeptAlive | None = None


class _Closable(Protocol):
    def close(self) -> None: ...


def _close_all(opened: set[_Closable], lock: threading.Lock) -> None:
    with lock:
        closing = list(opened)
        opened.clear()
    for pooled in closing:
        pooled.close()


class GmailApiClient:
    """The real Gmail adapter; reaches the sandbox through the same code when pointed at it."""

    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.gmail_api_endpoint.rstrip("/") + "/"
        self.timeout = settings.http_timeout
        self.upload_threshold = settings.gmail_upload_threshold
        # The Resource only builds requests; each send executes on its thread's transport.
        self._service = build(
            "gmail", "v1", http=httplib2.Http(), static_discovery=True,
            client_options={"api_endpoint": self.endpoint},
        )
        # Built once: each users().messages() call re-creates every method of the resource
        # from the discovery document (over a third of a send's CPU); its send() only reads it.
        self._messages_resource = self._service.users().messages()
        # The library's own request for users.messages.send, built once from the discovery
        # document: a small send copies its URI, method and headers and brings only its body
        # (building it afresh each time cost more CPU than the rest of the Gmail call).
        self._send_template: HttpRequest = self._messages_resource.send(userId="me", body={})
        # Where and with which headers a small send goes, taken from that request; its answer
        # is read by the library's own model (the template's postproc).
        template = urlsplit(self._send_template.uri)
        self._send_origin = urlunsplit((template.scheme, template.netloc, "", "", ""))
        self._send_target = urlunsplit(("", "", template.path, template.query, ""))
        self._send_headers = {k: v for k, v in self._send_template.headers.items()
                              if k.lower() not in ("accept-encoding", "content-length")}
        self._transports = _Transports()
        self._opened: set[_Closable] = set()  # every thread's connections, for close()
        self._lock = threading.Lock()
        # An adapter dropped without close() (an app built and thrown away) still closes its
        # kept-alive sockets instead of leaving them to the garbage collector.
        weakref.finalize(self, _close_all, self._opened, self._lock)

    def _thread_http(self) -> OnceHttp:
        pooled = self._transports.http
        if pooled is None:
            pooled = OnceHttp(timeout=self.timeout)
            # 308 is "Resume Incomplete" in the upload protocol, not a redirect (as build_http).
            pooled.redirect_codes = frozenset(httplib2.REDIRECT_CODES) - {308}
            self._transports.http = pooled
            with self._lock:
                self._opened.add(pooled)
        return pooled

    def _thread_connection(self) -> KeptAlive:
        kept = self._transports.kept
        if kept is None:
            kept = self._transports.kept = KeptAlive(self._send_origin, self.timeout)
            with self._lock:
                self._opened.add(kept)
        return kept

    def _drop_thread_http(self) -> None:
        pooled, self._transports.http = self._transports.http, None
        kept, self._transports.kept = self._transports.kept, None
        for dropped in (pooled, kept):
            if dropped is not None:
                with self._lock:
                    self._opened.discard(dropped)
                dropped.close()

    def close(self) -> None:
        """Close every thread's kept-alive connection (when no send is in flight: shutdown)."""
        _close_all(self._opened, self._lock)

    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        """See ports.GmailSender.send."""
        message.seek(0)
        transport = _SmallSend(self, access_token) if size <= self.upload_threshold else \
            BearerHttp(self._thread_http(), access_token)
        try:
            return _sent(self._send(transport, message, size))
        except (GmailUnauthorized, GmailRateLimited, GmailRejected):
            raise  # Gmail answered in full: the connection stays good for the next send
        except BaseException:
            # A timeout or a broken connection may leave it mid-response: start afresh.
            self._drop_thread_http()
            raise

    def _send(self, transport: BearerHttp | _SmallSend, message: BinaryIO, size: int) -> Any:
        try:
            if isinstance(transport, _SmallSend):
                answer = transport.send(message.read(size))
            else:
                answer = self._upload(transport, message, size)
        except HttpError as exc:
            raise _map_http_error(exc, could_deliver=transport.last_could_deliver) from None
        except RequestNotSent as exc:
            raise TransientUpstream(f"Gmail unreachable: {exc}") from None
        except Exception as exc:
            # A timeout, a dropped connection, an unreadable answer: if the request that
            # completes the message had gone out, Gmail may have sent it.
            kind = type(exc).__name__
            if transport.last_could_deliver:
                log.warning("gmail send outcome unknown", extra={"exc_type": kind})
                raise GmailDeliveryUnknown(f"no answer after the message went out ({kind})") \
                    from None
            if isinstance(exc, (OSError, httplib2.HttpLib2Error, http.client.HTTPException)):
                raise TransientUpstream(f"Gmail unreachable ({kind})") from None
            raise
        return answer

    def _messages(self) -> Any:
        return self._messages_resource

    def _small_send(self, access_token: str, message: bytes) -> Any:
        """``users.messages.send`` with body ``{"raw": base64url}`` on this thread's kept-alive
        connection: the library's request (the template's URI and headers, its model's JSON)
        with a body and a token of its own; the answer read by the library's model, which
        raises HttpError for an error status as ``execute`` would."""
        raw = base64.urlsafe_b64encode(message).decode("ascii")
        body = json.dumps({"raw": raw}).encode("ascii")
        headers = {**self._send_headers, "authorization": f"Bearer {access_token}"}
        answer, content = self._thread_connection().post(self._send_target, body, headers)
        return self._send_template.postproc(httplib2.Response(answer), content)

    def _upload(self, transport: BearerHttp, message: BinaryIO, size: int) -> Any:
        resumable = size > RESUMABLE_ABOVE
        media = MediaIoBaseUpload(message, mimetype="message/rfc822",
                                  chunksize=CHUNK_SIZE if resumable else -1, resumable=resumable)
        request: HttpRequest = self._messages().send(userId="me", media_body=media)
        request.uri = self._fix_upload_uri(request.uri)
        if not resumable:
            return request.execute(http=transport)
        answer = None
        while answer is None:
            _, answer = request.next_chunk(http=transport)
        return answer

    def _fix_upload_uri(self, uri: str) -> str:
        """The upload URI on the configured endpoint (scheme, host and path prefix kept)."""
        parts = urlsplit(uri)
        path = parts.path[parts.path.index("/upload/") + 1:]
        base = urlsplit(self.endpoint + path)
        return urlunsplit((base.scheme, base.netloc, base.path, parts.query, ""))


class _SmallSend:
    """One small send: its token, and (as BearerHttp tells of an upload's requests) whether
    its request could have delivered the message. It is one complete request, so it could
    as soon as any of it was written; a failure before that is RequestNotSent."""

    last_could_deliver = True

    def __init__(self, client: GmailApiClient, access_token: str) -> None:
        self._client = client
        self._token = access_token

    def send(self, message: bytes) -> Any:
        return self._client._small_send(self._token, message)

    def __repr__(self) -> str:
        return "_SmallSend()"


def _sent(answer: Any) -> GmailSent:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        # A success answer: the message was most likely sent, but there is no id to return.
        raise GmailDeliveryUnknown("Gmail answered without a message id")
    thread = answer.get("threadId")
    return GmailSent(id=answer["id"], thread_id=thread if isinstance(thread, str) else answer["id"])


def _error_parts(exc: HttpError) -> tuple[int, str, str]:
    """(status, reason, message) of a Google error body; never the request it answered."""
    status = int(getattr(exc.resp, "status", 0) or 0)
    reason, message = "", ""
    try:
        error = json.loads(exc.content or b"{}").get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        message = str(error.get("message", ""))[:300]
        details = error.get("errors") or [{}]
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason", ""))
    return status, reason, message


def retry_after_seconds(message: str, header: str | None, now: datetime | None = None) -> int:
    """Seconds to wait: Google's "Retry after <RFC 3339>" in the message, else the header,
    else DEFAULT_RETRY_AFTER."""
    match = _RETRY_AT.search(message)
    if match:
        when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        left = (when - (now or datetime.now(UTC))).total_seconds()
        return max(1, math.ceil(left))
    from_header = retry_after_header(header, now)
    return DEFAULT_RETRY_AFTER if from_header is None else from_header


def _map_http_error(exc: HttpError, *, could_deliver: bool = True) -> Exception:
    """The port error for Gmail's answer. Only 500 and 503 say the message was not taken;
    another 5xx (a gateway's 502 or 504), 408 or no status may follow a send that happened."""
    status, reason, message = _error_parts(exc)
    header = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
    if status == 401:
        return GmailUnauthorized("Gmail refused the access token")
    if status == 429 or reason in _RATE_REASONS:
        return GmailRateLimited(
            message or "rate limited", retry_after=retry_after_seconds(message, header)
        )
    if reason == "dailyLimitExceeded":
        return GmailRateLimited(message or "daily limit", retry_after=DAILY_LIMIT_RETRY_AFTER)
    if status in (500, 503):
        return TransientUpstream(f"Gmail answered {status}", retry_after=None)
    if status >= 500 or status in (408, 0):
        if could_deliver:
            return GmailDeliveryUnknown(f"Gmail answered {status} after the message went out")
        return TransientUpstream(f"Gmail answered {status}", retry_after=None)
    return GmailRejected(message or f"Gmail answered {status}", status=status,
                         reason=reason or "badRequest")
