"""Who the function acts as and where: agency credentials, project and DCS endpoint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dcs_backup.dcs.regions import region_endpoint
from dcs_backup.platform.errors import ConfigurationError
from dcs_backup.platform.function_context import context_value

_PROJECT_ID = re.compile(r"[A-Za-z0-9]{1,64}")


class DcsLocation(NamedTuple):
    """Where DCS is, as configured: DCS_REGION, DCS_ENDPOINT and DCS_PROJECT_ID (each may be unset)."""

    region: str | None
    endpoint: str | None
    project_id: str | None


class DcsAccess(NamedTuple):
    """Temporary credentials of the function's agency plus the DCS location to call.

    Built anew on every invocation: agency keys expire after 24 hours and a warm
    container can outlive them.
    """

    access_key: str
    secret_key: str
    security_token: str | None
    project_id: str
    endpoint: str

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line, error or response."""
        return tuple(s for s in (self.access_key, self.secret_key, self.security_token) if s)

    @property
    def internals(self) -> tuple[str, ...]:
        """Values a caller has no need to see: the project id and where DCS is reached."""
        parts = urlsplit(self.endpoint)
        return (self.project_id, self.endpoint, parts.netloc, parts.hostname or "")

    def __repr__(self) -> str:
        return f"DcsAccess(project_id={self.project_id!r}, endpoint={self.endpoint!r})"


def resolve_access(context: Any, settings: DcsLocation, env: Mapping[str, str]) -> DcsAccess:
    """Collect credentials and location, failing with one message that names all that is missing.

    An empty access key must never reach the SDK: it would quietly ask the ECS metadata
    service for keys instead of failing.
    """
    access_key = context_value(context, "getSecurityAccessKey")
    secret_key = context_value(context, "getSecuritySecretKey")
    token = context_value(context, "getSecurityToken")
    problems = []
    if bool(access_key) != bool(secret_key):
        given, missing = ("access key", "secret key") if access_key else ("secret key", "access key")
        local = "HUAWEICLOUD_SDK_SK" if access_key else "HUAWEICLOUD_SDK_AK"
        problems.append(f"credentials: an {given} is set but no {missing} (locally: set {local})")
    elif not access_key:
        problems.append(
            "credentials: the function has no agency keys; attach an agency that may back up DCS instances "
            "(template/ creates one) or, locally, set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"
        )
    project_id = _project_id(context, settings, env, problems)
    if not settings.region and not settings.endpoint:
        problems.append("region: set DCS_REGION (e.g. cn-north-4) or DCS_ENDPOINT")
    if problems:
        raise ConfigurationError("missing or invalid configuration: " + "; ".join(problems))
    return DcsAccess(
        access_key=access_key,
        secret_key=secret_key,
        security_token=token or None,
        project_id=project_id,
        endpoint=settings.endpoint or region_endpoint(str(settings.region)),
    )


def _project_id(context: Any, settings: DcsLocation, env: Mapping[str, str], problems: list[str]) -> str:
    """DCS_PROJECT_ID, else the context's, else RUNTIME_PROJECT_ID; it goes into every URL, so it is checked."""
    sources = (
        ("DCS_PROJECT_ID", settings.project_id or ""),
        ("the context's project id", context_value(context, "getProjectID")),
        ("RUNTIME_PROJECT_ID", env.get("RUNTIME_PROJECT_ID", "").strip()),
    )
    source, project_id = next(((name, value) for name, value in sources if value), ("", ""))
    if not project_id:
        problems.append("project id: set DCS_PROJECT_ID to the project of the DCS instances' region")
    elif not _PROJECT_ID.fullmatch(project_id):
        problems.append(f"{source} must be a project id: 1 to 64 letters and digits (e.g. 32 hex digits)")
    return project_id
