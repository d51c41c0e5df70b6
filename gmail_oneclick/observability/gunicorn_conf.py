"""gunicorn settings taken from gmail-oneclick's settings (workers, threads, bind).

Used by the Procfile's ``web`` process::

    gunicorn --config python:gmail_oneclick.observability.gunicorn_conf \
        'gmail_oneclick.entrypoints.web:create_app()'

``GUNICORN_BIND`` (default ``0.0.0.0:$PORT``, ``PORT`` default 8000) picks the address;
``GMAIL_ONECLICK_WEB_WORKERS`` and ``GMAIL_ONECLICK_WEB_THREADS`` the process and thread counts.

Metrics across workers: export ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, fresh per
deployment, shared with the checker on the same host) before gunicorn starts; see
gmail_oneclick/observability/metrics.py.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from gmail_oneclick.settings import SettingsError, load_settings

_settings = load_settings()
if _settings.web_workers < 1 or _settings.web_threads < 1:
    # gunicorn would otherwise start a master that serves nothing (0 workers) or fail obscurely.
    raise SettingsError("GMAIL_ONECLICK_WEB_WORKERS and GMAIL_ONECLICK_WEB_THREADS must be at "
                        "least 1")

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
if not bind.startswith(("unix:", "fd://")):
    from gmail_oneclick.bootstrap import refuse_public_sandbox

    refuse_public_sandbox(_settings, listen_host=bind.rsplit(":", 1)[0])
workers = _settings.web_workers
threads = _settings.web_threads
worker_class = "gthread"
timeout = 120  # a 35 MB upload to Gmail can take a while on a slow link
graceful_timeout = 30
accesslog = None  # request lines can carry query strings; the app logs what is safe


class NoAccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger without access lines. With ``logconfig_dict`` set, gunicorn builds
    every request's access-log atoms (a dict of headers, times, formatted dates) only for the
    line to be dropped: a measurable share of a send's CPU."""

    @property
    def access_log_enabled(self) -> bool:
        return False

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = NoAccessLogger
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
# gunicorn >= 24 opens a control socket in $HOME by default: nothing here uses it, a second
# instance on the host would take over the same path, and $HOME may be read-only in a container.
control_socket_disable = True

# gunicorn's own lines (start, worker boot and exit, tracebacks) in the service's format: one
# JSON object per line on stderr (README, Deployment), like every other log line of the service
# (readable lines instead when stderr is a terminal).
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"service": {"()": "gmail_oneclick.observability.logs.stderr_formatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "service",
                            "stream": "ext://sys.stderr"}},
    # The app adds its own JSON handler to the root logger (gmail_oneclick.observability.logs).
    "root": {"level": _settings.log_level.upper(), "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def child_exit(server: Any, worker: Any) -> None:
    """A worker died: drop its live-gauge files so /metrics stops counting it (prometheus_client
    multiprocess mode). Its counters and histograms stay summed in, as they should."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
