"""What the HTTP endpoint refuses, and that refusals reveal nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, load_event


def _apig(body: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = body
    event.update(changes)
    return event


def test_instances_outside_the_allowlist_are_refused_with_403(function: FunctionHarness) -> None:
    body = json.dumps({"instance_ids": [HA_ID, CLUSTER_ID]})
    result = function.invoke(_apig(body), DCS_ALLOWED_INSTANCE_IDS=HA_ID)
    assert result.answer["statusCode"] == 403
    assert CLUSTER_ID in result.body["problems"][0]["problem"]
    assert function.emulator.requests == []


def test_allowlist_applies_to_other_triggers_as_an_invalid_request(function: FunctionHarness) -> None:
    result = function.invoke({"instance_ids": [CLUSTER_ID]}, DCS_ALLOWED_INSTANCE_IDS=HA_ID)
    assert type(result.error).__name__ == "InvalidRequestError"
    assert function.emulator.requests == []


def test_body_over_64_kb_is_413(function: FunctionHarness) -> None:
    body = base64.b64encode(json.dumps({"remark": "x" * 70_000}).encode()).decode()
    result = function.invoke(_apig(body, isBase64Encoded=True))
    assert result.answer["statusCode"] == 413


def test_non_json_content_type_is_415(function: FunctionHarness) -> None:
    event = _apig("a=b")
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    assert function.invoke(event).answer["statusCode"] == 415


@pytest.mark.parametrize("body", ["{", "[]", "null", '"text"', "\udcff"])
def test_malformed_bodies_are_400_without_internals(function: FunctionHarness, body: str) -> None:
    result = function.invoke(_apig(body))
    assert result.answer["statusCode"] == 400
    assert "Traceback" not in result.answer["body"]
    assert function.emulator.requests == []
