"""An idempotency key names one request: reusing it for a different one is refused, not answered with its backup."""

from __future__ import annotations

import json
from typing import Any

from dcs_backup.platform.errors import InvalidRequestError
from dcs_emulator import Fault, FaultKind
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, load_event

FIRST = {"instance_ids": [HA_ID], "idempotency_key": "k1", "backup_format": "rdb", "remark": "before upgrade"}


class TestDirectRequests:
    def test_the_same_request_again_reuses_its_backup(self, function: FunctionHarness) -> None:
        first = function.invoke(FIRST).answer["results"][0]
        again = function.invoke(dict(reversed(FIRST.items()))).answer["results"][0]
        assert (again["backup_id"], again.get("reused")) == (first["backup_id"], True)

    def test_another_format_and_remark_with_the_same_key_are_refused(self, function: FunctionHarness) -> None:
        function.invoke(FIRST)
        result = function.invoke({**FIRST, "backup_format": "aof", "remark": "another"})
        assert isinstance(result.error, InvalidRequestError)
        assert result.error.http_status == 409
        assert "already used for a different request" in str(result.error)
        assert len(function.emulator.state.backups(HA_ID)) == 1

    def test_other_targets_with_the_same_key_are_refused_and_nothing_is_started(
        self, function: FunctionHarness
    ) -> None:
        function.invoke(FIRST)
        result = function.invoke({**FIRST, "instance_ids": [CLUSTER_ID, HA_ID]})
        assert isinstance(result.error, InvalidRequestError)
        assert function.emulator.state.backups(CLUSTER_ID) == []

    def test_other_options_with_the_same_key_are_refused(self, function: FunctionHarness) -> None:
        function.invoke(FIRST)
        result = function.invoke({**FIRST, "retention": {"keep_last": 3}})
        assert isinstance(result.error, InvalidRequestError)


class TestHttp:
    def _post(self, function: FunctionHarness, body: dict[str, Any]) -> Any:
        event = load_event("apig-plain.json")
        event["headers"] = {**event.get("headers", {}), "idempotency-key": "deploy-42"}
        event["body"] = json.dumps(body)
        return function.invoke(event)

    def test_a_header_key_reused_for_a_different_body_is_409(self, function: FunctionHarness) -> None:
        self._post(function, {"instance_ids": [HA_ID]})
        result = self._post(function, {"instance_ids": [HA_ID], "backup_format": "aof"})
        assert result.answer["statusCode"] == 409
        assert "idempotency_key" in result.answer["body"]


class TestTimers:
    def test_each_firing_still_backs_up(self, function: FunctionHarness) -> None:
        function.emulator.state.waiting_s = function.emulator.state.backuping_s = 0.0  # each backup done at once
        event = load_event("timer.json")
        function.invoke(event)
        later = function.invoke({**event, "time": "2026-11-27T02:00:00+08:00"})
        assert later.error is None
        assert {o["status"] for o in later.answer["results"]} <= {"created", "skipped"}
        assert not any(o.get("reused") for o in later.answer["results"])


class TestEquivalentRetries:
    def test_the_same_targets_in_another_order_are_the_same_request(self, function: FunctionHarness) -> None:
        first = function.invoke({**FIRST, "instance_ids": [HA_ID, CLUSTER_ID]}).answer["results"]
        again = function.invoke({**FIRST, "instance_ids": [CLUSTER_ID, HA_ID]}).answer["results"]
        assert {o["backup_id"] for o in again} == {o["backup_id"] for o in first}
        assert all(o.get("reused") for o in again)

    def test_asking_for_the_document_instead_of_an_error_is_the_same_request(self, function: FunctionHarness) -> None:
        first = function.invoke(FIRST).answer["results"][0]
        again = function.invoke({**FIRST, "raise_on_failure": False}).answer["results"][0]
        assert (again["backup_id"], again.get("reused")) == (first["backup_id"], True)


class TestRetriesAfterAReuse:
    def test_each_request_still_finds_its_own_backup(self, function: FunctionHarness) -> None:
        # GIVEN two requests that got backups under one key (the records could not be read for the second)
        state = function.emulator.state
        state.waiting_s = state.backuping_s = 0.0
        first = function.invoke(FIRST).answer["results"][0]
        function.emulator.faults.script("ListBackupRecords", *[Fault(FaultKind.FORBIDDEN)])
        second = function.invoke({**FIRST, "remark": "another"}).answer["results"][0]
        assert second["backup_id"] != first["backup_id"]
        # WHEN each is retried, THEN each is answered with its own backup, not refused
        assert function.invoke(FIRST).answer["results"][0]["backup_id"] == first["backup_id"]
        assert function.invoke({**FIRST, "remark": "another"}).answer["results"][0]["backup_id"] == second["backup_id"]
