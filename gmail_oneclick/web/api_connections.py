"""api_connections endpoints. (Filled in by the issue that owns it.)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_connections", __name__)
