"""Idempotency keys and the tag that marks a backup as made for one logical request.

Timers fire twice, async invocations and workflows retry, EventGrid redelivers: the tag
in a backup's remark lets any later delivery find the backup an earlier one started.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from dcs_backup.dcs.models import MAX_REMARK_LENGTH, BackupRecord
from dcs_backup.errors import FieldProblem
from dcs_backup.text import is_utf8_text

TAG_PREFIX = "[dcsb:"
_TAG_HASH_LENGTH = 12
TAG_LENGTH = len(TAG_PREFIX) + _TAG_HASH_LENGTH + 1
LIVE_BACKUP_STATUSES = frozenset({"waiting", "backuping", "succeed"})
MAX_KEY_LENGTH = 128
_ANY_TAG_AT_END = re.compile(r"(?:^| )\[dcsb:[0-9a-f]{12}\]$")


def key_problem(field: str, key: object) -> FieldProblem | None:
    """The rule for a caller's idempotency key, wherever it comes from (a request field or a header)."""
    if isinstance(key, str) and 1 <= len(key) <= MAX_KEY_LENGTH and is_utf8_text(key):
        return None
    return FieldProblem(field, f"must be text of 1 to {MAX_KEY_LENGTH} characters (valid Unicode)")


def idempotency_tag(key: str) -> str:
    """``[dcsb:<12 hex>]``: a short hash of the key, safe to show in the DCS console."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_TAG_HASH_LENGTH]
    return f"{TAG_PREFIX}{digest}]"


def tagged_remark(remark: str, tag: str) -> str:
    """``<remark> <tag>``, shortening the remark so the whole stays within DCS's 128 characters."""
    room = MAX_REMARK_LENGTH - len(tag) - 1
    text = remark[:room].rstrip()
    return f"{text} {tag}" if text else tag


def find_tagged(records: Iterable[BackupRecord], tag: str) -> BackupRecord | None:
    """A backup of this request that is queued, running or done (a failed one is retried).

    The tag counts only where the function puts it, at the end of the remark.
    """
    for record in records:
        if carries_tag(record.remark, tag) and record.status in LIVE_BACKUP_STATUSES:
            return record
    return None


def carries_tag(remark: str, tag: str) -> bool:
    return remark == tag or remark.endswith(" " + tag)


def made_by_function(remark: str) -> bool:
    """Whether a backup carries the function's marker where the function puts it (any request's tag)."""
    return _ANY_TAG_AT_END.search(remark) is not None
