"""Findings of the adversarial review of the hardening, each pinned by a test that failed before its fix.

Hostile DCS answers (truncated, trickled, non-JSON, huge, undecodable) are acted out by the
emulator itself, with its answer method patched for the one route under attack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dcs_emulator.server as emulator_server
from dcs_backup.platform.errors import ConfigurationError
from dcs_emulator import DcsEmulator, Fault, FaultKind
from devkit import runner
from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, PROJECT_ID, SECRET_KEY
from tests.conftest import FunctionHarness, load_event

MAX_ANSWER = 8 * 1024


def _apig(body: dict[str, Any], **headers: str) -> dict[str, Any]:
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = json.dumps(body)
    event["headers"].update(headers)
    return event


Answer = Callable[[Any, int, Any, Any], None]


def _hostile(
    monkeypatch: pytest.MonkeyPatch, method: str, act: Callable[[Any, int, Any], None], times: int = 1
) -> None:
    """The next ``times`` answers to ``method`` requests are acted out by ``act(handler, status, payload)``."""
    original: Answer = emulator_server._Handler._answer
    left = [times]

    def answer(self: Any, status: int, payload: Any, extra_headers: Any = None) -> None:
        if self.command == method and left[0] > 0:
            left[0] -= 1
            act(self, status, payload)
            return
        original(self, status, payload, extra_headers)

    monkeypatch.setattr(emulator_server._Handler, "_answer", answer)


def _raw(handler: Any, status: int, body: bytes, content_length: int | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json;charset=UTF-8")
    handler.send_header("Content-Length", str(len(body) if content_length is None else content_length))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


# --- high -------------------------------------------------------------------------------------


def test_lost_create_answer_with_failing_lookup_does_not_duplicate(function: FunctionHarness) -> None:
    """After a lost CreateBackup answer the function must find its backup before POSTing again.

    Wrong today: when the look-up itself fails (5xx on ListBackupRecords), ``_find_existing``
    swallows the error and returns None, ``recover`` reports "nothing found" and the POST is
    repeated, so DCS ends up with two backups for one request. Right: a look-up that could not be
    done after an ambiguous failure is not "no backup" — retry the look-up, or end the instance
    without a second POST (and say the backup may exist), never create a duplicate.
    """
    state = function.emulator.state
    state.waiting_s = state.backuping_s = 0.0  # DCS's one-at-a-time rule cannot hide the second POST
    function.emulator.faults.script("CreateBackup", Fault(FaultKind.LOST_RESPONSE))
    # the pre-check answers normally, then every look-up after the lost answer fails
    function.emulator.faults.script(
        "ListBackupRecords", Fault(FaultKind.LATENCY, delay_s=0), *[Fault(FaultKind.SERVER_ERROR)] * 5
    )
    function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
    assert len(state.backups(HA_ID)) == 1, "one request made two backups"


def test_trickled_dcs_answer_does_not_delay_the_http_answer_past_the_gateway_timeout(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API Gateway caller must get its answer before DCS_HTTP_TIMEOUT_MS, whatever DCS does.

    Wrong today: each attempt's timeout is cut to the time left, but requests applies the read
    timeout to every socket read, not to the whole answer. A DCS (or proxy) that sends its answer a
    byte at a time keeps the call alive: with DCS_HTTP_TIMEOUT_MS=1000 the HTTP answer came after
    about 3 s (17 s with 2000 and a longer answer), long after the gateway gave up. Right: bound
    the whole attempt by the deadline (e.g. a total-time watchdog), and answer before the gateway's
    timeout.
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

    _hostile(monkeypatch, "GET", trickle)
    started = time.monotonic()
    result = function.invoke(_apig({"instance_ids": [HA_ID]}), DCS_HTTP_TIMEOUT_MS="1000")
    elapsed = time.monotonic() - started
    assert result.answer["statusCode"] in (202, 207, 502)
    assert elapsed < 1.0, f"answered after {elapsed:.2f} s, the gateway stopped waiting after 1 s"


def test_create_answer_without_a_backup_id_is_not_reported_as_created(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CreateBackup answer that names no backup must not count as a started backup.

    Was wrong: a 200 answer without ``backup_id`` (``{}``, or an HTML page from a proxy) gave
    ``{"status": "created", "backup_id": "None"}``. Right: such an answer is unreadable, treated
    like a lost one: the function looks for its tagged backup (DCS did create it here) and
    reports that one, never "None", and never makes a second.
    """
    _hostile(monkeypatch, "POST", lambda handler, status, payload: _raw(handler, 200, b"{}"))
    result = function.invoke({"instance_ids": [CLUSTER_ID], "raise_on_failure": False})
    (outcome,) = result.answer["results"]
    (backup,) = function.emulator.state.backups(CLUSTER_ID)
    assert (outcome["status"], outcome["backup_id"]) == ("created", backup.backup_id)


