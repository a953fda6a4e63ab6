"""Waiting for backups to finish, and catching earlier ones that failed later."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError, BackupPendingError, ConfigurationError, InvalidRequestError
from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import FAST_POLLS


@pytest.fixture
def waiting(function: FunctionHarness) -> FunctionHarness:
    """The function with backups that take about a second, polled every 50–200 ms."""
    function.runtime.poll_policy = FAST_POLLS
    state = function.emulator.state
    state.waiting_s, state.backuping_s = 0.3, 0.6
    return function


def _wait(*instance_ids: str, **fields: Any) -> dict[str, Any]:
    return {"instance_ids": list(instance_ids), "wait": True, **fields}


def _apig(request: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = json.dumps(request)
    return event


class TestWaiting:
    def test_a_backup_that_succeeds_is_completed_with_its_size_and_finish_time(self, waiting: FunctionHarness) -> None:
        result = waiting.invoke(_wait(HA_ID))
        (outcome,) = result.answer["results"]
        (backup,) = waiting.emulator.state.backups(HA_ID)
        assert (outcome["status"], outcome["backup_status"]) == ("completed", "succeed")
        assert outcome["backup_id"] == backup.backup_id
        assert outcome["size_bytes"] > 0
        assert outcome["finished_at"].endswith("Z")
        assert result.answer["status"] == "succeeded"
        assert result.answer["counts"]["completed"] == 1

    def test_a_backup_that_fails_in_dcs_fails_with_dcs_code(self, waiting: FunctionHarness) -> None:
        waiting.emulator.state.fail_next_backup(HA_ID, "dcs.08.0002")
        (outcome,) = waiting.invoke(_wait(HA_ID, raise_on_failure=False)).answer["results"]
        assert (outcome["status"], outcome["reason"]) == ("failed", "backup failed in DCS")
        assert (outcome["error_code"], outcome["backup_status"]) == ("dcs.08.0002", "failed")

    def test_mixed_ends_partial(self, waiting: FunctionHarness) -> None:
        waiting.emulator.state.fail_next_backup(CLUSTER_ID, "dcs.08.0001")
        answer = waiting.invoke(_wait(HA_ID, CLUSTER_ID, SINGLE_ID, raise_on_failure=False)).answer
        assert [o["status"] for o in answer["results"]] == ["completed", "failed", "skipped"]
        assert answer["status"] == "partial"

    def test_a_backup_still_running_at_the_deadline_is_pending_and_answered_in_time(
        self, waiting: FunctionHarness
    ) -> None:
        # GIVEN a backup that takes a minute and an invocation with 2 s left
        waiting.emulator.state.instance(HA_ID).backup_backuping_s = 60
        started = time.monotonic()
        result = waiting.invoke(_wait(HA_ID, raise_on_failure=False), LocalContext.seeded(remaining_ms=2000))
        # THEN the answer came before the 2 s were up and says pending, with DCS's word
        assert time.monotonic() - started < 2.0
        (outcome,) = result.answer["results"]
        assert (outcome["status"], outcome["backup_status"]) == ("pending", "backuping")
        assert result.answer["status"] == "pending" and result.answer["counts"]["pending"] == 1

    def test_pending_raises_backup_pending_error_by_default(self, waiting: FunctionHarness) -> None:
        waiting.emulator.state.instance(HA_ID).backup_backuping_s = 60
        result = waiting.invoke(_wait(HA_ID), LocalContext.seeded(remaining_ms=1500))
        assert isinstance(result.error, BackupPendingError)
        assert '"status": "pending"' in str(result.error)

    def test_a_retry_resumes_waiting_on_the_same_backup_without_a_new_post(self, waiting: FunctionHarness) -> None:
        # GIVEN a workflow step whose first try ran out of time while the backup ran
        waiting.emulator.state.instance(HA_ID).backup_backuping_s = 2.0
        request = _wait(HA_ID, idempotency_key="upgrade-orders-2026-11-27")
        first = waiting.invoke(request, LocalContext.seeded(remaining_ms=1000))
        assert isinstance(first.error, BackupPendingError)
        # WHEN the workflow retries the step
        again = waiting.invoke(request, LocalContext.seeded(remaining_ms=10_000))
        # THEN the same backup completed, and no second POST was sent
        (outcome,) = again.answer["results"]
        assert (outcome["status"], outcome["reused"]) == ("completed", True)
        assert len(waiting.emulator.requests_for("CreateBackup")) == 1

    def test_a_retry_after_the_backup_finished_reports_it_without_a_new_post(self, waiting: FunctionHarness) -> None:
        request = _wait(HA_ID, idempotency_key="upgrade-orders-2026-11-28")
        waiting.emulator.state.instance(HA_ID).backup_backuping_s = 1.0
        first = waiting.invoke(request, LocalContext.seeded(remaining_ms=1000))
        assert isinstance(first.error, BackupPendingError)
        time.sleep(1.5)  # the backup finishes between the two tries
        (outcome,) = waiting.invoke(request).answer["results"]
        assert (outcome["status"], outcome["reused"]) == ("completed", True)
        assert len(waiting.emulator.requests_for("CreateBackup")) == 1

    @pytest.mark.parametrize(
        "fault",
        [Fault(FaultKind.THROTTLE, retry_after_s=0), Fault(FaultKind.SERVER_ERROR), Fault(FaultKind.LOST_RESPONSE)],
        ids=lambda f: f.kind.value,
    )
    def test_poll_faults_are_retried_under_the_deadline(self, waiting: FunctionHarness, fault: Fault) -> None:
        # GIVEN the record reads after the create fail now and then
        waiting.emulator.faults.script("ListBackupRecords", Fault(FaultKind.LATENCY), fault, fault)
        result = waiting.invoke(_wait(HA_ID), LocalContext.seeded(remaining_ms=10_000))
        assert result.answer["results"][0]["status"] == "completed"
        assert len(waiting.sleeps) >= 2

    def test_over_http_all_completed_is_200(self, waiting: FunctionHarness) -> None:
        result = waiting.invoke(_apig(_wait(HA_ID, SINGLE_ID)), DCS_HTTP_TIMEOUT_MS="10000")
        assert result.answer["statusCode"] == 200

    def test_over_http_pending_is_202(self, waiting: FunctionHarness) -> None:
        waiting.emulator.state.instance(HA_ID).backup_backuping_s = 60
        result = waiting.invoke(_apig(_wait(HA_ID)), DCS_HTTP_TIMEOUT_MS="1500")
        assert result.answer["statusCode"] == 202
        assert result.body["status"] == "pending"

    def test_without_wait_the_outcome_stays_created(self, waiting: FunctionHarness) -> None:
        (outcome,) = waiting.invoke({"instance_ids": [HA_ID]}).answer["results"]
        assert outcome["status"] == "created" and "backup_status" not in outcome

    def test_dcs_wait_sets_the_default(self, waiting: FunctionHarness) -> None:
        (outcome,) = waiting.invoke({"instance_ids": [HA_ID]}, DCS_WAIT="true").answer["results"]
        assert outcome["status"] == "completed"

    def test_bad_wait_values_are_refused(self, waiting: FunctionHarness) -> None:
        assert isinstance(waiting.invoke(_wait(HA_ID) | {"wait": "yes"}).error, InvalidRequestError)
        assert isinstance(waiting.invoke({"instance_ids": [HA_ID]}, DCS_WAIT="maybe").error, ConfigurationError)


class TestPreviousBackup:
    def test_an_earlier_failure_is_reported_even_beyond_the_first_page(self, function: FunctionHarness) -> None:
        # GIVEN yesterday's backup by this function failed, and newer foreign and automatic ones fill a page
        state = function.emulator.state
        failed = state.add_backup(
            HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, status="failed", error_code="dcs.08.0002"
        )
        for hours in range(1, 6):
            state.add_backup(HA_ID, remark="by hand", age_hours=hours)
            state.add_backup(HA_ID, backup_type="auto", age_hours=hours + 0.5)
        function.runtime.page_sizes = (1000, 4)
        # WHEN today's run backs the instance up
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN the current backup is created, and the earlier failure is reported and logged as an ERROR
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        assert outcome["previous_backup"]["backup_id"] == failed.backup_id
        assert outcome["previous_backup"]["status"] == "failed"
        assert result.answer["previous_failures"] == [
            {"instance_id": HA_ID, "backup_id": failed.backup_id, "error_code": "dcs.08.0002"}
        ]
        (line,) = [line for line in result.logs if line["message"] == "previous backup failed"]
        assert line["level"] == "error" and line["error_code"] == "dcs.08.0002" and line["instance_id"] == HA_ID
        assert len(function.emulator.requests_for("ListBackupRecords")) >= 3

    def test_the_newest_own_backup_is_the_previous_one(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        state.add_backup(HA_ID, remark="[dcsb:aaaaaaaaaaaa]", age_hours=48, status="failed")
        newer = state.add_backup(HA_ID, remark="nightly [dcsb:bbbbbbbbbbbb]", age_hours=24)
        state.add_backup(HA_ID, remark="manual [dcsb:cccccccccccc] not at the end", age_hours=1)
        answer = function.invoke({"instance_ids": [HA_ID]}).answer
        assert answer["results"][0]["previous_backup"]["backup_id"] == newer.backup_id
        assert answer["results"][0]["previous_backup"]["status"] == "succeed"
        assert "previous_failures" not in answer


class TestRefusedStatusRead:
    def test_a_refused_status_read_fails_the_instance_instead_of_pending(self, function: FunctionHarness) -> None:
        """A rejection that is not the deadline fails the instance, like any other call DCS refuses.

        GIVEN DCS refuses ListBackupRecords for good while the function waits (403 DCS.2003, a missing
        ``dcs:instance:getDataBackupLog``), THEN the instance fails (BackupFailedError) with
        ``error_code`` DCS.2003; it is not ``pending`` with BackupPendingError, which the documented
        workflow ("retry on BackupPendingError") would retry forever with no ERROR line to page anyone.
        """
        function.runtime.poll_policy = FAST_POLLS
        # The pipeline's own read of the records passes; every poll is refused.
        function.emulator.faults.script(
            "ListBackupRecords", Fault(FaultKind.LATENCY, delay_s=0), *[Fault(FaultKind.FORBIDDEN)] * 5
        )
        result = function.invoke({"instance_ids": [HA_ID], "wait": True}, LocalContext.seeded(remaining_ms=10_000))
        assert isinstance(result.error, BackupFailedError), repr(result.error)[:300]
