"""Findings of an adversarial review, each pinned by the test named after it."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from dcs_backup.idempotency import idempotency_tag
from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, PROJECT_ID, SECRET_KEY
from tests.conftest import FunctionHarness, load_event

ROUTES = ("ShowInstance", "ListBackupRecords", "CreateBackup")


def _apig(body: str, **headers: str) -> dict[str, Any]:
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = body
    event["headers"].update(headers)
    return event


def _problem_fields(error: Exception | None) -> set[str]:
    assert isinstance(error, InvalidRequestError), repr(error)
    return {problem.field for problem in error.problems}


class TestFinding01ThrottledCallsKeepRetryAfterAndDcsDetails:
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


class TestFinding02BadConfigurationIsReportedFirst:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DCS_REGION", "mars-north-1"),
            ("DCS_ENDPOINT", "http://"),
            ("DCS_ENDPOINT", "https://host:99999"),
            ("DCS_ENDPOINT", "https://exa mple.com"),
            ("DCS_ENDPOINT", "http://[::1"),
        ],
    )
    def test_bad_location_is_a_configuration_error_before_any_call(
        self, function: FunctionHarness, name: str, value: str
    ) -> None:
        # GIVEN a region or endpoint that cannot work
        env = {"DCS_ENDPOINT": "", name: value}
        # WHEN the function runs
        result = function.invoke({"instance_ids": [HA_ID]}, **env)
        # THEN it fails as a configuration error naming the variable, and DCS was never called
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert name in str(result.error)
        assert function.emulator.requests == []

    def test_bad_region_over_http_is_500_naming_the_variable(self, function: FunctionHarness) -> None:
        body = json.dumps({"instance_ids": [HA_ID]})
        result = function.invoke(_apig(body), DCS_ENDPOINT="", DCS_REGION="mars-north-1")
        assert result.answer["statusCode"] == 500
        assert result.body["error"] == "configuration error"
        assert "DCS_REGION" in result.body["message"]

    def test_endpoint_scheme_is_matched_case_insensitively(self, function: FunctionHarness) -> None:
        endpoint = function.emulator.endpoint.replace("http://", "HTTP://")
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=endpoint)
        assert result.answer["results"][0]["status"] == "created"


class TestFinding03NoCredentialsInClearText:
    def test_plain_http_to_a_remote_host_is_refused(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT="http://dcs.example.com")
        assert isinstance(result.error, ConfigurationError)
        assert "use https" in str(result.error)
        assert function.emulator.requests == []

    def test_plain_http_to_localhost_is_allowed(self, function: FunctionHarness) -> None:
        endpoint = function.emulator.endpoint.replace("127.0.0.1", "localhost")
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=endpoint)
        assert result.answer["results"][0]["status"] == "created"


class TestFinding04UnencodableStrings:
    def test_surrogate_in_the_idempotency_key_field(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "idempotency_key": "\ud800"})
        assert _problem_fields(result.error) == {"idempotency_key"}

    def test_surrogate_in_the_remark(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "remark": "a\udcff"})
        assert _problem_fields(result.error) == {"remark"}

    def test_surrogate_in_the_idempotency_key_header(self, function: FunctionHarness) -> None:
        result = function.invoke(_apig(json.dumps({"instance_ids": [HA_ID]}), **{"idempotency-key": "\ud800"}))
        assert result.answer["statusCode"] == 400
        assert [p["field"] for p in result.body["problems"]] == ["Idempotency-Key"]

    def test_surrogate_in_the_cloudevent_id(self, function: FunctionHarness) -> None:
        event = load_event("eventgrid.json")
        event["id"] = "\ud800"
        assert _problem_fields(function.invoke(event).error) == {"id"}

    def test_surrogate_in_the_timer_name(self, function: FunctionHarness) -> None:
        event = load_event("timer.json")
        event["trigger_name"] = "nightly\ud800"
        assert _problem_fields(function.invoke(event).error) == {"trigger_name"}


class TestFinding05HttpCallersGetTheAnswerBeforeTheGatewayGivesUp:
    def test_deadline_follows_the_gateway_backend_timeout(self, function: FunctionHarness) -> None:
        # GIVEN ShowInstance hangs for 3 s and the gateway waits only 2 s, while the function has 60 s
        function.emulator.faults.script("ShowInstance", Fault(FaultKind.LATENCY, delay_s=3))
        started = time.monotonic()
        # WHEN a backup is asked for over HTTP
        result = function.invoke(_apig(json.dumps({"instance_ids": [HA_ID]})), DCS_HTTP_TIMEOUT_MS="2000")
        # THEN the answer (502, deadline reached) came before the gateway's 2 s
        assert time.monotonic() - started < 2.0
        assert result.answer["statusCode"] == 502
        assert result.body["results"][0]["reason"].startswith("deadline reached")

    def test_bad_http_timeout_is_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_HTTP_TIMEOUT_MS="60s")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_HTTP_TIMEOUT_MS" in str(result.error)


class TestFinding07RemarksCannotClaimAnotherRequestsBackup:
    def test_remark_with_the_function_marker_is_refused(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "remark": "hello [dcsb:0123456789ab]"})
        assert _problem_fields(result.error) == {"remark"}

    def test_a_tag_elsewhere_in_a_remark_does_not_match(self, function: FunctionHarness) -> None:
        # GIVEN someone made a finished backup whose remark starts with the timer firing's tag
        event = load_event("timer.json")
        tag = idempotency_tag(f"timer:{event['trigger_name']}@{event['time']}", None)
        foreign = function.emulator.state.add_backup(HA_ID, remark=f"{tag} claimed by hand", age_hours=1)
        # WHEN the timer fires
        result = function.invoke(event)
        # THEN the foreign backup is not taken for the timer's own: a new one is made
        outcome = result.answer["results"][0]
        assert outcome["status"] == "created" and "reused" not in outcome
        assert outcome["backup_id"] != foreign.backup_id
        assert function.emulator.state.backup_count(HA_ID) == 2


class TestFinding08AllowlistFailsClosed:
    @pytest.mark.parametrize("value", [" , ", "bad id!", "ok-1,<script>"])
    def test_allowlist_without_valid_ids_is_a_configuration_error(self, function: FunctionHarness, value: str) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ALLOWED_INSTANCE_IDS=value)
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_ALLOWED_INSTANCE_IDS" in str(result.error)
        assert function.emulator.requests == []

    @pytest.mark.parametrize("value", ["a b", "x" * 65, ",".join(f"i{n}" for n in range(101))])
    def test_default_instance_ids_obey_the_request_rules(self, function: FunctionHarness, value: str) -> None:
        result = function.invoke({}, DCS_INSTANCE_IDS=value)
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_INSTANCE_IDS" in str(result.error)


class TestFinding09EventGridDataBase64:
    def test_data_base64_is_decoded_and_used(self, function: FunctionHarness) -> None:
        event = load_event("eventgrid.json")
        del event["data"]
        event["data_base64"] = base64.b64encode(json.dumps({"instance_ids": [CLUSTER_ID]}).encode()).decode()
        result = function.invoke(event, DCS_INSTANCE_IDS=HA_ID)
        assert [r["instance_id"] for r in result.answer["results"]] == [CLUSTER_ID]

    @pytest.mark.parametrize("value", ["%%%", base64.b64encode(b"\xff\xfe").decode(), 7])
    def test_undecodable_data_base64_is_an_invalid_request(self, function: FunctionHarness, value: Any) -> None:
        event = load_event("eventgrid.json")
        del event["data"]
        event["data_base64"] = value
        assert _problem_fields(function.invoke(event, DCS_INSTANCE_IDS=HA_ID).error) == {"data_base64"}


class TestFinding10BoundedEcho:
    def test_many_unknown_fields_give_a_short_answer_and_log_line(self, function: FunctionHarness) -> None:
        # GIVEN a 62 KB body with 7,400 unknown keys, some holding newlines
        payload = {f"k{n}\nX-Injected: {n}": 0 for n in range(7400)}
        body = json.dumps(payload)[: 62 * 1024].rsplit(",", 1)[0] + "}"
        # WHEN it is posted
        result = function.invoke(_apig(body))
        # THEN the 400 names at most 10 of them, escaped and cut, and says how many more
        assert result.answer["statusCode"] == 400
        assert len(result.answer["body"].encode()) <= 8 * 1024
        problems = result.body["problems"]
        named = [p for p in problems if p["problem"].startswith("unknown field")]
        assert len(named) == 10
        assert all("\n" not in p["field"] and len(p["field"]) <= 64 for p in named)
        assert any(p["problem"].startswith("and ") and "more unknown fields" in p["problem"] for p in problems)
        assert max(len(line) for line in result.log_text.splitlines()) <= 8 * 1024

    def test_unknown_field_names_are_escaped_in_the_error_message(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "evil\nname": 1})
        assert isinstance(result.error, InvalidRequestError)
        assert "\n" not in str(result.error)


class TestFinding12ReadTimeoutsAreTimeouts:
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


class TestFinding14AsciiDigitsOnly:
    def test_superscript_concurrency_is_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_MAX_CONCURRENCY="²")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_MAX_CONCURRENCY" in str(result.error)

    def test_superscript_runtime_timeout_falls_back_to_the_default(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, LocalContext.seeded(remaining_ms=0), RUNTIME_TIMEOUT="²")
        assert result.answer["results"][0]["status"] == "created"


class TestFinding15LostCreateAnswerIsFoundNotRepeated:
    def test_create_that_times_out_is_not_duplicated(self, function: FunctionHarness) -> None:
        # GIVEN backups finish at once (DCS's one-at-a-time rule cannot hide a second POST),
        # and DCS creates the backup but answers only after the client stopped waiting
        function.emulator.state.waiting_s = function.emulator.state.backuping_s = 0.0
        function.runtime.dcs_timeouts = (1.0, 0.3)
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.SLOW_ANSWER, delay_s=0.8))
        # WHEN one instance is backed up
        result = function.invoke({"instance_ids": [HA_ID]})
        time.sleep(0.6)  # let the slow answer drain
        # THEN the function found the backup its lost POST made, and made no other
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        (backup,) = function.emulator.state.backups(HA_ID)
        assert outcome["backup_id"] == backup.backup_id
        assert len(function.emulator.requests_for("CreateBackup")) == 1


ECHOED_TOKEN = "STS-TOKEN-ECHOED-BACK-BY-DCS-0001"


class TestFindings06And16CredentialsEchoedByDcsReachNobody:
    """DCS (or anything on the way) quoting the access key and token back, in its message and a header."""

    @pytest.fixture
    def echoing(self, function: FunctionHarness) -> FunctionHarness:
        function.emulator.state.security_tokens[ACCESS_KEY] = ECHOED_TOKEN
        function.emulator.faults.script("ShowInstance", Fault(FaultKind.ECHO_CREDENTIALS))
        return function

    @staticmethod
    def _assert_clean(text: str) -> None:
        for secret in (ACCESS_KEY, SECRET_KEY, ECHOED_TOKEN):
            assert secret not in text

    def _invoke(self, function: FunctionHarness, event: Any) -> Any:
        return function.invoke(event, LocalContext.seeded(security_token=ECHOED_TOKEN), LOG_LEVEL="DEBUG")

    def test_debug_logs_hold_no_echoed_credential(self, echoing: FunctionHarness) -> None:
        result = self._invoke(echoing, {"instance_ids": [HA_ID], "raise_on_failure": False})
        # THEN the echo did arrive (its masked form is logged) and no credential is in any line
        assert "access key ***" in result.log_text
        self._assert_clean(result.log_text)

    def test_the_direct_result_holds_no_echoed_credential(self, echoing: FunctionHarness) -> None:
        result = self._invoke(echoing, {"instance_ids": [HA_ID], "raise_on_failure": False})
        assert result.answer["results"][0]["error_code"] == "DCS.2003"
        self._assert_clean(json.dumps(result.answer))

    def test_the_error_message_holds_no_echoed_credential(self, echoing: FunctionHarness) -> None:
        result = self._invoke(echoing, {"instance_ids": [HA_ID]})
        assert "DCS.2003" in str(result.error)
        self._assert_clean(str(result.error))

    def test_the_http_body_holds_no_echoed_credential(self, echoing: FunctionHarness) -> None:
        result = self._invoke(echoing, _apig(json.dumps({"instance_ids": [HA_ID]})))
        assert result.answer["statusCode"] == 502
        self._assert_clean(json.dumps(result.answer))
