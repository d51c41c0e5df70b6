"""schemathesis, with every check it offers, against the Procfile's ``web`` process (gunicorn).

The document is the one gunicorn serves at /openapi.json; the site's bearer key goes on every
request, and the site has one Gmail account connected through the real consent flow (sandbox
Google), so the document's examples really send. Examples and time are bounded so that the run
takes about a minute and a half; any failure fails the test with schemathesis's report.

Every check schemathesis offers runs but ``use_after_free``: DELETE revokes and purges the
tokens while the connection itself stays, ``reconnect_required`` with the reason
``disconnected``, so that the site can show what happened and export it (a documented answer).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gmail_oneclick.settings import Settings
from tests.conftest import RegisteredSite
from tests.multiprocess.conftest import connect
from tests.procfile_web import web_process

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
ACCOUNT = "admin@example.com"  # the From address of the document's example messages


def test_schemathesis_with_every_check_finds_nothing_against_gunicorn(
    settings: Settings, app: Any, site: RegisteredSite, tmp_path: Path
) -> None:
    with web_process(settings.replace(registration="open")) as url:
        connect(SimpleNamespace(url=url), site, ACCOUNT)  # type: ignore[arg-type]
        run = subprocess.run(  # noqa: S603 - our own fixed command line
            [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
             "--checks", "all", "--exclude-checks", "use_after_free",
             "--header", f"Authorization: Bearer {site.api_key}",
             "--max-examples", "15", "--seed", "20251125", "--max-time", "75",
             "--workers", "1", "--request-timeout", "20", "--no-color"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(CONFIG.parent)},
            capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
