"""One restore at a time into an instance, and what a repeated or concurrent request restores.

A request repeated (with or without its key, over another trigger) never restores a safety backup; a
second request while a restore, an import or another request's safety backup is under way is refused;
a resumed request restores what it chose the first time.
"""

from __future__ import annotations

import time

from dcs_emulator import Fault, FaultKind, Instance
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

DR_ID = "2b6f0c1e-77aa-4c1d-9e55-0d3b4a5c6d77"
DR_NAME = "orders-dr"


def _with_dr(restoring: FunctionHarness) -> None:
    restoring.emulator.state.add_instance(Instance(DR_ID, DR_NAME, engine_version="6.0"))
    restoring.env["DCS_RESTORE_TARGETS"] += f",{DR_ID}"
    restoring.emulator.state.instance(DR_ID).keys = 0


def _into_dr(**fields: object) -> dict[str, object]:
    return restore_request(instance_id=DR_ID, confirm_instance_name=DR_NAME, source_instance_id=HA_ID, **fields)


def _pending_on_its_safety_backup(restoring: FunctionHarness, key: str) -> dict[str, object]:
    """A request left pending while its safety backup runs; that backup then finishes at once."""
    state = restoring.emulator.state
    state.instance(HA_ID).backup_backuping_s = 60
    first = only_result(
        restoring.invoke(restore_request(idempotency_key=key), LocalContext.seeded(remaining_ms=2000)).answer
    )
    assert first["status"] == "pending"
    (safety,) = [b for b in state.backups(HA_ID) if b.backup_id == first["safety_backup_id"]]
    safety.backuping_s = 0.05
    state.instance(HA_ID).backup_backuping_s = 0.05
    time.sleep(0.3)
    return first


class TestLatestNeverRestoresASafetyBackup:
    def test_the_same_request_sent_again_without_a_key_restores_the_chosen_backup_again(
        self, restoring: FunctionHarness
    ) -> None:
        chosen = seeded_backup(restoring)
        first = only_result(restoring.invoke(restore_request()).answer)
        second = only_result(restoring.invoke(restore_request()).answer)
        assert first["source"]["backup_id"] == second["source"]["backup_id"] == chosen.backup_id
        assert restoring.emulator.state.instance(HA_ID).keys == BACKUP_KEYS

    def test_the_same_key_over_another_trigger_never_undoes_the_restore(self, restoring: FunctionHarness) -> None:
        chosen = seeded_backup(restoring)
        restoring.invoke(restore_request(idempotency_key="orders-7"))
        second = only_result(restoring.invoke(apig_event(restore_request(idempotency_key="orders-7"))).body)
        assert second["source"]["backup_id"] == chosen.backup_id
        assert restoring.emulator.state.instance(HA_ID).keys == BACKUP_KEYS

    def test_a_resumed_request_restores_what_it_chose_not_a_backup_made_meanwhile(
        self, restoring: FunctionHarness
    ) -> None:
        chosen = seeded_backup(restoring)
        _pending_on_its_safety_backup(restoring, "restore-orders-9")
        # meanwhile a scheduled backup of the data the restore is to replace finished
        restoring.emulator.state.add_backup(HA_ID, age_hours=0, keys=LIVE_KEYS, backup_type="auto")
        resumed = only_result(restoring.invoke(restore_request(idempotency_key="restore-orders-9")).answer)
        assert resumed["status"] == "restored" and resumed["source"]["backup_id"] == chosen.backup_id
        assert restoring.emulator.state.instance(HA_ID).keys == BACKUP_KEYS


class TestOneRestoreAtATime:
    def test_another_request_while_a_safety_backup_of_the_instance_runs_is_refused(
        self, restoring: FunctionHarness
    ) -> None:
        seeded_backup(restoring)
        state = restoring.emulator.state
        state.instance(HA_ID).backup_backuping_s = 60
        restoring.invoke(restore_request(idempotency_key="k1"), LocalContext.seeded(remaining_ms=2000))
        second = only_result(restoring.invoke(restore_request(idempotency_key="k2")).answer)
        assert (second["status"], second["guard"]) == ("refused", "restore_running")
        assert writes(restoring.emulator) == ["CreateBackup"]

    def test_a_second_import_into_a_target_an_import_runs_into_is_refused(self, restoring: FunctionHarness) -> None:
        _with_dr(restoring)
        seeded_backup(restoring)
        restoring.emulator.state.restores.import_s = 60
        only_result(restoring.invoke(_into_dr(idempotency_key="dr-a", wait=False)).answer)
        second = only_result(restoring.invoke(_into_dr(idempotency_key="dr-b", wait=False)).answer)
        assert (second["status"], second["guard"]) == ("refused", "restore_running")
        assert writes(restoring.emulator).count("CreateMigrationTask") == 1

    def test_an_in_place_restore_while_an_import_runs_into_the_instance_is_refused(
        self, restoring: FunctionHarness
    ) -> None:
        _with_dr(restoring)
        seeded_backup(restoring)
        restoring.emulator.state.restores.import_s = 60
        restoring.invoke(_into_dr(idempotency_key="dr-a", wait=False))
        restoring.emulator.state.add_backup(DR_ID, age_hours=3, keys=11)
        request = restore_request(
            instance_id=DR_ID, confirm_instance_name=DR_NAME, idempotency_key="dr-c", backup_before_restore=False
        )
        second = only_result(restoring.invoke(request).answer)
        assert (second["status"], second["guard"]) == ("refused", "restore_running")
        assert "RestoreInstance" not in writes(restoring.emulator)

    def test_an_import_while_an_in_place_restore_is_queued_is_refused(self, restoring: FunctionHarness) -> None:
        _with_dr(restoring)
        seeded_backup(restoring)
        own = restoring.emulator.state.add_backup(DR_ID, age_hours=3, keys=11)
        restoring.emulator.state.restores.waiting_s = 60
        restoring.emulator.state.restores.restore(DR_ID, {"backup_id": own.backup_id})
        restoring.emulator.state.instance(DR_ID).status = "RUNNING"  # DCS still says RUNNING while it waits
        second = only_result(restoring.invoke(_into_dr(idempotency_key="dr-d", wait=False)).answer)
        assert (second["status"], second["guard"]) == ("refused", "restore_running")
        assert "CreateMigrationTask" not in writes(restoring.emulator)


class TestAnswersCutShort:
    def test_a_restore_whose_start_is_answered_after_the_deadline_is_pending_not_failed(
        self, restoring: FunctionHarness
    ) -> None:
        seeded_backup(restoring)
        restoring.emulator.faults.script("RestoreInstance", Fault(FaultKind.SLOW_ANSWER, delay_s=4))
        request = restore_request(idempotency_key="slow-1", backup_before_restore=False, raise_on_failure=False)
        first = only_result(restoring.invoke(request, LocalContext.seeded(remaining_ms=2500)).answer)
        assert first["status"] == "pending"
        time.sleep(4)
        second = only_result(restoring.invoke(request).answer)
        assert second["status"] == "restored" and writes(restoring.emulator).count("RestoreInstance") == 1
