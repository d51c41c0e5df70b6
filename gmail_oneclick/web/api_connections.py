"""Plugin API: create a connect link, list and read connections (CONTRACT §4).

DELETE and /export of a connection live in api_lifecycle.py.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gmail_oneclick.errors import InvalidRequest
from gmail_oneclick.model import rfc3339
from gmail_oneclick.services import connections, consent
from gmail_oneclick.web import container
from gmail_oneclick.web.auth import current_site

bp = Blueprint("api_connections", __name__)

CREATE_FIELDS = frozenset({"return_url", "login_hint"})
MAX_BODY_BYTES = 16 * 1024


def json_object(allowed: frozenset[str]) -> dict[str, Any]:
    """The request's JSON object body. Raises InvalidRequest for a wrong content type, a body
    that is not a JSON object, or a field not in ``allowed``."""
    if request.mimetype != "application/json":
        raise InvalidRequest("the body must be JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidRequest("the body is too large")
    # Read at most one byte past the limit: a chunked body announces no length and may not end.
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise InvalidRequest("the body is too large")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    return body


@bp.post("/v1/connections")
def create_connection() -> tuple[Response, int]:
    site = current_site()
    body = json_object(CREATE_FIELDS)
    if "return_url" not in body:
        raise InvalidRequest("return_url is required")
    c = container()
    with c.uow() as uow:
        link = consent.create_connect_link(
            uow, c.clock, site, public_url=c.settings.public_url,
            ttl_seconds=c.settings.connect_ttl, return_url=body["return_url"],
            login_hint=body.get("login_hint"),
        )
    return jsonify({"connect_url": link.url, "expires_at": rfc3339(link.expires_at)}), 201


@bp.get("/v1/connections")
def list_connections() -> Response:
    site = current_site(allow_pending=True)
    with container().uow() as uow:
        found = connections.list_for_site(uow, site.id)
    return jsonify({"connections": [c.to_public() for c in found]})


@bp.get("/v1/connections/<connection_id>")
def get_connection(connection_id: str) -> Response:
    site = current_site(allow_pending=True)
    with container().uow() as uow:
        found = connections.get_for_site(uow, site.id, connection_id)
    return jsonify(found.to_public())
