"""What gets restored: the backup a request names, or the newest restorable one, never a safety backup.

A safety backup (the function's own, taken before a restore) is what the instance held just before some
restore; restoring it from ``latest`` would undo that restore. And a redelivery must restore what the
first delivery chose: ``latest`` means the newest before this request's own safety backup, so a backup
made meanwhile (a schedule's, of the data the restore replaces) is not taken instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import is_baseline_backup, made_by_function, made_for_request
from dcs_backup.restore.spec import RestoreSource

SAFETY_REMARK = "dcs-backup safety backup before restore"


def is_safety_backup(record: BackupRecord) -> bool:
    """A backup this function took before a restore (any request's)."""
    return record.remark.startswith(SAFETY_REMARK) and made_by_function(record.remark)


def own_safety_backup(records: Iterable[BackupRecord], tag: str) -> BackupRecord | None:
    """This request's safety backup, if an earlier delivery took one."""
    return next((r for r in records if made_for_request(r, tag) and is_safety_backup(r)), None)


def chosen_backup(
    records: Iterable[BackupRecord], source: RestoreSource, before: datetime | None = None
) -> BackupRecord | None:
    """The named backup (whatever its status: the guards judge it), or the newest restorable one of any
    origin but a safety backup or a drill scratch instance's empty baseline (neither holds the data a
    restore wants back), made before ``before`` (this request's safety backup) when given."""
    if source.backup_id is not None:
        return next((r for r in records if r.backup_id == source.backup_id), None)
    candidates = [
        r
        for r in records
        if r.restorable
        and not is_safety_backup(r)
        and not is_baseline_backup(r.remark)
        and (before is None or r.created_or_oldest < before)
    ]
    return max(candidates, key=lambda r: r.created_or_oldest, default=None)
