"""Sends per second through the service vs the same sends made directly with
google-api-python-client, and the service's CPU time per send.

Method: the Google sandbox runs in its own process; the service runs under gunicorn (the
Procfile's web command, default workers and threads) in another. This process is the load:
``--clients`` threads, each sending small messages (~0.4 KB) in a closed loop. Directly: each
thread builds its own Gmail client (``googleapiclient.discovery.build`` with google-auth
credentials holding the account's own access token) and calls ``users.messages.send``. Through
the service: each thread POSTs ``{"raw": ...}`` to ``/v1/messages`` with the site's API key.
Service CPU is utime+stime of gunicorn's master and workers from /proc/<pid>/stat over the
timed phase, minus its idle rate measured just before, divided by the sends.

Each path first makes 500 untimed sends (connection pools, thread pools, SQLite's page cache
and the interpreter's specialised code warm up), then runs ``--rounds`` timed rounds (default
5), each with new client connections, and the figures are the median round's. On 2 cores one
round's CPU per send moves by up to 25% with how gunicorn's workers happened to accept the 8
keep-alive connections (7 on one worker and 1 on the other costs far more GIL hand-offs than
4 and 4) and with whatever else the machine is doing; every round's figure is printed too.
"""

from __future__ import annotations

import base64
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from bench import common

TARGET_RATIO = 0.6
TARGET_CPU_MS = 2.0


def run_clients(clients: int, total: int, make_sender: Callable[[], Callable[[], bool]],
                ) -> tuple[float, int, int]:
    """``total`` sends spread over ``clients`` threads; (seconds, ok, failed)."""
    lock = threading.Lock()
    left = [total]
    ok = [0, 0]

    def worker(start: threading.Barrier) -> None:
        send = make_sender()
        start.wait()
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            good = send()
            with lock:
                ok[0 if good else 1] += 1

    return common.race(clients, worker), ok[0], ok[1]


def direct_sender(endpoint: str, access_token: str, raw: bytes) -> Callable[[], Callable[[], bool]]:
    def make() -> Callable[[], bool]:
        from google.oauth2.credentials import Credentials
        from googleapiclient.discovery import build

        gmail = build("gmail", "v1", credentials=Credentials(token=access_token),
                      static_discovery=True, client_options={"api_endpoint": endpoint})
        body = {"raw": base64.urlsafe_b64encode(raw).decode()}

        def send() -> bool:
            answer = gmail.users().messages().send(userId="me", body=body).execute()
            return bool(answer.get("id"))

        return send

    return make


def service_sender(url: str, auth: dict[str, str], raw: bytes) -> Callable[[], Callable[[], bool]]:
    body = {"raw": base64.urlsafe_b64encode(raw).decode().rstrip("=")}

    def make() -> Callable[[], bool]:
        session = requests.Session()

        def send() -> bool:
            response = session.post(url + "/v1/messages", json=body, headers=auth, timeout=60)
            return response.status_code == 200

        return send

    return make


# One timed round: (sends per second, CPU seconds per send, failed sends).
Round = tuple[float, float, int]


def direct_rounds(sandbox: common.RemoteSandbox, access_token: str, raw: bytes, clients: int,
                  sends: int, warmup: int, rounds: int) -> list[Round]:
    """The direct client's rounds, its CPU being this process's."""
    direct = direct_sender(sandbox.url + "/", access_token, raw)
    run_clients(clients, warmup, direct)
    out: list[Round] = []
    for _ in range(rounds):
        sandbox.call("forget_sent")
        cpu0 = time.process_time()
        seconds, ok, failed = run_clients(clients, sends, direct)
        out.append((ok / seconds, (time.process_time() - cpu0) / max(1, ok), failed))
    return out


def service_rounds(sandbox: common.RemoteSandbox, service: common.ServiceProcess,
                   site: common.BenchSite, raw: bytes, clients: int, sends: int, warmup: int,
                   rounds: int) -> list[Round]:
    """The service's rounds, its CPU being gunicorn's (idle rate subtracted)."""
    via = service_sender(service.url, site.auth, raw)
    run_clients(clients, warmup, via)
    idle = common.idle_cpu_rate(service)
    out: list[Round] = []
    for _ in range(rounds):
        sandbox.call("forget_sent")
        before = service.cpu_seconds()
        seconds, ok, failed = run_clients(clients, sends, via)
        busy = service.cpu_seconds() - before - idle * seconds
        out.append((ok / seconds, busy / max(1, ok), failed))
    return out


