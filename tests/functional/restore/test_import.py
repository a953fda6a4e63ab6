"""Restoring into another instance through DCS backup import: another instance's backup, or exported files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dcs_backup.export.verify.base import LABEL, Verification
from dcs_backup.platform.errors import ConfigurationError
from dcs_emulator import Instance
from dcs_emulator.backup_files import GeneratedFile
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness
from tests.functional.restore.conftest import (
    BACKUP_KEYS,
    LIVE_KEYS,
    enable_restores,
    only_result,
    restore_request,
    seeded_backup,
    writes,
)
from tests.support import BUCKET, EXPORT_TOKEN, MIB, ExportHarness, apig_event

DR_ID = "2b6f0c1e-77aa-4c1d-9e55-0d3b4a5c6d77"
DR_NAME = "orders-dr"
DR_PASSWORD = "dr-instance-redis-password-1"


@pytest.fixture
def importing(restoring: FunctionHarness) -> FunctionHarness:
    """An empty Redis 6.0 instance to import into, allowed as a restore target."""
    restoring.emulator.state.add_instance(Instance(DR_ID, DR_NAME, engine_version="6.0"))
    restoring.env["DCS_RESTORE_TARGETS"] += f",{DR_ID}"
    return restoring


def _into_dr(**fields: Any) -> dict[str, Any]:
    return restore_request(
        **{"instance_id": DR_ID, "confirm_instance_name": DR_NAME, "source_instance_id": HA_ID, **fields}
    )


class TestImportingABackupRecord:
    def test_another_instances_backup_is_imported_into_an_empty_target(self, importing: FunctionHarness) -> None:
        backup = seeded_backup(importing)
        outcome = only_result(importing.invoke(_into_dr()).answer)
        assert (outcome["status"], outcome["restore_status"]) == ("restored", "SUCCESS")
        assert outcome["source"] == {
            "instance_id": HA_ID,
            "backup_id": backup.backup_id,
            "backup_created_at": outcome["source"]["backup_created_at"],
        }
        assert importing.emulator.state.instance(DR_ID).keys == BACKUP_KEYS
        # An empty target has nothing to lose: no safety backup
        assert writes(importing.emulator) == ["CreateMigrationTask"]
        (sent,) = importing.emulator.requests_for("CreateMigrationTask")
        body = sent.json()
        assert body["backup_files"] == {"file_source": "backup_record", "backup_id": backup.backup_id}
        assert body["migration_type"] == "backupfile_import" and body["target_instance"]["id"] == DR_ID
        assert "[dcsb:" in body["description"]
        # DCS writes task times as yyyy/MM/dd HH:mm:ss: read as UTC
        assert outcome["started_at"].endswith("Z") and outcome["finished_at"].endswith("Z")

    def test_a_plan_of_an_import_names_the_import_and_writes_nothing(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        plan = only_result(importing.invoke(_into_dr(plan=True)).answer)["plan"]
        assert plan["dcs_call"].startswith("CreateMigrationTask (backupfile_import, backup_record)")
        assert (plan["safety_backup"], plan["overwrites_data"]) == (None, False)
        assert writes(importing.emulator) == []

    def test_an_import_dcs_ends_failed_is_failed_with_its_message(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        importing.emulator.state.restores.fail_next_import(DR_ID, "source file is damaged")
        outcome = only_result(importing.invoke(_into_dr()).answer)
        assert (outcome["status"], outcome["restore_status"]) == ("failed", "FAILED")
        assert outcome["error_msg"] == "source file is damaged"

    def test_the_same_import_delivered_twice_creates_one_task(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        request = _into_dr(idempotency_key="dr-drill-1")
        first = only_result(importing.invoke(request).answer)
        second = only_result(importing.invoke(request).answer)
        assert second["migration_task_id"] == first["migration_task_id"] and second["reused"] is True
        assert writes(importing.emulator) == ["CreateMigrationTask"]

    def test_a_key_reused_for_a_different_import_is_refused(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        importing.invoke(_into_dr(idempotency_key="dr-drill-2"))
        outcome = only_result(importing.invoke(_into_dr(idempotency_key="dr-drill-2", wait=False)).answer)
        assert (outcome["status"], outcome["guard"]) == ("refused", "idempotency_key")
        assert writes(importing.emulator) == ["CreateMigrationTask"]

    def test_a_target_holding_keys_is_refused_with_409(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        importing.emulator.state.instance(DR_ID).keys = LIVE_KEYS
        result = importing.invoke(apig_event(_into_dr()))
        assert result.answer["statusCode"] == 409
        assert only_result(result.body)["guard"] == "target_not_empty"
        assert writes(importing.emulator) == []

    def test_a_target_holding_keys_is_imported_into_when_allowed_after_a_safety_backup(
        self, importing: FunctionHarness
    ) -> None:
        seeded_backup(importing)
        importing.emulator.state.instance(DR_ID).keys = LIVE_KEYS
        outcome = only_result(importing.invoke(_into_dr(allow_non_empty_target=True)).answer)
        assert outcome["status"] == "restored" and outcome["safety_backup_id"]
        assert writes(importing.emulator) == ["CreateBackup", "CreateMigrationTask"]
        # The import keeps what the target held
        assert importing.emulator.state.instance(DR_ID).keys == LIVE_KEYS + BACKUP_KEYS

    def test_a_backup_of_a_newer_redis_than_the_target_is_refused(self, importing: FunctionHarness) -> None:
        seeded_backup(importing, CLUSTER_ID)  # Redis 7.0, into the 6.0 target
        outcome = only_result(importing.invoke(_into_dr(source_instance_id=CLUSTER_ID)).answer)
        assert (outcome["status"], outcome["guard"]) == ("refused", "engine_version")
        assert writes(importing.emulator) == []


class TestPasswords:
    def test_a_target_with_a_password_and_none_configured_is_refused_with_403(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        importing.emulator.state.instance(DR_ID).password = DR_PASSWORD
        result = importing.invoke(apig_event(_into_dr()))
        assert result.answer["statusCode"] == 403
        assert only_result(result.body)["guard"] == "target_password"
        assert writes(importing.emulator) == []

    def test_the_configured_password_is_sent_and_never_logged_or_answered(self, importing: FunctionHarness) -> None:
        seeded_backup(importing)
        importing.emulator.state.instance(DR_ID).password = DR_PASSWORD
        result = importing.invoke(_into_dr(), DCS_TARGET_PASSWORDS=f'{{"{DR_ID}": "{DR_PASSWORD}"}}')
        assert only_result(result.answer)["status"] == "restored"
        assert DR_PASSWORD not in result.log_text and DR_PASSWORD not in str(result.answer)

    def test_a_password_that_dcs_quotes_back_is_masked_in_the_answer_and_the_logs(
        self, importing: FunctionHarness
    ) -> None:
        # GIVEN a target with a password, and an import that DCS fails quoting that password
        seeded_backup(importing)
        importing.emulator.state.instance(DR_ID).password = DR_PASSWORD
        importing.emulator.state.restores.fail_next_import(DR_ID, f"AUTH {DR_PASSWORD} rejected by the target")
        result = importing.invoke(_into_dr(), DCS_TARGET_PASSWORDS=f'{{"{DR_ID}": "{DR_PASSWORD}"}}')
        # THEN the failure is reported, the password masked wherever it appears
        outcome = only_result(result.answer)
        assert outcome["status"] == "failed" and outcome["error_msg"] == "AUTH *** rejected by the target"
        assert DR_PASSWORD not in result.log_text

    def test_a_malformed_password_setting_is_a_configuration_error_that_does_not_show_it(
        self, importing: FunctionHarness
    ) -> None:
        result = importing.invoke(_into_dr(), DCS_TARGET_PASSWORDS=f"{DR_ID}={DR_PASSWORD}")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_TARGET_PASSWORDS" in str(result.error)
        assert DR_PASSWORD not in str(result.error) and DR_PASSWORD not in result.log_text

    def test_a_password_setting_with_an_empty_password_is_refused_without_showing_the_others(
        self, importing: FunctionHarness
    ) -> None:
        value = f'{{"{DR_ID}": "", "{HA_ID}": "{DR_PASSWORD}"}}'
        result = importing.invoke(_into_dr(), DCS_TARGET_PASSWORDS=value)
        assert isinstance(result.error, ConfigurationError)
        assert DR_PASSWORD not in str(result.error)

    def test_a_password_shorter_than_dcs_allows_is_a_configuration_error(self, importing: FunctionHarness) -> None:
        # "restore" as a password would be masked wherever the word appears, answers and messages alike
        result = importing.invoke(_into_dr(), DCS_TARGET_PASSWORDS=f'{{"{DR_ID}": "restore"}}')
        assert isinstance(result.error, ConfigurationError) and "shorter than the 8" in str(result.error)
        assert 'restore"' not in str(result.error) and writes(importing.emulator) == []


@dataclass
class _ContextWithUserData(LocalContext):
    """FunctionGraph's context, whose getUserData holds the decrypted encrypted user data."""

    user_data: dict[str, str] | None = None

    def getUserData(self, key: str) -> str:
        return (self.user_data or {}).get(key, "")


