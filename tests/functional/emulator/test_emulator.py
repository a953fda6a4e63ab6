"""The emulator behaves like DCS, driven through the official SDK over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ServerResponseException,
    ServiceResponseException,
)
from huaweicloudsdkdcs.v2 import (
    BackupInstanceBody,
    CopyInstanceRequest,
    DeleteBackupFileRequest,
    ListBackupRecordsRequest,
    ListInstancesRequest,
    ShowInstanceRequest,
    ShowTagsRequest,
)
from huaweicloudsdkdcs.v2.dcs_client import DcsClient

from dcs_emulator import DcsEmulator, EmulatorState, Fault, FaultKind
from devkit.seed import ACCESS_KEY, CLUSTER_ID, FROZEN_ID, HA_ID, PROJECT_ID, SECRET_KEY, SINGLE_ID

SECURITY_TOKEN = "STS-TOKEN-FOR-THE-ECHO-TEST"


class _HeaderKeepingHandler(DefaultExceptionHandler):  # type: ignore[misc]
    """The SDK's error parsing, plus the response headers, so a test can read what a fault sent."""

    def handle_exception(self, request: Any, response: Any) -> None:
        try:
            super().handle_exception(request, response)
        except ServiceResponseException as exc:
            exc.response_headers = dict(response.headers)
            raise


def _client(
    emulator: DcsEmulator,
    *,
    project_id: str = PROJECT_ID,
    secret_key: str = SECRET_KEY,
    security_token: str | None = None,
) -> DcsClient:
    """A plain SDK client, built as sdk-notes.md describes, pointed at the emulator."""
    credentials = BasicCredentials(ACCESS_KEY, secret_key, project_id)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    return (
        DcsClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([emulator.endpoint])
        .with_exception_handler(_HeaderKeepingHandler())
        .build()
    )


def _create(client: DcsClient, instance_id: str, remark: str = "r") -> str:
    body = BackupInstanceBody(remark=remark, backup_format="rdb")
    return str(client.copy_instance(CopyInstanceRequest(instance_id=instance_id, body=body)).backup_id)


def _records(client: DcsClient, instance_id: str, **query: Any) -> Any:
    return client.list_backup_records(ListBackupRecordsRequest(instance_id=instance_id, **query))


def _raised(call: Callable[[], object], kind: type[ServiceResponseException] = ClientRequestException) -> Any:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def _error_code(call: Callable[[], object]) -> str:
    return str(_raised(call).error_code)


@pytest.fixture
def clock(state: EmulatorState) -> list[float]:
    """The emulator's clock, moved by the test: ``clock[0] += seconds``."""
    now = [1_750_000_000.0]
    state.clock = lambda: now[0]
    return now


@pytest.fixture
def fleet() -> Iterator[DcsEmulator]:
    """The seeded instances plus 300 generated ones."""
    with DcsEmulator(EmulatorState.fleet(300, seed=7)) as running:
        yield running


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

    def test_list_item_has_spec_code_and_tags_but_no_cache_mode(self, emulator: DcsEmulator) -> None:
        # WHEN the cluster instance is listed
        (item,) = _client(emulator).list_instances(ListInstancesRequest(instance_id=CLUSTER_ID)).instances
        # THEN the item has the list model's fields: the mode only inside spec_code
        assert not hasattr(item, "cache_mode")
        assert ".cluster." in item.spec_code
        assert [(t.key, t.value) for t in item.tags] == [("env", "prod")]
        assert (item.engine, item.engine_version, item.capacity) == ("Redis", "7.0", 16)

    def test_a_key_only_tag_filter_is_a_malformed_request(self, emulator: DcsEmulator) -> None:
        # GIVEN a tags filter with a bare key, which DCS does not document
        client = _client(emulator)
        # WHEN it is sent THEN DCS's malformed-request error comes back
        assert _error_code(lambda: client.list_instances(ListInstancesRequest(tags="env=prod,team"))) == "111400005"

    @pytest.mark.parametrize("limit", [0, 1001])
    def test_a_limit_outside_1_to_1000_is_refused(self, emulator: DcsEmulator, limit: int) -> None:
        # GIVEN a page size DCS does not accept WHEN it is asked for THEN the request is malformed
        client = _client(emulator)
        assert _error_code(lambda: client.list_instances(ListInstancesRequest(limit=limit))) == "111400005"

    def test_show_tags_answers_for_one_instance(self, emulator: DcsEmulator) -> None:
        # WHEN the tags API is asked for the master/standby instance THEN it has the seeded tags
        tags = _client(emulator).show_tags(ShowTagsRequest(instance_id=HA_ID)).tags
        assert {t.key: t.value for t in tags} == {"env": "prod", "team": "checkout"}

    def test_show_tags_of_an_unknown_instance_is_dcs_3022(self, emulator: DcsEmulator) -> None:
        # WHEN the tags API is asked for an instance DCS does not have THEN it is not found
        client = _client(emulator)
        assert _error_code(lambda: client.show_tags(ShowTagsRequest(instance_id="missing"))) == "DCS.3022"

    def test_an_item_can_list_null_tags_that_show_tags_still_has(self, emulator: DcsEmulator) -> None:
        # GIVEN an instance whose list item carries no tags
        emulator.state.instance(HA_ID).list_tags_null = True
        client = _client(emulator)
        # WHEN it is listed and its tags asked for
        (item,) = client.list_instances(ListInstancesRequest(instance_id=HA_ID)).instances
        tags = client.show_tags(ShowTagsRequest(instance_id=HA_ID)).tags
        # THEN the listing has null, the tags API the real tags
        assert item.tags is None
        assert {t.key for t in tags} == {"env", "team"}


