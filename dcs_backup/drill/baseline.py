"""How the scratch instance is emptied, decided from its engine, and its empty baseline found among DCS's records.

DCS flushes only Redis 4.0 and 5.0 instances. Any other is emptied by restoring, in place, a backup of itself
taken once while it was empty: its baseline, marked as the function's own by its remark. The restores of a
baseline carry a marker of their own (one key per scratch instance), so a run finds the one still running.
"""

from __future__ import annotations

from collections.abc import Iterable

from dcs_backup.dcs.models import BackupRecord, InstanceInfo, RestoreRecord
from dcs_backup.idempotency import (
    BASELINE_REMARK,
    carries_tag,
    idempotency_tag,
    is_baseline_backup,
    made_for_request,
    tagged_remark,
)

# The SDK: "currently only Redis 4.0 and Redis 5.0 instances support flush" (ChangeInstanceStatusBody.action).
FLUSHABLE_ENGINE_VERSIONS = frozenset({"4.0", "5.0"})
RUNNING_BACKUP_STATUSES = frozenset({"waiting", "backuping"})
BASELINE_RESTORE_REMARK = "dcs-backup restore of the drill scratch instance's empty baseline"


def flushable(scratch: InstanceInfo) -> bool:
    """DCS can flush it; an unknown version is not assumed to be flushable (its baseline works for any)."""
    return scratch.engine_version in FLUSHABLE_ENGINE_VERSIONS


def baseline_tag(scratch_id: str) -> str:
    """The one marker of the scratch instance's baselines: the same for every run, so each run finds them."""
    return idempotency_tag(f"drill-baseline:{scratch_id}", "empty baseline")


def baseline_remark(scratch_id: str) -> str:
    return tagged_remark(BASELINE_REMARK, baseline_tag(scratch_id))


def restore_tag(scratch_id: str, occasion: object) -> str:
    """A baseline restore's marker: the scratch instance's key (shared by all of them) and what it clears for
    (a retried delivery finds its own restore again)."""
    return idempotency_tag(f"drill-baseline-restore:{scratch_id}", occasion)


def is_scratch_baseline(record: BackupRecord, scratch_id: str) -> bool:
    return is_baseline_backup(record.remark) and made_for_request(record, baseline_tag(scratch_id))


def newest_baseline(records: Iterable[BackupRecord], scratch_id: str) -> BackupRecord | None:
    """The newest baseline of the scratch instance that succeeded and that DCS says can be restored."""
    usable = [r for r in records if is_scratch_baseline(r, scratch_id) and r.restorable]
    return max(usable, key=lambda r: r.created_or_oldest, default=None)


def running_baseline(records: Iterable[BackupRecord], scratch_id: str) -> BackupRecord | None:
    """A baseline backup of the scratch instance that DCS is still taking (an earlier run's)."""
    return next(
        (r for r in records if is_scratch_baseline(r, scratch_id) and r.status in RUNNING_BACKUP_STATUSES), None
    )


def running_baseline_restore(records: Iterable[RestoreRecord], scratch_id: str) -> RestoreRecord | None:
    """A restore of a baseline into the scratch instance that has not ended (whichever run started it)."""
    key = restore_tag(scratch_id, None)
    return next((r for r in records if carries_tag(r.remark, key) and not r.finished), None)
