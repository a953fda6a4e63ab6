"""Keys that DCS refuses end the invocation's DCS calls at once, and are reported once for the run."""

from __future__ import annotations

from typing import Any

from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID
from tests.conftest import FunctionHarness, Invocation

WRONG_SECRET = "not-the-agency-secret-key"


def _with_wrong_secret(function: FunctionHarness, request: dict[str, Any]) -> Invocation:
    return function.invoke({"raise_on_failure": False, **request}, LocalContext.seeded(secret_key=WRONG_SECRET))


class TestRefusedKeys:
    def test_only_one_call_is_signed_with_refused_keys(self, function: FunctionHarness) -> None:
        # GIVEN a wrong secret key, three targets and room for four at once
        _with_wrong_secret(function, {"instance_ids": [HA_ID, CLUSTER_ID, FROZEN_ID], "wait": True})
        # THEN DCS saw a single refused signature, not one (or more) per target
        assert len(function.emulator.requests) == 1

    def test_every_target_fails_with_the_refusal(self, function: FunctionHarness) -> None:
        result = _with_wrong_secret(function, {"instance_ids": [HA_ID, CLUSTER_ID, FROZEN_ID]})
        assert result.answer["status"] == "failed"
        assert result.answer["reason"].startswith("credentials rejected: DCS answered 401 APIG.0301")
        assert {o["status"] for o in result.answer["results"]} == {"failed"}
        assert all(o["reason"].startswith("credentials rejected") for o in result.answer["results"])

    def test_the_refusal_is_one_error_line(self, function: FunctionHarness) -> None:
        result = _with_wrong_secret(function, {"instance_ids": [HA_ID, CLUSTER_ID, FROZEN_ID]})
        errors = [line for line in result.logs if line["level"] == "error"]
        assert [line["message"][:20] for line in errors] == ["credentials rejected"]

    def test_a_selection_read_with_refused_keys_stops_there(self, function: FunctionHarness) -> None:
        result = _with_wrong_secret(function, {"select": {"all": True}})
        assert len(function.emulator.requests) == 1
        assert result.answer["reason"].startswith("credentials rejected")

    def test_an_audit_with_refused_keys_is_reported_once(self, function: FunctionHarness) -> None:
        result = _with_wrong_secret(function, {"action": "audit", "instance_ids": [HA_ID, CLUSTER_ID]})
        assert len(function.emulator.requests) == 1
        assert result.answer["reason"].startswith("credentials rejected")
        assert len([line for line in result.logs if line["level"] == "error"]) == 1


class TestSlowFirstAnswer:
    def test_a_slow_first_answer_does_not_hold_back_the_other_targets(self, function: FunctionHarness) -> None:
        # GIVEN the first DCS answer trickles in for longer than the invocation lasts
        function.emulator.faults.script("ShowInstance", Fault(FaultKind.TRICKLE, delay_s=0.05))
        result = function.invoke(
            {"instance_ids": [HA_ID, CLUSTER_ID], "raise_on_failure": False}, LocalContext.seeded(timeout_s=8)
        )
        # THEN the other target's backup was started all the same
        statuses = sorted(o["status"] for o in result.answer["results"])
        assert statuses == ["created", "failed"]
