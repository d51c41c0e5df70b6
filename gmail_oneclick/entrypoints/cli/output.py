"""How a command talks: JSON for scripts, tables and sentences for people, a progress line and
confirmation questions only on a terminal.

stdout that is not a terminal (a pipe, a file, a script capturing it), and ``--json``, always
get the one JSON document the command has always printed; a terminal gets the human view of
the same document. The ``*_is_terminal`` functions are the only place that asks, so tests can
stand in for a terminal there.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
JSON_KEY = "gmail_oneclick.json"
REDRAW_SECONDS = 0.1  # a progress line redraws at most this often (and always at the end)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[JSON_KEY] = True


def json_option(func: F) -> F:
    """``--json``: print the JSON document even on a terminal."""
    option = click.option("--json", "json_output", is_flag=True, expose_value=False,
                          callback=_remember_json,
                          help="print JSON even on a terminal (always so when stdout is not one)")
    return option(func)


def yes_option(func: F) -> F:
    """``--yes``: do not ask (scripts never are asked: they have no terminal)."""
    return click.option("--yes", "-y", "yes", is_flag=True,
                        help="do not ask for confirmation on a terminal")(func)


def for_people() -> bool:
    """True when this command's output should be the human view."""
    ctx = click.get_current_context(silent=True)
    wants_json = bool(ctx is not None and ctx.meta.get(JSON_KEY))
    return not wants_json and stdout_is_terminal()


def emit(document: Any, human: Callable[[Any], None] | None = None) -> None:
    """Print ``document``: as JSON (unchanged for scripts), or through ``human`` for people."""
    if human is not None and for_people():
        human(document)
    else:
        click.echo(json.dumps(document, indent=2, sort_keys=True))


def confirm(question: str, *, yes: bool) -> None:
    """Ask on a terminal before a destructive change; a "no" aborts (exit 1, nothing changed).

    Asked only when both stdin and stdout are terminals: a script, a pipe or cron is never
    held waiting for an answer, and ``--yes`` skips the question.
    """
    if yes or not (stdin_is_terminal() and stdout_is_terminal()):
        return
    click.confirm(question, default=False, abort=True, err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Left-aligned columns under upper-case headers; None shows as a dash."""
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for row in [[h.upper() for h in headers], *cells]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def when(value: str | None) -> str:
    """An RFC 3339 timestamp as people read it: ``2026-11-28 19:02 UTC``."""
    if not value:
        return "-"
    return value.replace("T", " ")[:16] + " UTC"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def duration(seconds: float) -> str:
    """A short human duration: ``45 s``, ``12 min``, ``5 h 59 min``, ``3 d 4 h``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


class ProgressLine:
    """``label  done/total  pct  rate/s  time left`` redrawn in place on a terminal stream."""

    def __init__(self, label: str, stream: TextIO, *, clock: Callable[[], float] = time.monotonic,
                 every: float | None = None) -> None:
        self.label, self.stream, self.clock = label, stream, clock
        self.every = REDRAW_SECONDS if every is None else every
        self.started = clock()
        self._drawn_at: float | None = None

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if done < total and self._drawn_at is not None and now - self._drawn_at < self.every:
            return  # redraw at most every ``every`` seconds, but always show the end
        self._drawn_at = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = f"{duration((total - done) / rate)} left" if rate > 0 and done < total else "done"
        pct = 100 * done // total if total else 100
        self.stream.write(f"\r{self.label}  {done}/{total}  {pct}%  {rate:.0f}/s  {left}\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``(done, total)`` callback drawing on stderr when it is a terminal, else None (logs
    and scripts see no carriage returns)."""
    if not stderr_is_terminal():
        yield None
        return
    line = ProgressLine(label, sys.stderr)
    try:
        yield line.update
    finally:
        line.close()
