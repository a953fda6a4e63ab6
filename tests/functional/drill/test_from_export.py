"""A drill from the export: the newest verified export of each source imported from the bucket into the scratch
instance, its keys held against what the export's labels declare (the off-instance copy proven)."""

from __future__ import annotations

from devkit.seed import HA_ID
from tests.functional.drill.conftest import BACKUP_KEYS, SCRATCH_ID, by_source, run_drill
from tests.support import BUCKET, MIB, ExportHarness

FROM_EXPORT: dict[str, object] = {"from": "export"}


def _exported(drilling: ExportHarness) -> str:
    """Yesterday's backup of the function (BACKUP_KEYS keys), exported and verified into BUCKET."""
    backup = drilling.emulator.state.add_backup(
        HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=6 * MIB, keys=BACKUP_KEYS
    )
    outcome = drilling.export().answer["results"][0]
    assert outcome["export"]["status"] == "done" and outcome["export"]["backup_id"] == backup.backup_id
    return backup.backup_id


def test_the_newest_verified_export_is_imported_from_the_bucket_and_its_declared_keys_come_back(
    drilling: ExportHarness,
) -> None:
    backup_id = _exported(drilling)
    drilling.env["DCS_EXPORT_BUCKET"] = BUCKET
    result = by_source(run_drill(drilling, 60_000, **FROM_EXPORT).answer)[HA_ID]
    assert result["status"] == "passed", result
    assert result["backup_id"] == backup_id and result["export"]["bucket"] == BUCKET
    assert result["keys_expected"] == result["keys_restored"] == BACKUP_KEYS
    (sent,) = drilling.emulator.requests_for("CreateMigrationTask")
    body = sent.json()
    assert body["backup_files"]["file_source"] == "self_build_obs" and body["target_instance"]["id"] == SCRATCH_ID


def test_with_an_export_bucket_configured_a_drill_drills_the_export_by_default(drilling: ExportHarness) -> None:
    _exported(drilling)
    drilling.env["DCS_EXPORT_BUCKET"] = BUCKET
    result = by_source(run_drill(drilling).answer)[HA_ID]
    assert result["status"] == "passed" and "export" in result


def test_without_a_verified_export_the_drill_fails_and_imports_nothing(drilling: ExportHarness) -> None:
    drilling.emulator.state.add_backup(HA_ID, age_hours=5, keys=BACKUP_KEYS)  # a backup, never exported
    drilling.env["DCS_EXPORT_BUCKET"] = BUCKET
    result = by_source(run_drill(drilling, 60_000, **FROM_EXPORT).answer)[HA_ID]
    assert result["status"] == "failed" and "no complete, verified export" in result["reason"]
    assert drilling.emulator.requests_for("CreateMigrationTask") == []
