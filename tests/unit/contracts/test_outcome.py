"""Outcome aggregation into the result document."""

from __future__ import annotations

import pytest

from dcs_backup.outcome import BackupOutcome, OutcomeStatus, RunStatus, summarize

CREATED = BackupOutcome("a", OutcomeStatus.CREATED, backup_id="b1")
SKIPPED = BackupOutcome("b", OutcomeStatus.SKIPPED, reason="single-node instances cannot be backed up")
FAILED = BackupOutcome("c", OutcomeStatus.FAILED, error_code="DCS.3022")


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([CREATED], RunStatus.SUCCEEDED),
        ([CREATED, SKIPPED], RunStatus.SUCCEEDED),
        ([SKIPPED], RunStatus.SUCCEEDED),
        ([CREATED, FAILED], RunStatus.PARTIAL),
        ([SKIPPED, FAILED], RunStatus.PARTIAL),
        ([FAILED], RunStatus.FAILED),
    ],
)
def test_run_status_follows_failures(outcomes: list[BackupOutcome], status: RunStatus) -> None:
    assert summarize(outcomes, "timer", "req").status is status


def test_document_counts_every_outcome() -> None:
    document = summarize([CREATED, SKIPPED, FAILED], "apig", "req-1").to_dict()
    assert document["counts"] == {"created": 1, "completed": 0, "pending": 0, "skipped": 1, "failed": 1, "total": 3}
    assert (document["trigger"], document["request_id"]) == ("apig", "req-1")


def test_outcome_leaves_out_absent_fields_and_false_reused() -> None:
    assert CREATED.to_dict() == {"instance_id": "a", "status": "created", "backup_id": "b1"}
    reused = BackupOutcome("a", OutcomeStatus.CREATED, backup_id="b1", reused=True)
    assert reused.to_dict()["reused"] is True
