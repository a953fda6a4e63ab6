"""What a request may hold, whichever trigger carries it: text that can be encoded, and refusals that stay short."""

from __future__ import annotations

import json

from dcs_backup.platform.errors import InvalidRequestError
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import MAX_ANSWER, apig_event, problem_fields


class TestUnencodableText:
    """A lone surrogate cannot be encoded for DCS, a log line or an answer: the field holding it is refused."""

    def test_surrogate_in_the_idempotency_key_field(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "idempotency_key": "\ud800"})
        assert problem_fields(result.error) == {"idempotency_key"}

    def test_surrogate_in_the_remark(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "remark": "a\udcff"})
        assert problem_fields(result.error) == {"remark"}

    def test_surrogate_in_the_idempotency_key_header(self, function: FunctionHarness) -> None:
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}, {"idempotency-key": "\ud800"}))
        assert result.answer["statusCode"] == 400
        assert [p["field"] for p in result.body["problems"]] == ["Idempotency-Key"]

    def test_surrogate_in_the_cloudevent_id(self, function: FunctionHarness) -> None:
        event = load_event("eventgrid.json")
        event["id"] = "\ud800"
        assert problem_fields(function.invoke(event).error) == {"id"}

    def test_surrogate_in_the_timer_name(self, function: FunctionHarness) -> None:
        event = load_event("timer.json")
        event["trigger_name"] = "nightly\ud800"
        assert problem_fields(function.invoke(event).error) == {"trigger_name"}


class TestUnknownFieldsAreEchoedBounded:
    def test_many_unknown_fields_give_a_short_answer_and_log_line(self, function: FunctionHarness) -> None:
        # GIVEN a 62 KB body with 7,400 unknown keys, some holding newlines
        payload = {f"k{n}\nX-Injected: {n}": 0 for n in range(7400)}
        body = json.dumps(payload)[: 62 * 1024].rsplit(",", 1)[0] + "}"
        # WHEN it is posted
        result = function.invoke(apig_event(body))
        # THEN the 400 names at most 10 of them, escaped and cut, and says how many more
        assert result.answer["statusCode"] == 400
        assert len(result.answer["body"].encode()) <= MAX_ANSWER
        problems = result.body["problems"]
        named = [p for p in problems if p["problem"].startswith("unknown field")]
        assert len(named) == 10
        assert all("\n" not in p["field"] and len(p["field"]) <= 64 for p in named)
        assert any(p["problem"].startswith("and ") and "more unknown fields" in p["problem"] for p in problems)
        assert max(len(line) for line in result.log_text.splitlines()) <= MAX_ANSWER

    def test_unknown_field_names_are_escaped_in_the_error_message(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "evil\nname": 1})
        assert isinstance(result.error, InvalidRequestError)
        assert "\n" not in str(result.error)
