"""Trigger detection and each adapter's parsing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dcs_backup.platform.errors import InvalidRequestError
from dcs_backup.triggers import Trigger, detect_trigger, read_trigger_input
from dcs_backup.triggers.apigateway import MAX_BODY_BYTES
from tests.conftest import load_event


class TestDetection:
    @pytest.mark.parametrize(
        ("event_file", "trigger"),
        [
            ("timer.json", Trigger.TIMER),
            ("timer-defaults.json", Trigger.TIMER),
            ("apig-base64.json", Trigger.APIG),
            ("apig-plain.json", Trigger.APIG),
            ("eventgrid.json", Trigger.EVENTGRID),
            ("workflow.json", Trigger.DIRECT),
        ],
    )
    def test_sample_events_are_recognised(self, event_file: str, trigger: Trigger) -> None:
        assert detect_trigger(load_event(event_file)) is trigger

    @pytest.mark.parametrize("event", [None, [], "text", 3])
    def test_non_objects_are_direct_invocations(self, event: Any) -> None:
        assert detect_trigger(event) is Trigger.DIRECT

    @pytest.mark.parametrize(
        "event",
        [
            {"instance_ids": ["i-1"], "specversion": "1.0"},
            {"instance_ids": ["i-1"], "specversion": "1.0", "id": "1", "source": "s", "type": "t"},
            {"instance_ids": ["i-1"], "trigger_type": "TIMER"},
            {"remark": "r", "trigger_type": "TIMER", "trigger_name": "n", "time": "2026-01-05T02:00:00+08:00"},
            {"trigger_type": "TIMER", "user_event": ""},
            {"instance_ids": ["i-1"], "httpMethod": "POST", "requestContext": {}},
            {"httpMethod": 1, "requestContext": {}, "body": "{}"},
        ],
    )
    def test_a_request_holding_one_trigger_key_is_a_direct_request(self, event: dict[str, Any]) -> None:
        assert detect_trigger(event) is Trigger.DIRECT

    def test_a_cloud_event_with_extension_attributes_is_a_cloud_event(self) -> None:
        assert detect_trigger({**load_event("eventgrid.json"), "traceparent": "00-ab-cd-01"}) is Trigger.EVENTGRID


class TestTimer:
    def _timer(self, user_event: Any) -> dict[str, Any]:
        return {
            "trigger_type": "TIMER",
            "trigger_name": "nightly",
            "time": "2026-01-05T02:00:00+08:00",
            "user_event": user_event,
        }

    def test_empty_user_event_means_defaults(self) -> None:
        assert read_trigger_input(Trigger.TIMER, self._timer("")).payload == {}

    def test_json_user_event_is_the_request(self) -> None:
        parsed = read_trigger_input(Trigger.TIMER, self._timer('{"remark": "x"}'))
        assert parsed.payload == {"remark": "x"}

    @pytest.mark.parametrize("user_event", ["not json", "[1, 2]", '"text"', "42"])
    def test_other_text_is_invalid(self, user_event: str) -> None:
        with pytest.raises(InvalidRequestError, match="user_event"):
            read_trigger_input(Trigger.TIMER, self._timer(user_event))

    def test_idempotency_key_is_trigger_name_and_time(self) -> None:
        parsed = read_trigger_input(Trigger.TIMER, self._timer(""))
        assert parsed.idempotency_key == "nightly@2026-01-05T02:00:00+08:00"


class TestApiGateway:
    def _event(
        self, body: str, *, b64: bool = False, method: str = "POST", headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "httpMethod": method,
            "headers": headers or {},
            "body": base64.b64encode(body.encode()).decode() if b64 else body,
            "isBase64Encoded": b64,
            "requestContext": {"requestId": "r"},
        }

    def test_base64_body_is_decoded_when_flagged(self) -> None:
        parsed = read_trigger_input(Trigger.APIG, self._event('{"remark": "b"}', b64=True))
        assert parsed.payload == {"remark": "b"}

    def test_plain_body_is_not_decoded(self) -> None:
        parsed = read_trigger_input(Trigger.APIG, self._event('{"remark": "p"}'))
        assert parsed.payload == {"remark": "p"}

    def test_invalid_base64_is_400(self) -> None:
        event = self._event("%%%not-base64", b64=False)
        event["isBase64Encoded"] = True
        with pytest.raises(InvalidRequestError) as caught:
            read_trigger_input(Trigger.APIG, event)
        assert caught.value.http_status == 400

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    def test_other_methods_are_405_with_allow(self, method: str) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            read_trigger_input(Trigger.APIG, self._event("{}", method=method))
        assert (caught.value.http_status, caught.value.headers) == (405, {"Allow": "POST"})

    def test_non_json_content_type_is_415(self) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            read_trigger_input(Trigger.APIG, self._event("{}", headers={"content-type": "text/plain"}))
        assert caught.value.http_status == 415

    def test_json_content_type_with_charset_is_accepted(self) -> None:
        event = self._event("{}", headers={"content-type": "application/json; charset=utf-8"})
        assert read_trigger_input(Trigger.APIG, event).payload == {}

    def test_body_over_64_kb_is_413(self) -> None:
        big = json.dumps({"remark": "x" * MAX_BODY_BYTES})
        with pytest.raises(InvalidRequestError) as caught:
            read_trigger_input(Trigger.APIG, self._event(big, b64=True))
        assert caught.value.http_status == 413

    def test_idempotency_key_header_is_the_key(self) -> None:
        parsed = read_trigger_input(Trigger.APIG, self._event("{}", headers={"Idempotency-Key": "abc"}))
        assert parsed.idempotency_key == "abc"


class TestEventGrid:
    def test_data_object_is_the_request(self) -> None:
        parsed = read_trigger_input(Trigger.EVENTGRID, load_event("eventgrid.json"))
        assert parsed.payload["remark"] == "pre-maintenance"

    def test_the_same_source_and_id_are_one_delivery(self) -> None:
        first = read_trigger_input(Trigger.EVENTGRID, load_event("eventgrid.json"))
        again = read_trigger_input(Trigger.EVENTGRID, {**load_event("eventgrid.json"), "time": "2026-11-26T01:16:00Z"})
        assert first.idempotency_key == again.idempotency_key

    def test_two_sources_using_one_id_are_two_deliveries(self) -> None:
        event = load_event("eventgrid.json")
        other = read_trigger_input(Trigger.EVENTGRID, {**event, "source": "com.example.scheduler"})
        assert read_trigger_input(Trigger.EVENTGRID, event).idempotency_key != other.idempotency_key

    def test_json_string_data_is_parsed(self) -> None:
        parsed = read_trigger_input(Trigger.EVENTGRID, {"specversion": "1.0", "id": "1", "data": '{"remark": "s"}'})
        assert parsed.payload == {"remark": "s"}

    def test_data_of_another_type_is_invalid(self) -> None:
        with pytest.raises(InvalidRequestError, match="data"):
            read_trigger_input(Trigger.EVENTGRID, {"specversion": "1.0", "data": [1]})