def figures_of(direct: list[Round], service: list[Round]) -> dict[str, Any]:
    """The median round's figures of both paths, and every round's service figures."""
    direct_rate = statistics.median(r[0] for r in direct)
    service_rate = statistics.median(r[0] for r in service)
    service_cpu = [round(r[1] * 1000, 3) for r in service]
    return {
        "direct_sends_per_s": round(direct_rate, 1),
        "service_sends_per_s": round(service_rate, 1),
        "ratio": round(service_rate / direct_rate, 3),
        "service_cpu_ms_per_send": round(statistics.median(service_cpu), 3),
        "service_cpu_ms_per_send_rounds": service_cpu,
        "service_sends_per_s_rounds": [round(r[0], 1) for r in service],
        "direct_client_cpu_ms_per_send": round(
            statistics.median(r[1] for r in direct) * 1000, 3),
        "failed": sum(r[2] for r in direct) + sum(r[2] for r in service),
    }


def measure(clients: int, sends: int, warmup: int, workers: int | None = None,
            threads: int | None = None, rounds: int = 5) -> dict[str, Any]:
    load = {"clients": clients, "sends": sends, "warmup": warmup, "rounds": rounds}
    with common.world(accounts=1) as w:
        site = common.add_site(w.container)
        # Two grants of the one account: the service holds one, the direct client the other.
        ours, theirs = w.sandbox.grants(0, 1)[0], w.sandbox.grants(0, 1)[0]
        common.store_connections(w.container, site.id, [ours])
        w.container.engine.dispose()
        raw = common.make_message(ours["email"])
        direct = direct_rounds(w.sandbox, theirs["access_token"], raw, **load)
        with common.ServiceProcess(w.values, workers=workers, threads=threads) as service:
            shape = {"workers": service.workers, "threads": service.threads}
            served = service_rounds(w.sandbox, service, site, raw, **load)
        counts = w.sandbox.counts()
    return {"clients": clients, "sends": sends, "rounds": rounds, "message_bytes": len(raw),
            **figures_of(direct, served), "refreshes": counts["refreshes"], **shape}


def main() -> None:
    p = common.parser(__doc__ or "")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--sends", type=int, default=1500, help="sends per path and round")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per path (median kept)")
    p.add_argument("--workers", type=int, default=None,
                   help="gunicorn workers (default: the settings' default)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per worker (default: the settings' default)")
    args = p.parse_args()
    if args.quick:
        args.clients, args.sends, args.rounds = 2, 20, 1
    figures = measure(args.clients, args.sends, warmup=20 if args.quick else 500,
                      workers=args.workers, threads=args.threads, rounds=max(1, args.rounds))
    common.table("Send throughput (small messages, POST /v1/messages vs direct client)", [
        ("direct google-api-python-client", figures["direct_sends_per_s"], "sends/s"),
        ("through the service", figures["service_sends_per_s"], "sends/s"),
        ("ratio service/direct", figures["ratio"], f"target >= {TARGET_RATIO}"),
        ("service CPU per send (ms)", figures["service_cpu_ms_per_send"],
         f"target <= {TARGET_CPU_MS} (gunicorn master+workers, /proc, idle subtracted; "
         f"median of rounds {figures['service_cpu_ms_per_send_rounds']})"),
        ("direct client CPU per send (ms)", figures["direct_client_cpu_ms_per_send"],
         "for comparison: the client library in this process"),
        ("failed sends", figures["failed"], "should be 0"),
        ("gunicorn workers x threads", f"{figures['workers']} x {figures['threads']}",
         "the settings' defaults unless --workers/--threads"),
    ])
    common.emit("send_throughput", {**figures, "target_ratio": TARGET_RATIO,
                                    "target_cpu_ms": TARGET_CPU_MS})


if __name__ == "__main__":
    main()
