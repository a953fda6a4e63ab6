"""Each guard refuses before anything is written, names itself, and answers HTTP 403 (who) or 409 (state)."""

from __future__ import annotations

from dcs_backup.idempotency import BASELINE_REMARK
from dcs_backup.platform.errors import RestoreRefusedError
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness
from tests.functional.restore.conftest import only_result, restore_request, seeded_backup, writes
from tests.support import apig_event, override_record


def _refused(harness: FunctionHarness, guard: str, **fields: object) -> dict[str, object]:
    """The outcome of a request the guard must refuse; nothing was written."""
    result = harness.invoke(restore_request(**fields))
    outcome = only_result(result.answer)
    assert (outcome["status"], outcome["guard"]) == ("refused", guard), outcome
    assert str(outcome["reason"]).startswith(f"{guard}: ")
    assert result.answer["status"] == "failed"
    assert writes(harness.emulator) == []
    return outcome


class TestTargets:
    def test_without_restore_targets_every_restore_is_refused_and_dcs_is_not_asked(
        self, restoring: FunctionHarness
    ) -> None:
        del restoring.env["DCS_RESTORE_TARGETS"]
        outcome = _refused(restoring, "restore_targets")
        assert outcome["reason"] == "restore_targets: restores are disabled: set DCS_RESTORE_TARGETS"
        assert restoring.emulator.requests == []

    def test_an_instance_not_in_restore_targets_is_refused_with_403(self, restoring: FunctionHarness) -> None:
        restoring.env["DCS_RESTORE_TARGETS"] = CLUSTER_ID
        result = restoring.invoke(apig_event(restore_request()))
        assert result.answer["statusCode"] == 403
        assert only_result(result.body)["guard"] == "restore_targets"
        assert restoring.emulator.requests == []

    def test_a_restore_target_outside_the_allowed_instances_is_refused(self, restoring: FunctionHarness) -> None:
        restoring.env["DCS_ALLOWED_INSTANCE_IDS"] = CLUSTER_ID
        _refused(restoring, "allowed_instance_ids")
        assert restoring.emulator.requests == []

    def test_a_refusal_raises_restore_refused_error_naming_the_guard(self, restoring: FunctionHarness) -> None:
        del restoring.env["DCS_RESTORE_TARGETS"]
        result = restoring.invoke(restore_request(raise_on_failure=True))
        assert isinstance(result.error, RestoreRefusedError)
        assert "restore_targets" in str(result.error)


class TestConfirmation:
    def test_a_name_that_does_not_match_the_instance_is_refused_with_403(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring)
        result = restoring.invoke(apig_event(restore_request(confirm_instance_name="orders-cache-old")))
        assert result.answer["statusCode"] == 403
        assert only_result(result.body)["guard"] == "confirm_instance_name"
        assert writes(restoring.emulator) == []

    def test_the_name_of_another_instance_is_refused(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring)
        _refused(restoring, "confirm_instance_name", confirm_instance_name="sessions-cluster")


