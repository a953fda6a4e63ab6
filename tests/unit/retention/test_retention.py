"""The retention rules and the ring, over backup records alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import BASELINE_REMARK
from dcs_backup.retention.rules import RetentionRule, owner_of, ring_victim

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def _record(
    name: str, days: float, status: str = "succeed", remark: str | None = None, kind: str = "manual"
) -> BackupRecord:
    created = (NOW - timedelta(days=days)).isoformat().replace("+00:00", "Z")
    own = f"nightly [dcsb:{abs(hash(name)) % 16**12:012x}]"
    return BackupRecord(name, own if remark is None else remark, status, backup_type=kind, created_at=created)


def _doomed(rule: RetentionRule, *records: BackupRecord) -> list[str]:
    return [r.backup_id for r in rule.expendable(records, NOW)]


class TestExpendable:
    def test_running_backups_are_never_chosen(self) -> None:
        rule = RetentionRule(keep_last=1, max_age_days=1)
        records = (_record("new", 0.5), _record("running", 20, "backuping"), _record("queued", 30, "waiting"))
        assert _doomed(rule, *records) == []

    def test_gone_records_are_ignored(self) -> None:
        records = (_record("new", 1), _record("deleted", 20, "deleted"), _record("expired", 30, "expired"))
        assert _doomed(RetentionRule(max_age_days=7), *records) == []

    def test_oldest_first(self) -> None:
        records = (_record("a", 1), _record("c", 30), _record("b", 20))
        assert _doomed(RetentionRule(keep_last=1), *records) == ["c", "b"]

    def test_a_failed_backup_newer_than_every_success_is_kept_until_too_old(self) -> None:
        records = (_record("ok", 2), _record("failed-new", 1, "failed"))
        assert _doomed(RetentionRule(keep_last=5), *records) == []
        assert _doomed(RetentionRule(max_age_days=1), *records, _record("failed-old", 3, "failed")) == ["failed-old"]

    def test_only_the_functions_marker_at_the_end_counts(self) -> None:
        records = (_record("own", 1), _record("lookalike", 10, remark="[dcsb:0123456789ab] by hand"))
        assert _doomed(RetentionRule(max_age_days=1), *records) == []

    def test_a_drill_scratch_instances_empty_baseline_is_never_chosen_however_old(self) -> None:
        baseline = _record("baseline", 400, remark=f"{BASELINE_REMARK} [dcsb:0123456789ab-01234567]")
        records = (_record("new", 1), _record("old", 30), baseline, _record("older", 500))
        assert _doomed(RetentionRule(keep_last=1, max_age_days=1), *records) == ["older", "old"]

    def test_an_empty_baseline_is_not_the_one_good_copy_that_is_always_kept(self) -> None:
        baseline = _record("baseline", 0.1, remark=f"{BASELINE_REMARK} [dcsb:0123456789ab-01234567]")
        assert _doomed(RetentionRule(keep_last=1), _record("a", 1), _record("b", 2), baseline) == ["b"]


class TestRing:
    def test_no_victim_below_24(self) -> None:
        assert ring_victim([_record(str(n), n) for n in range(23)]) is None

    def test_the_oldest_held_backup_at_24_whoever_made_it(self) -> None:
        records = [_record(str(n), n) for n in range(23)] + [_record("auto", 99, kind="auto", remark="")]
        victim = ring_victim(records)
        assert victim is not None and victim.backup_id == "auto" and owner_of(victim) == "an automatic"

    def test_gone_records_do_not_hold_a_place(self) -> None:
        records = [_record(str(n), n) for n in range(23)] + [_record("gone", 99, "deleted")]
        assert ring_victim(records) is None

    def test_a_future_dated_backup_is_not_taken_for_the_oldest(self) -> None:
        records = [_record(str(n), n) for n in range(23)] + [_record("future", -70 * 365)]
        victim = ring_victim(records)
        assert victim is not None and victim.backup_id == "22"
