"""Retention of the function's own backups, and the guard against DCS's 24-backup ring."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from dcs_emulator import EmulatorState, Fault, FaultKind
from dcs_emulator.model import Backup
from devkit.context import LocalContext
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.support import DAY, FAST_POLLS, override_record, own_backup, trickle_backup_listings


def _run(function: FunctionHarness, retention: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"instance_ids": [HA_ID], "raise_on_failure": False, **fields}
    if retention is not None:
        request["retention"] = retention
    answer: dict[str, Any] = function.invoke(request).answer["results"][0]
    return answer


class TestRules:
    def test_keep_last_deletes_the_older_succeeded_backups(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        backups = [own_backup(state, days) for days in (1, 2, 3, 4, 5)]
        outcome = _run(function, {"keep_last": 3})
        # THEN this run's backup (still running) does not count: the newest three are kept
        assert outcome["deleted_backup_ids"] == [backups[4].backup_id, backups[3].backup_id]
        assert state.deleted(HA_ID) == outcome["deleted_backup_ids"]

    def test_max_age_deletes_older_backups(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        own_backup(state, 1), own_backup(state, 5)
        old = own_backup(state, 10)
        assert _run(function, {"max_age_days": 7})["deleted_backup_ids"] == [old.backup_id]

    def test_keep_last_and_max_age_together(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        own_backup(state, 1), own_backup(state, 2)
        third, old = own_backup(state, 3), own_backup(state, 8)
        outcome = _run(function, {"keep_last": 2, "max_age_days": 7})
        assert outcome["deleted_backup_ids"] == [old.backup_id, third.backup_id]

    def test_the_newest_succeeded_backup_is_kept_however_old(self, function: FunctionHarness) -> None:
        own_backup(function.emulator.state, 30)
        outcome = _run(function, {"max_age_days": 7})
        assert "deleted_backup_ids" not in outcome and function.emulator.state.deleted(HA_ID) == []

    def test_automatic_and_foreign_backups_are_never_touched(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        state.add_backup(HA_ID, backup_type="auto", age_hours=40 * DAY)
        state.add_backup(HA_ID, remark="before the migration", age_hours=50 * DAY)
        state.add_backup(HA_ID, remark="[dcsb:0123456789ab] copied by hand", age_hours=60 * DAY)
        own_backup(state, 1)
        assert "deleted_backup_ids" not in _run(function, {"keep_last": 1, "max_age_days": 1})
        assert state.deleted(HA_ID) == []

    def test_a_failed_backup_goes_once_a_newer_one_succeeded(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        superseded = own_backup(state, 3, status="failed")
        own_backup(state, 2)
        own_backup(state, 1, status="failed", n=1)
        assert _run(function, {"keep_last": 5})["deleted_backup_ids"] == [superseded.backup_id]

    def test_dry_run_deletes_nothing_and_says_what_it_would(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        own_backup(state, 1)
        old = own_backup(state, 9)
        outcome = _run(function, {"max_age_days": 7, "dry_run": True})
        assert outcome["would_delete_backup_ids"] == [old.backup_id]
        assert "deleted_backup_ids" not in outcome and state.deleted(HA_ID) == []

    def test_with_wait_this_runs_backup_counts_once_it_succeeded(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        yesterday = own_backup(state, 1)
        function.runtime.poll_policy = FAST_POLLS
        outcome = _run(function, {"keep_last": 1}, wait=True)
        assert outcome["status"] == "completed"
        assert outcome["deleted_backup_ids"] == [yesterday.backup_id]

    def test_a_failed_deletion_is_reported_without_changing_the_outcome(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        own_backup(state, 1)
        own_backup(state, 9)
        function.emulator.faults.script("DeleteBackup", Fault(FaultKind.FORBIDDEN))
        result = function.invoke({"instance_ids": [HA_ID], "retention": {"max_age_days": 7}})
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        assert outcome["retention_error"]["error_code"] == "DCS.2003"
        (line,) = [line for line in result.logs if line["message"] == "retention failed"]
        assert line["level"] == "error" and "deleting backup" in line["detail"]


class TestRingGuard:
    @staticmethod
    def _fill(state: EmulatorState, own_days: tuple[float, ...]) -> Backup:
        """24 backups: the oldest an automatic one, then the function's own, the rest by hand."""
        oldest = state.add_backup(HA_ID, backup_type="auto", age_hours=100 * DAY)
        for n, days in enumerate(own_days):
            own_backup(state, days, n=n)
        for hours in range(24 - 1 - len(own_days)):
            state.add_backup(HA_ID, remark="by hand", age_hours=hours + 1)
        return oldest

    def test_with_retention_our_expendable_backup_makes_room(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        automatic = self._fill(state, own_days=(2, 30, 40))
        outcome = _run(function, {"keep_last": 1})
        # THEN DCS evicted nothing: the automatic backup survives, and only our own went
        assert state.evicted(HA_ID) == []
        assert automatic.backup_id in {b.backup_id for b in state.backups(HA_ID)}
        assert len(outcome["deleted_backup_ids"]) == 2
        assert "evicts_backup_id" not in outcome

    def test_without_retention_the_evicted_backup_is_named(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        automatic = self._fill(state, own_days=(2,))
        result = function.invoke({"instance_ids": [HA_ID]})
        (outcome,) = result.answer["results"]
        assert outcome["evicts_backup_id"] == automatic.backup_id
        assert state.evicted(HA_ID) == [automatic.backup_id]
        (line,) = [line for line in result.logs if line["message"] == "backup will be evicted"]
        assert line["level"] == "warning" and line["owner"] == "an automatic"

    def test_with_nothing_of_ours_expendable_the_evicted_backup_is_named(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        automatic = self._fill(state, own_days=(1,))
        outcome = _run(function, {"keep_last": 3})
        assert outcome["evicts_backup_id"] == automatic.backup_id

    def test_below_24_nothing_is_said(self, function: FunctionHarness) -> None:
        for hours in range(23):
            function.emulator.state.add_backup(HA_ID, remark="by hand", age_hours=hours + 1)
        assert "evicts_backup_id" not in _run(function)

    def test_a_failed_ring_guard_deletion_is_reported_as_retention_error(self, function: FunctionHarness) -> None:
        """At 24 backups the ring guard deletes the function's oldest expendable backup to make room.

        When DCS refuses that deletion (403 here), the outcome carries ``retention_error`` with DCS's
        error code (the refusal is not only logged), as DCS will then evict someone else's backup.
        """
        state = function.emulator.state
        for n in range(22):
            state.add_backup(HA_ID, backup_type="auto", age_hours=200 - n)
        own_backup(state, 3)
        own_backup(state, 1)
        function.emulator.faults.script("DeleteBackup", Fault(FaultKind.FORBIDDEN))
        outcome = _run(function, {"keep_last": 1})
        assert outcome.get("retention_error"), outcome


class TestValidation:
    @pytest.mark.parametrize(
        ("retention", "field"),
        [
            ({}, "retention"),
            ({"dry_run": True}, "retention"),
            ({"keep_last": 0}, "retention.keep_last"),
            ({"keep_last": 25}, "retention.keep_last"),
            ({"keep_last": True}, "retention.keep_last"),
            ({"keep_last": 1.5}, "retention.keep_last"),
            ({"max_age_days": 0}, "retention.max_age_days"),
            ({"max_age_days": 3651}, "retention.max_age_days"),
            ({"keep_last": 3, "dry_run": "yes"}, "retention.dry_run"),
            ({"keep_last": 3, "keep": 1}, "retention.keep"),
            ("keep 14", "retention"),
        ],
    )
    def test_each_rule_names_its_field(self, function: FunctionHarness, retention: Any, field: str) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "retention": retention})
        assert isinstance(result.error, InvalidRequestError)
        assert field in {p.field for p in result.error.problems}

    def test_configured_defaults_apply(self, function: FunctionHarness) -> None:
        own_backup(function.emulator.state, 1)
        old = own_backup(function.emulator.state, 3)
        outcome = function.invoke({"instance_ids": [HA_ID]}, DCS_KEEP_LAST="1").answer["results"][0]
        assert outcome["deleted_backup_ids"] == [old.backup_id]

    @pytest.mark.parametrize(("name", "value"), [("DCS_KEEP_LAST", "25"), ("DCS_MAX_AGE_DAYS", "two weeks")])
    def test_bad_defaults_are_configuration_errors(self, function: FunctionHarness, name: str, value: str) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, **{name: value})
        assert isinstance(result.error, ConfigurationError) and name in str(result.error)