# --- medium -----------------------------------------------------------------------------------


def test_unreadable_show_instance_answer_is_not_a_silent_skip(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ShowInstance answer the function cannot read must fail the instance, not skip it.

    Wrong today: a 200 answer that is not DCS's JSON (an HTML page from a proxy or captive
    portal) gives ``skipped`` with reason "instance status is None; only RUNNING instances can be
    backed up" and an overall "succeeded" (HTTP 202): nothing was backed up and nobody is told.
    Right: ``failed`` with a reason saying DCS's answer could not be read.
    """
    page = b"<html><body>Gateway login</body></html>"
    _hostile(monkeypatch, "GET", lambda handler, status, payload: _raw(handler, 200, page), times=10)
    result = function.invoke(_apig({"instance_ids": [HA_ID]}))
    assert result.body["results"][0]["status"] == "failed"
    assert "could not be read" in result.body["results"][0]["reason"]
    assert result.body["status"] != "succeeded"


def test_truncated_dcs_answer_is_not_an_internal_error(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer cut off mid-body is a lost answer (transient), not a bug in the function.

    Wrong today: a body shorter than its Content-Length makes requests raise
    ``ChunkedEncodingError``, which ``classify`` does not know and re-raises: the instance ends
    "internal error; see the function log" with a traceback, and is never retried. Right: treat it
    like a reset (UNREACHABLE): retried, and here the second attempt creates the backup.
    """

    def truncate(handler: Any, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        _raw(handler, status, body, content_length=len(body) + 100)
        handler._reset()

    _hostile(monkeypatch, "GET", truncate)
    result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
    (outcome,) = result.answer["results"]
    assert "internal error" not in outcome.get("reason", "")
    assert outcome["status"] == "created"


def test_undecodable_dcs_error_message_keeps_the_http_body_encodable(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP body must be valid UTF-8 whatever DCS's error_msg holds.

    Wrong today: DCS's JSON may carry a lone surrogate escape (``"\\ud800"``); it is decoded into
    ``error_msg`` and written with ``ensure_ascii=False`` into the APIG body (and into the
    BackupFailedError message), which then cannot be encoded: the runtime fails to send the answer.
    Right: DCS's text is made safe (escaped or replaced) like every other untrusted text.
    """
    body = b'{"error_code": "DCS.4000", "error_msg": "bad \\ud800 value", "error_ext_msg": null}'
    _hostile(monkeypatch, "GET", lambda handler, status, payload: _raw(handler, 400, body))
    result = function.invoke(_apig({"instance_ids": [HA_ID]}))
    assert result.answer["statusCode"] == 502
    result.answer["body"].encode("utf-8")  # raises UnicodeEncodeError today


def test_endpoint_password_reaches_no_error_or_log_line(function: FunctionHarness) -> None:
    """A credential in DCS_ENDPOINT's userinfo must not be echoed.

    Wrong today: ``DCS_ENDPOINT=https://svc:<password>@host`` is refused, but the
    ConfigurationError and the "configuration error" log line quote the whole value, password
    included (and an HTTP caller gets it in the 500 body). Right: refuse it without quoting the
    userinfo (e.g. "must not contain user:password@").
    """
    password = "S3cr3tPassw0rd-for-the-proxy"
    result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=f"https://svc:{password}@dcs.example.com")
    assert isinstance(result.error, ConfigurationError)
    assert "DCS_ENDPOINT" in str(result.error)
    assert password not in str(result.error)
    assert password not in result.log_text


def test_endpoint_host_and_port_reach_no_http_answer(function: FunctionHarness) -> None:
    """The README: no answer carries the DCS endpoint, host or port — HTTP 500 included.

    Wrong today: a refused DCS_ENDPOINT is quoted whole in the 500 body an API caller gets
    (``... use https ('http://dcs-vpcep.internal.corp:8443')``): the internal host and port leak
    to whoever can call the API. Right: the body names DCS_ENDPOINT and the rule; the value goes
    to the log only.
    """
    result = function.invoke(_apig({"instance_ids": [HA_ID]}), DCS_ENDPOINT="http://dcs-vpcep.internal.corp:8443")
    assert result.answer["statusCode"] == 500
    assert "DCS_ENDPOINT" in result.body["message"]
    assert "internal.corp" not in result.answer["body"]
    assert "8443" not in result.answer["body"]


def test_undecodable_project_id_is_a_configuration_error_not_an_internal_error(function: FunctionHarness) -> None:
    """DCS_PROJECT_ID is never checked; a value with a non-UTF-8 byte crashes every instance.

    Wrong today: on Linux a non-UTF-8 byte in a variable reaches Python as a lone surrogate
    (``"\\udcff"``); it is put into the URL, the SDK fails to encode it, ``classify`` re-raises,
    and every instance ends "internal error; see the function log". Right: checked with the
    other variables, a ConfigurationError naming DCS_PROJECT_ID before any DCS call.
    """
    result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_PROJECT_ID="0123\udcff")
    assert isinstance(result.error, ConfigurationError), repr(result.answer)
    assert "DCS_PROJECT_ID" in str(result.error)


# --- low --------------------------------------------------------------------------------------


def test_huge_dcs_error_message_is_bounded_in_answer_and_log(
    function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DCS's error_msg is echoed unbounded into the outcome, the HTTP body and a log line.

    Wrong today: a 100 KB error_msg gives a 100 KB 502 body and a 100 KB log line (1 MB gives
    1 MB). Right: DCS's text is cut (like echoed field names) so one instance's outcome stays small.
    """
    body = json.dumps({"error_code": "DCS.4000", "error_msg": "x" * 100_000}).encode()
    _hostile(monkeypatch, "GET", lambda handler, status, payload: _raw(handler, 400, body))
    result = function.invoke(_apig({"instance_ids": [HA_ID]}))
    assert result.answer["statusCode"] == 502
    assert len(result.answer["body"].encode()) <= MAX_ANSWER
    assert max(len(line) for line in result.log_text.splitlines()) <= MAX_ANSWER


@pytest.mark.parametrize(
    ("name", "value", "env"),
    [
        ("DCS_ENDPOINT", "https://" + "a" * 100_000, {}),
        ("DCS_BACKUP_FORMAT", "x" * 100_000, {}),
        ("DCS_REGION", "x" * 100_000, {"DCS_ENDPOINT": ""}),
    ],
)
def test_configuration_error_echo_is_bounded(
    function: FunctionHarness, name: str, value: str, env: dict[str, str]
) -> None:
    """A bad variable is quoted whole in the ConfigurationError, the log line and the HTTP 500 body.

    Wrong today: LOG_LEVEL and the numbers are shown through ``show_value`` (40 characters), but
    DCS_ENDPOINT, DCS_BACKUP_FORMAT and DCS_REGION use ``{value!r}``: a 100 KB value gives a 100 KB
    message and log line. Right: every echoed value is cut like the others.
    """
    result = function.invoke({"instance_ids": [HA_ID]}, **{**env, name: value})
    assert isinstance(result.error, ConfigurationError)
    assert name in str(result.error)
    assert len(str(result.error)) <= MAX_ANSWER
    assert max(len(line) for line in result.log_text.splitlines()) <= MAX_ANSWER


@pytest.mark.parametrize("endpoint", ["https://dcs.example.com:0", "https://" + ".".join(["a" * 63] * 5)])
def test_endpoint_that_cannot_be_reached_is_a_configuration_error(function: FunctionHarness, endpoint: str) -> None:
    """DCS_ENDPOINT values that can never work are accepted.

    Wrong today: port 0, and a host name longer than DNS's 253 characters, pass the check; every
    instance then fails after 5 attempts with "connection to DCS failed (HostUnreachableException)",
    which points at the network, not the variable. Right: ConfigurationError naming DCS_ENDPOINT.
    """
    result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_ENDPOINT=endpoint)
    assert isinstance(result.error, ConfigurationError), repr(result.answer)
    assert "DCS_ENDPOINT" in str(result.error)


@pytest.mark.parametrize("project_id", ["abc def", "0123/../abcd", "é" * 32])
def test_malformed_project_id_is_a_configuration_error(function: FunctionHarness, project_id: str) -> None:
    """DCS_PROJECT_ID accepts anything; the failure then looks like DCS's or the credentials' fault.

    Wrong today: "abc def" and "0123/../abcd" reach DCS (``/v2/abc%20def/...``) and every instance
    fails with DCS.1004; non-ASCII ids fail as APIG.0301 "Incorrect IAM authentication" (pointing
    at the agency). Right: a project id is 32 hex digits (or at least letters and digits); anything
    else is a ConfigurationError naming DCS_PROJECT_ID, before any DCS call.
    """
    result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_PROJECT_ID=project_id)
    assert isinstance(result.error, ConfigurationError), repr(result.answer)
    assert "DCS_PROJECT_ID" in str(result.error)
    assert function.emulator.requests == []


