"""DELETE /v1/connections/<id> and its export. (Filled in by the revocation issue.)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_lifecycle", __name__)
