"""The RPO audit: newest good backup of any origin per target, read-only, with a verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError, RpoViolatedError
from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness, Invocation, load_event
from tests.support import own_backup, trickle_backup_listings


def _audit(function: FunctionHarness, *instance_ids: str, **fields: Any) -> Invocation:
    request = {"action": "audit", "instance_ids": list(instance_ids), "raise_on_failure": False, **fields}
    return function.invoke(request)


def _verdicts(result: Invocation) -> dict[str, dict[str, Any]]:
    return {o["instance_id"]: o for o in result.answer["results"]}


class TestVerdicts:
    def test_the_newest_good_backup_of_any_origin_counts(self, function: FunctionHarness) -> None:
        # GIVEN an automatic backup 2 h old, a newer one that failed, and older ones of other origins
        state = function.emulator.state
        state.add_backup(HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=20)
        state.add_backup(HA_ID, remark="before the migration", age_hours=10)
        automatic = state.add_backup(HA_ID, backup_type="auto", age_hours=2, size_bytes=4096)
        state.add_backup(HA_ID, remark="nightly [dcsb:00000000beef]", age_hours=1, status="failed")
        # WHEN the audit runs
        (verdict,) = _audit(function, HA_ID).answer["results"]
        # THEN the automatic backup is the recovery point, and the instance is within its RPO
        assert verdict["status"] == "ok" and verdict["instance_name"] == "orders-cache"
        last = verdict["last_backup"]
        assert (last["backup_id"], last["backup_type"], last["made_by_this_function"]) == (
            automatic.backup_id,
            "auto",
            False,
        )
        assert 1.9 < last["age_hours"] < 2.1 and last["size_bytes"] == 4096 and last["finished_at"].endswith("Z")

    def test_the_functions_own_backup_is_recognised(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=3)
        (verdict,) = _audit(function, HA_ID).answer["results"]
        assert verdict["last_backup"]["made_by_this_function"] is True

    def test_older_than_the_rpo_is_stale(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=30)
        assert _verdicts(_audit(function, HA_ID))[HA_ID]["status"] == "stale"
        assert _verdicts(_audit(function, HA_ID, rpo_hours=48))[HA_ID]["status"] == "ok"

    def test_no_good_backup_is_none(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, age_hours=1, status="failed")
        (verdict,) = _audit(function, HA_ID).answer["results"]
        assert (verdict["status"], verdict["last_backup"]) == ("none", None)

    def test_single_node_and_not_running_are_skipped(self, function: FunctionHarness) -> None:
        verdicts = _verdicts(_audit(function, SINGLE_ID, FROZEN_ID))
        assert {v["status"] for v in verdicts.values()} == {"skipped"}

    def test_unreadable_backups_are_failed(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("ListBackupRecords", *[Fault(FaultKind.SERVER_ERROR)] * 10)
        (verdict,) = _audit(function, HA_ID).answer["results"]
        assert (verdict["status"], verdict["error_code"]) == ("failed", "DCS.5000")

    def test_the_newest_good_backup_is_found_beyond_the_first_page(self, function: FunctionHarness) -> None:
        state = function.emulator.state
        for hours in range(1, 9):
            state.add_backup(HA_ID, remark="failed by hand", age_hours=hours, status="failed")
        good = state.add_backup(HA_ID, backup_type="auto", age_hours=9)
        function.runtime.page_sizes = (1000, 3)
        (verdict,) = _audit(function, HA_ID).answer["results"]
        assert (verdict["status"], verdict["last_backup"]["backup_id"]) == ("ok", good.backup_id)


class TestReadOnly:
    def test_an_audit_never_creates_or_deletes(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=100)
        _audit(function, HA_ID, CLUSTER_ID, SINGLE_ID)
        assert function.emulator.requests and {r.method for r in function.emulator.requests} == {"GET"}

    def test_configured_backup_options_do_not_make_it_write(self, function: FunctionHarness) -> None:
        function.invoke(
            {"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False},
            DCS_KEEP_LAST="1",
            DCS_WAIT="true",
        )
        assert {r.method for r in function.emulator.requests} == {"GET"}


class TestAnswers:
    def test_document_succeeds_when_every_target_is_ok_or_skipped(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=1)
        answer = _audit(function, HA_ID, SINGLE_ID).answer
        assert (answer["action"], answer["status"], answer["rpo_hours"]) == ("audit", "succeeded", 24)
        assert answer["counts"] == {
            "ok": 1,
            "stale": 0,
            "none": 0,
            "unproven": 0,
            "skipped": 1,
            "failed": 0,
            "total": 2,
        }

    def test_a_violation_raises_rpo_violated_and_logs_an_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"action": "audit", "instance_ids": [HA_ID, CLUSTER_ID]})
        assert isinstance(result.error, RpoViolatedError)
        assert "RPO of 24 h not met for 2 instance(s)" in str(result.error)
        errors = [line for line in result.logs if line["level"] == "error"]
        assert {line["instance_id"] for line in errors} == {HA_ID, CLUSTER_ID}
        assert all("no successful backup" in line["detail"] for line in errors)

    def test_over_http_the_report_comes_with_200(self, function: FunctionHarness) -> None:
        event = load_event("apig-plain.json")
        event["body"] = json.dumps({"action": "audit", "instance_ids": [HA_ID]})
        result = function.invoke(event)
        assert result.answer["statusCode"] == 200
        assert result.body["status"] == "failed" and result.body["results"][0]["status"] == "none"

    def test_targets_can_be_selected(self, function: FunctionHarness) -> None:
        result = function.invoke({"action": "audit", "select": {"tags": {"env": "prod"}}, "raise_on_failure": False})
        assert set(_verdicts(result)) == {HA_ID, CLUSTER_ID}

    def test_the_default_rpo_is_configurable(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=30)
        result = function.invoke({"action": "audit", "instance_ids": [HA_ID]}, DCS_RPO_HOURS="36")
        assert result.answer["rpo_hours"] == 36 and result.answer["status"] == "succeeded"


class TestValidation:
    @pytest.mark.parametrize(
        ("request_", "field"),
        [
            ({"action": "delete"}, "action"),
            ({"action": "audit", "rpo_hours": 0}, "rpo_hours"),
            ({"action": "audit", "rpo_hours": 8761}, "rpo_hours"),
            ({"action": "audit", "rpo_hours": "24"}, "rpo_hours"),
            ({"action": "audit", "remark": "x"}, "remark"),
            ({"action": "audit", "wait": True}, "wait"),
            ({"rpo_hours": 24}, "rpo_hours"),
        ],
    )
    def test_each_rule_names_its_field(self, function: FunctionHarness, request_: dict[str, Any], field: str) -> None:
        result = function.invoke({"instance_ids": [HA_ID], **request_})
        assert isinstance(result.error, InvalidRequestError)
        assert field in {p.field for p in result.error.problems}
        assert function.emulator.requests == []

    def test_a_bad_default_rpo_is_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"action": "audit", "instance_ids": [HA_ID]}, DCS_RPO_HOURS="a day")
        assert isinstance(result.error, ConfigurationError) and "DCS_RPO_HOURS" in str(result.error)


class TestDeadline:
    def test_an_audit_cut_short_does_not_say_a_backup_may_have_been_started(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An audit is read-only: cut short, its reason is one fit for an audit.

        GIVEN an audit target whose ListBackupRecords is still trickling at the deadline, THEN it is
        ``failed`` with a reason such as "deadline reached while reading the backups", never the
        backup runner's "... the backup may have been started: a retry of the same request finds it",
        which would go into an ERROR line that pages a person.
        """
        own_backup(function.emulator.state, 1)
        trickle_backup_listings(monkeypatch, skip=0)
        result = function.invoke(
            {"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False},
            LocalContext.seeded(remaining_ms=2000),
        )
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "failed"
        assert "backup may have been started" not in outcome["reason"]
