"""What gets restored: the backup a request names, or the newest restorable one, never this request's own
safety backup (a redelivery must restore what the first delivery chose)."""

from __future__ import annotations

from collections.abc import Iterable

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import made_for_request
from dcs_backup.restore.spec import RestoreSource


def chosen_backup(records: Iterable[BackupRecord], source: RestoreSource, tag: str) -> BackupRecord | None:
    """The named backup (whatever its status: the guards judge it), or the newest restorable one of any
    origin except the safety backup this request took; None when there is none."""
    if source.backup_id is not None:
        return next((r for r in records if r.backup_id == source.backup_id), None)
    candidates = [r for r in records if r.restorable and not made_for_request(r, tag)]
    return max(candidates, key=lambda r: r.created_or_oldest, default=None)