class TestFleet:
    def test_every_listed_instance_comes_once_across_pages_newest_first(self, fleet: DcsEmulator) -> None:
        # GIVEN 304 instances, a few of them deleted or failed at creation
        client = _client(fleet)
        expected = [i for i in fleet.state.instances.values() if not i.deleted and i.status != "CREATEFAILED"]
        # WHEN every page of 100 is read
        pages = [client.list_instances(ListInstancesRequest(offset=o, limit=100)) for o in range(0, 400, 100)]
        # THEN each page reports the total, and together they list each instance once, newest first
        assert {p.instance_num for p in pages} == {len(expected)}
        listed = [i for p in pages for i in p.instances]
        assert sorted(i.instance_id for i in listed) == sorted(i.instance_id for i in expected)
        created = [i.created_at for i in listed]
        assert created == sorted(created, reverse=True)

    def test_tags_filter_selects_the_known_subset(self, fleet: DcsEmulator) -> None:
        # GIVEN the fleet, where backup=daily is on every third generated instance
        expected = {
            i.instance_id
            for i in fleet.state.instances.values()
            if i.tags.get("backup") == "daily" and not i.deleted and i.status != "CREATEFAILED"
        }
        # WHEN DCS's tags filter asks for backup=daily and env=prod
        found = _client(fleet).list_instances(ListInstancesRequest(tags="backup=daily,env=prod", limit=1000))
        # THEN exactly the prod ones of that subset come back
        prod = {i for i in expected if fleet.state.instances[i].tags["env"] == "prod"}
        assert {i.instance_id for i in found.instances} == prod
        assert found.instance_num == len(prod) > 10

    def test_failed_and_deleted_instances_are_listed_only_on_request(self, fleet: DcsEmulator) -> None:
        # GIVEN a fleet with instances that failed at creation and deleted ones
        client = _client(fleet)
        # WHEN it is counted without and with include_failure / include_delete
        default = client.list_instances(ListInstancesRequest(limit=1)).instance_num
        with_failed = client.list_instances(ListInstancesRequest(limit=1, include_failure="true")).instance_num
        with_deleted = client.list_instances(ListInstancesRequest(limit=1, include_delete="true")).instance_num
        # THEN each flag adds exactly its kind of instance
        failed = sum(1 for i in fleet.state.instances.values() if i.status == "CREATEFAILED" and not i.deleted)
        deleted = sum(1 for i in fleet.state.instances.values() if i.deleted and i.status != "CREATEFAILED")
        assert (with_failed - default, with_deleted - default) == (failed, deleted)
        assert failed > 0 and deleted > 0

    def test_a_deleted_instance_is_unknown_to_every_other_call(self, fleet: DcsEmulator) -> None:
        # GIVEN a deleted instance WHEN its tags are asked for THEN DCS does not know it
        deleted = next(i for i in fleet.state.instances.values() if i.deleted)
        client = _client(fleet)
        assert _error_code(lambda: client.show_tags(ShowTagsRequest(instance_id=deleted.instance_id))) == "DCS.3022"

    def test_list_items_with_null_tags_are_in_the_fleet(self, fleet: DcsEmulator) -> None:
        # WHEN the whole fleet is listed THEN some items come without tags
        found = _client(fleet).list_instances(ListInstancesRequest(limit=1000)).instances
        assert any(i.tags is None for i in found)


