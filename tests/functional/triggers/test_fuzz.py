"""Property-based fuzzing of the handler with arbitrary events for every trigger.

``make test`` runs a modest number of examples; ``make fuzz`` sets FUZZ_EXAMPLES much higher.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcs_backup.platform.errors import (
    BackupFailedError,
    BackupPendingError,
    ConfigurationError,
    InternalError,
    InvalidRequestError,
    RpoViolatedError,
)
from dcs_emulator import DcsEmulator, EmulatorState
from tests.conftest import FunctionHarness

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
DOCUMENTED_ERRORS = (InvalidRequestError, BackupFailedError, BackupPendingError, ConfigurationError, RpoViolatedError)
HTTP_STATUSES = {200, 202, 207, 400, 403, 404, 405, 413, 415, 502}

# Text as JSON can carry it: any code point, lone surrogates included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | any_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12) | any_text, inner, max_size=5),
    max_leaves=25,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "instance_ids": st.lists(st.sampled_from(["5f2b9c1e-0a41-4d8e-9b0f-3c6a7e1d2b01", "x", ""]), max_size=3)
        | json_values,
        "backup_format": st.sampled_from(["rdb", "aof", "RDB", ""]) | json_values,
        "remark": st.text(max_size=140) | any_text | st.just("x [dcsb:0123456789ab]") | json_values,
        "raise_on_failure": st.booleans() | json_values,
        "action": st.sampled_from(["backup", "audit", "AUDIT"]) | json_values,
        "rpo_hours": st.integers(min_value=-1, max_value=9000) | json_values,
        "wait": st.booleans() | json_values,
        "retention": st.fixed_dictionaries(
            {},
            optional={
                "keep_last": st.integers(-1, 30),
                "max_age_days": st.integers(-1, 4000),
                "dry_run": st.booleans(),
            },
        )
        | json_values,
        "idempotency_key": st.text(max_size=130) | any_text | json_values,
        "select": st.fixed_dictionaries(
            {},
            optional={
                "tags": st.dictionaries(st.sampled_from(["env", "team", ""]) | any_text, st.none() | any_text)
                | json_values,
                "name": st.sampled_from(["*", "orders-*", "[", "*-cache"]) | any_text | json_values,
                "all": st.booleans() | json_values,
                "allow_empty": st.booleans() | json_values,
            },
        )
        | json_values,
        "extra": json_values,
    },
)
deep = st.integers(min_value=100, max_value=5000).map(lambda n: "[" * n + "]" * n)
body_text = st.one_of(request_like.map(json.dumps), st.text(), deep, st.just("x" * 70_000))
apig_events = st.builds(
    lambda method, headers, body, b64, encode: {
        "httpMethod": method,
        "path": "/backups",
        "headers": headers,
        "queryStringParameters": {},
        "body": base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
        if encode and isinstance(body, str)
        else body,
        "isBase64Encoded": b64,
        "requestContext": {"requestId": "r"},
    },
    st.sampled_from(["POST", "GET", "post", "PUT"]) | st.text(max_size=5),
    st.dictionaries(
        st.sampled_from(["content-type", "idempotency-key", "Idempotency-Key", "x"]), any_text | st.text(), max_size=3
    )
    | json_values,
    body_text | json_values,
    st.booleans() | json_values,
    st.booleans(),
)
timer_events = st.builds(
    lambda user_event, name: {"trigger_type": "TIMER", "trigger_name": name, "time": "t", "user_event": user_event},
    body_text | json_values,
    st.text(max_size=10) | any_text | json_values,
)
eventgrid_events = st.builds(
    lambda data, event_id, as_base64: (
        {"specversion": "1.0", "id": event_id, "source": "s", "type": "t"}
        | ({"data_base64": _base64(data)} if as_base64 else {"data": data})
    ),
    request_like | body_text | json_values,
    st.text(max_size=20) | any_text | json_values,
    st.booleans(),
)
any_event = st.one_of(apig_events, timer_events, eventgrid_events, request_like, json_values)


def _base64(value: Any) -> Any:
    """Base64 of the value's JSON, or the value itself when it is no JSON (to fuzz the decoder too)."""
    try:
        return base64.b64encode(json.dumps(value).encode("utf-8")).decode()
    except (TypeError, ValueError, UnicodeEncodeError):
        return value


@pytest.fixture(scope="module")
def shared_function() -> Iterator[FunctionHarness]:
    with DcsEmulator(EmulatorState.from_seed(waiting_s=0.0, backuping_s=0.0)) as emulator:
        yield FunctionHarness(emulator)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(event=any_event)
def test_handler_answers_or_raises_only_documented_errors(shared_function: FunctionHarness, event: Any) -> None:
    shared_function.emulator.requests.clear()
    result = shared_function.invoke(event)
    assert not isinstance(result.error, InternalError), result.log_text
    if result.error is not None:
        assert isinstance(result.error, DOCUMENTED_ERRORS), repr(result.error)
        if isinstance(result.error, InvalidRequestError):
            assert shared_function.emulator.requests == []
        return
    if isinstance(event, dict) and "statusCode" in result.answer:
        assert set(result.answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert result.answer["statusCode"] in HTTP_STATUSES
        body = json.loads(result.answer["body"])
        if result.answer["statusCode"] in (400, 403, 405, 413, 415):
            assert shared_function.emulator.requests == []
        results = body.get("results", [])
    else:
        assert result.answer["status"] in ("succeeded", "pending", "partial", "failed")
        results = result.answer["results"]
    assert not [r for r in results if r.get("reason", "").startswith("internal error")], result.log_text
