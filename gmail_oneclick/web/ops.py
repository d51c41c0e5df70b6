"""Operator endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from gmail_oneclick.web import container

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    checks: dict[str, str] = {}
    c = container()
    try:
        with c.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database unreachable", extra={"exc_type": type(exc).__name__})
        checks["database"] = "unreachable"
    checks["keyring"] = "ok" if c.keyring.primary_id else "missing"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ready" if ready else "not_ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response
