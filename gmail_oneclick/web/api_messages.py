"""api_messages endpoints. (Filled in by the issue that owns it.)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_messages", __name__)
