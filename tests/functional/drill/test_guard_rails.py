"""The scratch instance is the only instance a drill ever flushes, restores, backs up or imports into; a drill
without one is refused."""

from __future__ import annotations

from dcs_backup.platform.errors import ConfigurationError
from tests.functional.drill.conftest import (
    BIG_ID,
    CLUSTER_ID,
    HA_ID,
    SCRATCH_ID,
    by_source,
    clearings,
    good_backup,
    run_drill,
    seed_baseline,
    written_instances,
)
from tests.support import ExportHarness


class TestOnlyTheScratchInstanceIsWritten:
    def test_no_source_is_ever_flushed_imported_into_restored_or_backed_up(self, any_scratch: ExportHarness) -> None:
        good_backup(any_scratch)
        good_backup(any_scratch, CLUSTER_ID).file_damage = "flipped_byte"
        good_backup(any_scratch, BIG_ID)
        run_drill(any_scratch, instance_ids=[HA_ID, CLUSTER_ID, BIG_ID, SCRATCH_ID])
        run_drill(any_scratch, instance_ids=[SCRATCH_ID, CLUSTER_ID, HA_ID])
        assert clearings(any_scratch)  # the drills did write, to the scratch
        assert written_instances(any_scratch.emulator) == {SCRATCH_ID}

    def test_taking_the_baseline_backs_up_only_the_scratch_instance(self, bare_scratch: ExportHarness) -> None:
        bare_scratch.emulator.state.instances[SCRATCH_ID].keys = 0
        good_backup(bare_scratch)
        good_backup(bare_scratch, CLUSTER_ID)
        run_drill(bare_scratch, instance_ids=[HA_ID, CLUSTER_ID, SCRATCH_ID])
        assert bare_scratch.emulator.requests_for("CreateBackup")
        assert written_instances(bare_scratch.emulator) == {SCRATCH_ID}

    def test_a_scratch_instance_that_is_not_running_is_never_flushed(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        drilling.emulator.state.instances[SCRATCH_ID].status = "FROZEN"
        answer = run_drill(drilling).answer
        assert by_source(answer)[HA_ID]["status"] == "failed"
        assert "cannot be drilled into: instance_state" in by_source(answer)[HA_ID]["reason"]
        assert written_instances(drilling.emulator) == set()

    def test_a_scratch_instance_with_a_password_none_is_configured_for_is_never_flushed(
        self, drilling: ExportHarness
    ) -> None:
        good_backup(drilling)
        drilling.emulator.state.instances[SCRATCH_ID].password = "s3cret-scratch"
        answer = run_drill(drilling).answer
        assert "target_password" in by_source(answer)[HA_ID]["reason"]
        assert written_instances(drilling.emulator) == set()


class TestConfiguration:
    def test_without_a_scratch_instance_drills_are_refused(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        result = drilling.invoke({"action": "drill", "instance_ids": [HA_ID]}, DCS_DRILL_INSTANCE="")
        assert isinstance(result.error, ConfigurationError) and "set DCS_DRILL_INSTANCE" in str(result.error)
        assert not drilling.emulator.requests

    def test_a_scratch_instance_outside_the_restore_targets_is_a_configuration_error(
        self, drilling: ExportHarness
    ) -> None:
        result = drilling.invoke({"action": "drill", "instance_ids": [HA_ID]}, DCS_RESTORE_TARGETS=HA_ID)
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_DRILL_INSTANCE" in str(result.error) and "DCS_RESTORE_TARGETS" in str(result.error)
        assert not drilling.emulator.requests

    def test_a_scratch_instance_outside_the_allowed_instances_is_refused(self, drilling: ExportHarness) -> None:
        result = drilling.invoke({"action": "drill", "instance_ids": [HA_ID]}, DCS_ALLOWED_INSTANCE_IDS=HA_ID)
        assert isinstance(result.error, ConfigurationError) and "DCS_ALLOWED_INSTANCE_IDS" in str(result.error)
        assert not [r for r in drilling.emulator.requests if r.method != "GET"]


class TestEmptyBeforeImport:
    def test_a_scratch_instance_still_holding_keys_after_its_flush_is_never_imported_into(
        self, flushing: ExportHarness
    ) -> None:
        flushing.emulator.state.restores.flush_s = 60.0
        good_backup(flushing)
        result = by_source(run_drill(flushing, remaining_ms=3_000).answer)[HA_ID]
        assert result["status"] == "pending" and "waiting for the flush" in result["reason"]
        assert not flushing.emulator.requests_for("CreateMigrationTask")

    def test_a_scratch_instance_holding_keys_after_its_baseline_restore_is_never_imported_into(
        self, bare_scratch: ExportHarness
    ) -> None:
        baseline = seed_baseline(bare_scratch, keys=5)  # someone wrote to it while its baseline was taken
        good_backup(bare_scratch)
        result = by_source(run_drill(bare_scratch, remaining_ms=3_000).answer)[HA_ID]
        assert result["status"] == "failed"
        assert f"holds 5 keys after the restore of its empty baseline {baseline.backup_id}" in result["reason"]
        assert "delete that backup" in result["reason"] and "FLUSHALL" in result["reason"]
        assert not bare_scratch.emulator.requests_for("CreateMigrationTask")
