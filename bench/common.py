"""Shared helpers of the benchmarks, in one namespace: each script builds its own world from
these (``from bench import common``). They live by concern in:

- ``bench.sandbox_process``: ``RemoteSandbox``, the Google sandbox in its own process.
- ``bench.world``: ``fresh_database()``, the settings and container, ``world()`` on both.
- ``bench.service_process``: ``ServiceProcess``, the service under gunicorn, and its CPU.
- ``bench.seeding``: sites, connections holding real sandbox tokens, messages.
- ``bench.output``: arguments, a short table, then one JSON line.

Nothing here talks to anything beyond 127.0.0.1. Tokens never get printed.
"""

from __future__ import annotations

from bench.output import emit, machine, parser, percentile, race, size, table
from bench.sandbox_process import BENCH_EMAIL, REDIRECT_URI, RemoteSandbox
from bench.seeding import BenchSite, add_site, make_message, sending_site, store_connections
from bench.service_process import CLK_TCK, ServiceProcess, idle_cpu_rate
from bench.world import (
    World,
    build_container,
    fresh_database,
    keyring_text,
    settings_values,
    world,
)

__all__ = [
    "BENCH_EMAIL", "CLK_TCK", "REDIRECT_URI", "BenchSite", "RemoteSandbox", "ServiceProcess",
    "World", "add_site", "build_container", "emit", "fresh_database", "idle_cpu_rate",
    "keyring_text", "machine", "make_message", "parser", "percentile", "race", "settings_values",
    "sending_site", "size", "store_connections", "table", "world",
]
