"""GET /metrics: Prometheus text an operator's scraper can read, with every family of issue 6."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, insert

from gmail_oneclick.adapters.storage.tables import connections, webhook_outbox
from gmail_oneclick.entrypoints.web import create_app_from_container
from gmail_oneclick.observability import metrics
from gmail_oneclick.services import telemetry

FAMILIES = {
    "gmail_oneclick_sends": "counter",
    "gmail_oneclick_send_duration_seconds": "histogram",
    "gmail_oneclick_token_refreshes": "counter",
    "gmail_oneclick_purges": "counter",
    "gmail_oneclick_revocation_detection_seconds": "histogram",
    "gmail_oneclick_checker_sweep_duration_seconds": "histogram",
    "gmail_oneclick_checker_backlog": "gauge",
    "gmail_oneclick_webhook_backlog": "gauge",
    "gmail_oneclick_webhook_deliveries": "counter",
}


def scrape(client: Any) -> dict[str, Any]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}


def sample(families: dict[str, Any], name: str, sample_name: str, **labels: str) -> float:
    for s in families[name].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return 0.0


def test_metrics_exposes_every_family_after_a_request(client: Any) -> None:
    client.get("/healthz")
    families = scrape(client)
    for name, kind in FAMILIES.items():
        assert name in families, name
        assert families[name].type == kind, name


def test_recorded_events_show_up_in_the_next_scrape(client: Any) -> None:
    before = scrape(client)
    metrics.observe_send("sent", 0.2)
    metrics.observe_send("reconnect_required", 0.05)
    metrics.count_refresh("invalid_grant")
    metrics.count_purge("risc_tokens_revoked")
    metrics.observe_detection_latency(0.03)
    metrics.observe_sweep(1.5)
    metrics.count_webhook_delivery("delivered")
    after = scrape(client)

    def grew(name: str, sample_name: str, **labels: str) -> float:
        return (sample(after, name, sample_name, **labels)
                - sample(before, name, sample_name, **labels))

    assert grew("gmail_oneclick_sends", "gmail_oneclick_sends_total", outcome="sent") == 1
    assert grew("gmail_oneclick_sends", "gmail_oneclick_sends_total",
                outcome="reconnect_required") == 1
    assert grew("gmail_oneclick_send_duration_seconds",
                "gmail_oneclick_send_duration_seconds_count") == 2
    assert grew("gmail_oneclick_token_refreshes", "gmail_oneclick_token_refreshes_total",
                result="invalid_grant") == 1
    assert grew("gmail_oneclick_purges", "gmail_oneclick_purges_total",
                reason="risc_tokens_revoked") == 1
    assert grew("gmail_oneclick_revocation_detection_seconds",
                "gmail_oneclick_revocation_detection_seconds_bucket", le="0.05") == 1
    assert grew("gmail_oneclick_checker_sweep_duration_seconds",
                "gmail_oneclick_checker_sweep_duration_seconds_count") == 1
    assert grew("gmail_oneclick_webhook_deliveries", "gmail_oneclick_webhook_deliveries_total",
                result="delivered") == 1


@pytest.mark.parametrize(
    ("record", "family", "label"),
    [
        (lambda: metrics.observe_send("conn_0123@blog.example.com", 0.1), "gmail_oneclick_sends",
         "outcome"),
        (lambda: metrics.count_purge("because I said so"), "gmail_oneclick_purges", "reason"),
        (lambda: metrics.count_refresh("ok; drop table"), "gmail_oneclick_token_refreshes",
         "result"),
    ],
)
def test_labels_never_carry_values_outside_their_vocabulary(
    client: Any, record: Any, family: str, label: str
) -> None:
    record()
    text = client.get("/metrics").get_data(as_text=True)
    assert "@" not in text and "said so" not in text and "drop table" not in text
    assert sample(scrape(client), family, f"{family}_total", **{label: "other"}) >= 1


def test_backlog_gauges_count_due_connections_and_undelivered_webhooks(
    client: Any, container: Any, site: Any
) -> None:
    now = datetime.now(UTC)
    with container.engine.begin() as conn:
        rows = [("conn_due1", "connected", None), ("conn_due2", "connected", now - timedelta(1)),
                ("conn_later", "connected", now + timedelta(1)),
                ("conn_gone", "reconnect_required", None)]
        for cid, status, next_check in rows:
            conn.execute(insert(connections).values(
                id=cid, site_id=site.id, google_sub=cid, email=f"{cid}@example.com",
                status=status, scopes="", created_at=now, updated_at=now,
                next_check_at=next_check, token_version=0))
        for eid, delivered, failed in [("msg_1", None, None), ("msg_2", now, None),
                                       ("msg_3", None, now), ("msg_4", None, None)]:
            conn.execute(insert(webhook_outbox).values(
                id=eid, site_id=site.id, type="connection.revoked", payload={}, created_at=now,
                next_attempt_at=now + timedelta(minutes=5), attempts=1,
                delivered_at=delivered, failed_at=failed))
    families = scrape(client)
    assert sample(families, "gmail_oneclick_checker_backlog", "gmail_oneclick_checker_backlog") == 2
    assert sample(families, "gmail_oneclick_webhook_backlog", "gmail_oneclick_webhook_backlog") == 2


def test_metrics_fails_the_scrape_when_the_database_is_unreachable(container: Any) -> None:
    """A missing backlog gauge would read as an empty backlog: fail loudly instead."""
    engine = create_engine("postgresql+psycopg://goc:pw@127.0.0.1:1/goc?connect_timeout=2")
    try:
        app = create_app_from_container(replace(container, engine=engine))
        response = app.test_client().get("/metrics")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "upstream_unavailable"
    assert re.fullmatch(r"\d+", response.headers["Retry-After"])


def test_multiprocess_dir_aggregates_what_other_processes_recorded(
    client: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """Under gunicorn each worker writes its own files; the scrape must sum them all."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    code = "from gmail_oneclick.observability import metrics; metrics.observe_send('sent', 0.1)"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], check=True,
                       env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    families = scrape(client)
    assert sample(families, "gmail_oneclick_sends", "gmail_oneclick_sends_total",
                  outcome="sent") == 2
    assert "gmail_oneclick_checker_backlog" in families


