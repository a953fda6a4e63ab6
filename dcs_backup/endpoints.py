"""Checking an operator-given service endpoint before any credential is sent to it."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_LOOPBACK_NAMES = frozenset({"localhost"})


def check_endpoint(variable: str, value: str) -> tuple[str | None, str | None]:
    """The endpoint normalised (lower-case scheme, no trailing slash), or a problem naming ``variable``.

    Signed requests carry the security token in a header: plain http is allowed only to
    this machine, where nothing crosses a network.
    """
    problem = f"{variable} must be an https:// URL with a host and an optional port (got {value!r})"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None, problem
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not _is_host(host) or parts.username or parts.password:
        return None, problem
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None, problem
    if scheme == "http" and not _is_loopback(host):
        return None, f"{variable} must use https for a host other than this machine: use https ({value!r})"
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}" + (f":{port}" if port is not None else ""), None


def _is_host(host: str) -> bool:
    if _HOST_NAME.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
