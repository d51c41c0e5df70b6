"""How fast one checker process verifies connections.

Method: ``--connections`` connections (one sandbox account each, spread over sites of 100),
stored as the consent flow stores them with real refresh tokens the sandbox minted, all due
for a check. Then ``gmail_oneclick.entrypoints.checker.sweep`` runs in this process, with the
default ``checker_batch`` and ``checker_concurrency`` (auto: chosen for the database), until
nothing is due: each verification is a forced refresh at the sandbox's /token (its own
process) plus the bookkeeping. The sandbox answers /token ``--token-latency-ms`` (default 75)
late, about what Google's token endpoint takes from a data centre, so the rate shows how well
the checker overlaps its refreshes; 0 measures the bookkeeping alone. Rate = verified
connections / wall seconds (target: at least 500 per second); CPU = this process's
``time.process_time`` per verification, and the sandbox process's per refresh.
"""

from __future__ import annotations

import time
from typing import Any

from bench import common

PER_SITE = 100
TARGET_PER_S = 500
TOKEN_LATENCY_MS = 75


def measure(connections: int, token_latency_ms: float = TOKEN_LATENCY_MS) -> dict[str, Any]:
    from gmail_oneclick.entrypoints.checker import concurrency, sweep

    with common.world(accounts=connections, token_latency=token_latency_ms / 1000) as w:
        sandbox, container = w.sandbox, w.container
        seed_start = time.perf_counter()
        grants = sandbox.grants(0, connections)
        sites = [common.add_site(container, f"Bench Blog {i}").id
                 for i in range(0, connections, PER_SITE)]
        common.store_connections(container, [sites[i // PER_SITE] for i in range(connections)],
                                 grants)
        seed_seconds = time.perf_counter() - seed_start
        before = sandbox.counts()["refreshes"]
        sandbox_cpu = sandbox.call("cpu")
        totals = {"verified": 0, "claimed": 0, "sweeps": 0}
        cpu = time.process_time()
        start = time.perf_counter()
        while totals["sweeps"] < connections:  # bounded: each sweep claims at least one
            result = sweep(container)
            if result["claimed"] == 0:
                break
            totals["sweeps"] += 1
            totals["claimed"] += result["claimed"]
            totals["verified"] += result["verified"]
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        sandbox_cpu = sandbox.call("cpu") - sandbox_cpu
        refreshes = sandbox.counts()["refreshes"] - before
        workers = concurrency(container)
        settings = container.settings
        container.engine.dispose()
    return {
        "connections": connections, "verified": totals["verified"], "sweeps": totals["sweeps"],
        "refreshes_at_sandbox": refreshes, "seconds": round(seconds, 2),
        "verified_per_s": round(totals["verified"] / seconds, 1),
        "cpu_ms_per_verification": round(cpu / max(1, totals["verified"]) * 1000, 3),
        "checker_batch": settings.checker_batch,
        "checker_concurrency": workers,
        "sandbox_cpu_ms_per_refresh": round(sandbox_cpu / max(1, refreshes) * 1000, 3),
        "database": container.engine.dialect.name,
        "token_latency_ms": token_latency_ms,
        "target_per_s": TARGET_PER_S,
        "seed_seconds": round(seed_seconds, 1),
    }


def main() -> None:
    p = common.parser(__doc__ or "")
    p.add_argument("--connections", type=int, default=10_000)
    p.add_argument("--token-latency-ms", type=float, default=TOKEN_LATENCY_MS,
                   help="how late the sandbox answers /token (Google: tens of ms)")
    args = p.parse_args()
    f = measure(50 if args.quick else args.connections, args.token_latency_ms)
    met = "met" if f["verified_per_s"] >= TARGET_PER_S else "NOT met"
    common.table(f"Checker sweep over {f['connections']} connections, one process, "
                 f"{f['database']}, /token {f['token_latency_ms']:g} ms", [
        ("connections verified per second", f["verified_per_s"],
         f"target >= {TARGET_PER_S}: {met}; batch {f['checker_batch']}, "
         f"concurrency {f['checker_concurrency']}"),
        ("checker CPU per verification (ms)", f["cpu_ms_per_verification"], ""),
        ("sandbox CPU per refresh (ms)", f["sandbox_cpu_ms_per_refresh"],
         "Google's share of the same cores"),
        ("verified", f["verified"], f"of {f['connections']}, in {f['sweeps']} sweeps"),
        ("refreshes seen by the sandbox", f["refreshes_at_sandbox"], "one per connection"),
        ("seconds", f["seconds"], ""),
    ])
    common.emit("checker_rate", f)


if __name__ == "__main__":
    main()
