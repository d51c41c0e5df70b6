"""The sandbox's Gmail API side (users.messages.send and friends). Filled in by its owner."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sandbox_gmail", __name__)
