"""Run every benchmark with its default sizes (``make bench``) and write the figures: a short
table into README.md, the full table and raw figures into docs/BENCHMARKS.md.

Each script runs in its own process; its output is shown as it comes and its last line (the
JSON figures) goes into the table. Its arguments go to every script (``--quick``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common

Figures = dict[str, Any]

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("send_throughput", "profile_send", "web_servers", "refresh_storm", "risc_latency",
           "webhook_latency", "checker_rate", "rotation_rate", "send_memory", "wp_mail")


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


@dataclass(frozen=True)
class Row:
    """One figure: its long form for docs/BENCHMARKS.md, its short form for the README, and
    its target (with ``met`` when the target can be checked from the figures)."""

    bench: str
    label: str
    value: Callable[[Figures], str]
    short_label: str
    short_value: Callable[[Figures], str]
    target: str = ""
    met: Callable[[Figures], bool] | None = None


def _servers(f: Figures) -> str:
    def one(server: str) -> str:
        return (f"{server} {f[server + '_healthz_cpu_ms']} ms (/healthz), "
                f"{f[server + '_send_cpu_ms']} ms (send)")

    return "; ".join(one(server) for server in f["servers"])


def _stages(f: Figures, top: int) -> str:
    stages = list(f["stages_ms"].items())[:top]
    return "; ".join(f"{stage} {ms} ms" for stage, ms in stages)


ROWS: tuple[Row, ...] = (
    Row("send_throughput", "Service CPU per small send ÷ google-api-python-client's CPU per send",
        lambda f: f"{f['cpu_ratio']} ({f['service_cpu_ms_per_send']} ms vs "
                  f"{f['library_cpu_ms_per_send']} ms; AuthorizedSession "
                  f"{f['session_cpu_ms_per_send']} ms; service rounds "
                  f"{', '.join(str(x) for x in f['service_cpu_ms_per_send_rounds'])} ms)",
        "Service CPU per send ÷ google-api-python-client's",
        lambda f: f"{f['cpu_ratio']} ({f['service_cpu_ms_per_send']} ms vs "
                  f"{f['library_cpu_ms_per_send']} ms)",
        "≤ 0.5", lambda f: f["cpu_ratio"] <= 0.5),
    Row("send_throughput", "Sends/s through the service ÷ direct AuthorizedSession sends/s",
        lambda f: f"{f['rate_ratio']} ({f['service_sends_per_s']}/s vs "
                  f"{f['session_sends_per_s']}/s; google-api-python-client "
                  f"{f['library_sends_per_s']}/s; {f['clients']} clients; median of "
                  f"{f['rounds']} rounds)",
        "Sends/s through the service ÷ direct (AuthorizedSession)",
        lambda f: f"{f['rate_ratio']} ({f['service_sends_per_s']}/s vs "
                  f"{f['session_sends_per_s']}/s)",
        "≥ 0.9", lambda f: f["rate_ratio"] >= 0.9),
    Row("profile_send", "Where a send's CPU goes (py-spy in the workers; largest stages)",
        lambda f: f"{f['service_cpu_ms_per_send']} ms: {_stages(f, 12)}",
        "Largest parts of a send's CPU", lambda f: _stages(f, 3)),
    Row("web_servers", "Web server CPU per request, gunicorn gthread vs granian (same app)",
        lambda f: _servers(f), "gunicorn vs granian, CPU per request", lambda f: _servers(f)),
    Row("refresh_storm", "Refreshes for 100 concurrent sends on an expired token",
        lambda f: f"{f['expired_refreshes']} (expired at Google only: "
                  f"{f['expired_at_google_only_refreshes']}); "
                  f"{f['expired_ok']}/{f['sends']} sent",
        "Token refreshes for 100 concurrent sends", lambda f: f"{f['expired_refreshes']}",
        "1", lambda f: f["expired_refreshes"] == 1),
    Row("risc_latency", "RISC tokens-revoked to purge, p50 / p99",
        lambda f: f"{f['p50_ms']} ms / {f['p99_ms']} ms ({f['events']} events, "
                  f"{f['purged']} purged)",
        "Google revocation push to purge, p99", lambda f: f"{f['p99_ms']} ms",
        "< 100 ms", lambda f: f["p99_ms"] < 100),
    Row("webhook_latency", "Event to signed webhook received, p50 / p99 (no checker running)",
        lambda f: f"RISC push {f['risc_p50_ms']} ms / {f['risc_p99_ms']} ms, DELETE "
                  f"{f['delete_p50_ms']} ms / {f['delete_p99_ms']} ms ({f['events']} events "
                  f"each, {f['risc_delivered'] + f['delete_delivered']} delivered)",
        "Event to signed webhook, p99",
        lambda f: f"{f['risc_p99_ms']} ms (push), {f['delete_p99_ms']} ms (DELETE)",
        "< 1 s", lambda f: max(f["risc_p99_ms"], f["delete_p99_ms"]) < 1000),
    Row("checker_rate", "Checker sweep, connections verified per second (one process)",
        lambda f: f"{f['verified_per_s']}/s over {f['connections']} "
                  f"({f['cpu_ms_per_verification']} ms CPU each; {f['checker_concurrency']} "
                  f"workers; /token {f.get('token_latency_ms', 0):g} ms)",
        "Connections verified per second (one checker)",
        lambda f: f"{f['verified_per_s']:,.0f}/s",
        "≥ 500/s", lambda f: f["verified_per_s"] >= 500),
    Row("rotation_rate", "Key rotation, data keys re-wrapped per second",
        lambda f: f"{f['data_keys_per_s']}/s over {f['connections']} connections "
                  f"({f['rows_per_s']} rows/s incl. prefix MACs; "
                  f"{f.get('per_small_send', '?')}× the service's small sends per second)",
        "Data keys re-wrapped per second (key rotation)",
        lambda f: f"{f['data_keys_per_s']:,.0f}/s ({f.get('per_small_send', '?')}× sends/s)",
        "≥ 10,000/s", lambda f: f["data_keys_per_s"] >= 10_000),
    Row("send_memory", "Peak memory of a 30 MB send / message size",
        lambda f: f"{f['rfc822_peak_over_size']}x as message/rfc822, "
                  f"{f['json_peak_over_size']}x as JSON base64url",
        "Peak memory of a 30 MB send ÷ its size",
        lambda f: f"{f['rfc822_peak_over_size']}× (message/rfc822), "
                  f"{f['json_peak_over_size']}× (JSON)",
        "JSON ≤ 2", lambda f: f["json_peak_over_size"] <= 2),
    Row("wp_mail", "wp_mail() through the plugin vs PHPMailer to a local SMTP sink, median / p95",
        lambda f: f"{f['plugin_median_ms']} / {f['plugin_p95_ms']} ms vs "
                  f"{f['smtp_median_ms']} / {f['smtp_p95_ms']} ms (ratio {f['ratio']}; "
                  f"{f['messages']} messages each); SMTP with TCP_NODELAY "
                  f"{f['smtp_nodelay_median_ms']} ms (ratio {f['ratio_nodelay']})",
        "`wp_mail()` via the plugin vs WordPress's SMTP, median",
        lambda f: f"{f['plugin_median_ms']} ms vs {f['smtp_median_ms']} ms (ratio {f['ratio']})",
        "ratio ≤ 2", lambda f: f["ratio"] <= 2),
)


def derive(results: dict[str, Figures]) -> None:
    """Figures that compare two scripts of the run: data keys re-wrapped per second as a
    multiple of the service's small sends per second."""
    rotation, sends = results.get("rotation_rate", {}), results.get("send_throughput", {})
    if "error" not in rotation and "error" not in sends and sends.get("service_sends_per_s"):
        rotation["per_small_send"] = round(
            rotation["data_keys_per_s"] / sends["service_sends_per_s"], 1)


