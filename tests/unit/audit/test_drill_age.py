"""Drills beside the RPO: how old a passed drill may be before restorability counts as not proven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dcs_backup.audit.rules import AuditOutcome, AuditStatus, LastDrill, judge_drills

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


def _ok(status: AuditStatus = AuditStatus.OK) -> AuditOutcome:
    return AuditOutcome("i-1", status, "orders-cache")


def _passed(days_ago: float) -> LastDrill:
    at = NOW - timedelta(days=days_ago)
    return LastDrill(at, "passed", 12.5, "b-1", at)


def test_a_passed_drill_within_the_age_keeps_the_verdict() -> None:
    judged = judge_drills(_ok(), _passed(6.9), 7, NOW)
    assert judged.status is AuditStatus.OK and judged.drill_problem is None and judged.attention is None


def test_a_passed_drill_older_than_the_age_is_unproven_with_its_age_in_days() -> None:
    judged = judge_drills(_ok(), _passed(9.5), 7, NOW)
    assert judged.status is AuditStatus.UNPROVEN
    assert judged.drill_problem == "not proven for 9 days: its newest passed drill is older than 7 days"
    assert judged.attention == f"restorability of instance orders-cache {judged.drill_problem}"


def test_never_passed_is_unproven_even_when_a_drill_failed_yesterday() -> None:
    failed = LastDrill(NOW - timedelta(days=1), "failed", None, "b-2", None)
    judged = judge_drills(_ok(), failed, 7, NOW)
    assert judged.status is AuditStatus.UNPROVEN and "none on record" in (judged.drill_problem or "")


def test_a_stale_instance_stays_stale_and_says_both() -> None:
    judged = judge_drills(_ok(AuditStatus.STALE), None, 7, NOW)
    assert judged.status is AuditStatus.STALE and judged.drill_problem is not None


def test_without_an_age_the_last_drill_is_shown_and_nothing_is_judged() -> None:
    judged = judge_drills(_ok(), None, None, NOW)
    assert judged.status is AuditStatus.OK and judged.to_dict()["last_drill"] is None


@pytest.mark.parametrize("status", [AuditStatus.SKIPPED])
def test_a_skipped_instance_is_never_held_to_drills(status: AuditStatus) -> None:
    judged = judge_drills(_ok(status), None, 7, NOW)
    assert judged.status is status and judged.drill_problem is None


def test_the_last_drill_is_written_in_iso_seconds() -> None:
    drill = _passed(1).to_dict()
    assert drill == {
        "at": "2026-11-30T15:00:00Z",
        "result": "passed",
        "restore_seconds": 12.5,
        "backup_id": "b-1",
        "last_passed_at": "2026-11-30T15:00:00Z",
    }
