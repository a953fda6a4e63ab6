"""Function configuration, read from the environment (FunctionGraph user data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from dcs_backup.errors import ConfigurationError

BACKUP_FORMATS = ("rdb", "aof")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_MAX_CONCURRENCY = 4
MAX_CONCURRENCY_LIMIT = 32


@dataclass(frozen=True)
class Settings:
    """Everything the operator configures; requests may override the backup defaults."""

    region: str | None = None
    endpoint: str | None = None
    project_id: str | None = None
    default_instance_ids: tuple[str, ...] = ()
    default_backup_format: str = "rdb"
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    allowed_instance_ids: frozenset[str] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable, naming each one that is wrong."""
        problems: list[str] = []
        backup_format = _get(env, "DCS_BACKUP_FORMAT") or "rdb"
        if backup_format not in BACKUP_FORMATS:
            problems.append(f"DCS_BACKUP_FORMAT must be one of {', '.join(BACKUP_FORMATS)} (got {backup_format!r})")
        log_level = requested_log_level(env)
        if log_level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {log_level!r})")
        max_concurrency = _parse_concurrency(_get(env, "DCS_MAX_CONCURRENCY"), problems)
        endpoint = _get(env, "DCS_ENDPOINT")
        if endpoint is not None and urlparse(endpoint).scheme not in ("http", "https"):
            problems.append(f"DCS_ENDPOINT must be an http:// or https:// URL (got {endpoint!r})")
        if problems:
            raise ConfigurationError("invalid configuration: " + "; ".join(problems))
        allowed = _split_ids(_get(env, "DCS_ALLOWED_INSTANCE_IDS"))
        return cls(
            region=_get(env, "DCS_REGION"),
            endpoint=endpoint,
            project_id=_get(env, "DCS_PROJECT_ID"),
            default_instance_ids=_split_ids(_get(env, "DCS_INSTANCE_IDS")),
            default_backup_format=backup_format,
            max_concurrency=max_concurrency,
            allowed_instance_ids=frozenset(allowed) if allowed else None,
        )


def requested_log_level(env: Mapping[str, str]) -> str:
    """LOG_LEVEL upper-cased, INFO when unset; whether it is valid is for the caller to judge."""
    return (_get(env, "LOG_LEVEL") or "INFO").upper()


def _get(env: Mapping[str, str], name: str) -> str | None:
    """A variable's stripped value; empty counts as unset (the console keeps empty values)."""
    value = env.get(name, "").strip()
    return value or None


def _split_ids(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _parse_concurrency(raw: str | None, problems: list[str]) -> int:
    if raw is None:
        return DEFAULT_MAX_CONCURRENCY
    if raw.isdigit() and 1 <= int(raw) <= MAX_CONCURRENCY_LIMIT:
        return int(raw)
    problems.append(f"DCS_MAX_CONCURRENCY must be a whole number from 1 to {MAX_CONCURRENCY_LIMIT} (got {raw!r})")
    return DEFAULT_MAX_CONCURRENCY
