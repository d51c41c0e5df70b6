"""``POST /risc``: Google's Cross-Account Protection pushes Security Event Tokens here.

202 when the token verified (including a replayed ``jti``, which is deduplicated and changes
nothing, and ``verification`` events, which are only logged); 400 with a reason when it did not
(forged, for someone else, expired, or issued before the replay window: google/risc.py).
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, jsonify

from gmail_oneclick.adapters.google.risc import MAX_TOKEN_BYTES
from gmail_oneclick.bootstrap import Container
from gmail_oneclick.domain.errors import InvalidRequest
from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.entrypoints.web import body, container
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.observability import metrics
from gmail_oneclick.ports import InvalidSecurityEvent
from gmail_oneclick.services import handlers, revocation

log = logging.getLogger(__name__)

bp = Blueprint("risc", __name__)


def _invalid(reason: str) -> Response:
    # The house error shape, plus RFC 8935's "err"/"description" for SET transmitters.
    body = {"error": {"code": "invalid_request", "message": reason},
            "err": "invalid_request", "description": reason}
    response = jsonify(body)
    response.status_code = 400
    return response


@bp.post("/risc")
@declare(ok=[202], errors=[])
def receive() -> Response:
    try:
        raw = bytes(body.read_bytes(MAX_TOKEN_BYTES, lambda: InvalidRequest("token too large")))
    except InvalidRequest as exc:  # too large, or ended before its Content-Length
        return _invalid(exc.message)
    c = container()
    try:
        claims = c.risc_verifier.verify(raw, now=c.clock.now().timestamp())
    except InvalidSecurityEvent as exc:
        log.warning("RISC event refused", extra={"reason": str(exc)})
        return _invalid(str(exc))
    with c.uow() as uow:
        result = revocation.handle_security_event(uow, c.clock, claims)
        handlers.commit(uow, c.clock)
    metrics.observe_detection_since(claims.get("iat"), purged=len(result.purged))
    log.info("RISC event accepted", extra={
        "event_types": [t.rsplit("/", 1)[-1] for t in result.event_types],
        "duplicate": result.duplicate, "purged": len(result.purged),
        "to_verify": len(result.to_verify)})
    if result.to_verify:
        _verify_in_background(c, result.to_verify)
    return Response(status=202)


def _verify_in_background(c: Container, connection_ids: list[str]) -> None:
    """Verify at once without holding Google's push open; the connections are also due in the
    database already, so the checker catches them should this process die first."""

    def run() -> None:
        owner = new_id("risc")
        for connection_id in connection_ids:
            try:
                revocation.verify_connection(
                    c.uow, c.google, c.clock, connection_id, lease_owner=owner,
                    interval=c.settings.check_interval)
            except Exception as exc:  # a background thread has nobody else to tell
                log.error("RISC verification failed",
                          extra={"connection_id": connection_id, "error": type(exc).__name__})

    threading.Thread(target=run, name="risc-verify", daemon=True).start()
