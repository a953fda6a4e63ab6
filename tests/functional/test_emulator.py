"""The emulator behaves like DCS, driven through the official SDK over HTTP."""

from __future__ import annotations

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdcs.v2 import (
    BackupInstanceBody,
    CopyInstanceRequest,
    DeleteBackupFileRequest,
    ListBackupRecordsRequest,
    ListInstancesRequest,
)
from huaweicloudsdkdcs.v2.dcs_client import DcsClient

from dcs_backup.access import DcsAccess
from dcs_backup.dcs.client import build_dcs_client
from dcs_emulator import DcsEmulator
from devkit.seed import ACCESS_KEY, FROZEN_ID, HA_ID, PROJECT_ID, SECRET_KEY, SINGLE_ID


def _client(emulator: DcsEmulator, *, project_id: str = PROJECT_ID, secret_key: str = SECRET_KEY) -> DcsClient:
    access = DcsAccess(ACCESS_KEY, secret_key, None, project_id, emulator.endpoint)
    client, _ = build_dcs_client(access)
    return client


def _create(client: DcsClient, instance_id: str, remark: str = "r") -> str:
    body = BackupInstanceBody(remark=remark, backup_format="rdb")
    return str(client.copy_instance(CopyInstanceRequest(instance_id=instance_id, body=body)).backup_id)


def _error_code(call: object) -> str:
    assert callable(call)
    with pytest.raises(ClientRequestException) as caught:
        call()
    return str(caught.value.error_code)


class TestInstances:
    def test_list_filters_by_fuzzy_name(self, emulator: DcsEmulator) -> None:
        response = _client(emulator).list_instances(ListInstancesRequest(name="cache"))
        assert [i.name for i in response.instances] == ["orders-cache"]

    def test_list_filters_by_exact_name_status_and_tags(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        assert client.list_instances(ListInstancesRequest(name="orders", name_equal="true")).instance_num == 0
        assert client.list_instances(ListInstancesRequest(status="FROZEN")).instances[0].instance_id == FROZEN_ID
        tagged = client.list_instances(ListInstancesRequest(tags="env=prod,team=checkout"))
        assert [i.instance_id for i in tagged.instances] == [HA_ID]

    def test_list_pages_with_offset_and_limit(self, emulator: DcsEmulator) -> None:
        page = _client(emulator).list_instances(ListInstancesRequest(offset=1, limit=2))
        assert (page.instance_num, len(page.instances)) == (4, 2)


class TestBackups:
    def test_backup_runs_waiting_then_backuping_then_succeed(self, emulator: DcsEmulator) -> None:
        clock = [1000.0]
        emulator.state.clock = lambda: clock[0]
        client = _client(emulator)
        _create(client, HA_ID)
        statuses = []
        for _ in range(3):
            records = client.list_backup_records(ListBackupRecordsRequest(instance_id=HA_ID))
            statuses.append(records.backup_record_response[0].status)
            clock[0] += 0.6
        assert statuses == ["waiting", "backuping", "succeed"]

    def test_one_backup_at_a_time(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        _create(client, HA_ID)
        assert _error_code(lambda: _create(client, HA_ID)) == "DCS.4096"

    def test_at_most_24_backups_are_kept(self, emulator: DcsEmulator) -> None:
        clock = [1000.0]
        emulator.state.clock = lambda: clock[0]
        client = _client(emulator)
        first = _create(client, HA_ID)
        for _ in range(24):
            clock[0] += 10
            _create(client, HA_ID)
        kept = [b.backup_id for b in emulator.state.backups(HA_ID)]
        assert len(kept) == 24 and first not in kept

    def test_refusals_carry_dcs_error_codes(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        assert _error_code(lambda: _create(client, SINGLE_ID)) == "DCS.4086"
        assert _error_code(lambda: _create(client, FROZEN_ID)) == "DCS.4049"
        assert _error_code(lambda: _create(client, "missing")) == "DCS.3022"
        assert _error_code(lambda: _create(client, HA_ID, remark="r" * 129)) == "DCS.4098"

    def test_empty_list_is_204_which_the_sdk_returns_as_none(self, emulator: DcsEmulator) -> None:
        response = _client(emulator).list_backup_records(ListBackupRecordsRequest(instance_id=HA_ID))
        assert (response.status_code, response.backup_record_response) == (204, None)

    def test_delete_removes_the_backup(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        backup_id = _create(client, HA_ID)
        client.delete_backup_file(DeleteBackupFileRequest(instance_id=HA_ID, backup_id=backup_id))
        assert emulator.state.backups(HA_ID) == []


class TestAuthentication:
    def test_wrong_secret_is_apig_0301(self, emulator: DcsEmulator) -> None:
        client = _client(emulator, secret_key="not-the-secret")
        assert _error_code(lambda: _create(client, HA_ID)) == "APIG.0301"

    def test_other_project_is_dcs_1004(self, emulator: DcsEmulator) -> None:
        client = _client(emulator, project_id="ffffffffffffffffffffffffffffffff")
        assert _error_code(lambda: _create(client, HA_ID)) == "DCS.1004"