class TestInstanceState:
    def test_a_single_node_instance_is_refused_with_409(self, restoring: FunctionHarness) -> None:
        result = restoring.invoke(
            apig_event(restore_request(instance_id=SINGLE_ID, confirm_instance_name="scratch-single"))
        )
        assert result.answer["statusCode"] == 409
        assert only_result(result.body)["guard"] == "instance_state"
        assert writes(restoring.emulator) == []

    def test_an_instance_that_is_not_running_is_refused(self, restoring: FunctionHarness) -> None:
        seeded_backup(restoring, FROZEN_ID)
        _refused(restoring, "instance_state", instance_id=FROZEN_ID, confirm_instance_name="frozen-ha")

    def test_an_instance_being_restored_is_refused_as_a_restore_already_running(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN someone else's restore of the instance, running
        backup = seeded_backup(restoring)
        restoring.emulator.state.restores.restoring_s = 60
        restoring.emulator.state.restores.restore(HA_ID, {"backup_id": backup.backup_id})
        result = restoring.invoke(apig_event(restore_request()))
        assert result.answer["statusCode"] == 409
        assert only_result(result.body)["guard"] == "restore_running"
        assert writes(restoring.emulator) == []

    def test_a_queued_restore_listed_while_the_instance_still_shows_running_is_refused(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN a restore DCS lists as waiting while ShowInstance still says RUNNING
        backup = seeded_backup(restoring)
        state = restoring.emulator.state
        state.restores.waiting_s = 60
        state.restores.restore(HA_ID, {"backup_id": backup.backup_id})
        state.instance(HA_ID).status = "RUNNING"
        # THEN no safety backup is taken and no restore is sent
        _refused(restoring, "restore_running")


class TestBackup:
    def test_a_backup_that_did_not_succeed_is_refused_with_409(self, restoring: FunctionHarness) -> None:
        failed = restoring.emulator.state.add_backup(HA_ID, age_hours=2, status="failed", error_code="dcs.08.0002")
        result = restoring.invoke(apig_event(restore_request(source={"backup_id": failed.backup_id})))
        assert result.answer["statusCode"] == 409
        assert only_result(result.body)["guard"] == "backup_restorable"
        assert writes(restoring.emulator) == []

    def test_a_backup_dcs_says_cannot_be_restored_is_refused(self, restoring: FunctionHarness) -> None:
        backup = seeded_backup(restoring)
        override_record(restoring.emulator.state, backup.backup_id, is_support_restore="FALSE")
        _refused(restoring, "backup_restorable", source={"backup_id": backup.backup_id})

    def test_another_instances_backup_is_refused_for_an_in_place_restore(self, restoring: FunctionHarness) -> None:
        foreign = seeded_backup(restoring, CLUSTER_ID)
        _refused(restoring, "backup_restorable", source={"backup_id": foreign.backup_id})

    def test_latest_without_any_restorable_backup_is_refused(self, restoring: FunctionHarness) -> None:
        restoring.emulator.state.add_backup(HA_ID, age_hours=2, status="failed")
        _refused(restoring, "backup_restorable")

    def test_latest_skips_backups_dcs_says_cannot_be_restored(self, restoring: FunctionHarness) -> None:
        good = seeded_backup(restoring)
        newer = restoring.emulator.state.add_backup(HA_ID, age_hours=1, keys=9)
        override_record(restoring.emulator.state, newer.backup_id, is_support_restore="FALSE")
        outcome = only_result(restoring.invoke(restore_request(plan=True)).answer)
        assert outcome["plan"]["source"]["backup_id"] == good.backup_id

    def test_latest_never_restores_a_drill_scratch_instances_empty_baseline(self, restoring: FunctionHarness) -> None:
        good = seeded_backup(restoring)
        restoring.emulator.state.add_backup(HA_ID, age_hours=1, remark=f"{BASELINE_REMARK} [dcsb:0123456789ab]")
        outcome = only_result(restoring.invoke(restore_request(plan=True)).answer)
        assert outcome["plan"]["source"]["backup_id"] == good.backup_id

    def test_a_safety_backup_that_would_make_dcs_delete_the_backup_to_restore_is_refused(
        self, restoring: FunctionHarness
    ) -> None:
        # GIVEN an instance holding DCS's 24 backups, and the oldest is the one to restore
        state = restoring.emulator.state
        oldest = state.add_backup(HA_ID, age_hours=100)
        for age in range(23):
            state.add_backup(HA_ID, age_hours=50 - age)
        _refused(restoring, "safety_backup_evicts_source", source={"backup_id": oldest.backup_id})
        assert oldest.backup_id in [b.backup_id for b in state.backups(HA_ID)]

    def test_a_full_ring_is_no_concern_without_a_safety_backup(self, restoring: FunctionHarness) -> None:
        state = restoring.emulator.state
        oldest = state.add_backup(HA_ID, age_hours=100)
        for age in range(23):
            state.add_backup(HA_ID, age_hours=50 - age)
        request = restore_request(source={"backup_id": oldest.backup_id}, backup_before_restore=False)
        assert only_result(restoring.invoke(request).answer)["status"] == "restored"
