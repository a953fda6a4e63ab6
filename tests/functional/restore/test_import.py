"""Restoring into another instance through DCS backup import: another instance's backup, or exported files."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_backup.platform.errors import ConfigurationError
from dcs_emulator import Instance
from devkit.seed import CLUSTER_ID, HA_ID
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


class TestImportingExportedFiles:
    def test_exported_files_are_imported_from_the_bucket_under_their_prefix(self, importing: FunctionHarness) -> None:
        source = {"export": {"bucket": "team-dcs-backups", "prefix": "dcs/orders", "objects": ["a.rdb", "b.rdb"]}}
        outcome = only_result(importing.invoke(_into_dr(source=source)).answer)
        assert outcome["status"] == "restored"
        (sent,) = importing.emulator.requests_for("CreateMigrationTask")
        files = sent.json()["backup_files"]
        assert files["file_source"] == "self_build_obs" and files["bucket_name"] == "team-dcs-backups"
        assert [f["file_name"] for f in files["files"]] == ["dcs/orders/a.rdb", "dcs/orders/b.rdb"]

    def test_exported_files_into_the_source_instance_itself_go_through_an_import(
        self, importing: FunctionHarness
    ) -> None:
        source = {"export": {"bucket": "team-dcs-backups", "objects": ["a.rdb"]}}
        importing.emulator.state.instance(HA_ID).keys = 0
        outcome = only_result(importing.invoke(restore_request(source=source)).answer)
        assert outcome["status"] == "restored" and "migration_task_id" in outcome