def test_target_passwords_are_read_from_encrypted_user_data_through_the_context(importing: FunctionHarness) -> None:
    # GIVEN a target with a password that is only in the context's (encrypted) user data
    seeded_backup(importing)
    importing.emulator.state.instance(DR_ID).password = DR_PASSWORD
    context = _ContextWithUserData(
        **vars(LocalContext.seeded()), user_data={"DCS_TARGET_PASSWORDS": f'{{"{DR_ID}": "{DR_PASSWORD}"}}'}
    )
    result = importing.invoke(_into_dr(), context)
    assert only_result(result.answer)["status"] == "restored"
    assert DR_PASSWORD not in result.log_text


EXPORT_PREFIX = f"dcs-backup/{HA_ID}/b-1"
SHARDS = {"shard-0-8191.rdb": 3 * MIB, "shard-8192-16383.rdb": 2 * MIB}
VERIFIED = Verification("rdb", "verified", rdb_version=9).to_metadata()  # what a verified export carries


@pytest.fixture
def from_exports(export_harness: ExportHarness) -> ExportHarness:
    """Restores enabled, the object storage emulated, and one export of a two-shard backup in BUCKET."""
    enable_restores(export_harness)
    for name, size in SHARDS.items():
        metadata = {"dcs-backup-id": "b-1", "dcs-source-size": str(sum(SHARDS.values())), **VERIFIED}
        export_harness.storage.store.put(BUCKET, f"{EXPORT_PREFIX}/{name}", _rdb(name, size), metadata)
    export_harness.emulator.state.instance(HA_ID).keys = 0
    return export_harness