def test_default_instance_ids_outside_the_allowlist_are_a_configuration_error(function: FunctionHarness) -> None:
    """DCS_INSTANCE_IDS naming an instance DCS_ALLOWED_INSTANCE_IDS refuses is accepted.

    Wrong today: every request that relies on the defaults (each timer firing with an empty
    user_event) is refused as the caller's fault: InvalidRequestError / HTTP 403 "not allowed by
    DCS_ALLOWED_INSTANCE_IDS". Right: the two variables contradict each other — a
    ConfigurationError naming both, like any other bad variable.
    """
    result = function.invoke(
        load_event("timer-defaults.json"), DCS_INSTANCE_IDS=HA_ID, DCS_ALLOWED_INSTANCE_IDS=CLUSTER_ID
    )
    assert isinstance(result.error, ConfigurationError), repr(result.error)
    assert "DCS_INSTANCE_IDS" in str(result.error)


def test_unknown_region_is_reported_before_the_request_is_judged(function: FunctionHarness) -> None:
    """Every variable must be checked before any DCS call, and before the request is judged.

    Wrong today: DCS_REGION is looked up only after the request was parsed, so with an unknown
    region an HTTP caller's small mistake gets 400 (fix your request); once fixed, 500 (the
    function is broken). The other variables are checked first. Right: an unknown DCS_REGION is a
    ConfigurationError whatever the request.
    """
    result = function.invoke({"instance_ids": [HA_ID], "colour": 1}, DCS_ENDPOINT="", DCS_REGION="mars-north-1")
    assert isinstance(result.error, ConfigurationError), repr(result.error)
    assert "DCS_REGION" in str(result.error)


def test_runner_superscript_runtime_timeout_falls_back_to_the_default(
    emulator: DcsEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Finding 14 is fixed in the handler only: the local runner still crashes on RUNTIME_TIMEOUT=².

    Wrong today: ``LocalContext.from_env`` checks ``str.isdigit()`` and calls ``int("²")``; the
    runner prints ``{"errorType": "ValueError", "errorMessage": "invalid literal for int() ..."}``
    and exits 1 without running the function. Right (README): ASCII digits only, otherwise the
    default 300 s; the backup runs and the runner exits 0.
    """
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"instance_ids": [HA_ID]}), encoding="utf-8")
    for name, value in {
        "RUNTIME_TIMEOUT": "²",
        "DCS_ENDPOINT": emulator.endpoint,
        "DCS_PROJECT_ID": PROJECT_ID,
        "HUAWEICLOUD_SDK_AK": ACCESS_KEY,
        "HUAWEICLOUD_SDK_SK": SECRET_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    code = runner.main(["invoke", str(event)])
    out = capsys.readouterr().out
    assert "ValueError" not in out
    assert code == 0
