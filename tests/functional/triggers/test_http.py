"""What the HTTP endpoint refuses, that refusals reveal nothing, and that it answers before the gateway gives up."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from dcs_emulator import Fault, FaultKind
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness
from tests.support import apig_event, hostile_answers


def test_instances_outside_the_allowlist_are_refused_with_403(function: FunctionHarness) -> None:
    body = json.dumps({"instance_ids": [HA_ID, CLUSTER_ID]})
    result = function.invoke(apig_event(body), DCS_ALLOWED_INSTANCE_IDS=HA_ID)
    assert result.answer["statusCode"] == 403
    assert CLUSTER_ID in result.body["problems"][0]["problem"]
    assert function.emulator.requests == []


def test_allowlist_applies_to_other_triggers_as_an_invalid_request(function: FunctionHarness) -> None:
    result = function.invoke({"instance_ids": [CLUSTER_ID]}, DCS_ALLOWED_INSTANCE_IDS=HA_ID)
    assert type(result.error).__name__ == "InvalidRequestError"
    assert function.emulator.requests == []


def test_body_over_64_kb_is_413(function: FunctionHarness) -> None:
    body = base64.b64encode(json.dumps({"remark": "x" * 70_000}).encode()).decode()
    result = function.invoke(apig_event(body, isBase64Encoded=True))
    assert result.answer["statusCode"] == 413


def test_non_json_content_type_is_415(function: FunctionHarness) -> None:
    event = apig_event("a=b")
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    assert function.invoke(event).answer["statusCode"] == 415


@pytest.mark.parametrize("body", ["{", "[]", "null", '"text"', "\udcff"])
def test_malformed_bodies_are_400_without_internals(function: FunctionHarness, body: str) -> None:
    result = function.invoke(apig_event(body))
    assert result.answer["statusCode"] == 400
    assert "Traceback" not in result.answer["body"]
    assert function.emulator.requests == []


class TestTheAnswerComesBeforeTheGatewayGivesUp:
    def test_the_deadline_follows_the_gateway_backend_timeout(self, function: FunctionHarness) -> None:
        # GIVEN ShowInstance hangs for 3 s and the gateway waits only 2 s, while the function has 60 s
        function.emulator.faults.script("ShowInstance", Fault(FaultKind.LATENCY, delay_s=3))
        started = time.monotonic()
        # WHEN a backup is asked for over HTTP
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}), DCS_HTTP_TIMEOUT_MS="2000")
        # THEN the answer (502, deadline reached) came before the gateway's 2 s
        assert time.monotonic() - started < 2.0
        assert result.answer["statusCode"] == 502
        assert result.body["results"][0]["reason"].startswith("deadline reached")

    def test_a_trickled_dcs_answer_does_not_delay_the_http_answer_past_the_gateway_timeout(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An API Gateway caller gets its answer before DCS_HTTP_TIMEOUT_MS, whatever DCS does.

        A DCS (or proxy) that sends its answer a byte at a time gets every socket read answered in
        time, so no read timeout fires; the whole attempt is still bounded by the deadline, and the
        HTTP answer comes before the gateway's timeout.
        """

        def trickle(handler: Any, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json;charset=UTF-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for i in range(len(body)):  # the whole answer takes about 3 s
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
                time.sleep(3.0 / len(body))

        hostile_answers(monkeypatch, "GET", trickle)
        started = time.monotonic()
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}), DCS_HTTP_TIMEOUT_MS="1000")
        elapsed = time.monotonic() - started
        assert result.answer["statusCode"] in (202, 207, 502)
        assert elapsed < 1.0, f"answered after {elapsed:.2f} s, the gateway stopped waiting after 1 s"
