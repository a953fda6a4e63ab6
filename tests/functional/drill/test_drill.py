"""A drill end to end: each source's newest backup imported into the scratch instance and its keys counted."""

from __future__ import annotations

from dcs_backup.platform.errors import BackupFailedError
from dcs_emulator.faults import Fault, FaultKind
from tests.functional.drill.conftest import (
    BACKUP_KEYS,
    BIG_ID,
    CLUSTER_ID,
    HA_ID,
    SCRATCH_ID,
    by_source,
    clearings,
    good_backup,
    run_drill,
    scratch_version,
)
from tests.support import ExportHarness

# What the scratch instance holds once emptied again after a failed import, per its engine.
EMPTIED = {"5.0": "flushed (empty)", "7.0": "restored to its empty baseline (empty)"}


class TestThreeSources:
    def test_a_fine_backup_passes_a_corrupt_one_fails_and_one_too_big_is_skipped(
        self, any_scratch: ExportHarness
    ) -> None:
        fine = good_backup(any_scratch)
        corrupt = good_backup(any_scratch, CLUSTER_ID)
        corrupt.file_damage = "flipped_byte"
        good_backup(any_scratch, BIG_ID)
        answer = run_drill(any_scratch, instance_ids=[HA_ID, CLUSTER_ID, BIG_ID]).answer
        results = by_source(answer)
        assert answer["status"] == "failed"
        assert results[HA_ID]["status"] == "passed"
        assert results[HA_ID]["backup_id"] == fine.backup_id
        assert results[HA_ID]["keys_expected"] == results[HA_ID]["keys_restored"] == BACKUP_KEYS
        assert results[HA_ID]["restore_seconds"] > 0 and results[HA_ID]["backup_age_hours"] >= 5
        assert results[CLUSTER_ID]["status"] == "failed"
        assert "the import failed in DCS" in results[CLUSTER_ID]["reason"]
        assert results[CLUSTER_ID]["scratch"] == EMPTIED[scratch_version(any_scratch)]
        assert results[BIG_ID]["status"] == "skipped" and "5000 MB" in results[BIG_ID]["reason"]
        assert answer["counts"] == {"passed": 1, "failed": 1, "inconclusive": 0, "pending": 0, "skipped": 1, "total": 3}

    def test_a_failed_drill_is_an_error_line_and_raises_for_a_timer(self, drilling: ExportHarness) -> None:
        good_backup(drilling).file_damage = "bad_magic"
        result = run_drill(drilling, raise_on_failure=True)
        assert isinstance(result.error, BackupFailedError)
        assert "restorability not proven for 1 instance(s)" in str(result.error)
        errors = [line for line in result.logs if line["level"] == "error"]
        assert any(line.get("instance_id") == HA_ID and line["outcome"] == "failed" for line in errors)

    def test_the_scratch_instance_is_emptied_before_the_import(self, any_scratch: ExportHarness) -> None:
        good_backup(any_scratch)
        result = by_source(run_drill(any_scratch).answer)[HA_ID]
        # The leftover keys are gone: only what the backup holds is counted.
        assert result["keys_restored"] == BACKUP_KEYS
        assert any_scratch.emulator.state.instances[SCRATCH_ID].keys == BACKUP_KEYS

    def test_an_aof_backup_whose_key_count_is_unknown_is_inconclusive_never_passed(
        self, drilling: ExportHarness
    ) -> None:
        good_backup(drilling, backup_format="aof")
        answer = run_drill(drilling).answer
        result = by_source(answer)[HA_ID]
        assert result["status"] == "inconclusive"
        assert result["keys_expected"] is None if "keys_expected" in result else True
        assert "not an RDB file" in result["reason"]
        assert answer["status"] == "failed"


class TestWhatIsNotDrilled:
    def test_the_scratch_instance_named_as_a_source_is_skipped(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        result = by_source(run_drill(drilling, instance_ids=[SCRATCH_ID]).answer)[SCRATCH_ID]
        assert result["status"] == "skipped" and "scratch instance" in result["reason"]
        assert not clearings(drilling)

    def test_a_source_too_big_for_the_scratch_instance_is_skipped_before_any_write(
        self, drilling: ExportHarness
    ) -> None:
        good_backup(drilling, BIG_ID)
        result = by_source(run_drill(drilling, instance_ids=[BIG_ID]).answer)[BIG_ID]
        assert result["status"] == "skipped" and "more than the scratch instance's 2048 MB" in result["reason"]
        assert not [r for r in drilling.emulator.requests if r.method != "GET"]

    def test_a_source_without_a_restorable_backup_fails(self, drilling: ExportHarness) -> None:
        result = by_source(run_drill(drilling).answer)[HA_ID]
        assert result["status"] == "failed" and "no restorable backup" in result["reason"]


class TestUnknownDeclaredKeys:
    def test_backup_files_that_cannot_be_listed_leave_the_drill_inconclusive(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        drilling.emulator.faults.script("ListBackupFileLinks", Fault(FaultKind.FORBIDDEN))
        result = by_source(run_drill(drilling).answer)[HA_ID]
        assert result["status"] == "inconclusive"
        assert result["keys_restored"] == BACKUP_KEYS  # the backup loaded; its declared count is what is unknown
        assert "could not be listed" in result["reason"] and "DCS.2003" in result["reason"]


class TestDatabases:
    def test_keys_in_databases_after_the_first_make_a_master_standby_drill_inconclusive_not_failed(
        self, drilling: ExportHarness
    ) -> None:
        good_backup(drilling).other_database_keys = 300  # db1's keys, declared only after db0's in the file
        result = by_source(run_drill(drilling).answer)[HA_ID]
        assert result["status"] == "inconclusive" and "first database" in result["reason"]
        assert (result["keys_expected"], result["keys_restored"]) == (BACKUP_KEYS, BACKUP_KEYS + 300)

    def test_a_cluster_holds_database_0_only_so_more_keys_than_declared_fail(self, drilling: ExportHarness) -> None:
        good_backup(drilling, CLUSTER_ID).other_database_keys = 300
        result = by_source(run_drill(drilling, instance_ids=[CLUSTER_ID]).answer)[CLUSTER_ID]
        assert result["status"] == "failed" and f"holds {BACKUP_KEYS + 300} keys" in result["reason"]
