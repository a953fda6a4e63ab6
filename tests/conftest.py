"""Shared test helpers: sample events, a FunctionGraph-like context, an emulator, log capture."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from dcs_backup.app import Runtime, handle
from dcs_backup.retry import RetryPolicy
from dcs_emulator import DcsEmulator, EmulatorState

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
# These machines are shared and noisy: judge examples by their results, not their speed.
settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project")
EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
HA_ID = "5f2b9c1e-0a41-4d8e-9b0f-3c6a7e1d2b01"
CLUSTER_ID = "8d4e7a10-6c25-4f3b-a1e9-0b7c2d5f9e02"
SINGLE_ID = "c3a1f5d2-9e87-4b60-8f14-2d6e0a7b3c03"
FROZEN_ID = "e7b2d4c6-1f38-4a95-b0c2-5e9d8a6f4d04"
ACCESS_KEY = "DEMOACCESSKEY0000001"
SECRET_KEY = "demo-secret-key-for-the-local-emulator-only"
PROJECT_ID = "0123456789abcdef0123456789abcdef"


def load_event(name: str) -> Any:
    """A sample trigger event from events/."""
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


@dataclass
class FakeContext:
    """The FunctionGraph context methods the function calls."""

    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    security_token: str = ""
    project_id: str = ""
    remaining_ms: int = 60_000
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def getRequestID(self) -> str:
        return self.request_id

    def getRemainingTimeInMilliSeconds(self) -> int:
        return self.remaining_ms

    def getSecurityAccessKey(self) -> str:
        return self.access_key

    def getSecuritySecretKey(self) -> str:
        return self.secret_key

    def getSecurityToken(self) -> str:
        return self.security_token

    def getProjectID(self) -> str:
        return self.project_id

    def getFunctionName(self) -> str:
        return "dcs-backup-test"

    def getVersion(self) -> str:
        return "latest"


@dataclass
class Invocation:
    """The result of one handler call: the answer or the raised error, and the log lines."""

    answer: Any
    error: Exception | None
    log_text: str

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_text.splitlines()]

    @property
    def body(self) -> Any:
        """The JSON body of an API Gateway answer."""
        return json.loads(self.answer["body"])


class FunctionHarness:
    """Invokes the handler against the emulator with an environment of the test's choosing."""

    def __init__(self, emulator: DcsEmulator) -> None:
        self.emulator = emulator
        self.env: dict[str, str] = {"DCS_ENDPOINT": emulator.endpoint, "DCS_PROJECT_ID": PROJECT_ID}
        # Retry waits are recorded, not slept; the retry policy's arithmetic is unit-tested.
        self.sleeps: list[float] = []
        self.policy = RetryPolicy(sleep=self.sleeps.append)
        self.all_logs: list[str] = []
        self.runtime = Runtime(env=self.env, policy=self.policy)

    def invoke(self, event: Any, context: Any = None, **env: str) -> Invocation:
        stream = io.StringIO()
        self.runtime.env = {**self.env, **env}
        self.runtime.policy = self.policy
        self.runtime.log_stream = stream
        try:
            answer, error = handle(event, context or FakeContext(), self.runtime), None
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            answer, error = None, exc
        self.all_logs.append(stream.getvalue())
        return Invocation(answer, error, stream.getvalue())


@pytest.fixture
def state() -> EmulatorState:
    return EmulatorState.from_seed(waiting_s=0.5, backuping_s=0.5)


@pytest.fixture
def emulator(state: EmulatorState) -> Iterator[DcsEmulator]:
    with DcsEmulator(state) as running:
        yield running


@pytest.fixture
def function(emulator: DcsEmulator) -> Iterator[FunctionHarness]:
    """The function wired to the emulator; after the test, no log line may hold a credential."""
    harness = FunctionHarness(emulator)
    yield harness
    everything = "".join(harness.all_logs)
    for secret in (SECRET_KEY, ACCESS_KEY, *emulator.state.security_tokens.values()):
        assert secret not in everything, "a credential value appeared in the logs"
    for line in everything.splitlines():
        json.loads(line)