def _list_twice(state: EmulatorState, backup_id: str) -> None:
    """Make ListBackupRecords list one record twice (as a listing that shifts between pages does)."""
    original = state.backups

    def listed(instance_id: str) -> list[Backup]:
        records = original(instance_id)
        return records + [b for b in records if b.backup_id == backup_id]

    state.backups = listed  # type: ignore[method-assign]


class TestRecordsDcsListsOddly:
    def test_the_newest_good_backup_listed_twice_is_not_deleted_for_age(self, function: FunctionHarness) -> None:
        """A record DCS lists twice (pages that shift) is one backup: records are told apart by backup_id.

        The second copy of the newest succeeded backup is recognised as that backup, so max_age_days
        keeps it whatever its age: the only good copy stays.
        """
        state = function.emulator.state
        only_good = own_backup(state, 30)
        _list_twice(state, only_good.backup_id)
        outcome = _run(function, {"max_age_days": 7})
        assert state.deleted(HA_ID) == [], outcome

    def test_a_backup_with_an_unreadable_time_is_not_deleted_for_age(self, function: FunctionHarness) -> None:
        """A backup whose age is unknown is never deleted for age, and never ranked as the oldest.

        A record whose created_at is missing or unreadable does not count as infinitely old: here it is
        in fact the newest succeeded backup but one, which keep_last 14 keeps, and max_age_days 7 leaves
        it alone too.
        """
        state = function.emulator.state
        own_backup(state, 0.5)
        recent = own_backup(state, 1)
        override_record(state, recent.backup_id, created_at={})
        outcome = _run(function, {"keep_last": 14, "max_age_days": 7})
        assert recent.backup_id not in state.deleted(HA_ID), outcome


class TestDeadline:
    def test_a_prune_still_running_at_the_deadline_is_reported(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Retention still under way at the deadline is said in the outcome, as every other unfinished step is.

        GIVEN the prune's ListBackupRecords trickles past the deadline, THEN the outcome carries
        ``retention_error`` (a reason naming the deadline) or the ``deleted_backup_ids`` so far: it
        never comes back as it was before pruning, with no trace of retention while deletions may be
        half done.
        """
        state = function.emulator.state
        for days in (1, 2, 3):
            own_backup(state, days)
        trickle_backup_listings(monkeypatch, skip=1)  # the pipeline's read is prompt, the prune's trickles
        result = function.invoke(
            {"instance_ids": [HA_ID], "raise_on_failure": False, "retention": {"keep_last": 1}},
            LocalContext.seeded(remaining_ms=2000),
        )
        outcome = result.answer["results"][0]
        assert "retention_error" in outcome or "deleted_backup_ids" in outcome, (
            f"retention vanished from the outcome: {outcome}"
        )
