"""Credentials DCS (or anything on the way) echoes back reach no log line, result, error or HTTP body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, HA_ID, SECRET_KEY
from tests.conftest import FunctionHarness
from tests.support import apig_event

ECHOED_TOKEN = "STS-TOKEN-ECHOED-BACK-BY-DCS-0001"


class TestCredentialsEchoedByDcsReachNobody:
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
        result = self._invoke(echoing, apig_event({"instance_ids": [HA_ID]}))
        assert result.answer["statusCode"] == 502
        self._assert_clean(json.dumps(result.answer))
