"""gunicorn settings taken from gmail-oneclick's settings (workers, threads, bind)."""

from __future__ import annotations

import os

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