def _from_export(harness: ExportHarness, objects: list[str], **fields: Any) -> dict[str, Any]:
    """The outcome of importing ``objects`` of the export into HA_ID (empty)."""
    source = {"export": {"bucket": BUCKET, "prefix": EXPORT_PREFIX, "objects": objects}}
    context = LocalContext.seeded(security_token=EXPORT_TOKEN)
    return only_result(harness.invoke(restore_request(source=source, **fields), context).answer)


def _rdb(name: str, size: int) -> bytes:
    """A real RDB file of ``size`` bytes, as an export holds (DCS's import loads it)."""
    return GeneratedFile(name, size, name).read()


def _older_export(harness: ExportHarness, backup_id: str, age_s: float = 3600) -> list[Any]:
    """Another complete, verified export of HA_ID (copied ``age_s`` before b-1's)."""
    stored = []
    for name, size in SHARDS.items():
        metadata = {"dcs-backup-id": backup_id, "dcs-source-size": str(sum(SHARDS.values())), **VERIFIED}
        key = f"dcs-backup/{HA_ID}/{backup_id}/{name}"
        harness.storage.store.put(BUCKET, key, _rdb(name, size), metadata)
        harness.storage.store.get(BUCKET, key).modified -= age_s
        stored.append(harness.storage.store.get(BUCKET, key))
    return stored


def _newest(harness: ExportHarness) -> dict[str, Any]:
    source = {"export": {"bucket": BUCKET, "prefix": "dcs-backup/"}}
    context = LocalContext.seeded(security_token=EXPORT_TOKEN)
    return only_result(harness.invoke(restore_request(source=source), context).answer)


