"""The scratch instance is the only instance a drill ever flushes or imports into; a drill without one is refused."""

from __future__ import annotations

from dcs_backup.platform.errors import ConfigurationError
from dcs_emulator import DcsEmulator
from tests.functional.drill.conftest import (
    BIG_ID,
    CLUSTER_ID,
    HA_ID,
    SCRATCH_ID,
    by_source,
    good_backup,
    run_drill,
)
from tests.support import ExportHarness

WRITES = ("RestartOrFlushInstances", "CreateMigrationTask", "RestoreInstance", "CreateBackup", "DeleteBackup")


def written_instances(emulator: DcsEmulator) -> set[str]:
    """Every instance a request could have changed: flushed, imported into, restored, backed up or pruned."""
    touched: set[str] = set()
    for request in emulator.requests:
        if request.route == "RestartOrFlushInstances":
            touched.update(request.json()["instances"])
        elif request.route == "CreateMigrationTask":
            touched.add(request.json()["target_instance"]["id"])
        elif request.route in WRITES:
            touched.add(request.path.split("/")[4])
    return touched


class TestOnlyTheScratchInstanceIsWritten:
    def test_no_source_is_ever_flushed_imported_into_or_restored(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        good_backup(drilling, CLUSTER_ID).file_damage = "flipped_byte"
        good_backup(drilling, BIG_ID)
        run_drill(drilling, instance_ids=[HA_ID, CLUSTER_ID, BIG_ID, SCRATCH_ID])
        run_drill(drilling, instance_ids=[SCRATCH_ID, CLUSTER_ID, HA_ID])
        assert drilling.emulator.requests_for("RestartOrFlushInstances")  # the drills did write, to the scratch
        assert written_instances(drilling.emulator) == {SCRATCH_ID}

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
    def test_a_scratch_instance_still_holding_keys_after_the_flush_is_never_imported_into(
        self, drilling: ExportHarness
    ) -> None:
        drilling.emulator.state.restores.flush_s = 60.0
        good_backup(drilling)
        result = by_source(run_drill(drilling, remaining_ms=3_000).answer)[HA_ID]
        assert result["status"] == "failed" and "not empty after its flush" in result["reason"]
        assert not drilling.emulator.requests_for("CreateMigrationTask")
