"""Arguments, timing and output shared by the benchmarks: a short table, then one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks the script works, figures mean little")
    return p


def size(description: str, name: str, *, default: int, quick: int) -> int:
    """The one size a benchmark takes (``--NAME``); ``quick`` when run with --quick."""
    p = parser(description)
    p.add_argument(f"--{name}", type=int, default=default)
    args = p.parse_args()
    return quick if args.quick else int(getattr(args, name))


def race(count: int, target: Callable[[threading.Barrier], None]) -> float:
    """Run ``target(start)`` in ``count`` threads, each calling ``start.wait()`` once it is set
    up (connected, say); the seconds from when all are set up until the last one finished."""
    start = threading.Barrier(count + 1)
    threads = [threading.Thread(target=target, args=(start,), daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began


def table(title: str, rows: Sequence[tuple[str, Any, str]]) -> None:
    """Print ``rows`` of (figure, value, target or note) under ``title``."""
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {name:<{width}}  {shown:>12}  {note}")


def emit(bench: str, figures: dict[str, Any]) -> None:
    """The last line every script prints: machine-readable figures."""
    print(json.dumps({"bench": bench, **figures}, sort_keys=True), flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(terse=True)}
