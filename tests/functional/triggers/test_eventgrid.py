"""An EventGrid CloudEvent may carry its request as ``data_base64`` instead of ``data``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import problem_fields


class TestDataBase64:
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
        assert problem_fields(function.invoke(event, DCS_INSTANCE_IDS=HA_ID).error) == {"data_base64"}
