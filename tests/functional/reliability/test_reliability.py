"""The worst days: faults on every call, lost answers, duplicate deliveries, a short deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError
from dcs_backup.platform.retry import RetryPolicy
from dcs_emulator import TRANSIENT_FAULTS, Fault, FaultKind
from dcs_emulator.state import Instance
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, load_event

ROUTES = ("ShowInstance", "ListBackupRecords", "CreateBackup")
TRANSIENT = [
    Fault(FaultKind.THROTTLE),
    Fault(FaultKind.THROTTLE, retry_after_s=7),
    Fault(FaultKind.SERVER_ERROR),
    Fault(FaultKind.UNAVAILABLE),
    Fault(FaultKind.RESET),
]


def _backup_counts(function: FunctionHarness, *instance_ids: str) -> list[int]:
    return [function.emulator.state.backup_count(i) for i in instance_ids]


class TestFaultMatrix:
    @pytest.mark.parametrize("route", ROUTES)
    @pytest.mark.parametrize("fault", TRANSIENT, ids=lambda f: f"{f.kind.value}-{f.retry_after_s}")
    def test_one_transient_fault_is_retried_once(self, function: FunctionHarness, route: str, fault: Fault) -> None:
        # GIVEN the route fails once with a transient fault
        function.emulator.faults.script(route, fault)
        # WHEN one instance is backed up
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN it is created, the route was called twice, and exactly one backup exists
        assert result.answer["results"][0]["status"] == "created"
        assert len(function.emulator.requests_for(route)) == 2
        assert _backup_counts(function, HA_ID) == [1]

    @pytest.mark.parametrize("route", ROUTES)
    def test_throttling_waits_at_least_two_seconds(self, function: FunctionHarness, route: str) -> None:
        function.emulator.faults.script(route, Fault(FaultKind.THROTTLE))
        function.invoke({"instance_ids": [HA_ID]})
        assert len(function.sleeps) == 1 and function.sleeps[0] >= 2.0

    def test_retry_after_is_honoured(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.THROTTLE, retry_after_s=7))
        function.invoke({"instance_ids": [HA_ID]})
        assert len(function.sleeps) == 1 and function.sleeps[0] >= 7

    @pytest.mark.parametrize("route", ("ShowInstance", "ListBackupRecords"))
    def test_lost_answer_to_a_read_is_simply_retried(self, function: FunctionHarness, route: str) -> None:
        function.emulator.faults.script(route, Fault(FaultKind.LOST_RESPONSE))
        result = function.invoke({"instance_ids": [HA_ID]})
        assert result.answer["results"][0]["status"] == "created"
        assert len(function.emulator.requests_for(route)) >= 2

    def test_lost_answer_to_create_finds_the_backup_instead_of_making_another(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.LOST_RESPONSE))
        result = function.invoke({"instance_ids": [HA_ID]})
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        assert "reused" not in outcome
        assert len(function.emulator.requests_for("CreateBackup")) == 1
        (backup,) = function.emulator.state.backups(HA_ID)
        assert outcome["backup_id"] == backup.backup_id

    def test_create_that_times_out_is_not_duplicated(self, function: FunctionHarness) -> None:
        # GIVEN DCS answers the POST only after the client stopped waiting (a raw requests ReadTimeout)
        function.runtime.dcs_timeouts = (1.0, 0.3)
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.LATENCY, delay_s=0.8))
        result = function.invoke({"instance_ids": [HA_ID]})
        time.sleep(0.6)  # let the slow POST land in the emulator
        # THEN one backup exists and the outcome names it
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        (backup,) = function.emulator.state.backups(HA_ID)
        assert outcome["backup_id"] == backup.backup_id

    def test_latency_alone_needs_no_retry(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.LATENCY, delay_s=0.2))
        result = function.invoke({"instance_ids": [HA_ID]})
        assert result.answer["results"][0]["status"] == "created"
        assert len(function.emulator.requests_for("CreateBackup")) == 1

    def test_client_errors_are_not_retried(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": ["no-such-instance"], "raise_on_failure": False})
        assert result.answer["results"][0]["error_code"] == "DCS.3022"
        assert len(function.emulator.requests_for("ShowInstance")) == 1

    def test_persistent_server_errors_fail_after_the_attempt_limit(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("ShowInstance", *[Fault(FaultKind.SERVER_ERROR)] * 10)
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        (outcome,) = result.answer["results"]
        assert (outcome["status"], outcome["error_code"]) == ("failed", "DCS.5000")
        assert outcome["reason"] == "ShowInstance failed after 5 attempt(s)"
        assert len(function.emulator.requests_for("ShowInstance")) == 5


class TestBackupListUnavailable:
    def test_a_role_without_list_permission_still_backs_up(self, function: FunctionHarness) -> None:
        # GIVEN the caller may not read backup records (403 DCS.2003)
        function.emulator.faults.script("ListBackupRecords", Fault(FaultKind.FORBIDDEN))
        # WHEN it backs up an instance
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN the backup is made without the duplicate check, and the log says so
        assert result.answer["results"][0]["status"] == "created"
        assert any(line["message"].startswith("could not list backups") for line in result.logs)

    def test_duplicate_is_still_refused_by_dcs_when_listing_is_impossible(self, function: FunctionHarness) -> None:
        # GIVEN a first delivery made the backup, and listing is forbidden for the second
        event = load_event("eventgrid.json")
        function.invoke(event)
        function.emulator.faults.script("ListBackupRecords", *[Fault(FaultKind.FORBIDDEN)] * 10)
        second = function.invoke(event)
        # THEN no second backup exists: DCS refuses it while the first runs, and that is reported
        assert function.emulator.state.backup_count(HA_ID) == 1
        assert isinstance(second.error, BackupFailedError)
        assert "DCS.4096" in str(second.error)


class TestBusyInstance:
    def test_running_backup_of_another_request_is_retried_then_reported(self, function: FunctionHarness) -> None:
        # GIVEN a backup started by someone else is still running
        function.emulator.state.create_backup(HA_ID, "manual backup", "rdb")
        # WHEN the function tries to back the instance up
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        # THEN it retried within its attempts and reports DCS.4096
        (outcome,) = result.answer["results"]
        assert (outcome["status"], outcome["error_code"]) == ("failed", "DCS.4096")
        assert len(function.emulator.requests_for("CreateBackup")) == 5


class TestIdempotency:
    def test_the_same_timer_event_twice_makes_one_backup_per_instance(self, function: FunctionHarness) -> None:
        event = load_event("timer.json")
        first = function.invoke(event)
        second = function.invoke(event)
        assert _backup_counts(function, HA_ID, CLUSTER_ID) == [1, 1]
        assert [r.get("reused") for r in second.answer["results"][:2]] == [True, True]
        assert [r.get("backup_id") for r in first.answer["results"]] == [
            r.get("backup_id") for r in second.answer["results"]
        ]

    def test_concurrent_deliveries_make_one_backup_per_instance(self, function: FunctionHarness) -> None:
        event = load_event("timer.json")
        answers: list[Any] = []

        def deliver() -> None:
            harness = FunctionHarness(function.emulator)
            answers.append(harness.invoke(event).answer)

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a["status"] for a in answers] == ["succeeded", "succeeded"]
        assert _backup_counts(function, HA_ID, CLUSTER_ID) == [1, 1]
        # AND again once those backups have finished
        time.sleep(1.1)
        function.invoke(event)
        assert _backup_counts(function, HA_ID, CLUSTER_ID) == [1, 1]

    def test_a_failed_backup_of_the_same_request_is_retried(self, function: FunctionHarness) -> None:
        event = load_event("eventgrid.json")
        function.invoke(event)
        (earlier,) = function.emulator.state.backups(HA_ID)
        earlier.failed = True
        again = function.invoke(event)
        assert again.answer["results"][0]["status"] == "created"
        assert function.emulator.state.backup_count(HA_ID) == 2

    def test_requests_without_a_key_are_not_deduplicated(self, function: FunctionHarness) -> None:
        function.invoke({"instance_ids": [HA_ID]})
        time.sleep(1.1)
        function.invoke({"instance_ids": [HA_ID]})
        assert function.emulator.state.backup_count(HA_ID) == 2

    def test_api_gateway_idempotency_key_header_deduplicates(self, function: FunctionHarness) -> None:
        event = load_event("apig-base64.json")
        function.invoke(event)
        again = function.invoke(event)
        assert again.answer["statusCode"] == 202
        assert function.emulator.state.backup_count(HA_ID) == 1


class TestManyInstancesUnderFaults:
    def test_fifty_instances_with_30_percent_faults_all_end_created_once(self, function: FunctionHarness) -> None:
        # GIVEN 50 instances and a 30% rate of every transient fault on every call
        ids = [f"load-{n:02d}" for n in range(50)]
        for instance_id in ids:
            function.emulator.state.add_instance(Instance(instance_id, instance_id))
        function.emulator.faults.set_random(0.3, TRANSIENT_FAULTS, seed=20261126, latency_s=0.01)
        # Enough attempts that 30% faults cannot exhaust them by chance; the cap itself is tested above.
        function.policy = RetryPolicy(max_attempts=12, sleep=function.sleeps.append)
        # WHEN they are all backed up in one invocation
        result = function.invoke({"instance_ids": ids}, DCS_MAX_CONCURRENCY="8")
        # THEN every instance is created exactly once and nothing is lost
        assert result.answer["status"] == "succeeded"
        assert [r["instance_id"] for r in result.answer["results"]] == ids
        assert {r["status"] for r in result.answer["results"]} == {"created"}
        assert _backup_counts(function, *ids) == [1] * 50
        assert function.emulator.faults.count() > 50


class TestDeadline:
    def test_work_longer_than_the_deadline_ends_in_time_with_every_outcome(self, function: FunctionHarness) -> None:
        # GIVEN every call takes 0.4 s and the invocation has 2 s left
        ids = [f"slow-{n}" for n in range(12)]
        for instance_id in ids:
            function.emulator.state.add_instance(Instance(instance_id, instance_id))
        function.emulator.faults.set_random(1.0, [FaultKind.LATENCY], seed=1, latency_s=0.4)
        function.policy = RetryPolicy()
        started = time.monotonic()
        result = function.invoke(
            {"instance_ids": ids, "raise_on_failure": False}, LocalContext.seeded(remaining_ms=2000)
        )
        elapsed = time.monotonic() - started
        # THEN the call returned before the deadline and no instance was dropped
        assert elapsed < 2.0
        outcomes = result.answer["results"]
        assert [o["instance_id"] for o in outcomes] == ids
        late = [o for o in outcomes if o["status"] == "failed"]
        assert late and all(o["reason"].startswith("deadline reached") for o in late)
