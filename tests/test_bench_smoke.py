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
    "send_throughput": {"library_sends_per_s", "session_sends_per_s", "service_sends_per_s",
                        "rate_ratio", "library_cpu_ms_per_send", "session_cpu_ms_per_send",
                        "service_cpu_ms_per_send", "cpu_ratio", "service_cpu_ms_per_send_rounds",
                        "rounds", "failed"},
    "profile_send": {"sends", "samples", "service_cpu_ms_per_send", "stages_ms"},
    "web_servers": {"servers", "gunicorn_healthz_cpu_ms", "gunicorn_send_cpu_ms",
                    "granian_healthz_cpu_ms", "granian_send_cpu_ms"},
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


def _page(path: Path, name: str) -> Path:
    path.write_text(f"intro\n<!-- bench:{name} -->\nold table\n<!-- /bench:{name} -->\nafter\n")
    return path


def test_figures_replace_the_marked_blocks_of_readme_and_benchmarks_page(tmp_path: Path) -> None:
    from bench.run_all import ROWS, SCRIPTS, write_results

    readme = _page(tmp_path / "README.md", "summary")
    benchmarks = _page(tmp_path / "BENCHMARKS.md", "latest")
    results = {name: {"bench": name, "error": "exit status 1"} for name in SCRIPTS}
    write_results(results, readme, benchmarks)
    for page in (readme, benchmarks):
        text = page.read_text()
        assert text.startswith("intro\n") and text.endswith("after\n")
        assert "old table" not in text and text.count("failed: exit status 1") == len(ROWS)
        assert f"{os.cpu_count()} cores" in text and "Python " in text and "commit " in text
    assert "| Figure | Result | Target |" in benchmarks.read_text()
    assert "| figure | latest | target |" in readme.read_text()


def test_a_page_that_lost_its_markers_is_refused_not_appended_to(tmp_path: Path) -> None:
    from bench.run_all import SCRIPTS, write_results

    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    benchmarks = _page(tmp_path / "BENCHMARKS.md", "latest")
    with pytest.raises(ValueError, match="bench:summary"):
        write_results({name: {"error": "not run"} for name in SCRIPTS}, readme, benchmarks)
    assert readme.read_text() == "no markers here\n"


def test_published_figures_fill_every_row_and_say_whether_targets_are_met() -> None:
    from bench.run_all import ROWS, replace_block, rows

    readme = (ROOT / "README.md").read_text()
    benchmarks = (ROOT / "docs" / "BENCHMARKS.md").read_text()
    replace_block(readme, "summary", [])
    replace_block(benchmarks, "latest", [])
    raw = benchmarks.split("<!-- bench:latest -->")[1].split("<!-- /bench:latest -->")[0]
    results = {f["bench"]: f for f in (json.loads(line) for line in raw.splitlines()
                                       if line.startswith('{"'))}
    for short in (False, True):
        table = rows(results, short)
        assert len(table) == len(ROWS) and not any(v.startswith("failed") for _, v, _ in table)
        with_target = [t for (_, _, t), row in zip(table, ROWS, strict=True) if row.met]
        assert all(t.endswith(("met", "**not met**")) for t in with_target)
