"""A backup record dated in the future (beyond a clock's skew) has an unknown time: it never outranks real backups."""

from __future__ import annotations

from dcs_backup.dcs.models import BackupRecord
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.support import DAY, own_backup

YEARS_AHEAD = -70 * 365 * DAY  # an age in hours: created seventy years from now


class TestRetention:
    def test_keep_last_keeps_the_real_newest_backup_and_leaves_the_future_one(self, function: FunctionHarness) -> None:
        # GIVEN yesterday's real backup of the function and one of its records dated decades ahead
        state = function.emulator.state
        real = own_backup(state, 1.0)
        future = state.add_backup(HA_ID, remark="nightly [dcsb:0000000000ff]", age_hours=YEARS_AHEAD)
        # WHEN retention keeps the newest one
        outcome = function.invoke(
            {"instance_ids": [HA_ID], "retention": {"keep_last": 1}, "raise_on_failure": False}
        ).answer["results"][0]
        # THEN neither is deleted: the real one is the newest good backup, the future one's age is unknown
        assert outcome.get("deleted_backup_ids", []) == []
        assert {real.backup_id, future.backup_id} <= {b.backup_id for b in state.backups(HA_ID)}


class TestAudit:
    def test_a_stale_instance_stays_stale_beside_a_future_dated_backup(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        state.add_backup(HA_ID, backup_type="auto", age_hours=30 * DAY)
        state.add_backup(HA_ID, backup_type="auto", age_hours=YEARS_AHEAD)
        (verdict,) = function.invoke({"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False}).answer[
            "results"
        ]
        assert verdict["status"] == "stale"
        assert "1 successful backup(s) not counted" in verdict["reason"]

    def test_only_future_dated_backups_leave_the_coverage_unknown(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=YEARS_AHEAD)
        (verdict,) = function.invoke({"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False}).answer[
            "results"
        ]
        assert (verdict["status"], verdict["last_backup"]) == ("failed", None)
        assert "in the future" in verdict["reason"]


class TestRecordTime:
    def test_a_time_within_the_clock_skew_is_believed(self) -> None:
        from datetime import datetime, timedelta, timezone

        soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
        later = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
        assert BackupRecord("b", "", "succeed", created_at=soon).created is not None
        assert BackupRecord("b", "", "succeed", created_at=later).created is None
