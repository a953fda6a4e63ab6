"""The one backup request every trigger is turned into, and its validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dcs_backup.config import BACKUP_FORMATS, Settings
from dcs_backup.errors import FieldProblem, InvalidRequestError, show_value

MAX_INSTANCES = 100
MAX_REMARK_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 128
DEFAULT_REMARK = "dcs-backup"
REQUEST_FIELDS = ("instance_ids", "backup_format", "remark", "raise_on_failure", "idempotency_key")
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ALLOWED_FIELDS_TEXT = ", ".join(REQUEST_FIELDS)


@dataclass(frozen=True)
class BackupRequest:
    """A validated request: which instances to back up, and how."""

    instance_ids: tuple[str, ...]
    backup_format: str
    remark: str
    raise_on_failure: bool = True
    idempotency_key: str | None = None


def parse_backup_request(payload: Any, settings: Settings) -> BackupRequest:
    """Validate ``payload`` completely before anything is sent to DCS.

    Every offending field is reported at once, each with the values it accepts.
    """
    if not isinstance(payload, Mapping):
        raise InvalidRequestError(
            [FieldProblem("request", f"must be a JSON object with the fields {_ALLOWED_FIELDS_TEXT}")]
        )
    problems = [
        FieldProblem(str(name), f"unknown field; allowed fields are {_ALLOWED_FIELDS_TEXT}")
        for name in payload
        if name not in REQUEST_FIELDS
    ]
    instance_ids = _instance_ids(payload, settings, problems)
    backup_format = payload.get("backup_format", settings.default_backup_format)
    if backup_format not in BACKUP_FORMATS:
        problems.append(
            FieldProblem(
                "backup_format",
                f"must be one of {', '.join(map(repr, BACKUP_FORMATS))} (got {show_value(backup_format)})",
            )
        )
    remark = payload.get("remark", DEFAULT_REMARK)
    if not isinstance(remark, str) or len(remark) > MAX_REMARK_LENGTH:
        problems.append(FieldProblem("remark", f"must be a string of at most {MAX_REMARK_LENGTH} characters"))
    raise_on_failure = payload.get("raise_on_failure", True)
    if not isinstance(raise_on_failure, bool):
        problems.append(FieldProblem("raise_on_failure", f"must be true or false (got {show_value(raise_on_failure)})"))
    idempotency_key = payload.get("idempotency_key")
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
    ):
        problems.append(
            FieldProblem("idempotency_key", f"must be a string of 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        )
    if problems:
        raise InvalidRequestError(problems)
    _check_allowed(instance_ids, settings)
    return BackupRequest(
        instance_ids=instance_ids,
        backup_format=str(backup_format),
        remark=str(remark),
        raise_on_failure=bool(raise_on_failure),
        idempotency_key=idempotency_key,
    )


def _instance_ids(payload: Mapping[str, Any], settings: Settings, problems: list[FieldProblem]) -> tuple[str, ...]:
    if "instance_ids" not in payload:
        if not settings.default_instance_ids:
            problems.append(
                FieldProblem("instance_ids", "required: the request names no instances and DCS_INSTANCE_IDS is not set")
            )
        return settings.default_instance_ids
    raw = payload["instance_ids"]
    rule = f"must be a list of 1 to {MAX_INSTANCES} distinct DCS instance ids"
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_INSTANCES:
        problems.append(FieldProblem("instance_ids", rule))
        return ()
    malformed = [item for item in raw if not isinstance(item, str) or not _INSTANCE_ID.fullmatch(item)]
    if malformed:
        shown = ", ".join(show_value(item) for item in malformed[:5])
        problems.append(
            FieldProblem("instance_ids", f"{rule}; each id is 1 to 64 letters, digits, '.', '_' or '-' (bad: {shown})")
        )
        return ()
    duplicates = sorted({item for item in raw if raw.count(item) > 1})
    if duplicates:
        problems.append(FieldProblem("instance_ids", f"{rule} (repeated: {', '.join(duplicates)})"))
    return tuple(raw)


def _check_allowed(instance_ids: tuple[str, ...], settings: Settings) -> None:
    """Refuse the whole request when it names an instance outside DCS_ALLOWED_INSTANCE_IDS."""
    if settings.allowed_instance_ids is None:
        return
    refused = [i for i in instance_ids if i not in settings.allowed_instance_ids]
    if refused:
        raise InvalidRequestError(
            [FieldProblem("instance_ids", f"not allowed by DCS_ALLOWED_INSTANCE_IDS: {', '.join(refused)}")],
            http_status=403,
        )
