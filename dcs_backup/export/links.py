"""Which download links an export follows: DCS's pre-signed links point at the region's object storage.

A link comes from an API answer, so it is judged before anything is fetched: https to a host
name under the allowed domains, or, only when the OBS endpoint itself is on this machine (the
emulator), http to this machine. The name is judged, never its resolved address (no DNS look-up),
and no reason quotes the link's query string: it carries a signature.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from dcs_backup.platform.endpoints import is_host_name, is_ip_address, is_loopback

HTTPS_PORT = 443
DOMAINS_VARIABLE = "DCS_LINK_DOMAINS"
DOMAINS_RULE = (
    f"{DOMAINS_VARIABLE} must list domain names separated by commas, e.g. obs.eu-de.otc.t-systems.com "
    "(at least two labels; no scheme, port, path or IP address)"
)
_URL_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"\\"}


def region_domain(region: str) -> str:
    """The region's OBS domain: buckets are ``<bucket>.obs.<region>.myhuaweicloud.com``."""
    return f"obs.{region}.myhuaweicloud.com"


def parse_domains(raw: str) -> tuple[tuple[str, ...], str | None]:
    """DCS_LINK_DOMAINS: lower-cased domain names (a leading or trailing "." ignored), or the problem."""
    domains = tuple(dict.fromkeys(part.strip().strip(".").lower() for part in raw.split(",") if part.strip()))
    if not domains or not all(_is_domain(d) for d in domains):
        return (), DOMAINS_RULE
    return domains, None


class LinkPolicy(NamedTuple):
    """Where links may point: https to ``domains`` (a host equal to one or under it); http(s) to this
    machine only when ``local`` (the OBS endpoint is on this machine)."""

    domains: tuple[str, ...]
    local: bool = False

    @classmethod
    def for_export(cls, configured: tuple[str, ...] | None, region: str | None, obs_endpoint: str) -> LinkPolicy:
        """DCS_LINK_DOMAINS, else the region's OBS domain, else the OBS endpoint's own host name."""
        host = (urlsplit(obs_endpoint).hostname or "").rstrip(".")
        if configured:
            domains = configured
        elif region:
            domains = (region_domain(region),)
        else:
            domains = (host,) if _is_domain(host) else ()
        return cls(domains, local=is_loopback(host))

    def problem(self, link: str) -> str | None:
        """Why ``link`` may not be fetched, or None when it may."""
        if not set(link) <= _URL_CHARACTERS:
            return "it holds characters a URL may not (spaces, backslashes, control or non-ASCII characters)"
        try:
            parts = urlsplit(link)
            port = parts.port
        except ValueError:
            return "it is not a URL (a bracket or the port is malformed)"
        host = (parts.hostname or "").rstrip(".")
        if parts.username is not None or parts.password is not None:
            return "it carries user information (user@host)"
        if self.local and is_loopback(host) and parts.scheme.lower() in ("http", "https"):
            return None
        return _remote_problem(parts, host, port) or self._domain_problem(host)

    def _domain_problem(self, host: str) -> str | None:
        if any(host == domain or host.endswith(f".{domain}") for domain in self.domains):
            return None
        allowed = ", ".join(self.domains) or "none"
        return f"its host {host} is not under the allowed domains ({allowed}; {DOMAINS_VARIABLE} sets them)"


def _remote_problem(parts: SplitResult, host: str, port: int | None) -> str | None:
    """What rules out a link to another machine before its domain is looked at."""
    if parts.scheme.lower() != "https":
        return "it is not https (plain http is followed only to this machine, when the OBS endpoint is on it)"
    if not host:
        return "it names no host"
    if is_ip_address(host):
        return "its host is an IP address, not a name under the allowed domains"
    if not is_host_name(host):
        return "its host is not a valid name"
    if port not in (None, HTTPS_PORT):
        return f"it names port {port} (object storage serves https on {HTTPS_PORT})"
    return None


def _is_domain(name: str) -> bool:
    return "." in name and is_host_name(name) and not is_ip_address(name)
