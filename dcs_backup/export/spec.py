"""Where exports go: the request's ``export`` field and the DCS_EXPORT_* defaults, with OBS's naming rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from dcs_backup.platform.endpoints import is_ip_address
from dcs_backup.platform.errors import FieldProblem, unknown_field_problems
from dcs_backup.platform.text import is_utf8_text, show_value

DEFAULT_PREFIX = "dcs-backup/"
MAX_PREFIX_LENGTH = 256
PART_MB_RANGE = (5, 512)
DEFAULT_PART_MB = 64
EXPORT_FIELDS = ("bucket", "prefix")
# Memory: each file being copied holds two parts (one downloading, one uploading), beside the function's own.
PART_BUFFERS = 2
FOOTPRINT_MB = 64
FILES_AT_ONCE_RANGE = (1, 16)
DEFAULT_FILES_AT_ONCE = 4
# OBS: 3-63 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# KMS key ids are lower-case UUIDs (KMS API: key_id, 36 characters), as the template's variable checks.
_KMS_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KMS_KEY_ID_RULE = "must be a KMS key id (a UUID such as 0d0466b0-e727-4d9c-b35d-f84bb474a37f)"


class ExportSpec(NamedTuple):
    """The bucket and the key prefix under which ``{instance_id}/{backup_id}/{file}`` objects are written."""

    bucket: str
    prefix: str = DEFAULT_PREFIX


def obs_endpoint(configured: str | None, region: str | None) -> str | None:
    """OBS_ENDPOINT, else the region's public OBS endpoint; None when neither is known."""
    if configured:
        return configured
    return f"https://obs.{region}.myhuaweicloud.com" if region else None


def bucket_problem(bucket: Any) -> str | None:
    rule = "must be an OBS bucket name: 3 to 63 lower-case letters, digits, '-' and '.', not an IP address"
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket or ".-" in bucket:
        return rule
    if "-." in bucket or is_ip_address(bucket):
        return rule
    return None


def is_kms_key_id(value: str) -> bool:
    return _KMS_KEY_ID.fullmatch(value) is not None


def prefix_problem(prefix: Any) -> str | None:
    if isinstance(prefix, str) and len(prefix) <= MAX_PREFIX_LENGTH and is_utf8_text(prefix):
        return None if not prefix.startswith("/") else "must not start with '/'"
    return f"must be text of at most {MAX_PREFIX_LENGTH} characters"


def export_problems(raw: Any, default_prefix: str) -> tuple[ExportSpec | None, list[FieldProblem]]:
    """Validate an ``export`` object: the spec, or (sub-field, problem) pairs."""
    if not isinstance(raw, Mapping):
        return None, [FieldProblem("export", 'must be an object: {"bucket": "<name>", "prefix": "dcs-backup/"}')]
    problems = unknown_field_problems(raw, EXPORT_FIELDS, "export")
    bucket, prefix = raw.get("bucket"), raw.get("prefix", default_prefix)
    if bucket is None:
        problems.append(FieldProblem("export.bucket", "required: the OBS bucket the backup is copied into"))
    elif (problem := bucket_problem(bucket)) is not None:
        problems.append(FieldProblem("export.bucket", f"{problem} (got {show_value(bucket)})"))
    if (problem := prefix_problem(prefix)) is not None:
        problems.append(FieldProblem("export.prefix", problem))
    if problems:
        return None, problems
    return ExportSpec(bucket=str(bucket), prefix=str(prefix)), []


def files_at_once(memory_mb: int | None, part_mb: int, configured: int | None) -> tuple[int, str | None]:
    """How many files an invocation copies at once (over all its instances), or why the memory cannot hold one.

    Each takes ``PART_BUFFERS`` × DCS_EXPORT_PART_MB; FOOTPRINT_MB is kept for the function itself.
    Unset, DCS_EXPORT_FILES_AT_ONCE is what the function's memory (RUNTIME_MEMORY) holds, at most
    DEFAULT_FILES_AT_ONCE; set, it must fit too. With the memory unknown (not on the platform), it is taken as given.
    """
    wanted = configured or DEFAULT_FILES_AT_ONCE
    if memory_mb is None:
        return wanted, None
    per_file = PART_BUFFERS * part_mb
    fits = (memory_mb - FOOTPRINT_MB) // per_file
    need = f"{PART_BUFFERS} × DCS_EXPORT_PART_MB ({part_mb}) per file + {FOOTPRINT_MB} MB for the function"
    if fits < 1:
        return 0, (
            f"an export needs {per_file + FOOTPRINT_MB} MB ({need}), more than the function's memory "
            f"({memory_mb} MB): lower DCS_EXPORT_PART_MB or raise the function's memory"
        )
    if configured is not None and configured > fits:
        return 0, (
            f"DCS_EXPORT_FILES_AT_ONCE {configured} needs {configured * per_file + FOOTPRINT_MB} MB ({need}), "
            f"more than the function's memory ({memory_mb} MB holds {fits}): lower DCS_EXPORT_FILES_AT_ONCE "
            "or DCS_EXPORT_PART_MB, or raise the function's memory"
        )
    return min(wanted, fits), None
