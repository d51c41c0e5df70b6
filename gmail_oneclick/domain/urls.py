"""URL rules shared by settings, sites and the API: https, or http on loopback only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_service_url(url: str) -> bool:
    """True when ``url`` is an absolute https:// URL, or http:// on a loopback host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an acceptable URL (default ports dropped), else None."""
    if not check_service_url(url):
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def normalise_origin(url: str) -> str | None:
    """The origin a site registers: a URL with no path beyond '/', no query, no fragment."""
    if not check_service_url(url):
        return None
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return origin_of(url)
