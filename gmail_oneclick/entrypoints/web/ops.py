"""Operator endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document and its
readable reference (/docs)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, render_template
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from gmail_oneclick.adapters.storage import deployment as db_mode
from gmail_oneclick.adapters.storage.tables import connections, webhook_outbox
from gmail_oneclick.domain.errors import UpstreamUnavailable
from gmail_oneclick.domain.model import Status
from gmail_oneclick.entrypoints.web import container, reference
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.observability import metrics

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@declare(errors=[])
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@declare(errors=[], other=[503])
def readyz() -> Response:
    checks: dict[str, str] = {}
    c = container()
    try:
        with c.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            # Still the database this process started on, of its own mode (db_mode.py)?
            found = db_mode.read_mode(conn)
        checks["database"] = "ok"
        expected = db_mode.mode_of(c.settings.sandbox)
        checks["database_mode"] = "ok" if found == expected else f"{found}_database"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database unreachable", extra={"exc_type": type(exc).__name__})
        checks["database"] = "unreachable"
    checks["keyring"] = "ok" if c.keyring.primary_id else "missing"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ready" if ready else "not_ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


class _BacklogCollector(Collector):
    """Backlog gauges counted in the database at scrape time: the database is the one place every
    web and checker process, on every host, agrees on."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Metric]:
        conns, outbox = connections.c, webhook_outbox.c
        due = select(func.count()).select_from(connections).where(
            conns.status == Status.CONNECTED.value,
            or_(conns.next_check_at.is_(None), conns.next_check_at <= self.now),
        )
        undelivered = select(func.count()).select_from(webhook_outbox).where(
            outbox.delivered_at.is_(None), outbox.failed_at.is_(None)
        )
        with self.engine.connect() as conn:
            due_n = conn.execute(due).scalar_one()
            undelivered_n = conn.execute(undelivered).scalar_one()
        yield GaugeMetricFamily(
            f"{metrics.PREFIX}checker_backlog", "Connected connections due for a check now.",
            value=due_n,
        )
        yield GaugeMetricFamily(
            f"{metrics.PREFIX}webhook_backlog", "Webhook events not yet delivered nor given up.",
            value=undelivered_n,
        )


class _Forward(Collector):
    """This process's default registry, when not aggregating across processes."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward())
    c = container()
    registry.register(_BacklogCollector(c.engine, c.clock.now()))
    return registry


@bp.get("/metrics")
@declare(errors=[UpstreamUnavailable])
def prometheus_metrics() -> Response:
    """Prometheus text format. A database failure fails the scrape (503): a silently missing
    backlog gauge would look like an empty backlog."""
    try:
        body = generate_latest(_scrape_registry())
    except SQLAlchemyError as exc:
        log.warning("metrics: database unreachable", extra={"exc_type": type(exc).__name__})
        raise UpstreamUnavailable("database unreachable", retry_after=5) from exc
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


@bp.get("/openapi.json")
@declare()
def openapi_document() -> Response:
    """The plugin API's OpenAPI 3.1 document (gmail_oneclick/openapi.json)."""
    return Response(_openapi_text(), mimetype="application/json")


@bp.get("/docs")
@declare()
def api_reference() -> str:
    """The same document as a page a person reads: a plain page within the CSP (no script, no
    font or style from elsewhere), outside the document like the other non-API pages."""
    return render_template("docs.html", inline=reference.inline,
                           **reference.build(_openapi_parsed()))


@cache
def _openapi_parsed() -> dict[str, Any]:
    return json.loads(_openapi_text())  # type: ignore[no-any-return]


@cache
def _openapi_text() -> str:
    return resources.files(__package__ or "").joinpath("openapi.json").read_text("utf-8")
