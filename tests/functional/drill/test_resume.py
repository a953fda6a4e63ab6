"""The deadline leaves a drill pending; the next run follows the running import instead of starting another."""

from __future__ import annotations

from tests.functional.drill.conftest import CLUSTER_ID, HA_ID, by_source, clearings, good_backup, run_drill
from tests.support import ExportHarness


class TestDeadlineAndResume:
    def test_an_import_running_at_the_deadline_is_pending_and_the_next_run_verifies_it(
        self, drilling: ExportHarness
    ) -> None:
        drilling.emulator.state.restores.import_s = 4.0
        good_backup(drilling)
        good_backup(drilling, CLUSTER_ID)
        first = run_drill(drilling, remaining_ms=3_500, instance_ids=[HA_ID, CLUSTER_ID]).answer
        assert first["status"] == "pending"
        assert {r["status"] for r in first["results"]} == {"pending"}
        drilling.emulator.state.restores.import_s = 0.2
        second = run_drill(drilling, instance_ids=[CLUSTER_ID, HA_ID]).answer
        results = by_source(second)
        assert results[HA_ID]["status"] == "passed" and results[HA_ID]["reused"] is True
        assert results[HA_ID]["migration_task_id"] == by_source(first)[HA_ID]["migration_task_id"]
        assert results[CLUSTER_ID]["status"] == "passed"
        assert second["results"][0]["instance_id"] == HA_ID  # the running drill is followed first
        assert len(drilling.emulator.requests_for("CreateMigrationTask")) == 2  # one per source, never a second

    def test_an_import_into_the_scratch_instance_by_someone_else_leaves_every_source_pending(
        self, drilling: ExportHarness
    ) -> None:
        drilling.emulator.state.restores.import_s = 30.0
        good_backup(drilling)
        good_backup(drilling, CLUSTER_ID)
        run_drill(drilling, remaining_ms=2_500, instance_ids=[CLUSTER_ID])  # its import runs on
        answer = run_drill(drilling, remaining_ms=2_500, instance_ids=[HA_ID]).answer
        result = by_source(answer)[HA_ID]
        assert result["status"] == "pending" and "busy with another import" in result["reason"]
        assert len(drilling.emulator.requests_for("CreateMigrationTask")) == 1
        assert len(clearings(drilling)) == 1

    def test_sources_never_drilled_go_before_those_drilled_recently(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        good_backup(drilling, CLUSTER_ID)
        run_drill(drilling, instance_ids=[HA_ID])
        answer = run_drill(drilling, instance_ids=[HA_ID, CLUSTER_ID]).answer
        assert [r["instance_id"] for r in answer["results"]] == [CLUSTER_ID, HA_ID]
