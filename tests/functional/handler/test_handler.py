"""Handler behaviour end to end: outcomes, failures, HTTP answers, configuration, logs."""

from __future__ import annotations

import json
from typing import Any

from dcs_backup.platform.errors import BackupFailedError, ConfigurationError, InvalidRequestError
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, CLUSTER_ID, FROZEN_ID, HA_ID, SECRET_KEY, SINGLE_ID
from tests.conftest import FunctionHarness, load_event


def _direct(*instance_ids: str, **fields: object) -> dict[str, object]:
    return {"instance_ids": list(instance_ids), **fields}


class TestOutcomes:
    def test_single_node_instance_is_skipped_without_a_backup_call(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(SINGLE_ID))
        (outcome,) = result.answer["results"]
        assert outcome == {
            "instance_id": SINGLE_ID,
            "instance_name": "scratch-single",
            "status": "skipped",
            "reason": "single-node instances cannot be backed up",
        }
        assert function.emulator.requests_for("CreateBackup") == []

    def test_instance_not_running_is_skipped_with_its_status(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(FROZEN_ID))
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "skipped"
        assert "FROZEN" in outcome["reason"]

    def test_unknown_instance_fails_with_dcs_3022_and_request_id(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct("no-such-instance", raise_on_failure=False))
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "failed"
        assert outcome["error_code"] == "DCS.3022"
        assert outcome["error_msg"] == "This DCS instance does not exist."
        assert len(outcome["dcs_request_id"]) == 32

    def test_mixed_results_make_a_partial_document(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID, "no-such-instance", raise_on_failure=False))
        assert result.answer["status"] == "partial"
        assert result.answer["counts"] == {
            "created": 1,
            "completed": 0,
            "pending": 0,
            "skipped": 0,
            "failed": 1,
            "total": 2,
        }

    def test_failure_raises_with_the_summary_by_default(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID, "no-such-instance"))
        assert isinstance(result.error, BackupFailedError)
        assert "1 of 2" in str(result.error)
        assert "DCS.3022" in str(result.error)

    def test_wrong_secret_key_fails_with_apig_0301_and_leaks_nothing(self, function: FunctionHarness) -> None:
        wrong = "wrong-secret-key-0123456789"
        result = function.invoke(_direct(HA_ID, raise_on_failure=False), LocalContext.seeded(secret_key=wrong))
        (outcome,) = result.answer["results"]
        assert outcome["error_code"] == "APIG.0301"
        everything = result.log_text + json.dumps(result.answer)
        for secret in (wrong, SECRET_KEY, ACCESS_KEY):
            assert secret not in everything

    def test_security_token_is_sent_and_checked(self, function: FunctionHarness) -> None:
        function.emulator.state.security_tokens[ACCESS_KEY] = "sts-token-value-123"
        ok = function.invoke(_direct(HA_ID), LocalContext.seeded(security_token="sts-token-value-123"))
        assert ok.answer["status"] == "succeeded"
        rejected = function.invoke(
            _direct(CLUSTER_ID, raise_on_failure=False), LocalContext.seeded(security_token="stale")
        )
        assert rejected.answer["results"][0]["error_code"] == "APIG.0301"
        assert "sts-token-value-123" not in ok.log_text + rejected.log_text


class TestApiGateway:
    def _post(self, body: object, **extra: object) -> dict[str, Any]:
        event: dict[str, Any] = load_event("apig-plain.json")
        event["body"] = json.dumps(body)
        event.update(extra)
        return event

    def test_some_failed_answers_207(self, function: FunctionHarness) -> None:
        result = function.invoke(self._post({"instance_ids": [HA_ID, "no-such-instance"]}))
        assert result.answer["statusCode"] == 207
        assert result.body["status"] == "partial"

    def test_all_failed_answers_502(self, function: FunctionHarness) -> None:
        result = function.invoke(self._post({"instance_ids": ["no-such-instance"]}))
        assert result.answer["statusCode"] == 502

    def test_invalid_request_answers_400_naming_fields(self, function: FunctionHarness) -> None:
        result = function.invoke(self._post({"instance_ids": [], "backup_format": "zip", "colour": "red"}))
        assert result.answer["statusCode"] == 400
        fields = {p["field"] for p in result.body["problems"]}
        assert fields == {"instance_ids", "backup_format", "colour"}
        assert function.emulator.requests == []

    def test_get_answers_405_with_allow(self, function: FunctionHarness) -> None:
        result = function.invoke(self._post({}, httpMethod="GET"))
        assert result.answer["statusCode"] == 405
        assert result.answer["headers"]["Allow"] == "POST"

    def test_configuration_error_answers_500_saying_what_to_set(self, function: FunctionHarness) -> None:
        result = function.invoke(
            self._post({"instance_ids": [HA_ID]}), LocalContext.seeded(access_key="", secret_key="")
        )
        assert result.answer["statusCode"] == 500
        assert "agency" in result.body["message"]
        assert "Traceback" not in result.answer["body"]


