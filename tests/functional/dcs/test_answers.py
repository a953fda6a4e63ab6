"""What the function makes of DCS's answers: throttling, answers too late, and answers that are not DCS's JSON.

Hostile DCS answers (truncated, non-JSON, huge, undecodable) are acted out by the emulator itself,
with its answer method patched for the one route under attack.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dcs_emulator import Fault, FaultKind
from devkit.seed import HA_ID, PROJECT_ID
from tests.conftest import FunctionHarness
from tests.support import MAX_ANSWER, apig_event, hostile_answers, raw_answer

ROUTES = ("ShowInstance", "ListBackupRecords", "CreateBackup")


class TestThrottledCallsKeepRetryAfterAndDcsDetails:
    @pytest.mark.parametrize("route", ROUTES)
    def test_retry_after_is_honoured_on_every_operation(self, function: FunctionHarness, route: str) -> None:
        # GIVEN the route is throttled once with Retry-After: 7
        function.emulator.faults.script(route, Fault(FaultKind.THROTTLE, retry_after_s=7))
        # WHEN one instance is backed up
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN the function waited the 7 s the gateway asked for, then succeeded
        assert result.answer["results"][0]["status"] == "created"
        assert len(function.sleeps) == 1 and function.sleeps[0] >= 7

    @pytest.mark.parametrize("route", ("ShowInstance", "CreateBackup"))
    def test_persistent_throttling_reports_dcs_code_and_request_id_but_no_internals(
        self, function: FunctionHarness, route: str
    ) -> None:
        # GIVEN the route stays throttled
        function.emulator.faults.script(route, *[Fault(FaultKind.THROTTLE, retry_after_s=0)] * 10)
        # WHEN the function gives up
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        # THEN the outcome carries the gateway's code and request id, and nothing of the endpoint or project
        (outcome,) = result.answer["results"]
        assert (outcome["status"], outcome["error_code"]) == ("failed", "APIG.0308")
        assert len(outcome["dcs_request_id"]) == 32
        text = json.dumps(result.answer)
        port = function.emulator.endpoint.rsplit(":", 1)[1]
        for internal in ("127.0.0.1", f":{port}", PROJECT_ID, "HTTPConnectionPool", "/v2/"):
            assert internal not in text

    def test_persistent_throttling_of_the_backup_list_is_logged_with_dcs_details(
        self, function: FunctionHarness
    ) -> None:
        # GIVEN the backup records stay throttled (the backup goes ahead without the duplicate check)
        function.emulator.faults.script("ListBackupRecords", *[Fault(FaultKind.THROTTLE, retry_after_s=0)] * 10)
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN the warning carries the gateway's code and request id
        (warning,) = [line for line in result.logs if line["message"].startswith("could not list backups")]
        assert warning["error_code"] == "APIG.0308"
        assert len(warning["dcs_request_id"]) == 32


class TestReadTimeoutsAreTimeouts:
    def test_a_read_that_times_out_is_reported_as_a_timeout(self, function: FunctionHarness) -> None:
        # GIVEN ShowInstance always answers after the client stopped waiting
        function.runtime.dcs_timeouts = (1.0, 0.2)
        function.emulator.faults.script("ShowInstance", *[Fault(FaultKind.LATENCY, delay_s=0.5)] * 5)
        # WHEN the function gives up
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        # THEN the reason says the call timed out, not that the connection failed
        reason = result.answer["results"][0]["reason"]
        assert "no answer from DCS in time" in reason
        assert "connection" not in reason


class TestUnreadableAnswers:
    def test_an_unreadable_show_instance_answer_fails_the_instance_not_skips_it(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A ShowInstance answer the function cannot read fails the instance.

        A 200 answer that is not DCS's JSON (an HTML page from a proxy or captive portal) gives
        ``failed`` with a reason saying DCS's answer could not be read, and the run is not
        "succeeded" — not ``skipped`` with "instance status is None" and an HTTP 202, which would
        back up nothing and tell nobody.
        """
        page = b"<html><body>Gateway login</body></html>"
        hostile_answers(monkeypatch, "GET", lambda handler, status, payload: raw_answer(handler, 200, page), times=10)
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}))
        assert result.body["results"][0]["status"] == "failed"
        assert "could not be read" in result.body["results"][0]["reason"]
        assert result.body["status"] != "succeeded"

    def test_a_truncated_answer_is_a_lost_answer_not_an_internal_error(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An answer cut off mid-body is a lost answer (transient), not a bug in the function.

        A body shorter than its Content-Length (requests' ``ChunkedEncodingError``) is treated like a
        reset (UNREACHABLE): retried, and here the second attempt creates the backup; the instance
        never ends "internal error; see the function log".
        """

        def truncate(handler: Any, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            raw_answer(handler, status, body, content_length=len(body) + 100)
            handler._reset()

        hostile_answers(monkeypatch, "GET", truncate)
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        (outcome,) = result.answer["results"]
        assert "internal error" not in outcome.get("reason", "")
        assert outcome["status"] == "created"


class TestDcsTextInAnswers:
    def test_an_undecodable_dcs_error_message_keeps_the_http_body_encodable(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The HTTP body is valid UTF-8 whatever DCS's error_msg holds.

        DCS's JSON may carry a lone surrogate escape (``"\\ud800"``) in ``error_msg``; DCS's text is
        made safe (escaped or replaced) like every other untrusted text, so the APIG body (and the
        BackupFailedError message) can always be encoded and sent.
        """
        body = b'{"error_code": "DCS.4000", "error_msg": "bad \\ud800 value", "error_ext_msg": null}'
        hostile_answers(monkeypatch, "GET", lambda handler, status, payload: raw_answer(handler, 400, body))
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}))
        assert result.answer["statusCode"] == 502
        result.answer["body"].encode("utf-8")  # raises UnicodeEncodeError if DCS's text went in raw

    def test_a_huge_dcs_error_message_is_bounded_in_answer_and_log(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """DCS's error_msg is cut (like echoed field names) so one instance's outcome stays small.

        A 100 KB error_msg gives a 502 body and log lines of at most 8 KB each.
        """
        body = json.dumps({"error_code": "DCS.4000", "error_msg": "x" * 100_000}).encode()
        hostile_answers(monkeypatch, "GET", lambda handler, status, payload: raw_answer(handler, 400, body))
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}))
        assert result.answer["statusCode"] == 502
        assert len(result.answer["body"].encode()) <= MAX_ANSWER
        assert max(len(line) for line in result.log_text.splitlines()) <= MAX_ANSWER
