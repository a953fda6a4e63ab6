"""Every sample event in events/, run through the handler, the real SDK and the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, PROJECT_ID
from tests.conftest import EVENTS_DIR, FunctionHarness, load_event

EVENT_FILES = sorted(p.name for p in Path(EVENTS_DIR).glob("*.json"))
# DCS_INSTANCE_IDS supplies the targets of events that carry none (e.g. an empty timer user_event).
DEFAULT_TARGETS = f"{HA_ID},{CLUSTER_ID}"


def _document(answer: dict[str, Any]) -> dict[str, Any]:
    """The result document, whichever trigger answered."""
    document: dict[str, Any] = json.loads(answer["body"]) if "statusCode" in answer else answer
    return document


@pytest.mark.parametrize("event_file", EVENT_FILES)
def test_sample_event_backs_up_every_target(function: FunctionHarness, event_file: str) -> None:
    # GIVEN a sample event exactly as its trigger delivers it
    event = load_event(event_file)
    # WHEN the function handles it
    result = function.invoke(event, DCS_INSTANCE_IDS=DEFAULT_TARGETS)
    # THEN nothing failed and every backupable target got a backup that exists in DCS
    assert result.error is None, result.error
    document = _document(result.answer)
    assert document["status"] == "succeeded"
    created = [r for r in document["results"] if r["status"] in ("created", "completed")]
    assert created
    for outcome in created:
        backups = function.emulator.state.backups(outcome["instance_id"])
        assert [b.backup_id for b in backups] == [outcome["backup_id"]]


@pytest.mark.parametrize("event_file", EVENT_FILES)
def test_sample_event_requests_are_signed_for_the_project(function: FunctionHarness, event_file: str) -> None:
    function.invoke(load_event(event_file), DCS_INSTANCE_IDS=DEFAULT_TARGETS)
    received = function.emulator.requests
    assert received
    assert all(r.signature_valid for r in received)
    assert all(r.path.startswith(f"/v2/{PROJECT_ID}/instances") for r in received)
    assert all(f"Access={ACCESS_KEY}" in r.headers["authorization"] for r in received)


def test_timer_event_sends_format_and_tagged_remark(function: FunctionHarness) -> None:
    function.invoke(load_event("timer.json"))
    posts = function.emulator.requests_for("CreateBackup")
    assert {p.path.split("/")[4] for p in posts} == {HA_ID, CLUSTER_ID}
    for post in posts:
        body = post.json()
        assert body["backup_format"] == "rdb"
        assert body["remark"].startswith("nightly [dcsb:")


def test_api_gateway_base64_event_answers_202_with_aof_backup(function: FunctionHarness) -> None:
    result = function.invoke(load_event("apig-base64.json"))
    assert result.answer["statusCode"] == 202
    assert set(result.answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    (post,) = function.emulator.requests_for("CreateBackup")
    assert post.json()["backup_format"] == "aof"


@pytest.mark.parametrize(
    ("trigger_key", "value"), [("specversion", "1.0"), ("trigger_type", "TIMER")], ids=["specversion", "trigger_type"]
)
def test_a_direct_request_holding_a_trigger_key_is_refused_not_read_as_that_trigger(
    function: FunctionHarness, trigger_key: str, value: str
) -> None:
    # GIVEN configured default targets, and a direct request naming its own instance and one trigger's key
    result = function.invoke({"instance_ids": [HA_ID], trigger_key: value}, DCS_INSTANCE_IDS=CLUSTER_ID)
    # THEN the key is an unknown field of the request, and nothing is backed up (not even the defaults)
    assert result.error is not None
    assert trigger_key in str(result.error)
    assert function.emulator.requests_for("CreateBackup") == []


def test_a_direct_request_naming_an_http_method_is_refused_not_answered_as_http(function: FunctionHarness) -> None:
    request = {"instance_ids": [HA_ID], "httpMethod": "POST", "requestContext": {}}
    result = function.invoke(request, DCS_INSTANCE_IDS=CLUSTER_ID)
    assert result.error is not None and "httpMethod" in str(result.error)
    assert function.emulator.requests_for("CreateBackup") == []


def test_an_incomplete_timer_event_is_refused_saying_what_a_timer_sends(function: FunctionHarness) -> None:
    event = load_event("timer.json")
    del event["trigger_name"]
    result = function.invoke(event)
    assert result.error is not None
    assert "not a complete timer event" in str(result.error)
