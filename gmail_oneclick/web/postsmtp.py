"""postsmtp endpoints. (Filled in by the issue that owns it.)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("postsmtp", __name__)
