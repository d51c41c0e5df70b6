"""Sends per second and CPU per send through the service, against the same sends made
directly by a plugin-like client in two ways: google-api-python-client's Gmail client, and
google-auth's ``AuthorizedSession`` (requests) posting the same JSON.

Method: the Google sandbox runs in its own process; the service runs as the Procfile's web
line (gunicorn, the settings' workers and threads) in another. This process is the load:
``--clients`` threads, each sending small messages (~0.4 KB) in a closed loop.
- library: each thread builds its own Gmail client (``googleapiclient.discovery.build`` with
  google-auth credentials holding the account's own access token) and calls
  ``users.messages.send``;
- session: each thread holds an ``AuthorizedSession`` and POSTs ``{"raw": ...}`` to
  ``users/me/messages/send``;
- service: each thread POSTs ``{"raw": ...}`` to ``/v1/messages`` with the site's API key.
A direct client's CPU is this process's (``time.process_time``); the service's is utime+stime
of gunicorn's master and workers from /proc/<pid>/stat over the round, minus its idle rate
measured just before, divided by the sends.

Each path first makes 500 untimed sends (connection pools, thread pools, SQLite's page cache
and the interpreter's specialised code warm up), then the three run ``--rounds`` timed rounds
(default 5) in turn, library, session, service, each round with new client connections, so
a slower minute of a shared machine falls on all three alike. The figures are the median
round's. On 2 cores one round's CPU per send moves by up to 25% with how gunicorn's workers
happened to accept the 8 keep-alive connections and with whatever else the machine is doing;
every round's figure is printed too.

Targets (issue 14), each a ratio within this run: the service's CPU per send at most half
the library's, and its throughput at least 0.9 of the session's.
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

TARGET_CPU_RATIO = 0.5  # service CPU per send / google-api-python-client's
TARGET_RATE_RATIO = 0.9  # service sends per second / AuthorizedSession's


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


def session_sender(endpoint: str, access_token: str, raw: bytes,
                   ) -> Callable[[], Callable[[], bool]]:
    def make() -> Callable[[], bool]:
        from google.auth.transport.requests import AuthorizedSession
        from google.oauth2.credentials import Credentials

        session = AuthorizedSession(Credentials(token=access_token))
        url = endpoint + "gmail/v1/users/me/messages/send"
        body = {"raw": base64.urlsafe_b64encode(raw).decode()}

        def send() -> bool:
            answer = session.post(url, json=body, timeout=60)
            return answer.status_code == 200 and bool(answer.json().get("id"))

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


def client_round(sandbox: common.RemoteSandbox, sender: Callable[[], Callable[[], bool]],
                 clients: int, sends: int) -> Round:
    """A direct client's round, its CPU being this process's."""
    sandbox.call("forget_sent")
    cpu0 = time.process_time()
    seconds, ok, failed = run_clients(clients, sends, sender)
    return ok / seconds, (time.process_time() - cpu0) / max(1, ok), failed


def service_round(sandbox: common.RemoteSandbox, service: common.ServiceProcess,
                  sender: Callable[[], Callable[[], bool]], idle: float, clients: int,
                  sends: int) -> Round:
    """The service's round, its CPU being gunicorn's (idle rate subtracted)."""
    sandbox.call("forget_sent")
    before = service.cpu_seconds()
    seconds, ok, failed = run_clients(clients, sends, sender)
    busy = service.cpu_seconds() - before - idle * seconds
    return ok / seconds, busy / max(1, ok), failed


def _median(rounds: list[Round], i: int) -> float:
    return statistics.median(r[i] for r in rounds)


def figures_of(library: list[Round], session: list[Round], service: list[Round],
               ) -> dict[str, Any]:
    """The median round's figures of the three paths, their ratios, every service round."""
    library_cpu, service_cpu = _median(library, 1), _median(service, 1)
    return {
        "library_sends_per_s": round(_median(library, 0), 1),
        "session_sends_per_s": round(_median(session, 0), 1),
        "service_sends_per_s": round(_median(service, 0), 1),
        "rate_ratio": round(_median(service, 0) / _median(session, 0), 3),
        "rate_ratio_library": round(_median(service, 0) / _median(library, 0), 3),
        "library_cpu_ms_per_send": round(library_cpu * 1000, 3),
        "session_cpu_ms_per_send": round(_median(session, 1) * 1000, 3),
        "service_cpu_ms_per_send": round(service_cpu * 1000, 3),
        "cpu_ratio": round(service_cpu / library_cpu, 3),
        "service_cpu_ms_per_send_rounds": [round(r[1] * 1000, 3) for r in service],
        "service_sends_per_s_rounds": [round(r[0], 1) for r in service],
        "failed": sum(r[2] for r in library + session + service),
    }


def measure(clients: int, sends: int, warmup: int, workers: int | None = None,
            threads: int | None = None, rounds: int = 5) -> dict[str, Any]:
    with common.world(accounts=1) as w:
        # Two grants of the one account: the service holds one, the direct clients the other.
        site, raw = common.sending_site(w)
        theirs = w.sandbox.grants(0, 1)[0]
        endpoint = w.sandbox.url + "/"
        library = direct_sender(endpoint, theirs["access_token"], raw)
        session = session_sender(endpoint, theirs["access_token"], raw)
        with common.ServiceProcess(w.values, workers=workers, threads=threads) as service:
            shape = {"workers": service.workers, "threads": service.threads}
            via = service_sender(service.url, site.auth, raw)
            for sender in (library, session, via):
                run_clients(clients, warmup, sender)
            idle = common.idle_cpu_rate(service)
            paths: dict[str, list[Round]] = {"library": [], "session": [], "service": []}
            for _ in range(rounds):
                paths["library"].append(client_round(w.sandbox, library, clients, sends))
                paths["session"].append(client_round(w.sandbox, session, clients, sends))
                paths["service"].append(
                    service_round(w.sandbox, service, via, idle, clients, sends))
        counts = w.sandbox.counts()
    return {"clients": clients, "sends": sends, "rounds": rounds, "message_bytes": len(raw),
            **figures_of(paths["library"], paths["session"], paths["service"]),
            "refreshes": counts["refreshes"], **shape}


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
    f = figures
    common.table("Small sends: through the service vs a plugin calling Gmail directly", [
        ("direct, google-api-python-client", f["library_sends_per_s"],
         f"sends/s; {f['library_cpu_ms_per_send']} ms CPU per send"),
        ("direct, AuthorizedSession (requests)", f["session_sends_per_s"],
         f"sends/s; {f['session_cpu_ms_per_send']} ms CPU per send"),
        ("through the service", f["service_sends_per_s"],
         f"sends/s; {f['service_cpu_ms_per_send']} ms CPU per send (gunicorn master+workers, "
         f"idle subtracted; rounds {f['service_cpu_ms_per_send_rounds']})"),
        ("service CPU / library CPU per send", f["cpu_ratio"],
         f"target <= {TARGET_CPU_RATIO}"),
        ("service sends/s / AuthorizedSession sends/s", f["rate_ratio"],
         f"target >= {TARGET_RATE_RATIO}"),
        ("service sends/s / library sends/s", f["rate_ratio_library"], "for comparison"),
        ("failed sends", f["failed"], "should be 0"),
        ("gunicorn workers x threads", f"{f['workers']} x {f['threads']}",
         "the settings' defaults unless --workers/--threads"),
    ])
    common.emit("send_throughput", {**figures, "target_cpu_ratio": TARGET_CPU_RATIO,
                                    "target_rate_ratio": TARGET_RATE_RATIO})


if __name__ == "__main__":
    main()
