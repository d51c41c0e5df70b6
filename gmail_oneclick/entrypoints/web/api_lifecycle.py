"""``DELETE /v1/connections/<id>`` and ``GET /v1/connections/<id>/export``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gmail_oneclick.domain.errors import NotFound, Unauthorized
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.auth import current_site
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.services import privacy, revocation

bp = Blueprint("api_lifecycle", __name__)


@bp.delete("/v1/connections/<connection_id>")
@declare(ok=[204], errors=[Unauthorized, NotFound])
def delete_connection(connection_id: str) -> Response:
    """Revoke at Google (unless another site's connection shares the grant) and purge: 204."""
    site = current_site(allow_pending=True)
    c = container()
    revocation.disconnect(c.uow, c.google, c.clock, site_id=site.id,
                          connection_id=connection_id)
    return Response(status=204)


@bp.get("/v1/connections/<connection_id>/export")
@declare(errors=[Unauthorized, NotFound])
def export_connection(connection_id: str) -> Response:
    site = current_site(allow_pending=True)
    c = container()
    with c.uow() as uow:
        document = privacy.export_connection(uow, site.id, connection_id,
                                             retention=c.settings.retention())
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response
