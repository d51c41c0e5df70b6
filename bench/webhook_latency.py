"""Time from an event to its signed webhook arriving at the site: a RISC push, and a DELETE.

Method: a webhook receiver runs in this process on loopback and verifies every delivery's
Standard Webhooks signature with the site's secret (the ``standardwebhooks`` package, as a
site would), noting when each ``connection.revoked`` arrived. ``--events`` connections get a
RISC ``tokens-revoked`` push each (signed by the sandbox in its own process, POSTed to
``/risc``), ``--events`` others a ``DELETE /v1/connections/{id}``, one after another against
the service under gunicorn with its default settings (workers, threads, webhook dispatch
threads). Latency is from just before the request is sent to the receiver having the verified
webhook. No checker runs: every webhook is posted by the web process that committed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from bench import common

TARGET_P99_MS = 1000.0
# Loopback receivers are refused outside sandbox mode unless the operator allows private
# webhook targets; the benchmark's receiver is on loopback.
PRIVATE_TARGETS = {"GMAIL_ONECLICK_WEBHOOK_PRIVATE_TARGETS": "allow"}


class Receiver:
    """Verifies each webhook and notes when the event of each connection arrived."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks import Webhook

        self.webhook = Webhook(secret)
        self.arrived: dict[str, float] = {}
        self.invalid = 0
        self.url = ""

    def app(self, environ: Any, start_response: Any) -> Any:
        from standardwebhooks import WebhookVerificationError
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        try:
            payload = self.webhook.verify(request.get_data(), dict(request.headers))
        except WebhookVerificationError:
            self.invalid += 1
            return Response(status=400)(environ, start_response)
        self.arrived.setdefault(payload["data"]["connection_id"], time.perf_counter())
        return Response(status=204)(environ, start_response)


@contextmanager
def serving(receiver: Receiver) -> Iterator[None]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def hooked_site(container: Any) -> tuple[Any, str]:
    """A site whose webhook URL is set later (the receiver's port is not known yet)."""
    from gmail_oneclick.services.sites import add_site

    with container.uow() as uow:
        new = add_site(uow, container.clock, name="Bench Blog",
                       origins=["https://blog.example.com"], webhook_url=None)
    return common.BenchSite(new.site.id, new.api_key), new.webhook_secret


def set_webhook_url(container: Any, site_id: str, url: str) -> None:
    from sqlalchemy import update

    from gmail_oneclick.adapters.storage.tables import sites

    with container.engine.begin() as conn:
        conn.execute(update(sites).where(sites.c.id == site_id).values(webhook_url=url))


def timed(receiver: Receiver, started: dict[str, float], wait: float = 30.0) -> list[float]:
    """Milliseconds from each start to its webhook, once all arrived (or ``wait`` passed)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not set(started) <= set(receiver.arrived):
        time.sleep(0.01)
    return [(receiver.arrived[c] - t) * 1000 for c, t in started.items() if c in receiver.arrived]


def summary(name: str, latencies: list[float], events: int) -> dict[str, Any]:
    return {f"{name}_delivered": len(latencies),
            f"{name}_p50_ms": round(common.percentile(latencies, 50), 2),
            f"{name}_p99_ms": round(common.percentile(latencies, 99), 2),
            f"{name}_max_ms": round(max(latencies, default=float("nan")), 2)} | \
        ({} if len(latencies) == events else {f"{name}_missing": events - len(latencies)})


def measure(events: int) -> dict[str, Any]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per webhook
    with common.world(accounts=2 * events) as w:
        site, secret = hooked_site(w.container)
        grants = w.sandbox.grants(0, 2 * events)
        ids = common.store_connections(w.container, site.id, grants)
        risc_ids, delete_ids = ids[:events], ids[events:]
        tokens = w.sandbox.call("tokens_revoked", [g["email"] for g in grants[:events]])
        receiver = Receiver(secret)
        with serving(receiver), requests.Session() as session, \
                common.ServiceProcess(w.values, extra_env=PRIVATE_TARGETS) as service:
            set_webhook_url(w.container, site.id, receiver.url)
            started: dict[str, float] = {}
            for cid, token in zip(risc_ids, tokens, strict=True):
                started[cid] = time.perf_counter()
                session.post(service.url + "/risc", data=token, timeout=30,
                             headers={"Content-Type": "application/secevent+jwt"})
            risc = timed(receiver, started)
            started = {}
            for cid in delete_ids:
                started[cid] = time.perf_counter()
                session.delete(f"{service.url}/v1/connections/{cid}", headers=site.auth,
                               timeout=30)
            delete = timed(receiver, started)
        w.container.engine.dispose()
    return {"events": events, "invalid_signatures": receiver.invalid,
            **summary("risc", risc, events), **summary("delete", delete, events)}


def main() -> None:
    f = measure(common.size(__doc__ or "", "events", default=200, quick=5))
    common.table(f"Event to signed webhook received, {f['events']} events of each kind", [
        ("RISC push -> webhook p50 (ms)", f["risc_p50_ms"], "signature verified"),
        ("RISC push -> webhook p99 (ms)", f["risc_p99_ms"], f"target < {TARGET_P99_MS:g}"),
        ("DELETE -> webhook p50 (ms)", f["delete_p50_ms"], "no checker running"),
        ("DELETE -> webhook p99 (ms)", f["delete_p99_ms"], f"target < {TARGET_P99_MS:g}"),
        ("webhooks delivered", f["risc_delivered"] + f["delete_delivered"],
         f"of {2 * f['events']}; bad signatures: {f['invalid_signatures']}"),
    ])
    common.emit("webhook_latency", {**f, "target_p99_ms": TARGET_P99_MS})


if __name__ == "__main__":
    main()
