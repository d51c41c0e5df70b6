"""Run every benchmark with its default sizes and write bench/RESULTS.md (``make bench``).

Each script runs in its own process; its output is shown as it comes and its last line (the
JSON figures) goes into the table. Arguments after ``--`` go to every script (``--quick``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("send_throughput", "refresh_storm", "risc_latency", "webhook_latency", "checker_rate",
           "rotation_rate", "send_memory", "wp_mail")


def run(name: str, extra: list[str]) -> dict[str, Any]:
    print(f"== bench.{name} {' '.join(extra)}", flush=True)
    process = subprocess.Popen(  # noqa: S603 - our own scripts
        [sys.executable, "-m", f"bench.{name}", *extra], cwd=ROOT, stdout=subprocess.PIPE,
        text=True)
    last = ""
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line
    if process.wait() != 0:
        return {"bench": name, "error": f"exit status {process.returncode}"}
    return dict(json.loads(last))


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,  # noqa: S603,S607
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "gmail_oneclick",
                "token_store")
    return commit + (" (with uncommitted changes)" if dirty else "")


# (bench, figure, its value from the script's figures, target): the README's table, in order.
ROWS: tuple[tuple[str, str, Callable[[dict[str, Any]], str], str], ...] = (
    ("send_throughput", "Sends/s through the service vs direct google-api-python-client",
        lambda f: f"{f['service_sends_per_s']} vs {f['direct_sends_per_s']} "
                  f"(ratio {f['ratio']}; {f['clients']} clients; median of {f['rounds']} rounds)",
        "ratio >= 0.6"),
    ("send_throughput", "Service CPU per send",
        lambda f: f"{f['service_cpu_ms_per_send']} ms (median; rounds "
                  f"{', '.join(str(x) for x in f['service_cpu_ms_per_send_rounds'])} ms)",
        "<= 2 ms"),
    ("refresh_storm", "Refreshes for 100 concurrent sends on an expired token",
        lambda f: f"{f['expired_refreshes']} (expired at Google only: "
                  f"{f['expired_at_google_only_refreshes']}); "
                  f"{f['expired_ok']}/{f['sends']} sent", "1"),
    ("risc_latency", "RISC tokens-revoked to purge, p50 / p99",
        lambda f: f"{f['p50_ms']} ms / {f['p99_ms']} ms ({f['events']} events, "
                  f"{f['purged']} purged)", "p99 < 100 ms"),
    ("webhook_latency", "Event to signed webhook received, p50 / p99 (no checker running)",
        lambda f: f"RISC push {f['risc_p50_ms']} ms / {f['risc_p99_ms']} ms, DELETE "
                  f"{f['delete_p50_ms']} ms / {f['delete_p99_ms']} ms ({f['events']} events "
                  f"each, {f['risc_delivered'] + f['delete_delivered']} delivered)",
        "p99 < 1 s"),
    ("checker_rate", "Checker sweep, connections verified per second (one process)",
        lambda f: f"{f['verified_per_s']}/s over {f['connections']} "
                  f"({f['cpu_ms_per_verification']} ms CPU each)", ""),
    ("rotation_rate", "Key rotation, data keys re-wrapped per second",
        lambda f: f"{f['data_keys_per_s']}/s over {f['connections']} connections "
                  f"({f['rows_per_s']} rows/s incl. prefix MACs)", ""),
    ("send_memory", "Peak memory of a 30 MB send / message size",
        lambda f: f"{f['rfc822_peak_over_size']}x as message/rfc822, "
                  f"{f['json_peak_over_size']}x as JSON base64url", ""),
    ("wp_mail", "wp_mail() through the plugin vs PHPMailer to a local SMTP sink, median / p95",
        lambda f: f"{f['plugin_median_ms']} / {f['plugin_p95_ms']} ms vs "
                  f"{f['smtp_median_ms']} / {f['smtp_p95_ms']} ms (ratio {f['ratio']}; "
                  f"{f['messages']} messages each); SMTP with TCP_NODELAY "
                  f"{f['smtp_nodelay_median_ms']} ms (ratio {f['ratio_nodelay']})",
        "ratio <= 2"),
)


def rows(r: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(figure, value, target) for the README, one per entry of ``ROWS``; a script that failed
    or did not run shows why instead of a value."""
    out: list[tuple[str, str, str]] = []
    for bench, label, value, target in ROWS:
        figures = r.get(bench, {"error": "not run"})
        if "error" in figures:
            out.append((label, f"failed: {figures['error']}", target))
        else:
            out.append((label, value(figures), target))
    return out


def write_results(results: dict[str, dict[str, Any]], path: Path,
                  load: tuple[float, float] | None = None) -> None:
    """``load``: the 1-minute load average before and after the run (a shared machine's other
    work slows the figures down; this says how busy it was)."""
    m = common.machine()
    busy = f" Load average {load[0]:.1f} before the run, {load[1]:.1f} after." if load else ""
    database = "PostgreSQL (BENCH_DATABASE_URL)" if os.environ.get("BENCH_DATABASE_URL") \
        else "SQLite"
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `python -m bench.run_all` (`make bench`) on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {_commit()}, "
        f"{m['cores']} cores, Python {m['python']} ({m['platform']}), database "
        f"{database}.{busy}",
        "",
        "Everything runs on loopback: the Google sandbox in its own process, the service under "
        "gunicorn with its default workers and threads. Each script's docstring gives its method.",
        "",
        "| Figure | Result | Target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows(results)],
        "",
        "Raw figures (each script's last line):",
        "",
        "```",
        *[json.dumps(results[name], sort_keys=True) for name in SCRIPTS if name in results],
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    extra = sys.argv[1:]
    before = os.getloadavg()[0]
    results = {name: run(name, extra) for name in SCRIPTS}
    if "--quick" in extra:
        print("--quick: figures not written to RESULTS.md")
        return
    write_results(results, ROOT / "bench" / "RESULTS.md", (before, os.getloadavg()[0]))
    print(f"wrote {ROOT / 'bench' / 'RESULTS.md'}")
    if any("error" in r for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
