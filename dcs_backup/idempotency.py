"""Idempotency keys and the tag that marks a backup as made for one logical request.

Timers fire twice, async invocations and workflows retry, EventGrid redelivers: the tag
in a backup's remark lets any later delivery find the backup an earlier one started.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum

from dcs_backup.dcs.models import MAX_REMARK_LENGTH, BackupRecord
from dcs_backup.platform.errors import FieldProblem
from dcs_backup.platform.text import is_utf8_text

TAG_PREFIX = "[dcsb:"
_TAG_HASH_LENGTH = 12
_FINGERPRINT_LENGTH = 8
LIVE_BACKUP_STATUSES = frozenset({"waiting", "backuping", "succeed"})
# The remark of a drill scratch instance's empty baseline backup, before its marker: the drill restores it to
# empty the instance, so retention never deletes one.
BASELINE_REMARK = "dcs-backup empty baseline of a drill scratch instance"
MAX_KEY_LENGTH = 128
# ``[dcsb:<key hash>-<request fingerprint>]``; backups of earlier versions carry the key hash alone.
_MARKER = re.compile(r"\[dcsb:([0-9a-f]{12})(?:-([0-9a-f]{8}))?\]")
_MARKER_AT_END = re.compile(r"(?:^| )" + _MARKER.pattern + "$")


def key_problem(field: str, key: object) -> FieldProblem | None:
    """The rule for a caller's idempotency key, wherever it comes from (a request field or a header)."""
    if isinstance(key, str) and 1 <= len(key) <= MAX_KEY_LENGTH and is_utf8_text(key):
        return None
    return FieldProblem(field, f"must be text of 1 to {MAX_KEY_LENGTH} characters (valid Unicode)")


def idempotency_tag(key: str, request: object) -> str:
    """``[dcsb:<12 hex>-<8 hex>]``: short hashes of the key and of the request made with it, safe to
    show in the DCS console. The second lets a later delivery tell a retry from another request that
    reuses the key."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_TAG_HASH_LENGTH]
    return f"{TAG_PREFIX}{digest}-{request_fingerprint(request)}]"


def request_fingerprint(request: object) -> str:
    """A hash of what a request asks for, equal for equal requests whatever their fields' order.

    The caller leaves out what only shapes the answer (``raise_on_failure``) and puts named targets
    in a canonical order, so an equivalent retry is recognised as the same request.
    """
    text = json.dumps(_canonical(request), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_FINGERPRINT_LENGTH]


def _canonical(value: object) -> object:
    """JSON-ready and order-free: named tuples by field, sets sorted (their order varies per process)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {name: _canonical(item) for name, item in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(name): _canonical(item) for name, item in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted((_canonical(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def tagged_remark(remark: str, tag: str) -> str:
    """``<remark> <tag>``, shortening the remark so the whole stays within DCS's 128 characters."""
    room = MAX_REMARK_LENGTH - len(tag) - 1
    text = remark[:room].rstrip()
    return f"{text} {tag}" if text else tag


def find_tagged(records: Iterable[BackupRecord], tag: str) -> BackupRecord | None:
    """A backup of this request (its key, and the same request or one tagged before requests were
    hashed) that is queued, running or done (a failed one is retried).

    The tag counts only where the function puts it, at the end of the remark.
    """
    for record in records:
        if made_for_request(record, tag) and record.status in LIVE_BACKUP_STATUSES:
            return record
    return None


def made_for_request(record: BackupRecord, tag: str) -> bool:
    """This request's backup (whatever its status): same key, and the same request or one tagged before
    requests were hashed."""
    return marked_for_request(record.remark, tag)


def marked_for_request(remark: str, tag: str) -> bool:
    """Whether a remark (of a backup, a restore, a migration task) ends with this request's marker."""
    marker = _MARKER_AT_END.search(remark)
    if marker is None:
        return False
    key_hash, fingerprint = _parts(tag)
    return marker.group(1) == key_hash and marker.group(2) in (None, fingerprint)


def carries_tag(remark: str, tag: str) -> bool:
    """Whether the remark ends with a marker of the same key (whichever request it was made for)."""
    marker = _MARKER_AT_END.search(remark)
    return marker is not None and marker.group(1) == _parts(tag)[0]


def made_for_another_request(record: BackupRecord, tag: str) -> bool:
    """Same key, different request: the key was reused. A marker without a fingerprint cannot tell."""
    return carries_tag(record.remark, tag) and not made_for_request(record, tag)


def made_by_function(remark: str) -> bool:
    """Whether a backup carries the function's marker where the function puts it (any request's tag)."""
    return _MARKER_AT_END.search(remark) is not None


def is_baseline_backup(remark: str) -> bool:
    """Whether a backup is a drill scratch instance's empty baseline (the function's own, of any scratch)."""
    return remark.startswith(BASELINE_REMARK) and made_by_function(remark)


def _parts(tag: str) -> tuple[str, str | None]:
    found = _MARKER.fullmatch(tag)
    if found is None:
        raise ValueError("not a marker of this function")
    return found.group(1), found.group(2)
