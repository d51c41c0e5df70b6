"""How fast one checker process verifies connections.

Method: ``--connections`` connections (one sandbox account each, spread over sites of 100),
stored as the consent flow stores them with real refresh tokens the sandbox minted, all due
for a check. Then ``gmail_oneclick.entrypoints.checker.sweep`` runs in this process, with the
default ``checker_batch`` and ``checker_concurrency``, until nothing is due: each verification is a
forced refresh at the sandbox's /token (its own process) plus the bookkeeping. Rate = verified
connections / wall seconds; CPU = this process's ``time.process_time`` per verification.
"""

from __future__ import annotations

import time
from typing import Any

from bench import common

PER_SITE = 100


def measure(connections: int) -> dict[str, Any]:
    from gmail_oneclick.entrypoints.checker import sweep

    with common.world(accounts=connections) as w:
        sandbox, container = w.sandbox, w.container
        seed_start = time.perf_counter()
        grants = sandbox.grants(0, connections)
        sites = [common.add_site(container, f"Bench Blog {i}").id
                 for i in range(0, connections, PER_SITE)]
        common.store_connections(container, [sites[i // PER_SITE] for i in range(connections)],
                                 grants)
        seed_seconds = time.perf_counter() - seed_start
        before = sandbox.counts()["refreshes"]
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
        refreshes = sandbox.counts()["refreshes"] - before
        settings = container.settings
        container.engine.dispose()
    return {
        "connections": connections, "verified": totals["verified"], "sweeps": totals["sweeps"],
        "refreshes_at_sandbox": refreshes, "seconds": round(seconds, 2),
        "verified_per_s": round(totals["verified"] / seconds, 1),
        "cpu_ms_per_verification": round(cpu / max(1, totals["verified"]) * 1000, 3),
        "checker_batch": settings.checker_batch,
        "checker_concurrency": settings.checker_concurrency,
        "seed_seconds": round(seed_seconds, 1),
    }


def main() -> None:
    f = measure(common.size(__doc__ or "", "connections", default=10_000, quick=50))
    common.table(f"Checker sweep over {f['connections']} connections, one process", [
        ("connections verified per second", f["verified_per_s"],
         f"batch {f['checker_batch']}, concurrency {f['checker_concurrency']}"),
        ("checker CPU per verification (ms)", f["cpu_ms_per_verification"], ""),
        ("verified", f["verified"], f"of {f['connections']}, in {f['sweeps']} sweeps"),
        ("refreshes seen by the sandbox", f["refreshes_at_sandbox"], "one per connection"),
        ("seconds", f["seconds"], ""),
    ])
    common.emit("checker_rate", f)


if __name__ == "__main__":
    main()
