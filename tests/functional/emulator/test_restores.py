"""The emulator restores and imports as DCS documents it, driven through the official SDK over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from huaweicloudsdkdcs.v2 import (
    BackupFilesBody,
    ChangeInstanceStatusBody,
    CreateMigrationTaskBody,
    CreateMigrationTaskRequest,
    ListRestoreRecordsRequest,
    ListStatisticsOfRunningInstancesRequest,
    RestartOrFlushInstancesRequest,
    RestoreInstanceBody,
    RestoreInstanceRequest,
    ShowInstanceRequest,
    ShowMigrationTaskRequest,
    TargetInstanceBody,
)
from huaweicloudsdkdcs.v2.dcs_client import DcsClient

from dcs_backup.export.verify.rdb import RdbVerifier
from dcs_emulator import DcsEmulator, EmulatorState
from dcs_emulator.backup_files import backup_files
from devkit.seed import CLUSTER_ID, HA_ID, SINGLE_ID
from tests.functional.emulator.test_emulator import _client, _error_code


@pytest.fixture
def clock(state: EmulatorState) -> list[float]:
    now = [1_750_000_000.0]
    state.clock = lambda: now[0]
    return now


def _restore(client: DcsClient, instance_id: str, backup_id: str) -> str:
    body = RestoreInstanceBody(backup_id=backup_id, remark="r")
    return str(client.restore_instance(RestoreInstanceRequest(instance_id=instance_id, body=body)).restore_id)


def _restores(client: DcsClient, instance_id: str) -> list[Any]:
    response = client.list_restore_records(ListRestoreRecordsRequest(instance_id=instance_id))
    return list(response.restore_record_response)


class TestRestoreInstance:
    def test_a_restore_waits_runs_and_succeeds_with_the_instance_restoring_meanwhile(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        state = emulator.state
        state.instance(HA_ID).keys = 5
        backup = state.add_backup(HA_ID, age_hours=1, keys=77)
        client = _client(emulator)
        restore_id = _restore(client, HA_ID, backup.backup_id)
        statuses = []
        for _ in range(3):
            (record,) = client.list_restore_records(
                ListRestoreRecordsRequest(instance_id=HA_ID)
            ).restore_record_response
            shown = client.show_instance(ShowInstanceRequest(instance_id=HA_ID)).status
            statuses.append((record.status, shown))
            clock[0] += 0.2
        assert record.restore_id == restore_id
        assert statuses == [("waiting", "RESTORING"), ("restoring", "RESTORING"), ("succeed", "RUNNING")]
        stats = client.list_statistics_of_running_instances(ListStatisticsOfRunningInstancesRequest()).statistics
        assert {s.instance_id: s.keys for s in stats}[HA_ID] == 77

    def test_a_backup_that_did_not_succeed_is_dcs_4087(self, emulator: DcsEmulator) -> None:
        failed = emulator.state.add_backup(HA_ID, status="failed")
        assert _error_code(lambda: _restore(_client(emulator), HA_ID, failed.backup_id)) == "DCS.4087"

    def test_an_instance_restoring_is_dcs_4097_and_one_backing_up_dcs_4096(self, emulator: DcsEmulator) -> None:
        state = emulator.state
        backup = state.add_backup(HA_ID)
        client = _client(emulator)
        state.restores.restoring_s = 60
        _restore(client, HA_ID, backup.backup_id)
        assert _error_code(lambda: _restore(client, HA_ID, backup.backup_id)) == "DCS.4097"
        cluster_backup = state.add_backup(CLUSTER_ID)
        state.create_backup(CLUSTER_ID, "running", "rdb")
        assert _error_code(lambda: _restore(client, CLUSTER_ID, cluster_backup.backup_id)) == "DCS.4096"

    def test_a_single_node_instance_is_dcs_4086(self, emulator: DcsEmulator) -> None:
        assert _error_code(lambda: _restore(_client(emulator), SINGLE_ID, "any")) == "DCS.4086"

    def test_a_scripted_failure_ends_failed_with_its_code_and_leaves_the_keys(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        state = emulator.state
        state.instance(HA_ID).keys = 5
        backup = state.add_backup(HA_ID, keys=77)
        state.restores.fail_next_restore(HA_ID)
        client = _client(emulator)
        _restore(client, HA_ID, backup.backup_id)
        clock[0] += 10
        (record,) = _restores(client, HA_ID)
        assert (record.status, record.error_code) == ("failed", "dcs.08.0007")
        assert state.instance(HA_ID).keys == 5


class TestMigrationTasks:
    def test_an_import_of_a_backup_record_adds_its_keys_with_slashed_times(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        state = emulator.state
        backup = state.add_backup(HA_ID, keys=40)
        state.instance(CLUSTER_ID).keys = 2
        client = _client(emulator)
        body = CreateMigrationTaskBody(
            task_name="import-1",
            migration_type="backupfile_import",
            migration_method="full_amount_migration",
            backup_files=BackupFilesBody(file_source="backup_record", backup_id=backup.backup_id),
            target_instance=TargetInstanceBody(id=CLUSTER_ID),
        )
        created = client.create_migration_task(CreateMigrationTaskRequest(body=body))
        assert created.status == "MIGRATING"
        clock[0] += 10
        task = client.show_migration_task(ShowMigrationTaskRequest(task_id=created.id))
        assert task.status == "SUCCESS" and task.created_at.count("/") == 2
        assert state.instance(CLUSTER_ID).keys == 42

    def test_a_wrong_password_is_dcs_4080(self, emulator: DcsEmulator) -> None:
        emulator.state.instance(CLUSTER_ID).password = "right"
        body = CreateMigrationTaskBody(
            task_name="import-2",
            migration_type="backupfile_import",
            migration_method="full_amount_migration",
            backup_files=BackupFilesBody(file_source="self_build_obs", bucket_name="b", files=[]),
            target_instance=TargetInstanceBody(id=CLUSTER_ID, password="wrong"),
        )
        client = _client(emulator)
        assert _error_code(lambda: client.create_migration_task(CreateMigrationTaskRequest(body=body))) == "DCS.4080"

    def test_a_restore_or_an_import_beside_an_unfinished_import_into_the_instance_is_dcs_4017(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        state = emulator.state
        backup, own = state.add_backup(HA_ID, keys=40), state.add_backup(CLUSTER_ID, keys=3)
        client = _client(emulator)
        _import_backup(client, backup.backup_id, CLUSTER_ID)
        assert _error_code(lambda: _import_backup(client, backup.backup_id, CLUSTER_ID)) == "DCS.4017"
        assert _error_code(lambda: _restore(client, CLUSTER_ID, own.backup_id)) == "DCS.4017"
        clock[0] += 10  # the import ends
        assert _restore(client, CLUSTER_ID, own.backup_id)


def _import_backup(client: DcsClient, backup_id: str, target: str) -> Any:
    body = CreateMigrationTaskBody(
        task_name="import-d",
        migration_type="backupfile_import",
        migration_method="full_amount_migration",
        backup_files=BackupFilesBody(file_source="backup_record", backup_id=backup_id),
        target_instance=TargetInstanceBody(id=target),
    )
    return client.create_migration_task(CreateMigrationTaskRequest(body=body))


def _flush(client: DcsClient, *instance_ids: str) -> dict[str, str]:
    body = ChangeInstanceStatusBody(instances=list(instance_ids), action="flush")
    return {
        r.instance: r.result
        for r in client.restart_or_flush_instances(RestartOrFlushInstancesRequest(body=body)).results
    }


def _keys(client: DcsClient, instance_id: str) -> int:
    statistics = client.list_statistics_of_running_instances(ListStatisticsOfRunningInstancesRequest())
    return int(next(s.keys for s in statistics.statistics if s.instance_id == instance_id))


class TestFlushAndDamage:
    def test_a_flush_empties_a_redis_5_instance_after_its_time(self, emulator: DcsEmulator, clock: list[float]) -> None:
        emulator.state.instance(HA_ID).keys = 9
        emulator.state.instance(HA_ID).engine_version = "5.0"
        emulator.state.restores.flush_s = 1.0
        client = _client(emulator)
        assert _flush(client, HA_ID) == {HA_ID: "success"}
        statistics = client.list_statistics_of_running_instances(ListStatisticsOfRunningInstancesRequest())
        assert HA_ID not in {s.instance_id for s in statistics.statistics}  # FLUSHING: not a running instance
        assert emulator.state.instance(HA_ID).status == "FLUSHING"
        clock[0] += 1.0
        assert _keys(client, HA_ID) == 0
        assert emulator.state.instance(HA_ID).status == "RUNNING"

    def test_a_flush_of_a_redis_6_or_7_instance_is_answered_failed_for_it_alone(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        emulator.state.instance(HA_ID).keys = 9
        emulator.state.instance(CLUSTER_ID).keys = 5
        emulator.state.instance(CLUSTER_ID).engine_version = "4.0"
        client = _client(emulator)
        assert _flush(client, HA_ID, CLUSTER_ID) == {HA_ID: "failed", CLUSTER_ID: "success"}  # HA_ID runs 6.0
        clock[0] += 10.0
        assert (_keys(client, HA_ID), _keys(client, CLUSTER_ID)) == (9, 0)

    def test_a_flush_scripted_to_fail_is_answered_failed_once(self, emulator: DcsEmulator, clock: list[float]) -> None:
        emulator.state.instance(HA_ID).keys = 9
        emulator.state.instance(HA_ID).engine_version = "5.0"
        emulator.state.restores.fail_next_flush(HA_ID)
        client = _client(emulator)
        assert _flush(client, HA_ID) == {HA_ID: "failed"}
        clock[0] += 10.0
        assert _keys(client, HA_ID) == 9
        assert _flush(client, HA_ID) == {HA_ID: "success"}

    def test_an_import_of_a_damaged_backup_fails(self, emulator: DcsEmulator, clock: list[float]) -> None:
        backup = emulator.state.add_backup(HA_ID, keys=40)
        backup.file_damage = "bad_magic"
        client = _client(emulator)
        created = _import_backup(client, backup.backup_id, CLUSTER_ID)
        clock[0] += 10
        assert client.show_migration_task(ShowMigrationTaskRequest(task_id=created.id)).status == "FAILED"
        assert emulator.state.instance(CLUSTER_ID).keys == 0

    def test_a_backup_file_declares_the_keys_the_backup_holds(self) -> None:
        (single,) = backup_files("i", "b", cluster=False, size=1 << 16, created="c", backup_format="rdb", keys=20_000)
        verifier = RdbVerifier()
        verifier.feed(single.read())
        assert verifier.finish().keys_by_db == {0: 20_000}
        shards = backup_files("i", "b", cluster=True, size=3 << 16, created="c", backup_format="rdb", keys=500)
        counts = []
        for shard in shards:
            verifier = RdbVerifier()
            verifier.feed(shard.read())
            counts.append(verifier.finish().keys_by_db)
        assert counts == [{0: 166}, {0: 166}, {0: 168}]
