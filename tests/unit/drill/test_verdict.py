"""The key-count verdict: only a count within the tolerance of what the backup declares passes."""

from __future__ import annotations

import pytest

from dcs_backup.drill.outcome import DrillOutcome, DrillReport, DrillStatus, key_verdict


class TestKeyVerdict:
    def test_equal_counts_pass(self) -> None:
        assert key_verdict(500, 500, 1.0) == (DrillStatus.PASSED, None)

    def test_keys_that_expired_within_the_tolerance_pass(self) -> None:
        assert key_verdict(1000, 990, 1.0)[0] is DrillStatus.PASSED

    @pytest.mark.parametrize("restored", [989, 1011, 0])
    def test_a_count_beyond_the_tolerance_either_way_fails(self, restored: int) -> None:
        status, reason = key_verdict(1000, restored, 1.0)
        assert status is DrillStatus.FAILED and reason is not None and f"holds {restored} keys" in reason

    @pytest.mark.parametrize(("expected", "restored"), [(None, 500), (500, None), (None, None)])
    def test_an_unknown_count_is_inconclusive_never_passed(self, expected: int | None, restored: int | None) -> None:
        assert key_verdict(expected, restored, 50.0)[0] is DrillStatus.INCONCLUSIVE

    def test_more_keys_than_the_first_database_declares_is_inconclusive_where_other_databases_may_be(
        self,
    ) -> None:
        status, reason = key_verdict(1000, 1500, 1.0, first_database_only=True)
        assert status is DrillStatus.INCONCLUSIVE and reason is not None and "first database" in reason

    def test_fewer_keys_than_the_first_database_declares_still_fails(self) -> None:
        assert key_verdict(1000, 500, 1.0, first_database_only=True)[0] is DrillStatus.FAILED


class TestReport:
    def _report(self, *statuses: DrillStatus, reason: str | None = None) -> DrillReport:
        results = tuple(DrillOutcome(f"i{n}", status) for n, status in enumerate(statuses))
        return DrillReport("timer", "r", "scratch", 1.0, results, reason)

    def test_passed_and_skipped_succeed(self) -> None:
        assert self._report(DrillStatus.PASSED, DrillStatus.SKIPPED).status == "succeeded"

    @pytest.mark.parametrize("status", [DrillStatus.FAILED, DrillStatus.INCONCLUSIVE])
    def test_a_drill_that_proves_nothing_fails_the_report(self, status: DrillStatus) -> None:
        report = self._report(DrillStatus.PASSED, status, DrillStatus.PENDING)
        assert report.status == "failed" and not report.succeeded

    def test_a_pending_drill_leaves_the_report_pending(self) -> None:
        assert self._report(DrillStatus.PASSED, DrillStatus.PENDING).status == "pending"

    def test_a_run_level_failure_fails_the_report(self) -> None:
        assert self._report(DrillStatus.PASSED, reason="credentials rejected").status == "failed"

    @pytest.mark.parametrize("status", [DrillStatus.FAILED, DrillStatus.INCONCLUSIVE])
    def test_a_drill_that_proves_nothing_asks_for_attention(self, status: DrillStatus) -> None:
        outcome = DrillOutcome("i", status, "orders", reason="because")
        assert outcome.attention == f"restorability of instance orders not proven ({status.value}): because"
        assert DrillOutcome("i", DrillStatus.PASSED).attention is None
