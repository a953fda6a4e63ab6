"""Which engines DCS flushes, and the scratch instance's baseline backup and restores told apart by their remarks."""

from __future__ import annotations

import pytest

from dcs_backup.dcs.models import MAX_REMARK_LENGTH, BackupRecord, InstanceInfo, RestoreRecord
from dcs_backup.drill.baseline import (
    BASELINE_RESTORE_REMARK,
    baseline_remark,
    flushable,
    newest_baseline,
    restore_tag,
    running_baseline,
    running_baseline_restore,
)
from dcs_backup.idempotency import is_baseline_backup, made_by_function, tagged_remark

SCRATCH = "0a9d3f7e-5b1c-4e2a-8f60-d1c2b3a4e5f6"
OTHER_SCRATCH = "6b8e2c4a-7d19-4f05-a3b6-e8c9d0f1a2b3"


def _backup(backup_id: str, remark: str, day: int, status: str = "succeed", restorable: str = "TRUE") -> BackupRecord:
    created = f"2026-03-{day:02d}T03:00:00.000Z"
    return BackupRecord(backup_id, remark, status, created_at=created, is_support_restore=restorable)


def _restore(restore_id: str, remark: str, status: str) -> RestoreRecord:
    return RestoreRecord(restore_id, "b", remark, status)


@pytest.mark.parametrize(("version", "flushes"), [("4.0", True), ("5.0", True), ("6.0", False), ("7.0", False)])
def test_only_redis_4_and_5_are_flushed(version: str, flushes: bool) -> None:
    assert flushable(InstanceInfo(SCRATCH, "s", "RUNNING", "ha", engine_version=version)) is flushes


def test_a_scratch_instance_of_an_unknown_version_is_not_flushed() -> None:
    assert not flushable(InstanceInfo(SCRATCH, "s", "RUNNING", "ha", engine_version=None))


def test_the_baseline_remark_fits_dcs_and_carries_the_functions_marker() -> None:
    remark = baseline_remark(SCRATCH)
    assert len(remark) <= MAX_REMARK_LENGTH
    assert is_baseline_backup(remark) and made_by_function(remark)
    assert not is_baseline_backup("nightly [dcsb:0123456789ab-01234567]")


class TestNewestBaseline:
    def test_the_newest_restorable_baseline_of_this_scratch_instance(self) -> None:
        mine = baseline_remark(SCRATCH)
        records = [
            _backup("old", mine, 1),
            _backup("new", mine, 5),
            _backup("failed", mine, 9, status="failed"),
            _backup("not-restorable", mine, 8, restorable="FALSE"),
            _backup("other-scratch", baseline_remark(OTHER_SCRATCH), 7),
            _backup("nightly", "nightly [dcsb:0123456789ab-01234567]", 6),
        ]
        found = newest_baseline(records, SCRATCH)
        assert found is not None and found.backup_id == "new"

    def test_none_without_one(self) -> None:
        assert newest_baseline([_backup("nightly", "nightly [dcsb:0123456789ab-01234567]", 6)], SCRATCH) is None

    def test_a_baseline_still_being_taken_is_found_as_running(self) -> None:
        mine = baseline_remark(SCRATCH)
        records = [_backup("done", mine, 1), _backup("taking", mine, 2, status="backuping")]
        running = running_baseline(records, SCRATCH)
        assert running is not None and running.backup_id == "taking"
        assert running_baseline(records[:1], SCRATCH) is None


class TestRunningBaselineRestore:
    def test_any_runs_baseline_restore_that_has_not_ended(self) -> None:
        earlier_run = tagged_remark(BASELINE_RESTORE_REMARK, restore_tag(SCRATCH, ("request-1", "before")))
        records = [
            _restore("done", tagged_remark(BASELINE_RESTORE_REMARK, restore_tag(SCRATCH, "x")), "succeed"),
            _restore("someone-elses", "dcs-backup restore [dcsb:0123456789ab-01234567]", "restoring"),
            _restore(
                "other-scratch", tagged_remark(BASELINE_RESTORE_REMARK, restore_tag(OTHER_SCRATCH, "x")), "waiting"
            ),
            _restore("running", earlier_run, "waiting"),
        ]
        found = running_baseline_restore(records, SCRATCH)
        assert found is not None and found.restore_id == "running"

    def test_none_when_every_baseline_restore_ended(self) -> None:
        remark = tagged_remark(BASELINE_RESTORE_REMARK, restore_tag(SCRATCH, "x"))
        assert (
            running_baseline_restore([_restore("a", remark, "failed"), _restore("b", remark, "succeed")], SCRATCH)
            is None
        )
