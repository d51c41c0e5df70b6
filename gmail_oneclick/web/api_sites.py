"""POST /v1/sites: self-registration of sites when GMAIL_ONECLICK_REGISTRATION=open."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gmail_oneclick.errors import Forbidden, InvalidRequest, RateLimited
from gmail_oneclick.services import registration
from gmail_oneclick.web import container
from gmail_oneclick.web.api_connections import json_object
from gmail_oneclick.web.body import Field
from gmail_oneclick.web.declare import declare

bp = Blueprint("api_sites", __name__)

FIELDS = {"name": Field(required=True), "origin": Field(),
          "origins": Field("array", max_items=10), "webhook_url": Field(nullable=True)}


def _origins(body: dict[str, object]) -> list[str]:
    origins = body.get("origins", [body["origin"]] if "origin" in body else None)
    if not isinstance(origins, list) or "origin" in body and "origins" in body:
        raise InvalidRequest("give 'origin' (a string) or 'origins' (1 to 10 strings)")
    return [str(o) for o in origins]


@bp.post("/v1/sites")
@declare(ok=[201], errors=[Forbidden, RateLimited], body=FIELDS)
def register() -> tuple[Response, int]:
    c = container()
    body = json_object(FIELDS)
    name, webhook_url = body["name"], body.get("webhook_url")
    new = registration.register_site(
        c.uow, c.clock, registration=c.settings.registration,
        per_hour=c.settings.registration_per_hour, client=request.remote_addr or "unknown",
        name=name, origins=_origins(body), webhook_url=webhook_url,
    )
    return jsonify({"site_id": new.site.id, "api_key": new.api_key,
                    "webhook_secret": new.webhook_secret}), 201
