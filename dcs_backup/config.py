"""Function configuration, read from the environment (FunctionGraph user data)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from dcs_backup.dcs.access import DcsLocation
from dcs_backup.dcs.models import BACKUP_FORMATS, INSTANCE_ID_RULE, MAX_INSTANCE_IDS, is_instance_id
from dcs_backup.export.links import parse_domains
from dcs_backup.export.spec import (
    DEFAULT_PART_MB,
    DEFAULT_PREFIX,
    FILES_AT_ONCE_RANGE,
    KMS_KEY_ID_RULE,
    PART_MB_RANGE,
    ExportSpec,
    bucket_problem,
    is_kms_key_id,
    prefix_problem,
)
from dcs_backup.platform.endpoints import check_endpoint
from dcs_backup.platform.errors import ConfigurationError
from dcs_backup.platform.text import ascii_whole_number, show_list, show_value
from dcs_backup.retention.rules import KEEP_LAST_RANGE, MAX_AGE_DAYS_RANGE, RetentionRule
from dcs_backup.selection.spec import Selection, name_problems, parse_tag_list, repeated_tag_keys, tag_problems

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Set as FunctionGraph encrypted user data (they hold passwords), not as plain user data.
ENCRYPTED_VARIABLES = ("DCS_TARGET_PASSWORDS",)
MIN_PASSWORD_LENGTH = 8
DEFAULT_MAX_CONCURRENCY = 4
MAX_CONCURRENCY_LIMIT = 32
# API Gateway's own default backend timeout; the template passes the one it configures.
DEFAULT_HTTP_TIMEOUT_MS = 5_000
HTTP_TIMEOUT_MS_RANGE = (1, 600_000)
DEFAULT_RPO_HOURS = 24
DEFAULT_RECORD_PREFIX = "dcs-drills/"  # drill records, in the export bucket beside (never under) the exports
RPO_HOURS_RANGE = (1, 8760)
DRILL_AGE_DAYS_RANGE = (1, 3650)
NO_DRILL_RECORDS = "needs DCS_EXPORT_BUCKET, the bucket drill records are kept in"
PLATFORM_MEMORY_VARIABLE = "RUNTIME_MEMORY"  # the function's memory in MB, set by the platform


class TargetPasswords(Mapping[str, str]):
    """DCS_TARGET_PASSWORDS: instance id → Redis password, for imports into instances that need one.

    Its text form never shows a password, so the settings can be logged or compared safely.
    """

    def __init__(self, passwords: Mapping[str, str] | None = None) -> None:
        self._passwords = dict(passwords or {})

    def __getitem__(self, instance_id: str) -> str:
        return self._passwords[instance_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._passwords)

    def __len__(self) -> int:
        return len(self._passwords)

    def __repr__(self) -> str:
        return f"TargetPasswords({sorted(self._passwords)} → ***)"


class Settings(NamedTuple):
    """Everything the operator configures; requests may override the backup defaults."""

    region: str | None = None
    endpoint: str | None = None
    project_id: str | None = None
    default_instance_ids: tuple[str, ...] = ()
    default_backup_format: str = "rdb"
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    allowed_instance_ids: frozenset[str] | None = None
    http_timeout_ms: int = DEFAULT_HTTP_TIMEOUT_MS
    default_selection: Selection | None = None
    default_wait: bool = False
    default_retention: RetentionRule | None = None
    default_export: ExportSpec | None = None
    export_prefix: str = DEFAULT_PREFIX
    export_part_mb: int = DEFAULT_PART_MB
    export_kms_key_id: str | None = None
    export_files_at_once: int | None = None
    function_memory_mb: int | None = None
    obs_endpoint: str | None = None
    link_domains: tuple[str, ...] | None = None
    default_rpo_hours: int = DEFAULT_RPO_HOURS
    restore_targets: frozenset[str] = frozenset()  # empty: every restore is refused
    target_passwords: TargetPasswords = TargetPasswords()
    drill_instance: str | None = None  # the scratch instance drills restore into; None: drills are refused
    drill_record_prefix: str = DEFAULT_RECORD_PREFIX  # where in the export bucket each drill's record is kept
    default_max_drill_age_days: int | None = None  # the audit holds drills to it when set

    @property
    def location(self) -> DcsLocation:
        return DcsLocation(self.region, self.endpoint, self.project_id)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable, naming each one that is wrong."""
        problems: list[str] = []
        backup_format = _get(env, "DCS_BACKUP_FORMAT") or "rdb"
        if backup_format not in BACKUP_FORMATS:
            problems.append(
                f"DCS_BACKUP_FORMAT must be one of {', '.join(BACKUP_FORMATS)} (got {show_value(backup_format)})"
            )
        log_level = requested_log_level(env)
        if log_level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {show_value(log_level)})")
        endpoint = _endpoint(env, problems)
        allowed = _instance_ids(env, "DCS_ALLOWED_INSTANCE_IDS", problems, limit=None)
        settings = cls(
            region=_get(env, "DCS_REGION"),
            endpoint=endpoint,
            project_id=_get(env, "DCS_PROJECT_ID"),
            default_instance_ids=_instance_ids(env, "DCS_INSTANCE_IDS", problems, limit=MAX_INSTANCE_IDS) or (),
            default_backup_format=backup_format,
            max_concurrency=_whole_number(env, "DCS_MAX_CONCURRENCY", (1, MAX_CONCURRENCY_LIMIT), problems)
            or DEFAULT_MAX_CONCURRENCY,
            allowed_instance_ids=frozenset(allowed) if allowed is not None else None,
            http_timeout_ms=_whole_number(env, "DCS_HTTP_TIMEOUT_MS", HTTP_TIMEOUT_MS_RANGE, problems)
            or DEFAULT_HTTP_TIMEOUT_MS,
            default_selection=_selection(env, problems),
            default_wait=_flag(env, "DCS_WAIT", problems),
            default_retention=_retention(env, problems),
            **_export(env, problems),
            link_domains=_link_domains(env, problems),
            default_rpo_hours=_whole_number(env, "DCS_RPO_HOURS", RPO_HOURS_RANGE, problems) or DEFAULT_RPO_HOURS,
            restore_targets=frozenset(_instance_ids(env, "DCS_RESTORE_TARGETS", problems, limit=None) or ()),
            target_passwords=_target_passwords(env, problems),
            drill_instance=_drill_instance(env, problems),
            drill_record_prefix=_drill_record_prefix(env, problems),
            default_max_drill_age_days=_whole_number(env, "DCS_MAX_DRILL_AGE_DAYS", DRILL_AGE_DAYS_RANGE, problems),
        )
        _check_defaults_allowed(settings, problems)
        _check_drill_instance(settings, problems)
        if problems:
            raise ConfigurationError("invalid configuration: " + "; ".join(problems))
        return settings


