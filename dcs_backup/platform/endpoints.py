"""Checking an operator-given service endpoint before any credential is sent to it.

Problems never quote the value: it may hold a password (``user:pw@``) or an internal host
name, and a configuration error reaches HTTP callers.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_MAX_HOST_NAME = 253
_LOOPBACK_NAMES = frozenset({"localhost"})
_FORM = "https://host[:port] with nothing after it"


def check_endpoint(variable: str, value: str) -> tuple[str | None, str | None]:
    """The endpoint normalised (lower-case scheme, no trailing slash), or a problem naming ``variable``.

    Signed requests carry the security token in a header: plain http is allowed only to
    this machine, where nothing crosses a network.
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None, f"{variable} is not a URL of the form {_FORM} (a bracket or the port is malformed)"
    problem = _shape_problem(parts, port)
    if problem is not None:
        return None, f"{variable} must be {_FORM}: {problem}"
    host = parts.hostname or ""
    if parts.scheme.lower() == "http" and not is_loopback(host):
        return None, f"{variable} uses plain http to a host other than this machine: use https"
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{netloc}" + (f":{port}" if port is not None else ""), None


def _shape_problem(parts: SplitResult, port: int | None) -> str | None:
    if parts.scheme.lower() not in ("http", "https"):
        return "the scheme is not https (or http to this machine)"
    if parts.username is not None or parts.password is not None:
        return "it must not carry user:password@"
    if not _is_host(parts.hostname or ""):
        return "the host is missing or not a valid name or address"
    if port == 0:
        return "port 0 cannot be reached"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "it has a path, query or fragment"
    return None


def is_host_name(host: str) -> bool:
    """Shaped like a DNS name: dot-separated labels of letters, digits and hyphens (so is an IPv4 address)."""
    return len(host) <= _MAX_HOST_NAME and _HOST_NAME.fullmatch(host) is not None


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_host(host: str) -> bool:
    return is_host_name(host) or is_ip_address(host)


def is_loopback(host: str) -> bool:
    """This machine, by name or address: the only place plain http may go."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
