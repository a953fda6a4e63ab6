"""Idempotency keys and the tag that marks a backup as made for one logical request.

Timers fire twice, async invocations and workflows retry, EventGrid redelivers: the tag
in a backup's remark lets any later delivery find the backup an earlier one started.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from dcs_backup.dcs.gateway import BackupRecord
from dcs_backup.request import MAX_REMARK_LENGTH

TAG_PREFIX = "[dcsb:"
_TAG_HASH_LENGTH = 12
TAG_LENGTH = len(TAG_PREFIX) + _TAG_HASH_LENGTH + 1
LIVE_BACKUP_STATUSES = frozenset({"waiting", "backuping", "succeed"})


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
    """A backup of this request that is queued, running or done (a failed one is retried)."""
    for record in records:
        if tag in record.remark and record.status in LIVE_BACKUP_STATUSES:
            return record
    return None