class TestBackups:
    def test_backup_runs_waiting_then_backuping_then_succeed(self, emulator: DcsEmulator, clock: list[float]) -> None:
        client = _client(emulator)
        _create(client, HA_ID)
        statuses = []
        for _ in range(3):
            statuses.append(_records(client, HA_ID).backup_record_response[0].status)
            clock[0] += 0.6
        assert statuses == ["waiting", "backuping", "succeed"]

    def test_one_backup_at_a_time(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        _create(client, HA_ID)
        assert _error_code(lambda: _create(client, HA_ID)) == "DCS.4096"

    def test_refusals_carry_dcs_error_codes(self, emulator: DcsEmulator) -> None:
        client = _client(emulator)
        assert _error_code(lambda: _create(client, SINGLE_ID)) == "DCS.4086"
        assert _error_code(lambda: _create(client, FROZEN_ID)) == "DCS.4049"
        assert _error_code(lambda: _create(client, "missing")) == "DCS.3022"
        assert _error_code(lambda: _create(client, HA_ID, remark="r" * 129)) == "DCS.4098"

    def test_empty_list_is_204_which_the_sdk_returns_as_none(self, emulator: DcsEmulator) -> None:
        response = _records(_client(emulator), HA_ID)
        assert (response.status_code, response.backup_record_response) == (204, None)

    def test_a_finished_backup_has_size_progress_and_finish_time(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        # GIVEN a backup that waits 0.5 s and runs 0.5 s
        client = _client(emulator)
        _create(client, HA_ID)
        # WHEN it is listed long after it finished
        clock[0] += 100
        (record,) = _records(client, HA_ID).backup_record_response
        # THEN it is a succeeded manual backup whose record says how big it is and when it ended
        assert (record.status, record.backup_type, record.progress, record.error_code) == (
            "succeed",
            "manual",
            "100.00",
            "{}",
        )
        assert record.size > 0
        assert record.updated_at > record.created_at

    def test_every_backup_of_an_instance_set_to_fail_ends_failed_with_its_code(
        self, emulator: DcsEmulator, clock: list[float]
    ) -> None:
        # GIVEN an instance whose backups always fail with dcs.08.0002
        emulator.state.instance(HA_ID).backup_error_code = "dcs.08.0002"
        client = _client(emulator)
        # WHEN two backups run to their end
        for _ in range(2):
            _create(client, HA_ID)
            clock[0] += 10
        # THEN both ended failed with that code, and no size
        records = _records(client, HA_ID).backup_record_response
        assert [(r.status, r.error_code, r.size) for r in records] == [("failed", "dcs.08.0002", 0)] * 2

    def test_a_scripted_failure_hits_only_the_next_backup(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN the next backup of the instance is scripted to fail
        emulator.state.fail_next_backup(HA_ID, "dcs.08.0001")
        client = _client(emulator)
        # WHEN two backups run, one after the other
        first = _create(client, HA_ID)
        clock[0] += 10
        _create(client, HA_ID)
        clock[0] += 10
        # THEN only the first failed
        statuses = {r.backup_id: r.status for r in _records(client, HA_ID).backup_record_response}
        assert statuses.pop(first) == "failed"
        assert list(statuses.values()) == ["succeed"]

    def test_a_backup_fails_only_when_it_finishes(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN a backup scripted to fail
        emulator.state.fail_next_backup(HA_ID)
        client = _client(emulator)
        _create(client, HA_ID)
        # WHEN it is listed while it runs THEN it looks like any running backup
        clock[0] += 0.6
        assert _records(client, HA_ID).backup_record_response[0].status == "backuping"

    def test_per_instance_durations_override_the_global_ones(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN the global 0.5 s + 0.5 s, but this instance's backups run 60 s
        emulator.state.instance(HA_ID).backup_backuping_s = 60
        client = _client(emulator)
        _create(client, HA_ID)
        _create(client, CLUSTER_ID)
        # WHEN 10 s have passed
        clock[0] += 10
        # THEN that backup is still running while the other instance's finished
        assert _records(client, HA_ID).backup_record_response[0].status == "backuping"
        assert _records(client, CLUSTER_ID).backup_record_response[0].status == "succeed"


class TestBackupRecords:
    def test_records_page_newest_first_with_the_total(self, emulator: DcsEmulator) -> None:
        # GIVEN 15 backups, one an hour
        for age in range(15):
            emulator.state.add_backup(HA_ID, remark=f"age {age}", age_hours=age)
        client = _client(emulator)
        # WHEN the second page of 10 is read
        page = _records(client, HA_ID, offset=10, limit=10)
        # THEN it has the 5 oldest, newest first, and the total
        assert page.total_num == 15
        assert [r.remark for r in page.backup_record_response] == [f"age {a}" for a in range(10, 15)]

    def test_the_default_page_has_10_records(self, emulator: DcsEmulator) -> None:
        # GIVEN 12 backups WHEN listed without a limit THEN 10 come back
        for age in range(12):
            emulator.state.add_backup(HA_ID, age_hours=age)
        assert len(_records(_client(emulator), HA_ID).backup_record_response) == 10

    def test_begin_and_end_time_select_by_creation_time(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN backups 1, 30 and 50 hours old (the clock is 2025-06-15T15:06:40Z)
        for age in (1, 30, 50):
            emulator.state.add_backup(HA_ID, remark=str(age), age_hours=age)
        # WHEN the window from 48 to 24 hours ago is asked for
        window = _records(_client(emulator), HA_ID, begin_time="20250613150000", end_time="20250614150000")
        # THEN only the 30-hour-old one is in it
        assert [r.remark for r in window.backup_record_response] == ["30"]

    def test_a_malformed_time_is_refused(self, emulator: DcsEmulator) -> None:
        # WHEN begin_time is not yyyyMMddHHmmss THEN the request is malformed
        client = _client(emulator)
        assert _error_code(lambda: _records(client, HA_ID, begin_time="2025-01-01")) == "111400005"

    def test_seeded_records_keep_their_origin_status_and_code(self, emulator: DcsEmulator) -> None:
        # GIVEN an automatic backup, someone else's manual one, and a failed one
        state = emulator.state
        state.add_backup(HA_ID, backup_type="auto", age_hours=30)
        state.add_backup(HA_ID, remark="before the migration", age_hours=20, backup_format="aof")
        state.add_backup(HA_ID, remark="x", age_hours=10, status="failed", error_code="dcs.08.0005")
        # WHEN they are listed
        records = _records(_client(emulator), HA_ID).backup_record_response
        # THEN each comes back as seeded
        assert [(r.backup_type, r.remark, r.backup_format, r.status, r.error_code) for r in records] == [
            ("manual", "x", "rdb", "failed", "dcs.08.0005"),
            ("manual", "before the migration", "aof", "succeed", "{}"),
            ("auto", "", "rdb", "succeed", "{}"),
        ]


class TestRing:
    def test_at_most_24_backups_are_kept(self, emulator: DcsEmulator, clock: list[float]) -> None:
        client = _client(emulator)
        first = _create(client, HA_ID)
        for _ in range(24):
            clock[0] += 10
            _create(client, HA_ID)
        kept = [b.backup_id for b in emulator.state.backups(HA_ID)]
        assert len(kept) == 24 and first not in kept

    def test_the_25th_backup_evicts_the_oldest_whoever_made_it(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN 24 backups: the oldest automatic, then foreign manual ones
        state = emulator.state
        oldest = state.add_backup(HA_ID, backup_type="auto", age_hours=100)
        for age in range(23):
            state.add_backup(HA_ID, remark="someone else's", age_hours=age + 1)
        # WHEN one more is created through the API
        _create(_client(emulator), HA_ID)
        # THEN DCS deleted the automatic one, and the emulator says so
        assert state.evicted(HA_ID) == [oldest.backup_id]
        assert state.backup_count(HA_ID) == 24

    def test_deleted_and_expired_records_hold_no_slot(self, emulator: DcsEmulator) -> None:
        # GIVEN 24 backups plus a deleted and an expired record, all listed
        state = emulator.state
        for age in range(24):
            state.add_backup(HA_ID, age_hours=age + 1)
        state.add_backup(HA_ID, status="deleted", age_hours=200)
        state.add_backup(HA_ID, status="expired", age_hours=300)
        # THEN the list shows 26 records while 24 count toward the ring
        assert (_records(_client(emulator), HA_ID).total_num, state.backup_count(HA_ID)) == (26, 24)

    def test_seeding_a_25th_backup_is_a_test_error(self, emulator: DcsEmulator) -> None:
        # GIVEN 24 seeded backups WHEN a 25th is seeded THEN the test is told, nothing is evicted silently
        for age in range(24):
            emulator.state.add_backup(HA_ID, age_hours=age)
        with pytest.raises(ValueError, match="24"):
            emulator.state.add_backup(HA_ID)

    def test_evicted_backups_can_stay_listed_as_deleted(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN DCS keeps listing deleted records, and 24 backups
        state = emulator.state
        state.keep_deleted_records = True
        for age in range(24):
            state.add_backup(HA_ID, age_hours=age + 1)
        # WHEN a 25th is created
        _create(_client(emulator), HA_ID)
        # THEN the evicted one is listed as deleted and 24 still count
        (evicted,) = state.evicted(HA_ID)
        records = {r.backup_id: r.status for r in _records(_client(emulator), HA_ID, limit=100).backup_record_response}
        assert (records[evicted], len(records), state.backup_count(HA_ID)) == ("deleted", 25, 24)


class TestDeleteBackup:
    def test_delete_removes_a_finished_backup(self, emulator: DcsEmulator, clock: list[float]) -> None:
        # GIVEN a finished backup
        client = _client(emulator)
        backup_id = _create(client, HA_ID)
        clock[0] += 10
        # WHEN it is deleted
        response = client.delete_backup_file(DeleteBackupFileRequest(instance_id=HA_ID, backup_id=backup_id))
        # THEN the answer is 204 and the backup is gone
        assert response.status_code == 204
        assert (emulator.state.backups(HA_ID), emulator.state.deleted(HA_ID)) == ([], [backup_id])

    def test_deleting_an_unknown_backup_is_dcs_4101(self, emulator: DcsEmulator) -> None:
        # WHEN a backup id the instance does not have is deleted THEN DCS's "delete failed" 500 comes back
        client = _client(emulator)
        request = DeleteBackupFileRequest(instance_id=HA_ID, backup_id="no-such-backup")
        error = _raised(lambda: client.delete_backup_file(request), ServerResponseException)
        assert (error.status_code, error.error_code) == (500, "DCS.4101")

    def test_deleting_a_running_backup_is_refused_with_dcs_4096(self, emulator: DcsEmulator) -> None:
        # WHEN a backup that is still waiting is deleted THEN it is refused as "the instance is backuping"
        client = _client(emulator)
        request = DeleteBackupFileRequest(instance_id=HA_ID, backup_id=_create(client, HA_ID))
        assert _error_code(lambda: client.delete_backup_file(request)) == "DCS.4096"

    def test_a_scripted_fault_fails_the_delete(self, emulator: DcsEmulator) -> None:
        # GIVEN a seeded backup and a scripted 403 on DeleteBackup
        backup = emulator.state.add_backup(HA_ID, age_hours=1)
        emulator.faults.script("DeleteBackup", Fault(FaultKind.FORBIDDEN))
        client = _client(emulator)
        request = DeleteBackupFileRequest(instance_id=HA_ID, backup_id=backup.backup_id)
        # WHEN it is deleted THEN DCS.2003 comes back and the backup stays
        assert _error_code(lambda: client.delete_backup_file(request)) == "DCS.2003"
        assert emulator.state.backup_count(HA_ID) == 1


class TestFaults:
    @pytest.mark.parametrize(
        ("route", "call"),
        [
            ("ListInstances", lambda c: c.list_instances(ListInstancesRequest())),
            ("ShowTags", lambda c: c.show_tags(ShowTagsRequest(instance_id=HA_ID))),
        ],
    )
    def test_new_routes_take_scripted_faults(
        self, emulator: DcsEmulator, route: str, call: Callable[[DcsClient], object]
    ) -> None:
        # GIVEN a scripted 403 on the route
        emulator.faults.script(route, Fault(FaultKind.FORBIDDEN))
        client = _client(emulator)
        # WHEN it is called twice THEN the first call meets the fault and the second succeeds
        assert _error_code(lambda: call(client)) == "DCS.2003"
        call(client)

    def test_echo_credentials_quotes_the_access_key_and_token(self, emulator: DcsEmulator) -> None:
        # GIVEN temporary credentials and a backend that echoes them
        emulator.state.security_tokens[ACCESS_KEY] = SECURITY_TOKEN
        emulator.faults.script("ShowInstance", Fault(FaultKind.ECHO_CREDENTIALS))
        client = _client(emulator, security_token=SECURITY_TOKEN)
        # WHEN a call meets it
        error = _raised(lambda: client.show_instance(ShowInstanceRequest(instance_id=HA_ID)))
        # THEN a 4xx DCS error carries both in its message and in the X-Echo header
        assert (error.status_code, error.error_code) == (403, "DCS.2003")
        for secret in (ACCESS_KEY, SECURITY_TOKEN):
            assert secret in error.error_msg
            assert secret in error.response_headers["X-Echo"]


class TestAuthentication:
    def test_wrong_secret_is_apig_0301(self, emulator: DcsEmulator) -> None:
        client = _client(emulator, secret_key="not-the-secret")
        assert _error_code(lambda: _create(client, HA_ID)) == "APIG.0301"

    def test_other_project_is_dcs_1004(self, emulator: DcsEmulator) -> None:
        client = _client(emulator, project_id="ffffffffffffffffffffffffffffffff")
        assert _error_code(lambda: _create(client, HA_ID)) == "DCS.1004"
