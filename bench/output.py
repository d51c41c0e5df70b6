"""Arguments and output shared by the benchmarks: a short table, then one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Sequence
from typing import Any


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks the script works, figures mean little")
    return p


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