def requested_log_level(env: Mapping[str, str]) -> str:
    """LOG_LEVEL upper-cased, INFO when unset; whether it is valid is for the caller to judge."""
    return (_get(env, "LOG_LEVEL") or "INFO").upper()


def _get(env: Mapping[str, str], name: str) -> str | None:
    """A variable's stripped value; empty counts as unset (the console keeps empty values)."""
    value = env.get(name, "").strip()
    return value or None


def _endpoint(env: Mapping[str, str], problems: list[str]) -> str | None:
    raw = _get(env, "DCS_ENDPOINT")
    if raw is None:
        return None
    endpoint, problem = check_endpoint("DCS_ENDPOINT", raw)
    if problem:
        problems.append(problem)
    return endpoint


def _export(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """DCS_EXPORT_BUCKET / _PREFIX / _PART_MB / _KMS_KEY_ID / _FILES_AT_ONCE, RUNTIME_MEMORY and OBS_ENDPOINT
    (same https rule as DCS_ENDPOINT)."""
    bucket = _get(env, "DCS_EXPORT_BUCKET")
    prefix = _get(env, "DCS_EXPORT_PREFIX") or DEFAULT_PREFIX
    found = [f"DCS_EXPORT_BUCKET {p}" for p in [bucket_problem(bucket)] if bucket is not None and p]
    found += [f"DCS_EXPORT_PREFIX {p}" for p in [prefix_problem(prefix)] if p]
    endpoint, endpoint_problem = (
        check_endpoint("OBS_ENDPOINT", raw) if (raw := _get(env, "OBS_ENDPOINT")) else (None, None)
    )
    found += [endpoint_problem] if endpoint_problem else []
    if bucket is not None and endpoint is None and endpoint_problem is None and not _get(env, "DCS_REGION"):
        found.append("DCS_EXPORT_BUCKET needs OBS_ENDPOINT, or DCS_REGION to find the region's OBS endpoint")
    problems.extend(found)
    return {
        "default_export": ExportSpec(bucket, prefix) if bucket is not None and not found else None,
        "export_prefix": prefix,
        "export_part_mb": _whole_number(env, "DCS_EXPORT_PART_MB", PART_MB_RANGE, problems) or DEFAULT_PART_MB,
        "export_kms_key_id": _kms_key_id(env, problems),
        "export_files_at_once": _whole_number(env, "DCS_EXPORT_FILES_AT_ONCE", FILES_AT_ONCE_RANGE, problems),
        # Set by FunctionGraph (MB), not configured; the export's memory budget is judged against it.
        "function_memory_mb": ascii_whole_number(_get(env, PLATFORM_MEMORY_VARIABLE)),
        "obs_endpoint": endpoint,
    }


def _kms_key_id(env: Mapping[str, str], problems: list[str]) -> str | None:
    """DCS_EXPORT_KMS_KEY_ID: uploads are encrypted with this key (SSE-KMS); unset, with OBS's keys (SSE-OBS)."""
    raw = _get(env, "DCS_EXPORT_KMS_KEY_ID")
    if raw is None or is_kms_key_id(raw):
        return raw
    problems.append(f"DCS_EXPORT_KMS_KEY_ID {KMS_KEY_ID_RULE} (got {show_value(raw)})")
    return None


def _link_domains(env: Mapping[str, str], problems: list[str]) -> tuple[str, ...] | None:
    """DCS_LINK_DOMAINS: where download links may point, for clouds other than Huawei Cloud's regions."""
    raw = _get(env, "DCS_LINK_DOMAINS")
    if raw is None:
        return None
    domains, problem = parse_domains(raw)
    if problem:
        problems.append(problem)
    return domains or None


def _retention(env: Mapping[str, str], problems: list[str]) -> RetentionRule | None:
    """DCS_KEEP_LAST and DCS_MAX_AGE_DAYS, either or both; neither means no retention by default."""
    keep_last = _whole_number(env, "DCS_KEEP_LAST", KEEP_LAST_RANGE, problems)
    max_age_days = _whole_number(env, "DCS_MAX_AGE_DAYS", MAX_AGE_DAYS_RANGE, problems)
    if keep_last is None and max_age_days is None:
        return None
    return RetentionRule(keep_last=keep_last, max_age_days=max_age_days)


def _flag(env: Mapping[str, str], name: str, problems: list[str]) -> bool:
    raw = (_get(env, name) or "false").lower()
    if raw not in ("true", "false"):
        problems.append(f"{name} must be true or false (got {show_value(raw)})")
    return raw == "true"


def _check_defaults_allowed(settings: Settings, problems: list[str]) -> None:
    """Default targets the allowlist refuses would make every defaulted request fail as the caller's fault."""
    allowed = settings.allowed_instance_ids
    refused = [i for i in settings.default_instance_ids if allowed is not None and i not in allowed]
    if refused:
        problems.append(
            f"DCS_INSTANCE_IDS names instances that DCS_ALLOWED_INSTANCE_IDS does not allow: {show_list(refused, 5)}"
        )


def _drill_instance(env: Mapping[str, str], problems: list[str]) -> str | None:
    ids = _instance_ids(env, "DCS_DRILL_INSTANCE", problems, limit=1)
    return ids[0] if ids else None


def _drill_record_prefix(env: Mapping[str, str], problems: list[str]) -> str:
    """DCS_DRILL_RECORD_PREFIX, apart from the export prefix: a lifecycle rule there must not age the records."""
    prefix = _get(env, "DCS_DRILL_RECORD_PREFIX") or DEFAULT_RECORD_PREFIX
    problem = prefix_problem(prefix)
    if problem is None and not prefix.strip("/"):
        problem = "must name a folder of its own (not the bucket's root)"
    if problem is not None:
        problems.append(f"DCS_DRILL_RECORD_PREFIX {problem}")
        return DEFAULT_RECORD_PREFIX
    export_prefix = _get(env, "DCS_EXPORT_PREFIX") or DEFAULT_PREFIX
    if export_prefix.rstrip("/") and prefix.startswith(export_prefix.rstrip("/")):
        problems.append(
            f"DCS_DRILL_RECORD_PREFIX {show_value(prefix)} must not start with the export prefix "
            f"{show_value(export_prefix)}: the export's lifecycle rule would age the drill records"
        )
    return prefix


def _check_drill_instance(settings: Settings, problems: list[str]) -> None:
    """The scratch instance is written to (flushed, imported into): it must be a restore target too; drill
    ages are judged from records in the export bucket."""
    if settings.default_max_drill_age_days is not None and settings.default_export is None:
        problems.append(f"DCS_MAX_DRILL_AGE_DAYS {NO_DRILL_RECORDS}")
    scratch = settings.drill_instance
    if scratch is not None and scratch not in settings.restore_targets:
        problems.append(
            f"DCS_DRILL_INSTANCE {scratch} must also be in DCS_RESTORE_TARGETS: drills flush it and import into it"
        )


def _selection(env: Mapping[str, str], problems: list[str]) -> Selection | None:
    """DCS_SELECT_TAGS (``env=prod,backup``: pairs and bare keys) and DCS_SELECT_NAME (a glob), ANDed."""
    raw_tags, name = _get(env, "DCS_SELECT_TAGS"), _get(env, "DCS_SELECT_NAME")
    tags = parse_tag_list(raw_tags) if raw_tags is not None else None
    found = [f"DCS_SELECT_TAGS {p}" for p in tag_problems(tags)] if tags is not None else []
    repeated = repeated_tag_keys(raw_tags) if raw_tags is not None else []
    found += [f"DCS_SELECT_TAGS names the key {show_value(key)} more than once" for key in repeated[:5]]
    found += [f"DCS_SELECT_NAME {p}" for p in name_problems(name)] if name is not None else []
    problems.extend(found)
    if found or (tags is None and name is None):
        return None
    return Selection(tags=tags or {}, name=name)


def _instance_ids(
    env: Mapping[str, str], name: str, problems: list[str], *, limit: int | None
) -> tuple[str, ...] | None:
    """Comma-separated ids, deduplicated; a variable that is set must name only valid ids, at least one."""
    raw = env.get(name, "")
    if not raw.strip():
        return None
    ids = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    bad = [show_value(i) for i in ids if not is_instance_id(i)]
    if not ids or bad:
        shown = f" (bad: {show_list(bad, 5)})" if bad else ""
        problems.append(f"{name} must list DCS instance ids separated by commas, each {INSTANCE_ID_RULE}{shown}")
    elif limit is not None and len(ids) > limit:
        problems.append(f"{name} may list at most {limit} instance ids (got {len(ids)})")
    return ids


def _target_passwords(env: Mapping[str, str], problems: list[str]) -> TargetPasswords:
    """DCS_TARGET_PASSWORDS, a JSON object of instance id → password. A problem never quotes a value."""
    raw = _get(env, "DCS_TARGET_PASSWORDS")
    if raw is None:
        return TargetPasswords()
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    rule = "DCS_TARGET_PASSWORDS must be a JSON object of instance id → password (text)"
    if not isinstance(value, dict):
        problems.append(f"{rule}; it is not a JSON object (its value is not shown: it holds passwords)")
        return TargetPasswords()
    bad = sum(1 for k, v in value.items() if not is_instance_id(k) or not isinstance(v, str) or not v)
    if bad:
        problems.append(f"{rule}; {bad} entr(y/ies) are not an instance id with a non-empty password (not shown)")
        return TargetPasswords()
    # DCS takes passwords of 8 to 64 characters; a shorter one is a word the redactor would mask in every line.
    short = sum(1 for v in value.values() if len(v) < MIN_PASSWORD_LENGTH)
    if short:
        problems.append(
            f"{rule}; {short} password(s) are shorter than the {MIN_PASSWORD_LENGTH} characters DCS requires "
            "(not shown)"
        )
        return TargetPasswords()
    return TargetPasswords(value)


def _whole_number(env: Mapping[str, str], name: str, bounds: tuple[int, int], problems: list[str]) -> int | None:
    raw = _get(env, name)
    if raw is None:
        return None
    low, high = bounds
    value = ascii_whole_number(raw)
    if value is not None and low <= value <= high:
        return value
    problems.append(f"{name} must be a whole number from {low} to {high} (got {show_value(raw)})")
    return None