def counter_value(counter: Any, **labels: str) -> float:
    """A counter's current value in this process (no scrape needed for the helpers' own tests)."""
    for family in counter.collect():
        for s in family.samples:
            if s.name.endswith("_total") and s.labels == labels:
                return float(s.value)
    return 0.0


@pytest.fixture
def prometheus() -> Any:
    """The services record into Prometheus, as bootstrap.build arranges in every process."""
    before = telemetry.metrics()
    telemetry.install(metrics)
    yield metrics
    telemetry.install(before)


def test_timed_send_records_sent_or_the_error_code_it_answered(prometheus: Any) -> None:
    from gmail_oneclick.domain.errors import ReconnectRequired

    @telemetry.timed_send
    def send(fail: Exception | None) -> str:
        if fail is not None:
            raise fail
        return "gmail-id"

    before = {o: counter_value(metrics.SENDS, outcome=o)
              for o in ("sent", "reconnect_required", "internal_error")}
    assert send(None) == "gmail-id"
    with pytest.raises(ReconnectRequired):
        send(ReconnectRequired("gone"))
    with pytest.raises(KeyError):
        send(KeyError("bug"))
    for outcome, value in before.items():
        assert counter_value(metrics.SENDS, outcome=outcome) == value + 1, outcome


def test_refresh_errors_are_classified_without_purging_on_transient_ones(prometheus: Any) -> None:
    from gmail_oneclick.ports import InvalidGrant, TransientUpstream, UpstreamMisconfigured

    cases = [(InvalidGrant("x"), "invalid_grant"), (TransientUpstream("x"), "transient"),
             (TimeoutError(), "transient"), (UpstreamMisconfigured("x"), "misconfigured")]
    for exc, result in cases:
        before = counter_value(metrics.REFRESHES, result=result)
        telemetry.count_refresh_error(exc)
        assert counter_value(metrics.REFRESHES, result=result) == before + 1, exc


def test_detection_since_a_risc_iat_observes_once_per_purged_connection() -> None:
    import time

    def count() -> float:
        for family in metrics.DETECTION_SECONDS.collect():
            for s in family.samples:
                if s.name.endswith("_count"):
                    return float(s.value)
        return 0.0

    before = count()
    metrics.observe_detection_since(time.time() - 0.02, purged=2)
    metrics.observe_detection_since(None, purged=3)  # no iat: nothing to measure from
    metrics.observe_detection_since(time.time() + 5)  # Google's clock ahead: counted as 0 s
    assert count() == before + 3


def test_timed_sweep_and_timed_detection_record_only_completed_work(prometheus: Any) -> None:
    def count(histogram: Any) -> float:
        for family in histogram.collect():
            for s in family.samples:
                if s.name.endswith("_count"):
                    return float(s.value)
        return 0.0

    @metrics.timed_sweep
    def sweep(ok: bool) -> int:
        if not ok:
            raise ConnectionError("database down")
        return 3

    @telemetry.timed_detection
    def purge() -> None:
        return None

    sweeps, detections = count(metrics.SWEEP_SECONDS), count(metrics.DETECTION_SECONDS)
    assert sweep(True) == 3
    with pytest.raises(ConnectionError):
        sweep(False)
    purge()
    assert count(metrics.SWEEP_SECONDS) == sweeps + 1
    assert count(metrics.DETECTION_SECONDS) == detections + 1


def test_a_real_send_and_a_disconnect_show_up_in_the_scrape(app: Any, client: Any,
                                                           site: Any) -> None:
    import base64

    from ops_flow import connect_account

    connection_id = connect_account(app, site, "admin@example.com")
    before = scrape(client)
    raw = base64.urlsafe_b64encode(b"From: admin@example.com\r\nTo: reader@example.org\r\n"
                                   b"Subject: hello\r\n\r\nhi\r\n").decode()
    assert client.post("/v1/messages", json={"raw": raw}, headers=site.auth).status_code == 200
    assert client.delete(f"/v1/connections/{connection_id}", headers=site.auth).status_code == 204
    after = scrape(client)

    def grew(name: str, sample_name: str, **labels: str) -> float:
        return (sample(after, name, sample_name, **labels)
                - sample(before, name, sample_name, **labels))

    assert grew("gmail_oneclick_sends", "gmail_oneclick_sends_total", outcome="sent") == 1
    assert grew("gmail_oneclick_send_duration_seconds",
                "gmail_oneclick_send_duration_seconds_count") == 1
    assert grew("gmail_oneclick_purges", "gmail_oneclick_purges_total",
                reason="disconnected") == 1
