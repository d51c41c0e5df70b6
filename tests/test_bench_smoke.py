"""The benchmarks keep working: each runs with --quick and prints its figures as JSON last.

Figures are not checked against targets here (tiny sizes mean little); only that each script
still builds its world, measures, and reports every figure the README's table needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "send_throughput": {"direct_sends_per_s", "service_sends_per_s", "ratio",
                        "service_cpu_ms_per_send", "service_cpu_ms_per_send_rounds", "rounds",
                        "failed"},
    "refresh_storm": {"sends", "expired_refreshes", "expired_ok",
                      "expired_at_google_only_refreshes", "expired_at_google_only_ok"},
    "risc_latency": {"events", "accepted", "purged", "p50_ms", "p99_ms"},
    "webhook_latency": {"events", "risc_p50_ms", "risc_p99_ms", "delete_p50_ms", "delete_p99_ms",
                        "risc_delivered", "delete_delivered", "invalid_signatures"},
    "checker_rate": {"connections", "verified", "verified_per_s", "cpu_ms_per_verification"},
    "rotation_rate": {"connections", "rewrapped", "remaining_after", "data_keys_per_s",
                      "rows_per_s"},
    "send_memory": {"message_bytes", "rfc822_peak_over_size", "json_peak_over_size",
                    "rfc822_arrived_bytes", "json_arrived_bytes"},
    "wp_mail": {"messages", "arrived", "plugin_median_ms", "plugin_p95_ms", "smtp_median_ms",
                "smtp_p95_ms", "smtp_nodelay_median_ms", "smtp_nodelay_p95_ms", "ratio",
                "ratio_nodelay"},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bench_script_prints_its_figures_as_json_last(name: str) -> None:
    if name == "wp_mail":
        from tests.wordpress.wp import missing_parts

        if missing := missing_parts():
            reason = f"bench.wp_mail needs a real WordPress: {', '.join(missing)} missing"
            pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    env = dict(os.environ)
    if os.environ.get("TEST_DATABASE_URL"):
        env["BENCH_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == name
    assert EXPECTED[name] <= set(figures), EXPECTED[name] - set(figures)


def test_results_page_has_a_row_per_figure_and_names_the_machine(tmp_path: Path) -> None:
    from bench.run_all import SCRIPTS, rows, write_results

    results = {name: {"bench": name, "error": "exit status 1"} for name in SCRIPTS}
    page = tmp_path / "RESULTS.md"
    write_results(results, page)
    text = page.read_text()
    assert "| Figure | Result | Target |" in text
    assert f"{os.cpu_count()} cores" in text and "Python " in text and "commit " in text
    assert len(rows(results)) == 9 and text.count("failed: exit status 1") == 9
