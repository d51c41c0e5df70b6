"""POST /v1/sites: self-registration of sites when GMAIL_ONECLICK_REGISTRATION=open, and
POST /v1/sites/<id>/verify: the registered site proves it controls its origins."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gmail_oneclick.domain.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    SiteVerificationFailed,
    Unauthorized,
)
from gmail_oneclick.domain.model import rfc3339
from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.auth import current_site
from gmail_oneclick.entrypoints.web.body import Field, json_request
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.services import registration, site_verification
from gmail_oneclick.services.sites import verification_urls

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
    body = json_request(FIELDS)
    name, webhook_url = body["name"], body.get("webhook_url")
    new = registration.register_site(
        c.uow, c.clock, registration=c.settings.registration,
        per_hour=c.settings.registration_per_hour, client=request.remote_addr or "unknown",
        name=name, origins=_origins(body), webhook_url=webhook_url,
        targets=TargetPolicy.from_settings(c.settings),
    )
    return jsonify({"site_id": new.site.id, "api_key": new.api_key,
                    "webhook_secret": new.webhook_secret, "verified": False,
                    "verification_token": new.verification_token,
                    "verification_urls": verification_urls(new.site)}), 201


@bp.post("/v1/sites/<site_id>/verify")
@declare(errors=[Unauthorized, NotFound, SiteVerificationFailed, RateLimited])
def verify(site_id: str) -> Response:
    site = current_site(allow_pending=True)
    if site.id != site_id:  # another site's id: not this key's business
        raise NotFound("no such site for this API key")
    c = container()
    fetcher = c.origin_fetcher()
    try:
        verified = site_verification.verify_site(c.uow, c.clock, fetcher, site)
    finally:
        fetcher.session.close()
    return jsonify({"site_id": verified.id, "verified": True,
                    "verified_at": rfc3339(verified.verified_at)})