class TestConfiguration:
    def test_missing_credentials_raise_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID), LocalContext.seeded(access_key="", secret_key=""))
        assert isinstance(result.error, ConfigurationError)
        assert "HUAWEICLOUD_SDK_AK" in str(result.error)
        assert function.emulator.requests == []

    def test_missing_project_raises_naming_dcs_project_id(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID), DCS_PROJECT_ID="")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_PROJECT_ID" in str(result.error)

    def test_project_from_context_is_used(self, function: FunctionHarness) -> None:
        context = LocalContext.seeded(project_id="0123456789abcdef0123456789abcdef")
        result = function.invoke(_direct(HA_ID), context, DCS_PROJECT_ID="")
        assert result.answer["status"] == "succeeded"

    def test_default_targets_come_from_dcs_instance_ids(self, function: FunctionHarness) -> None:
        result = function.invoke({}, DCS_INSTANCE_IDS=f"{HA_ID}, {CLUSTER_ID}")
        assert [r["instance_id"] for r in result.answer["results"]] == [HA_ID, CLUSTER_ID]

    def test_no_targets_anywhere_is_an_invalid_request(self, function: FunctionHarness) -> None:
        result = function.invoke({})
        assert isinstance(result.error, InvalidRequestError)
        assert "DCS_INSTANCE_IDS" in str(result.error)

    def test_default_backup_format_comes_from_configuration(self, function: FunctionHarness) -> None:
        function.invoke(_direct(HA_ID), DCS_BACKUP_FORMAT="aof")
        (post,) = function.emulator.requests_for("CreateBackup")
        assert post.json()["backup_format"] == "aof"


class TestLogs:
    def test_every_line_carries_the_invocation_context(self, function: FunctionHarness) -> None:
        context = LocalContext.seeded()
        result = function.invoke(_direct(HA_ID), context)
        for line in result.logs:
            assert line["request_id"] == context.request_id
            assert line["trigger"] == "direct"
            assert line["service"] == "dcs-backup"
            assert {"timestamp", "level", "message", "cold_start"} <= line.keys()

    def test_every_line_starts_with_timestamp_level_message_then_the_callers_location(
        self, function: FunctionHarness
    ) -> None:
        result = function.invoke(_direct(HA_ID))
        for line in result.logs:
            assert list(line)[:4] == ["timestamp", "level", "message", "location"], line
            function_name, line_number = line["location"].rsplit(":", 1)
            assert function_name.isidentifier() and line_number.isdigit()

    def test_powertools_keys_name_the_request_and_the_memory_size(self, function: FunctionHarness) -> None:
        context = LocalContext.seeded(memory_size=512)
        result = function.invoke(_direct(HA_ID), context)
        for line in result.logs:
            assert line["function_request_id"] == line["request_id"] == context.request_id
            assert line["function_memory_size"] == 512

    def test_memory_size_falls_back_to_runtime_memory(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID), LocalContext.seeded(memory_size=0), RUNTIME_MEMORY="1024")
        assert {line["function_memory_size"] for line in result.logs} == {1024}

    def test_cold_start_is_true_only_on_the_first_invocation(self, function: FunctionHarness) -> None:
        first = function.invoke(_direct(HA_ID))
        second = function.invoke(_direct(CLUSTER_ID))
        assert {line["cold_start"] for line in first.logs} == {True}
        assert {line["cold_start"] for line in second.logs} == {False}

    def test_per_instance_line_has_outcome_and_duration(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID))
        (line,) = [entry for entry in result.logs if entry.get("outcome")]
        assert line["instance_id"] == HA_ID
        assert line["outcome"] == "created"
        assert isinstance(line["duration_ms"], int)
        assert line["backup_id"] == result.answer["results"][0]["backup_id"]

    def test_a_warm_invocation_does_not_inherit_the_previous_keys(self, function: FunctionHarness) -> None:
        function.invoke(_direct(HA_ID))
        second = function.invoke({"instance_ids": "oops"})
        assert all("instance_id" not in line for line in second.logs)

    def test_log_level_warning_hides_info_lines(self, function: FunctionHarness) -> None:
        result = function.invoke(_direct(HA_ID), LOG_LEVEL="WARNING")
        assert result.logs == []


def test_single_node_is_recognised_by_spec_code_when_cache_mode_is_missing(function: FunctionHarness) -> None:
    # GIVEN a DCS answer without cache_mode (older API versions), only the spec code
    function.emulator.state.instance(SINGLE_ID).omit_cache_mode = True
    result = function.invoke(_direct(SINGLE_ID))
    assert result.answer["results"][0]["status"] == "skipped"
