"""A backup record whose time parses but cannot be turned into UTC has an unknown time: no job crashes on it."""

from __future__ import annotations

from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.support import override_record

ODD_TIME = "0001-01-01T00:00:00.000+08:00"  # parses, but overflows when turned into UTC


class TestOutOfRangeTimes:
    def test_the_audit_survives_a_record_with_an_out_of_range_time(self, function: FunctionHarness) -> None:
        """A time that overflows when turned into UTC (OverflowError) is treated as unknown.

        The audit does not crash on it: the instance, which has a good backup from an hour ago, gets
        the verdict ok, not "failed" with "internal error".
        """
        state = function.emulator.state
        odd = state.add_backup(HA_ID, backup_type="auto", age_hours=48)
        override_record(state, odd.backup_id, created_at=ODD_TIME)
        state.add_backup(HA_ID, remark="manual", age_hours=1)
        outcome = function.invoke({"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False})
        assert outcome.answer["results"][0]["status"] == "ok", outcome.answer

    def test_the_ring_guard_survives_a_record_with_an_out_of_range_time(self, function: FunctionHarness) -> None:
        """At 24 backups the ring guard orders every record by time; an overflowing one is of unknown age.

        The backup is started: one automatic record with such a time does not fail the instance with
        "internal error" before any backup is made.
        """
        state = function.emulator.state
        for n in range(24):
            record = state.add_backup(HA_ID, backup_type="auto", age_hours=100 - n)
        override_record(state, record.backup_id, created_at=ODD_TIME)
        outcome = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}).answer["results"][0]
        assert outcome["status"] == "created", outcome
