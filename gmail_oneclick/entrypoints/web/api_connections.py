"""Plugin API: create a connect link, list and read connections (README, API).

DELETE and /export of a connection live in api_lifecycle.py.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gmail_oneclick.domain.errors import NotFound, SiteUnverified, Unauthorized
from gmail_oneclick.domain.model import rfc3339
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.auth import current_site
from gmail_oneclick.entrypoints.web.body import Field, json_request
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.services import connections, consent

bp = Blueprint("api_connections", __name__)

CREATE_FIELDS = {"return_url": Field(required=True), "login_hint": Field(nullable=True)}


@bp.post("/v1/connections")
@declare(ok=[201], errors=[Unauthorized, SiteUnverified], body=CREATE_FIELDS)
def create_connection() -> tuple[Response, int]:
    site = current_site()
    fields = json_request(CREATE_FIELDS)
    c = container()
    with c.uow() as uow:
        link = consent.create_connect_link(
            uow, c.clock, site, public_url=c.settings.public_url,
            ttl_seconds=c.settings.connect_ttl, return_url=fields["return_url"],
            login_hint=fields.get("login_hint"),
        )
    return jsonify({"connect_url": link.url, "expires_at": rfc3339(link.expires_at)}), 201


@bp.get("/v1/connections")
@declare(errors=[Unauthorized])
def list_connections() -> Response:
    site = current_site(allow_pending=True)
    with container().uow() as uow:
        found = connections.list_for_site(uow, site.id)
    return jsonify({"connections": [c.to_public() for c in found]})


@bp.get("/v1/connections/<connection_id>")
@declare(errors=[Unauthorized, NotFound])
def get_connection(connection_id: str) -> Response:
    site = current_site(allow_pending=True)
    with container().uow() as uow:
        found = connections.get_for_site(uow, site.id, connection_id)
    return jsonify(found.to_public())
