"""Every exported file is checked while it streams: a file that is not the whole Redis file DCS says never
becomes an object."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from dcs_backup.export.verify.base import Verification
from dcs_emulator import Fault, FaultKind
from dcs_emulator.backup_files import GeneratedFile
from devkit.seed import HA_ID
from tests.support import BUCKET, MIB, ExportHarness, yesterdays_backup


def _export(harness: ExportHarness, damage: str | None = None, backup_format: str = "rdb") -> dict[str, Any]:
    backup = harness.emulator.state.add_backup(
        HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=6 * MIB, backup_format=backup_format
    )
    backup.file_damage = damage
    outcome: dict[str, Any] = harness.export().answer["results"][0]
    return outcome


def _objects(harness: ExportHarness) -> list[str]:
    return list(harness.storage.store.objects(BUCKET))


class TestValidFiles:
    def test_an_rdb_is_exported_with_what_it_declares(self, export_harness: ExportHarness) -> None:
        outcome = _export(export_harness)
        (exported,) = outcome["export"]["objects"]
        assert outcome["export"]["status"] == "done"
        crc64 = exported["verification"].pop("crc64")
        assert exported["verification"] == {
            "format": "rdb",
            "checksum": "verified",
            "rdb_version": 10,
            "aux": {"redis-ver": "7.0.15", "redis-bits": "64", "ctime": "1764547200"},
            "keys_by_db": {"0": 1},
        }
        assert len(crc64) == 16 and int(crc64, 16) != 0

    @pytest.mark.parametrize("backup_format", ["rdb", "aof"])
    def test_the_object_carries_its_verification_in_its_metadata(
        self, export_harness: ExportHarness, backup_format: str
    ) -> None:
        outcome = _export(export_harness, backup_format=backup_format)
        (exported,) = outcome["export"]["objects"]
        stored = export_harness.storage.store.objects(BUCKET)[exported["key"]]
        labelled = Verification.from_metadata(stored.metadata)
        assert labelled is not None and labelled.to_dict() == exported["verification"]
        assert stored.metadata["dcs-backup-id"]  # what the upload began with is kept

    def test_an_rdb_saved_without_a_checksum_is_exported_but_never_called_verified(
        self, export_harness: ExportHarness
    ) -> None:
        outcome = _export(export_harness, damage="zero_crc")
        assert outcome["export"]["status"] == "done"
        assert outcome["export"]["objects"][0]["verification"]["checksum"] == "absent"

    def test_an_aof_is_exported_once_its_framing_holds_to_the_end(self, export_harness: ExportHarness) -> None:
        outcome = _export(export_harness, backup_format="aof")
        assert outcome["export"]["status"] == "done"
        assert outcome["export"]["objects"][0]["verification"] == {"format": "aof", "checksum": "not checked"}


class TestCorruptFiles:
    @pytest.mark.parametrize(
        ("damage", "backup_format", "check"),
        [
            ("flipped_byte", "rdb", "CRC mismatch"),
            ("bad_magic", "rdb", "not an RDB: bad magic"),
            ("no_eof", "rdb", "ends before EOF"),
            ("broken_crlf", "aof", "not followed by CRLF"),
        ],
    )
    def test_a_damaged_file_fails_the_export_and_leaves_no_object(
        self, export_harness: ExportHarness, damage: str, backup_format: str, check: str
    ) -> None:
        outcome = _export(export_harness, damage=damage, backup_format=backup_format)
        assert (outcome["status"], outcome["export"]["status"]) == ("failed", "failed")
        assert check in outcome["export"]["reason"] and "the backup file is corrupt" in outcome["export"]["reason"]
        assert _objects(export_harness) == []
        assert export_harness.storage.store.uploads(BUCKET) == []

    def test_the_outcome_names_the_corrupt_backup_its_file_and_the_check(self, export_harness: ExportHarness) -> None:
        outcome = _export(export_harness, damage="flipped_byte")
        corrupt = outcome["export"]["backup_corrupt"]
        (damaged,) = [b for b in export_harness.emulator.state.backups(HA_ID) if b.file_damage]
        assert outcome["export"]["backup_id"] == damaged.backup_id
        assert corrupt["check"].startswith("CRC mismatch") and corrupt["file"].endswith(".rdb")
        assert corrupt["offset"] == 6 * MIB - 8  # where the stored CRC begins

    def test_a_file_that_fails_for_another_reason_is_not_called_corrupt(self, export_harness: ExportHarness) -> None:
        export_harness.storage.faults.script("UploadPart", *[Fault(FaultKind.FORBIDDEN)] * 3)
        outcome = _export(export_harness)
        assert outcome["export"]["status"] == "failed" and "backup_corrupt" not in outcome["export"]

    def test_a_corrupt_file_is_an_error_line_naming_the_check(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness).file_damage = "flipped_byte"
        result = export_harness.export()
        (line,) = [line for line in result.logs if line["message"] == "export failed"]
        assert line["level"] == "error" and "CRC mismatch" in line["detail"]


class TestRedisAgrees:
    """Redis's own checkers accept the files the emulator serves and the verifier passes."""

    def test_redis_check_rdb_accepts_a_generated_rdb(self, tmp_path: Path) -> None:
        path = tmp_path / "dump.rdb"
        path.write_bytes(GeneratedFile("dump.rdb", 2 * MIB, "seed").read())
        result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0 and "RDB looks OK" in result.stdout, result.stdout

    def test_redis_check_rdb_refuses_the_damaged_one_the_verifier_refuses(self, tmp_path: Path) -> None:
        path = tmp_path / "dump.rdb"
        path.write_bytes(GeneratedFile("dump.rdb", 2 * MIB, "seed", "flipped_byte").read())
        result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode != 0 and "CRC error" in result.stdout, result.stdout

    def test_redis_check_aof_accepts_a_generated_aof(self, tmp_path: Path) -> None:
        path = tmp_path / "appendonly.aof"
        path.write_bytes(GeneratedFile("appendonly.aof", MIB, "seed").read())
        result = subprocess.run(["redis-check-aof", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0 and "is valid" in result.stdout, result.stdout