def _target(row: Row, figures: Figures) -> str:
    if not row.target or row.met is None or "error" in figures:
        return row.target
    return f"{row.target}: met" if row.met(figures) else f"{row.target}: **not met**"


def rows(r: dict[str, Figures], short: bool = False) -> list[tuple[str, str, str]]:
    """(figure, value, target) per entry of ``ROWS``, long (docs/BENCHMARKS.md) or short
    (README); a script that failed or did not run shows why instead of a value."""
    out: list[tuple[str, str, str]] = []
    for row in ROWS:
        figures = r.get(row.bench, {"error": "not run"})
        label = row.short_label if short else row.label
        if "error" in figures:
            out.append((label, f"failed: {figures['error']}", row.target))
        else:
            value = row.short_value if short else row.value
            out.append((label, value(figures), _target(row, figures)))
    return out


def provenance(load: tuple[float, float] | None = None) -> str:
    """When, on what and at which commit the figures were measured. ``load``: the 1-minute
    load average before and after the run (a shared machine's other work slows the figures
    down; this says how busy it was)."""
    m = common.machine()
    busy = f" Load average {load[0]:.1f} before the run, {load[1]:.1f} after." if load else ""
    database = "PostgreSQL (BENCH_DATABASE_URL)" if os.environ.get("BENCH_DATABASE_URL") \
        else "SQLite"
    return (f"Measured by `make bench` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, "
            f"commit {_commit()}: {m['cores']} cores, Python {m['python']} ({m['platform']}), "
            f"database {database}.{busy}")


def _table(header: str, lines: list[tuple[str, str, str]]) -> list[str]:
    return [header, "| --- | --- | --- |", *[f"| {a} | {b} | {c} |" for a, b, c in lines]]


def replace_block(text: str, name: str, body: list[str]) -> str:
    """``text`` with what lies between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
    replaced by ``body``; raises ValueError when the markers are missing (a page edited by
    hand lost them: better to stop than to append a second table)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block to rewrite")
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    return "\n".join([before + start, *body, end + after])


def write_results(results: dict[str, Figures], readme: Path, benchmarks: Path,
                  load: tuple[float, float] | None = None) -> None:
    """Rewrite the short table in ``readme`` and the full figures in ``benchmarks``, each in
    its marked block; the rest of both pages is left as written."""
    said = provenance(load)
    summary = ["", said, "", *_table("| figure | latest | target |", rows(results, True)), ""]
    detail = ["", said, "",
              *_table("| Figure | Result | Target |", rows(results)), "",
              "Raw figures (each script's last line):", "", "```",
              *[json.dumps(results[name], sort_keys=True) for name in SCRIPTS if name in results],
              "```", ""]
    for path, name, body in ((readme, "summary", summary), (benchmarks, "latest", detail)):
        text = path.read_text(encoding="utf-8")
        path.write_text(replace_block(text, name, body), encoding="utf-8")


def main() -> None:
    extra = sys.argv[1:]
    before = os.getloadavg()[0]
    results = {name: run(name, extra) for name in SCRIPTS}
    derive(results)
    if "--quick" in extra:
        print("--quick: figures not written to README.md and docs/BENCHMARKS.md")
        return
    readme, benchmarks = ROOT / "README.md", ROOT / "docs" / "BENCHMARKS.md"
    write_results(results, readme, benchmarks, (before, os.getloadavg()[0]))
    print(f"wrote the figures into {readme} and {benchmarks}")
    if any("error" in r for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
