"""Where a send's CPU goes inside a worker: a sampling profile of the Procfile's web process
under the same load as send_throughput, split into the stages of a send.

Method: the service runs as in send_throughput (gunicorn, the settings' workers and threads,
the sandbox in its own process); ``--clients`` threads send small messages in a closed loop.
After a warm-up, ``py-spy record`` samples every worker for ``--seconds`` (``--rate`` samples
a second of the thread holding the GIL, the one running Python) while the service's CPU per
send is measured from /proc. Each sample goes to the most specific stage with a frame on its
stack (the Gmail call inside the send service inside Flask is "Gmail call"), and a stage's
share of the samples times the CPU per send is its milliseconds per send. Samples see Python
frames only: time in the kernel and in C code that let go of the GIL (a socket call, an
SQLite step) is spread over the stages in proportion, so read the split as where Python
spends a send, scaled to the CPU measured."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import common
from bench.send_throughput import service_sender

# (stage, substrings of a frame "function (file:line)" that mark it), most specific first.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("Gmail call (HTTP to Gmail, answer parsed)", ("adapters/google/gmail",)),
    ("token decrypt (AES-GCM, data key unwrap)", ("token_store/envelope", "cryptography/")),
    ("SQL: API key check", ("web/auth.py", "services/sites.py")),
    ("SQL: connection and cached token", ("choose_connection", "cached_access_token")),
    ("SQL: audit record", ("_finish",)),
    ("message headers checked (email parser)", ("services/mime.py",)),
    ("body read, base64 decoded", ("send_body.py", "message_from_request")),
    ("send service (idempotency, retries, telemetry)", ("services/",)),
    ("Flask: routing, contexts, hooks, JSON answer", ("flask/", "werkzeug/", "entrypoints/web")),
    ("gunicorn: accept, parse, respond", ("gunicorn/",)),
]
OTHER = "other (thread start, logging, GC)"


def stage_of(stack: str) -> str:
    """The first of STAGES with a frame on the stack: the most specific part of a send the
    sample was in (a SELECT under the API key check is the key check, not Flask)."""
    for stage, marks in STAGES:
        if any(mark in stack for mark in marks):
            return stage
    return OTHER


def stages(collapsed: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[stage_of(stack)] += int(n)
    return counts


def _load(url: str, auth: dict[str, str], raw: bytes, clients: int, stop: threading.Event,
          sent: list[int]) -> list[threading.Thread]:
    make_sender = service_sender(url, auth, raw)
    lock = threading.Lock()

    def client() -> None:
        send = make_sender()
        while not stop.is_set():
            if send():
                with lock:
                    sent[0] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    return threads


def py_spy() -> str:
    found = Path(sys.executable).with_name("py-spy")
    if not found.exists():
        raise SystemExit("py-spy is not installed: pip install -e '.[test]'")
    return str(found)


def record(service: common.ServiceProcess, seconds: float, rate: int) -> str:
    """py-spy's collapsed stacks of every worker over ``seconds``."""
    out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False)  # noqa: SIM115
    out.close()
    try:
        subprocess.run([py_spy(), "record", "--pid", str(service.process.pid), "--subprocesses",
                        "--duration", str(int(seconds)), "--rate", str(rate), "--format", "raw",
                        "--nonblocking", "--gil", "--output", out.name],
                       check=True, capture_output=True, timeout=seconds + 60)
        text = Path(out.name).read_text()
        if os.environ.get("BENCH_PROFILE_KEEP"):
            Path(os.environ["BENCH_PROFILE_KEEP"]).write_text(text)
        return text
    finally:
        os.unlink(out.name)


def measure(clients: int, seconds: float, rate: int) -> dict[str, Any]:
    with common.world(accounts=1) as w:
        site, raw = common.sending_site(w)
        with common.ServiceProcess(w.values) as service:
            stop, sent = threading.Event(), [0]
            threads = _load(service.url, site.auth, raw, clients, stop, sent)
            time.sleep(5)  # warm-up: pools, caches, specialised code
            cpu0, sent0 = service.cpu_seconds(), sent[0]
            collapsed = record(service, seconds, rate)
            cpu, sends = service.cpu_seconds() - cpu0, sent[0] - sent0
            stop.set()
            for t in threads:
                t.join(70)
    counts = stages(collapsed)
    total = sum(counts.values()) or 1
    ms_per_send = 1000 * cpu / max(1, sends)
    return {"sends": sends, "samples": total, "service_cpu_ms_per_send": round(ms_per_send, 3),
            "stages_ms": {stage: round(ms_per_send * n / total, 3)
                          for stage, n in counts.most_common()}}


def main() -> None:
    p = common.parser(__doc__ or "")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15.0, help="how long py-spy samples")
    p.add_argument("--rate", type=int, default=200, help="samples per second")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.clients = 2.0, 2
    figures = measure(args.clients, args.seconds, args.rate)
    rows: list[tuple[str, Any, str]] = [
        ("service CPU per send (ms)", figures["service_cpu_ms_per_send"],
         f"gunicorn master+workers, /proc, over {figures['sends']} sends"),
    ]
    rows += [(stage, ms, "ms per send") for stage, ms in figures["stages_ms"].items()]
    common.table("Where a send's CPU goes (py-spy inside the workers)", rows)
    common.emit("profile_send", figures)


if __name__ == "__main__":
    main()
