"""Helpers the tests share: the function wired to both emulators, seeded backups, events, hostile DCS answers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import dcs_emulator.server as emulator_server
from dcs_backup.platform.errors import InvalidRequestError
from dcs_backup.platform.retry import PollPolicy
from dcs_emulator import DcsEmulator, EmulatorState
from dcs_emulator.loopback import LoopbackHandler, LoopbackServer
from dcs_emulator.model import Backup
from dcs_emulator.obs_server import ObsEmulator
from devkit.context import LocalContext
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, Invocation, load_event

DAY = 24.0
MIB = 1 << 20
PAGE = 100
BUCKET = "team-dcs-backups"
EXPORT_TOKEN = "agency-security-token-for-the-export-tests"
KMS_KEY_ID = "0d0466b0-e727-4d9c-b35d-f84bb474a37f"  # a KMS key id: a UUID
FAST_POLLS = PollPolicy(first_delay_s=0.05, max_delay_s=0.2)
MAX_ANSWER = 8 * 1024  # the most an answer, an error message or a log line may hold


class ExportHarness(FunctionHarness):
    """The function wired to the DCS and object-storage emulators, with the agency's security token."""

    def __init__(self, emulator: DcsEmulator, storage: ObsEmulator) -> None:
        super().__init__(emulator)
        self.storage = storage
        self.env.update({"OBS_ENDPOINT": storage.endpoint, "DCS_EXPORT_PART_MB": "5"})
        self.runtime.poll_policy = FAST_POLLS

    def export(
        self, request: dict[str, Any] | None = None, *, remaining_ms: int = 60_000, env: Mapping[str, str] = {}
    ) -> Invocation:
        """One instance exported to BUCKET, the document returned rather than raised; ``env`` adds variables."""
        body = {"instance_ids": [HA_ID], "export": {"bucket": BUCKET}, "raise_on_failure": False, **(request or {})}
        return self.invoke(body, LocalContext.seeded(security_token=EXPORT_TOKEN, remaining_ms=remaining_ms), **env)


def own_backup(
    state: EmulatorState, age_days: float, *, status: str = "succeed", n: int = 0, size: int | None = None
) -> Backup:
    """A backup an earlier run of the function made on HA_ID (its marker at the end of the remark)."""
    tag = f"[dcsb:{int(age_days * 1000) + n:012x}]"
    return state.add_backup(HA_ID, remark=f"nightly {tag}", age_hours=age_days * DAY, status=status, size_bytes=size)


def yesterdays_backup(harness: ExportHarness, instance_id: str = HA_ID, size: int = 6 * MIB) -> Backup:
    """Yesterday's succeeded backup of the function, not yet exported."""
    return harness.emulator.state.add_backup(
        instance_id, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=size
    )


def override_record(state: EmulatorState, backup_id: str, **fields: Any) -> None:
    """Make ListBackupRecords show ``fields`` for one record (odd or missing values DCS may send)."""
    original = state.backup_json

    def shown(backup: Backup) -> dict[str, Any]:
        data = original(backup)
        if backup.backup_id == backup_id:
            data.update(fields)
        return data

    state.backup_json = shown  # type: ignore[method-assign]


class RequestCounter(LoopbackServer):
    """A loopback HTTP server that answers 200 to anything and counts what reached it."""

    def __init__(self) -> None:
        self.count = 0
        super().__init__(0, _CountingHandler, "request-counter")


class _CountingHandler(LoopbackHandler):
    def _serve(self) -> None:
        self.server.emulator.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def apig_event(body: str | dict[str, Any], headers: Mapping[str, str] = {}, **changes: Any) -> dict[str, Any]:
    """The sample API Gateway event carrying ``body`` (a dict is sent as JSON), with ``headers`` and ``changes``."""
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["headers"].update(headers)
    event.update(changes)
    return event


def problem_fields(error: Exception | None) -> set[str]:
    """The fields an InvalidRequestError names."""
    assert isinstance(error, InvalidRequestError), repr(error)
    return {problem.field for problem in error.problems}


Answer = Callable[[Any, int, Any, Any], None]


def hostile_answers(
    monkeypatch: pytest.MonkeyPatch, method: str, act: Callable[[Any, int, Any], None], times: int = 1
) -> None:
    """The emulator's next ``times`` answers to ``method`` requests are ``act(handler, status, payload)``'s."""
    original: Answer = emulator_server._Handler._answer
    left = [times]

    def answer(self: Any, status: int, payload: Any, extra_headers: Any = None) -> None:
        if self.command == method and left[0] > 0:
            left[0] -= 1
            act(self, status, payload)
            return
        original(self, status, payload, extra_headers)

    monkeypatch.setattr(emulator_server._Handler, "_answer", answer)


def raw_answer(handler: Any, status: int, body: bytes, content_length: int | None = None) -> None:
    """Answer ``body`` as JSON, announcing ``content_length`` bytes (the body's own length unless given)."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json;charset=UTF-8")
    handler.send_header("Content-Length", str(len(body) if content_length is None else content_length))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


def trickle_backup_listings(monkeypatch: pytest.MonkeyPatch, skip: int, seconds: float = 3.0) -> None:
    """From the (skip+1)-th ListBackupRecords answer on, DCS trickles the body a byte per 0.2 s for ``seconds``.

    Each read gets a byte in time, so no read timeout fires: the peer docs/reliability.md names ("a peer that
    trickles its answer"), which only the runner's own deadline can cut short.
    """
    original = emulator_server._Handler._answer  # type: ignore[attr-defined]
    seen = {"calls": 0}

    def answer(self: Any, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        is_listing = self.command == "GET" and self.path.split("?")[0].endswith("/backups")
        if not is_listing or payload is None:
            return original(self, status, payload, extra_headers)
        seen["calls"] += 1
        if seen["calls"] <= skip:
            return original(self, status, payload, extra_headers)
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        end, sent = time.monotonic() + seconds, 0
        try:
            while sent < len(data) and time.monotonic() < end:
                self.wfile.write(data[sent : sent + 1])
                self.wfile.flush()
                sent += 1
                time.sleep(0.2)
            self.wfile.write(data[sent:])
        except OSError:
            pass
        return None

    monkeypatch.setattr(emulator_server._Handler, "_answer", answer)  # type: ignore[attr-defined]