class TestImportingExportedFiles:
    def test_every_file_of_an_export_is_imported_from_the_bucket_under_its_prefix(
        self, from_exports: ExportHarness
    ) -> None:
        outcome = _from_export(from_exports, list(SHARDS))
        assert outcome["status"] == "restored" and "migration_task_id" in outcome
        (sent,) = from_exports.emulator.requests_for("CreateMigrationTask")
        files = sent.json()["backup_files"]
        assert files["file_source"] == "self_build_obs" and files["bucket_name"] == BUCKET
        assert [f["file_name"] for f in files["files"]] == [f"{EXPORT_PREFIX}/{name}" for name in SHARDS]

    def test_an_object_not_in_the_bucket_is_refused(self, from_exports: ExportHarness) -> None:
        outcome = _from_export(from_exports, [*SHARDS, "shard-extra.rdb"])
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_complete")
        assert outcome["reason"] == f"export_complete: not in the bucket: {EXPORT_PREFIX}/shard-extra.rdb"
        assert writes(from_exports.emulator) == []

    def test_an_export_missing_a_shard_file_is_refused(self, from_exports: ExportHarness) -> None:
        outcome = _from_export(from_exports, ["shard-0-8191.rdb"])
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_complete")
        assert writes(from_exports.emulator) == []

    def test_files_of_different_exports_are_refused(self, from_exports: ExportHarness) -> None:
        stored = from_exports.storage.store.get(BUCKET, f"{EXPORT_PREFIX}/shard-0-8191.rdb")
        stored.metadata["dcs-backup-id"] = "b-2"
        outcome = _from_export(from_exports, list(SHARDS))
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_complete")

    def test_without_objects_the_newest_verified_export_of_the_instance_is_imported(
        self, from_exports: ExportHarness
    ) -> None:
        _older_export(from_exports, "b-0")
        outcome = _newest(from_exports)
        assert outcome["status"] == "restored", outcome
        (sent,) = from_exports.emulator.requests_for("CreateMigrationTask")
        assert [f["file_name"] for f in sent.json()["backup_files"]["files"]] == [
            f"{EXPORT_PREFIX}/{name}" for name in sorted(SHARDS)
        ]

    def test_a_newer_export_that_is_not_verified_is_passed_over(self, from_exports: ExportHarness) -> None:
        newer = _older_export(from_exports, "b-2", age_s=-60)  # copied after b-1, but never labelled
        for stored in newer:
            del stored.metadata[LABEL]
        _newest(from_exports)
        (sent,) = from_exports.emulator.requests_for("CreateMigrationTask")
        assert all("/b-1/" in f["file_name"] for f in sent.json()["backup_files"]["files"])

    def test_without_a_verified_export_the_newest_export_is_refused(self, from_exports: ExportHarness) -> None:
        for key in list(from_exports.storage.store.objects(BUCKET)):
            del from_exports.storage.store.get(BUCKET, key).metadata[LABEL]
        outcome = _newest(from_exports)
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_complete")
        assert writes(from_exports.emulator) == []

    def test_an_export_of_another_instance_than_the_source_is_refused(self, from_exports: ExportHarness) -> None:
        outcome = _from_export(from_exports, list(SHARDS), source_instance_id=CLUSTER_ID)
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_source")
        assert writes(from_exports.emulator) == []

    def test_an_object_not_verified_when_exported_is_refused(self, from_exports: ExportHarness) -> None:
        del from_exports.storage.store.get(BUCKET, f"{EXPORT_PREFIX}/shard-0-8191.rdb").metadata[LABEL]
        outcome = _from_export(from_exports, list(SHARDS))
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_verified")
        assert writes(from_exports.emulator) == []

    def test_an_rdb_format_newer_than_the_target_loads_is_refused(self, from_exports: ExportHarness) -> None:
        from_exports.storage.store.get(BUCKET, f"{EXPORT_PREFIX}/shard-0-8191.rdb").metadata["dcs-rdb-version"] = "12"
        outcome = _from_export(from_exports, list(SHARDS))
        assert (outcome["status"], outcome["guard"]) == ("refused", "engine_version")
        assert writes(from_exports.emulator) == []

    def test_the_same_file_of_two_copies_of_an_export_is_refused(self, from_exports: ExportHarness) -> None:
        # the first shard twice (from two folders), adding up to the backup's size, the second never
        doubled = {"dcs-backup-id": "b-1", "dcs-source-size": str(6 * MIB), **VERIFIED}
        for folder in ("copy1", "copy2"):
            from_exports.storage.store.put(BUCKET, f"{folder}/shard-0-8191.rdb", b"\0" * 3 * MIB, doubled)
        source = {"export": {"bucket": BUCKET, "objects": ["copy1/shard-0-8191.rdb", "copy2/shard-0-8191.rdb"]}}
        context = LocalContext.seeded(security_token=EXPORT_TOKEN)
        outcome = only_result(from_exports.invoke(restore_request(source=source), context).answer)
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_complete")
        assert writes(from_exports.emulator) == []

    def test_an_object_in_an_archive_class_is_refused(self, from_exports: ExportHarness) -> None:
        from_exports.storage.store.get(BUCKET, f"{EXPORT_PREFIX}/shard-0-8191.rdb").storage_class = "COLD"
        outcome = _from_export(from_exports, list(SHARDS))
        assert (outcome["status"], outcome["guard"]) == ("refused", "export_storage_class")
        assert writes(from_exports.emulator) == []

    def test_infrequent_access_objects_are_imported(self, from_exports: ExportHarness) -> None:
        for name in SHARDS:
            from_exports.storage.store.get(BUCKET, f"{EXPORT_PREFIX}/{name}").storage_class = "WARM"
        assert _from_export(from_exports, list(SHARDS))["status"] == "restored"
