"""The one backup request every trigger is turned into, and its validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from dcs_backup.config import DEFAULT_RPO_HOURS, DRILL_AGE_DAYS_RANGE, NO_DRILL_RECORDS, RPO_HOURS_RANGE, Settings
from dcs_backup.dcs.models import (
    BACKUP_FORMATS,
    INSTANCE_ID_RULE,
    MAX_INSTANCE_IDS,
    MAX_REMARK_LENGTH,
    is_instance_id,
)
from dcs_backup.export.spec import ExportSpec, export_problems
from dcs_backup.idempotency import TAG_PREFIX, key_problem
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError, unknown_field_problems
from dcs_backup.platform.text import is_utf8_text, show_list, show_value
from dcs_backup.retention.rules import RetentionRule, retention_problems, whole_number_problem
from dcs_backup.selection.spec import Selection, selection_problems

DEFAULT_REMARK = "dcs-backup"
RESTORE_ACTION = "restore"  # its own request and fields: dcs_backup.restore.spec
DRILL_ACTION = "drill"  # its own request and fields: dcs_backup.drill.spec
ACTIONS = ("backup", "audit", RESTORE_ACTION, DRILL_ACTION)
BACKUP_ONLY_FIELDS = ("backup_format", "remark", "wait", "retention", "export")
REQUEST_FIELDS = (
    "action",
    "rpo_hours",
    "max_drill_age_days",
    "instance_ids",
    "select",
    "backup_format",
    "remark",
    "wait",
    "retention",
    "export",
    "raise_on_failure",
    "idempotency_key",
)
_ALLOWED_FIELDS_TEXT = ", ".join(REQUEST_FIELDS)
_NO_TARGETS = (
    "the request names no instances (instance_ids or select) and none of DCS_INSTANCE_IDS, "
    "DCS_SELECT_TAGS or DCS_SELECT_NAME is set"
)


class BackupRequest(NamedTuple):
    """A validated request: which instances to back up, and how."""

    instance_ids: tuple[str, ...]
    backup_format: str
    remark: str
    raise_on_failure: bool = True
    idempotency_key: str | None = None
    selection: Selection | None = None
    wait: bool = False
    retention: RetentionRule | None = None
    export: ExportSpec | None = None
    action: str = "backup"
    rpo_hours: int = DEFAULT_RPO_HOURS
    max_drill_age_days: int | None = None  # audit: a newest passed drill older than this is a violation


def parse_backup_request(payload: Any, settings: Settings) -> BackupRequest:
    """Validate ``payload`` completely before anything is sent to DCS.

    Every offending field is reported at once, each with the values it accepts.
    """
    if not isinstance(payload, Mapping):
        raise InvalidRequestError(
            [FieldProblem("request", f"must be a JSON object with the fields {_ALLOWED_FIELDS_TEXT}")]
        )
    problems = unknown_field_problems(payload, REQUEST_FIELDS)
    instance_ids, selection = _targets(payload, settings, problems)
    backup_format = payload.get("backup_format", settings.default_backup_format)
    if backup_format not in BACKUP_FORMATS:
        problems.append(
            FieldProblem(
                "backup_format",
                f"must be one of {', '.join(map(repr, BACKUP_FORMATS))} (got {show_value(backup_format)})",
            )
        )
    remark = payload.get("remark", DEFAULT_REMARK)
    _check_remark(remark, problems)
    raise_on_failure = flag_field(payload, "raise_on_failure", True, problems)
    wait = flag_field(payload, "wait", settings.default_wait, problems)
    retention = _retention(payload, settings, problems)
    export = _export(payload, settings, problems)
    action, rpo_hours = _action(payload, settings, problems)
    max_drill_age_days = _max_drill_age_days(payload, action, settings, problems)
    idempotency_key = payload.get("idempotency_key")
    if idempotency_key is not None:
        _check_idempotency_key("idempotency_key", idempotency_key, problems)
    if problems:
        raise InvalidRequestError(problems)
    _check_allowed(instance_ids, settings)
    return BackupRequest(
        instance_ids=instance_ids,
        backup_format=str(backup_format),
        remark=str(remark),
        raise_on_failure=raise_on_failure,
        idempotency_key=idempotency_key,
        selection=selection,
        wait=wait,
        retention=retention,
        export=export,
        action=action,
        rpo_hours=rpo_hours,
        max_drill_age_days=max_drill_age_days,
    )


def _retention(payload: Mapping[str, Any], settings: Settings, problems: list[FieldProblem]) -> RetentionRule | None:
    if "retention" not in payload:
        return settings.default_retention
    rule, rule_problems = retention_problems(payload["retention"])
    problems.extend(rule_problems)
    return rule


def _action(payload: Mapping[str, Any], settings: Settings, problems: list[FieldProblem]) -> tuple[str, int]:
    """``backup`` (the default) or a read-only ``audit``, which takes ``rpo_hours`` and no backup options."""
    action = payload.get("action", "backup")
    if action not in ACTIONS:
        problems.append(
            FieldProblem("action", f"must be one of {', '.join(map(repr, ACTIONS))} (got {show_value(action)})")
        )
    rpo_hours = payload.get("rpo_hours", settings.default_rpo_hours)
    if (problem := whole_number_problem(rpo_hours, RPO_HOURS_RANGE)) is not None:
        problems.append(FieldProblem("rpo_hours", problem))
    if action == "audit":
        problems += [FieldProblem(f, "applies to action 'backup' only") for f in BACKUP_ONLY_FIELDS if f in payload]
    elif "rpo_hours" in payload:
        problems.append(FieldProblem("rpo_hours", "applies to action 'audit' only"))
    return str(action), rpo_hours if isinstance(rpo_hours, int) else settings.default_rpo_hours


def _max_drill_age_days(
    payload: Mapping[str, Any], action: str, settings: Settings, problems: list[FieldProblem]
) -> int | None:
    """Audit only; judged from the drill records, so only where they are kept (the export bucket)."""
    if "max_drill_age_days" not in payload:
        return settings.default_max_drill_age_days if action == "audit" else None
    days = payload["max_drill_age_days"]
    if action != "audit":
        problems.append(FieldProblem("max_drill_age_days", "applies to action 'audit' only"))
    elif (problem := whole_number_problem(days, DRILL_AGE_DAYS_RANGE)) is not None:
        problems.append(FieldProblem("max_drill_age_days", problem))
    elif settings.default_export is None:
        problems.append(FieldProblem("max_drill_age_days", NO_DRILL_RECORDS))
    else:
        return int(days)
    return None


def _export(payload: Mapping[str, Any], settings: Settings, problems: list[FieldProblem]) -> ExportSpec | None:
    if "export" not in payload:
        return settings.default_export
    spec, spec_problems = export_problems(payload["export"], settings.export_prefix)
    problems.extend(spec_problems)
    return spec


def flag_field(payload: Mapping[str, Any], field: str, default: bool, problems: list[FieldProblem]) -> bool:
    """A true/false field; a problem naming the field (and the default) when it is anything else."""
    value = payload.get(field, default)
    if isinstance(value, bool):
        return value
    problems.append(FieldProblem(field, f"must be true or false (got {show_value(value)})"))
    return default


def _check_idempotency_key(field: str, key: object, problems: list[FieldProblem]) -> None:
    problem = key_problem(field, key)
    if problem is not None:
        problems.append(problem)


def _check_remark(remark: object, problems: list[FieldProblem]) -> None:
    """DCS's 128 characters; and never the function's own marker, which would let a request claim a backup."""
    if not isinstance(remark, str) or len(remark) > MAX_REMARK_LENGTH or not is_utf8_text(remark):
        problems.append(
            FieldProblem("remark", f"must be text of at most {MAX_REMARK_LENGTH} characters (valid Unicode)")
        )
    elif TAG_PREFIX in remark.lower():
        problems.append(FieldProblem("remark", f"must not contain {TAG_PREFIX!r}: the function marks its backups so"))


def _targets(
    payload: Mapping[str, Any], settings: Settings, problems: list[FieldProblem]
) -> tuple[tuple[str, ...], Selection | None]:
    """Named ids and/or a selection; the configured defaults when the request has neither."""
    if "instance_ids" not in payload and "select" not in payload:
        if not settings.default_instance_ids and settings.default_selection is None:
            problems.append(FieldProblem("instance_ids", f"required: {_NO_TARGETS}"))
        return settings.default_instance_ids, settings.default_selection
    instance_ids = _instance_ids(payload["instance_ids"], problems) if "instance_ids" in payload else ()
    if "select" not in payload:
        return instance_ids, None
    selection, select_problems = selection_problems(payload["select"])
    problems.extend(select_problems)
    return instance_ids, selection


def _instance_ids(raw: Any, problems: list[FieldProblem]) -> tuple[str, ...]:
    rule = f"must be a list of 1 to {MAX_INSTANCE_IDS} distinct DCS instance ids"
    if isinstance(raw, str):  # the commonest slip: one id, not in a list
        problems.append(FieldProblem("instance_ids", f"{rule}; a string was given: write [{show_value(raw)}]"))
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_INSTANCE_IDS:
        problems.append(FieldProblem("instance_ids", rule))
        return ()
    malformed = [show_value(item) for item in raw if not is_instance_id(item)]
    if malformed:
        problems.append(
            FieldProblem("instance_ids", f"{rule}; each id is {INSTANCE_ID_RULE} (bad: {show_list(malformed, 5)})")
        )
        return ()
    duplicates = sorted({item for item in raw if raw.count(item) > 1})
    if duplicates:
        problems.append(FieldProblem("instance_ids", f"{rule} (repeated: {show_list(duplicates)})"))
    return tuple(raw)


def _check_allowed(instance_ids: tuple[str, ...], settings: Settings) -> None:
    """Refuse the whole request when it names an instance outside DCS_ALLOWED_INSTANCE_IDS."""
    if settings.allowed_instance_ids is None:
        return
    refused = [i for i in instance_ids if i not in settings.allowed_instance_ids]
    if refused:
        raise InvalidRequestError(
            [FieldProblem("instance_ids", f"not allowed by DCS_ALLOWED_INSTANCE_IDS: {show_list(refused)}")],
            http_status=403,
        )
