"""Time from a RISC ``tokens-revoked`` push to the connection's tokens being gone.

Method: ``--events`` connections, one per sandbox account; the sandbox (own process) signs one
``tokens-revoked`` Security Event Token per account (subject ``iss-sub``), as Google's RISC
pushes it. This process POSTs them one after another to ``/risc`` on the service under
gunicorn and times each round trip: the purge is synchronous (the 202 is sent after the purge
committed), so the round trip bounds the event-to-purge time. Afterwards the database is read
to confirm every connection is ``reconnect_required`` and holds no secret. The first event each
worker receives also fetches the sandbox's JWKS; it is included in the percentiles.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from bench import common

TARGET_P99_MS = 100.0


def purged_count(container: Any, connection_ids: list[str]) -> int:
    from gmail_oneclick.domain.model import ACCESS_TOKEN, REFRESH_TOKEN, Status, connection_owner

    gone = 0
    with container.uow(readonly=True) as uow:
        for cid in connection_ids:
            c = uow.connections.get(cid)
            owner = connection_owner(cid)
            secrets_left = [uow.tokens.get(owner, p) for p in (REFRESH_TOKEN, ACCESS_TOKEN)]
            if c is not None and c.status is Status.RECONNECT_REQUIRED and not any(secrets_left):
                gone += 1
    return gone


def measure(events: int) -> dict[str, Any]:
    with common.world(accounts=events) as w:
        sandbox, values, container = w.sandbox, w.values, w.container
        site = common.add_site(container)
        grants = sandbox.grants(0, events)
        ids = common.store_connections(container, site.id, grants)
        tokens = sandbox.call("tokens_revoked", [g["email"] for g in grants])
        latencies: list[float] = []
        statuses: list[int] = []
        with common.ServiceProcess(values) as service, requests.Session() as session:
            headers = {"Content-Type": "application/secevent+jwt"}
            for token in tokens:
                start = time.perf_counter()
                response = session.post(service.url + "/risc", data=token, headers=headers,
                                        timeout=30)
                latencies.append((time.perf_counter() - start) * 1000)
                statuses.append(response.status_code)
        purged = purged_count(container, ids)
        container.engine.dispose()
    return {
        "events": events, "accepted": statuses.count(202), "purged": purged,
        "p50_ms": round(common.percentile(latencies, 50), 2),
        "p99_ms": round(common.percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


def main() -> None:
    f = measure(common.size(__doc__ or "", "events", default=200, quick=10))
    common.table(f"RISC tokens-revoked to purge, {f['events']} events on as many connections", [
        ("p50 (ms)", f["p50_ms"], "POST /risc round trip; purge is synchronous"),
        ("p99 (ms)", f["p99_ms"], f"target < {TARGET_P99_MS:g}"),
        ("max (ms)", f["max_ms"], "includes the JWKS fetch of each worker's first event"),
        ("events accepted (202)", f["accepted"], f"of {f['events']}"),
        ("connections purged", f["purged"], "status reconnect_required, no secret left"),
    ])
    common.emit("risc_latency", {**f, "target_p99_ms": TARGET_P99_MS})


if __name__ == "__main__":
    main()
