"""gunicorn settings taken from gmail-oneclick's settings (workers, threads, bind).

Metrics across workers: export ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, fresh per
deployment, shared with the checker on the same host) before gunicorn starts; see
gmail_oneclick/metrics.py.
"""

from __future__ import annotations

import os
from typing import Any

from gmail_oneclick.settings import load_settings

_settings = load_settings()

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = _settings.web_workers
threads = _settings.web_threads
worker_class = "gthread"
timeout = 120  # a 35 MB upload to Gmail can take a while on a slow link
graceful_timeout = 30
accesslog = None  # request lines can carry query strings; the app logs what is safe
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"


def child_exit(server: Any, worker: Any) -> None:
    """A worker died: drop its live-gauge files so /metrics stops counting it (prometheus_client
    multiprocess mode). Its counters and histograms stay summed in, as they should."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
