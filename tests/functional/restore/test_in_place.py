"""An in-place restore through the real SDK: safety backup first, RestoreInstance, followed until DCS says it ended."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from dcs_backup.platform.errors import RestoreFailedError, RestorePendingError
from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.functional.restore.conftest import (
    BACKUP_KEYS,
    LIVE_KEYS,
    only_result,
    restore_request,
    seeded_backup,
    writes,
)
from tests.support import apig_event


class TestRestoringInPlace:
    def test_the_newest_backup_is_restored_after_a_safety_backup_and_the_keys_come_back(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN an older and a newer succeeded backup, and an instance that lost most of its keys since
        restoring.emulator.state.add_backup(HA_ID, age_hours=30, keys=7)
        newest = seeded_backup(restoring)
        # WHEN the newest backup is restored
        result = restoring.invoke(restore_request())
        # THEN it is restored, and the instance holds the keys it held when that backup was taken
        outcome = only_result(result.answer)
        assert result.answer["status"] == "succeeded"
        assert (outcome["status"], outcome["restore_status"]) == ("restored", "succeed")
        assert outcome["source"]["backup_id"] == newest.backup_id
        assert restoring.emulator.state.instance(HA_ID).keys == BACKUP_KEYS
        # AND a safety backup of the live data was taken first, holding the keys the restore overwrote
        safety = next(b for b in restoring.emulator.state.backups(HA_ID) if b.backup_id == outcome["safety_backup_id"])
        assert safety.keys == LIVE_KEYS
        assert writes(restoring.emulator) == ["CreateBackup", "RestoreInstance"]
        assert outcome["restore_id"] and outcome["started_at"].endswith("Z") and outcome["finished_at"].endswith("Z")
        assert outcome["duration_s"] >= 0

    def test_a_named_backup_is_restored_even_when_a_newer_one_exists(self, restoring: FunctionHarness) -> None:
        older = restoring.emulator.state.add_backup(HA_ID, age_hours=30, keys=7)
        seeded_backup(restoring)
        outcome = only_result(restoring.invoke(restore_request(source={"backup_id": older.backup_id})).answer)
        assert (outcome["status"], outcome["source"]["backup_id"]) == ("restored", older.backup_id)
        assert restoring.emulator.state.instance(HA_ID).keys == 7

    def test_without_backup_before_restore_no_safety_backup_is_taken(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring)
        outcome = only_result(restoring.invoke(restore_request(backup_before_restore=False)).answer)
        assert outcome["status"] == "restored" and "safety_backup_id" not in outcome
        assert writes(restoring.emulator) == ["RestoreInstance"]

    def test_the_instance_is_restoring_while_dcs_restores_it(self, restoring: FunctionHarness) -> None:
        # GIVEN a restore that takes a minute, not waited for
        seeded_backup(restoring)
        restoring.emulator.state.restores.restoring_s = 60
        outcome = only_result(restoring.invoke(restore_request(wait=False, backup_before_restore=False)).answer)
        # THEN the answer says pending, and DCS shows the instance RESTORING
        assert outcome["status"] == "pending" and outcome["restore_id"]
        assert restoring.emulator.state.instance(HA_ID).status == "RESTORING"

    def test_a_restore_dcs_fails_is_failed_with_its_code_and_pages_someone(self, restoring: FunctionHarness) -> None:
        # GIVEN a restore that DCS ends failed (sync failed during restore)
        seeded_backup(restoring)
        restoring.emulator.state.restores.fail_next_restore(HA_ID, "dcs.08.0007")
        # WHEN it is restored (raising, as a workflow would see it)
        result = restoring.invoke(restore_request(raise_on_failure=True))
        # THEN a RestoreFailedError carries DCS's code, and an ERROR line names the instance
        assert isinstance(result.error, RestoreFailedError)
        assert "dcs.08.0007" in str(result.error)
        errors = [line for line in result.logs if line["level"] == "error"]
        assert errors and "orders-cache" in errors[0]["detail"]
        assert restoring.emulator.state.instance(HA_ID).keys == LIVE_KEYS

    def test_a_failed_restore_over_http_is_502_with_the_document_failed(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring)
        restoring.emulator.state.restores.fail_next_restore(HA_ID)
        result = restoring.invoke(apig_event(restore_request()))
        assert result.answer["statusCode"] == 502
        assert result.body["status"] == "failed"
        assert only_result(result.body)["error_code"] == "dcs.08.0007"


class TestPendingAndResumed:
    def test_a_restore_still_running_at_the_deadline_is_pending_then_a_retry_resumes_it(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN a restore that runs longer than the invocation may
        seeded_backup(restoring)
        desk = restoring.emulator.state.restores
        desk.restoring_s = 60
        request = restore_request(idempotency_key="restore-orders-1", raise_on_failure=True)
        started = time.monotonic()
        first = restoring.invoke(request, LocalContext.seeded(remaining_ms=2500))
        # THEN the answer comes in time and raises RestorePendingError, carrying the restore id
        assert time.monotonic() - started < 2.5
        assert isinstance(first.error, RestorePendingError)
        (restore,) = desk.restores(HA_ID)
        assert restore.restore_id in str(first.error)
        # WHEN DCS finishes it and the same request is delivered again
        restore.restoring_s = 0.1
        second = restoring.invoke(request)
        # THEN it reports that restore, finished, without starting another
        outcome = only_result(second.answer)
        assert (outcome["status"], outcome["restore_id"], outcome["reused"]) == ("restored", restore.restore_id, True)
        assert writes(restoring.emulator).count("RestoreInstance") == 1
        assert len(desk.restores(HA_ID)) == 1

    def test_pending_over_http_is_202(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring)
        restoring.emulator.state.restores.restoring_s = 60
        result = restoring.invoke(apig_event(restore_request()), LocalContext.seeded(remaining_ms=2000))
        assert result.answer["statusCode"] == 202
        assert only_result(result.body)["status"] == "pending"

    def test_a_safety_backup_still_running_is_pending_and_the_retry_restores_what_the_first_chose(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN a backup to restore, and safety backups that take a minute
        chosen = seeded_backup(restoring)
        state = restoring.emulator.state
        state.instance(HA_ID).backup_backuping_s = 60
        request = restore_request(idempotency_key="restore-orders-2")
        first = only_result(restoring.invoke(request, LocalContext.seeded(remaining_ms=2000)).answer)
        assert first["status"] == "pending" and "safety backup" in first["reason"]
        assert writes(restoring.emulator) == ["CreateBackup"]
        # WHEN the safety backup has finished (it is now the newest backup) and the request comes again
        (safety,) = [b for b in state.backups(HA_ID) if b.backup_id == first["safety_backup_id"]]
        safety.backuping_s = 0.05
        second = only_result(restoring.invoke(request).answer)
        # THEN the backup restored is the one chosen before the safety backup, and no second safety backup is made
        assert second["status"] == "restored"
        assert second["source"]["backup_id"] == chosen.backup_id
        assert second["safety_backup_id"] == safety.backup_id
        assert writes(restoring.emulator) == ["CreateBackup", "RestoreInstance"]


class TestRedelivery:
    def test_the_same_request_twice_restores_once_and_reports_the_first_restore(
        self, restoring: FunctionHarness
    ) -> None:
        seeded_backup(restoring)
        request = restore_request(idempotency_key="restore-orders-3")
        first = only_result(restoring.invoke(request).answer)
        second = only_result(restoring.invoke(request).answer)
        assert first["status"] == second["status"] == "restored"
        assert second["restore_id"] == first["restore_id"] and second["reused"] is True
        assert second["safety_backup_id"] == first["safety_backup_id"]
        assert writes(restoring.emulator) == ["CreateBackup", "RestoreInstance"]

    def test_an_http_redelivery_with_the_same_idempotency_key_header_restores_once(
        self, restoring: FunctionHarness
    ) -> None:
        seeded_backup(restoring)
        event = apig_event(restore_request(), headers={"Idempotency-Key": "restore-orders-4"})
        first, second = restoring.invoke(event), restoring.invoke(event)
        assert first.answer["statusCode"] == second.answer["statusCode"] == 200
        assert only_result(second.body)["restore_id"] == only_result(first.body)["restore_id"]
        assert writes(restoring.emulator).count("RestoreInstance") == 1

    def test_a_key_reused_for_a_different_restore_is_refused_with_409(self, restoring: FunctionHarness) -> None:
        # GIVEN a restore made with a key
        older = restoring.emulator.state.add_backup(HA_ID, age_hours=30, keys=7)
        seeded_backup(restoring)
        event = apig_event(restore_request(), headers={"Idempotency-Key": "orders-restore"})
        first = only_result(restoring.invoke(event).body)
        # WHEN the same key comes with a different request
        other = restore_request(source={"backup_id": older.backup_id})
        result = restoring.invoke(apig_event(other, headers={"Idempotency-Key": "orders-restore"}))
        # THEN it is refused, naming the restore the key was used for, and nothing more is written
        assert result.answer["statusCode"] == 409
        outcome = only_result(result.body)
        assert outcome["guard"] == "idempotency_key" and first["restore_id"] in outcome["reason"]
        assert writes(restoring.emulator) == ["CreateBackup", "RestoreInstance"]

    def test_a_lost_answer_to_the_restore_call_finds_the_restore_instead_of_starting_another(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN DCS starts the restore but its answer never arrives
        seeded_backup(restoring)
        restoring.emulator.faults.script("RestoreInstance", Fault(FaultKind.LOST_RESPONSE))
        outcome = only_result(restoring.invoke(restore_request(backup_before_restore=False)).answer)
        # THEN the function finds its restore by the request's marker and follows it
        (restore,) = restoring.emulator.state.restores.restores(HA_ID)
        assert (outcome["status"], outcome["restore_id"]) == ("restored", restore.restore_id)
        assert "[dcsb:" in restore.remark


class TestPlan:
    def test_plan_says_what_would_happen_and_writes_nothing(self, restoring: FunctionHarness) -> None:
        newest = seeded_backup(restoring)
        result = restoring.invoke(restore_request(plan=True))
        outcome = only_result(result.answer)
        assert outcome["status"] == "planned" and result.answer["status"] == "succeeded"
        plan = outcome["plan"]
        assert plan["target"] == {"instance_id": HA_ID, "name": "orders-cache", "status": "RUNNING"}
        assert plan["source"]["backup_id"] == newest.backup_id
        assert plan["safety_backup"] and plan["dcs_call"].startswith("RestoreInstance")
        assert writes(restoring.emulator) == []
        assert restoring.emulator.state.instance(HA_ID).keys == LIVE_KEYS

    def test_a_plan_that_a_guard_refuses_is_refused(self, restoring: FunctionHarness) -> None:
        outcome = only_result(restoring.invoke(restore_request(plan=True, confirm_instance_name="orders")).answer)
        assert (outcome["status"], outcome["guard"]) == ("refused", "confirm_instance_name")


class TestColdStart:
    def test_a_plain_backup_imports_none_of_the_restore_code(self) -> None:
        script = (
            "import sys, json\n"
            "from dcs_emulator import DcsEmulator, EmulatorState\n"
            "from dcs_backup.app import Runtime, handle\n"
            "from devkit.context import LocalContext\n"
            "from devkit.seed import HA_ID, PROJECT_ID\n"
            "with DcsEmulator(EmulatorState.from_seed()) as e:\n"
            "    env = {'DCS_ENDPOINT': e.endpoint, 'DCS_PROJECT_ID': PROJECT_ID}\n"
            "    handle({'instance_ids': [HA_ID]}, LocalContext.seeded(), Runtime(env=env))\n"
            "print(json.dumps(sorted(m for m in sys.modules if 'restore' in m)))\n"
        )
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        loaded = json.loads(run.stdout)
        assert not [m for m in loaded if m.startswith("dcs_backup")]
