"""The restore request: which instance to write to, what to put back, and how carefully; validated whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from dcs_backup.dcs.models import INSTANCE_ID_RULE, is_instance_id
from dcs_backup.idempotency import key_problem
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError, unknown_field_problems
from dcs_backup.platform.text import is_utf8_text, show_value
from dcs_backup.request import flag_field

RESTORE_FIELDS = (
    "action",
    "instance_id",
    "confirm_instance_name",
    "source",
    "source_instance_id",
    "backup_before_restore",
    "wait",
    "plan",
    "allow_non_empty_target",
    "raise_on_failure",
    "idempotency_key",
)
SOURCE_FIELDS = ("backup_id", "latest", "export")
EXPORT_FIELDS = ("bucket", "prefix", "objects")
MAX_NAME_LENGTH = 128
MAX_OBJECTS = 64  # DCS lists at most 64 files per backup (one per shard)
MAX_OBJECT_KEY_LENGTH = 1024
MAX_BUCKET_LENGTH = 63
_SOURCE_RULE = 'must be one of {"backup_id": "<id>"}, {"latest": true} or {"export": {"bucket", "objects"}}'


class ExportSource(NamedTuple):
    """Exported backup files in an OBS bucket of the region: every shard's file, by object key; no keys
    means the newest complete, verified export of the source instance under ``prefix``."""

    bucket: str
    objects: tuple[str, ...]
    prefix: str | None = None


class RestoreSource(NamedTuple):
    """Exactly one of: a DCS backup by id, the newest good backup, or exported files."""

    backup_id: str | None = None
    latest: bool = False
    export: ExportSource | None = None

    def describe(self) -> str:
        if self.export is not None and not self.export.objects:
            return f"the newest verified export in bucket {self.export.bucket}"
        if self.export is not None:
            return f"{len(self.export.objects)} exported file(s) in bucket {self.export.bucket}"
        return f"backup {self.backup_id}" if self.backup_id else "the newest restorable backup"


class RestoreRequest(NamedTuple):
    """A validated restore: one target, confirmed by its current name."""

    instance_id: str
    confirm_instance_name: str
    source: RestoreSource
    source_instance_id: str
    backup_before_restore: bool = True
    wait: bool = True
    plan: bool = False
    allow_non_empty_target: bool = False
    raise_on_failure: bool = True
    idempotency_key: str | None = None
    action: str = "restore"

    @property
    def in_place(self) -> bool:
        """RestoreInstance (the instance's own backup) rather than a backup import."""
        return self.source.export is None and self.source_instance_id == self.instance_id


def parse_restore_request(payload: Mapping[str, Any]) -> RestoreRequest:
    """Every problem at once, before anything is sent to DCS; a restore target is never defaulted."""
    problems = unknown_field_problems(payload, RESTORE_FIELDS)
    instance_id = _instance_id(payload, "instance_id", problems, required=True)
    source_instance_id = _instance_id(payload, "source_instance_id", problems, required=False) or instance_id
    name = payload.get("confirm_instance_name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH or not is_utf8_text(name):
        problems.append(
            FieldProblem(
                "confirm_instance_name",
                "required: the current name of the instance to restore into, as DCS shows it "
                f"(text of 1 to {MAX_NAME_LENGTH} characters)",
            )
        )
    source = _source(payload.get("source"), problems)
    flags = [
        flag_field(payload, field, default, problems)
        for field, default in (
            ("backup_before_restore", True),
            ("wait", True),
            ("plan", False),
            ("allow_non_empty_target", False),
            ("raise_on_failure", True),
        )
    ]
    key = payload.get("idempotency_key")
    if key is not None and (problem := key_problem("idempotency_key", key)) is not None:
        problems.append(problem)
    if problems:
        raise InvalidRequestError(problems)
    assert source is not None
    return RestoreRequest(
        instance_id=instance_id,
        confirm_instance_name=str(name),
        source=source,
        source_instance_id=source_instance_id,
        backup_before_restore=flags[0],
        wait=flags[1],
        plan=flags[2],
        allow_non_empty_target=flags[3],
        raise_on_failure=flags[4],
        idempotency_key=key,
    )


def _instance_id(payload: Mapping[str, Any], field: str, problems: list[FieldProblem], *, required: bool) -> str:
    value = payload.get(field)
    if value is None and not required:
        return ""
    if not is_instance_id(value):
        need = "required: " if value is None else ""
        problems.append(FieldProblem(field, f"{need}one DCS instance id, {INSTANCE_ID_RULE} (got {show_value(value)})"))
        return ""
    return str(value)


def _source(raw: Any, problems: list[FieldProblem]) -> RestoreSource | None:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        problems.append(FieldProblem("source", f"required: {_SOURCE_RULE}"))
        return None
    unknown = unknown_field_problems(raw, SOURCE_FIELDS, "source")
    if unknown:
        problems.extend(unknown)
        return None
    if "backup_id" in raw:
        backup_id = raw["backup_id"]
        if not is_instance_id(backup_id):
            problems.append(FieldProblem("source.backup_id", f"must be a DCS backup id (got {show_value(backup_id)})"))
            return None
        return RestoreSource(backup_id=str(backup_id))
    if "latest" in raw:
        if raw["latest"] is not True:
            problems.append(FieldProblem("source.latest", f"must be true (got {show_value(raw['latest'])})"))
            return None
        return RestoreSource(latest=True)
    export = _export(raw["export"], problems)
    return RestoreSource(export=export) if export is not None else None


def _export(raw: Any, problems: list[FieldProblem]) -> ExportSource | None:
    if not isinstance(raw, Mapping):
        problems.append(FieldProblem("source.export", 'must be an object {"bucket", "objects"}'))
        return None
    found = unknown_field_problems(raw, EXPORT_FIELDS, "source.export")
    bucket, prefix, objects = raw.get("bucket"), raw.get("prefix"), raw.get("objects")
    if not isinstance(bucket, str) or not 3 <= len(bucket) <= MAX_BUCKET_LENGTH or not bucket.isascii():
        found.append(FieldProblem("source.export.bucket", "required: the OBS bucket that holds the exported files"))
    if prefix is not None and (not isinstance(prefix, str) or not is_utf8_text(prefix)):
        found.append(FieldProblem("source.export.prefix", "must be text: the folder of the export in the bucket"))
    keys = () if "objects" not in raw else _object_keys(objects, prefix if isinstance(prefix, str) else "")
    if keys is None:
        found.append(
            FieldProblem(
                "source.export.objects",
                f"must be the object keys of every shard file of one export (1 to {MAX_OBJECTS} distinct "
                "keys; relative to prefix when it is given), or left out for the newest verified export",
            )
        )
    problems.extend(found)
    if found or keys is None:
        return None
    return ExportSource(bucket=str(bucket), objects=keys, prefix=prefix)


def _object_keys(raw: Any, prefix: str) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OBJECTS or len(set(map(repr, raw))) != len(raw):
        return None
    if not all(isinstance(k, str) and k and is_utf8_text(k) for k in raw):
        return None
    base = prefix.rstrip("/") + "/" if prefix else ""
    keys = tuple(base + k for k in raw)
    return keys if all(len(k) <= MAX_OBJECT_KEY_LENGTH for k in keys) else None
