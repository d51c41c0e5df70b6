"""The web server's share of a request: gunicorn's gthread workers (the Procfile's web line)
against granian's WSGI server, on the same app, workers and threads.

Method: both servers run at once on the same database and sandbox, each with the settings'
workers and threads; ``--clients`` threads of this process call one of them at a time in a
closed loop over keep-alive connections, alternating servers round by round. Two requests:
``GET /healthz`` (the app does almost nothing, so its CPU is mostly the server's) and a small
``POST /v1/messages``. CPU per request is utime+stime of the server's whole process tree
from /proc, idle rate subtracted. Figures are the median of ``--rounds`` rounds.

granian is not a dependency of the service: install it (``pip install granian``) to run
this comparison; without it the script says so and measures gunicorn alone.
"""

from __future__ import annotations

import importlib.util
import statistics
from collections.abc import Callable
from typing import Any

import requests

from bench import common
from bench.send_throughput import Round, run_clients, service_round, service_sender


def _getter(url: str) -> Callable[[], Callable[[], bool]]:
    def make() -> Callable[[], bool]:
        session = requests.Session()
        return lambda: session.get(url + "/healthz", timeout=30).status_code == 200

    return make


def measure(clients: int, requests_per_round: int, rounds: int, warmup: int) -> dict[str, Any]:
    servers = ["gunicorn"]
    if importlib.util.find_spec("granian") is not None:
        servers.append("granian")
    out: dict[str, Any] = {"clients": clients, "rounds": rounds, "servers": servers}
    with common.world(accounts=1) as w:
        site, raw = common.sending_site(w)
        running = {name: common.ServiceProcess(w.values, server=name) for name in servers}
        try:
            loads = {name: {"healthz": _getter(s.url),
                            "send": service_sender(s.url, site.auth, raw)}
                     for name, s in running.items()}
            for load in loads.values():
                for maker in load.values():
                    run_clients(clients, warmup, maker)
            idle = {name: common.idle_cpu_rate(s) for name, s in running.items()}
            seen: dict[str, list[Round]] = {}
            for _ in range(rounds):
                for name, service in running.items():
                    for what, maker in loads[name].items():
                        seen.setdefault(f"{name}_{what}", []).append(service_round(
                            w.sandbox, service, maker, idle[name], clients,
                            requests_per_round))
            out["workers"] = running["gunicorn"].workers
            out["threads"] = running["gunicorn"].threads
        finally:
            for service in running.values():
                service.stop()
    for key, figures in seen.items():
        out[f"{key}_per_s"] = round(statistics.median(r[0] for r in figures), 1)
        out[f"{key}_cpu_ms"] = round(statistics.median(r[1] for r in figures) * 1000, 3)
    return out


def main() -> None:
    p = common.parser(__doc__ or "")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=1000, help="requests per round and kind")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.quick:
        args.clients, args.requests, args.rounds = 2, 20, 1
    f = measure(args.clients, args.requests, args.rounds, warmup=20 if args.quick else 300)
    rows: list[tuple[str, Any, str]] = []
    for server in f["servers"]:
        for what in ("healthz", "send"):
            rows.append((f"{server}, {'GET /healthz' if what == 'healthz' else 'small send'}",
                         f[f"{server}_{what}_cpu_ms"],
                         f"ms CPU per request; {f[f'{server}_{what}_per_s']}/s"))
    if "granian" not in f["servers"]:
        rows.append(("granian", "-", "not installed: pip install granian to compare"))
    common.table(f"Web server CPU per request ({f['workers']} workers x {f['threads']} threads)",
                 rows)
    common.emit("web_servers", f)


if __name__ == "__main__":
    main()
