"""Reading the selection is bounded by the invocation's deadline like every other DCS call."""

from __future__ import annotations

import json
import time

from dcs_emulator import Fault, FaultKind
from tests.conftest import FunctionHarness, load_event

HTTP_TIMEOUT_MS = 2000
BYTE_DELAY_S = 0.02  # the listing's answer, ~1 KB, would take 20 s or more


class TestTricklingListing:
    def test_an_http_answer_comes_before_the_backend_timeout(self, function: FunctionHarness) -> None:
        # GIVEN a listing answered one byte at a time, each read well within its timeout
        function.emulator.faults.script("ListInstances", Fault(FaultKind.TRICKLE, delay_s=BYTE_DELAY_S))
        event = load_event("apig-plain.json")
        event["body"] = json.dumps({"select": {"all": True}})
        # WHEN the selection is asked for over HTTP with a 2 s backend timeout
        started = time.monotonic()
        result = function.invoke(event, DCS_HTTP_TIMEOUT_MS=str(HTTP_TIMEOUT_MS))
        elapsed = time.monotonic() - started
        # THEN the function answers in time (a generous bound: the listing alone needs ten times more)
        assert elapsed < 2 * HTTP_TIMEOUT_MS / 1000, elapsed
        assert "deadline reached" in result.body["reason"]
