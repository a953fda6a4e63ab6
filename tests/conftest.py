"""Shared test helpers: sample events, an emulator, the function wired to it, log capture."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

from dcs_backup.app import Runtime, handle
from dcs_backup.platform.retry import RetryPolicy
from dcs_emulator import DcsEmulator, EmulatorState
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, PROJECT_ID, SECRET_KEY
from devkit.zip_probe import python312

if TYPE_CHECKING:
    from tests.support import ExportHarness

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
# These machines are shared and noisy: judge examples by their results, not their speed.
settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project")
EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> Any:
    """A sample trigger event from events/."""
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


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
            answer, error = handle(event, context or LocalContext.seeded(), self.runtime), None
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


@pytest.fixture
def export_harness() -> Iterator[ExportHarness]:
    """The function wired to both emulators; afterwards, no credential or link signature in its logs."""
    from dcs_emulator.obs_server import ObsEmulator
    from tests.support import BUCKET, EXPORT_TOKEN, ExportHarness

    state = EmulatorState.from_seed(waiting_s=0.1, backuping_s=0.2)
    state.security_tokens[ACCESS_KEY] = EXPORT_TOKEN
    with ObsEmulator({ACCESS_KEY: SECRET_KEY}, {ACCESS_KEY: EXPORT_TOKEN}) as storage:
        storage.store.create_bucket(BUCKET)
        with DcsEmulator(state, object_storage=storage) as emulator:
            harness = ExportHarness(emulator, storage)
            yield harness
            everything = "".join(harness.all_logs)
            for secret in (ACCESS_KEY, SECRET_KEY, EXPORT_TOKEN, "Signature="):
                assert secret not in everything or f"{secret}***" in everything


@pytest.fixture
def fleet_function() -> Iterator[FunctionHarness]:
    """The seed's four instances plus 260 generated ones, listed 100 to a page."""
    with DcsEmulator(EmulatorState.fleet(260, seed=7, waiting_s=0, backuping_s=0)) as emulator:
        harness = FunctionHarness(emulator)
        harness.runtime.page_sizes = (100, 100)
        yield harness


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deployment zip, built once for the session as ``make package`` builds it."""
    return build_package(tmp_path_factory.mktemp("dist"))


def build_package(out_dir: Path) -> Path:
    """Run scripts/package.py with CPython 3.12 into ``out_dir``; the zip it wrote."""
    subprocess.run(
        [sys.executable, "scripts/package.py", "--python312", python312(), "--out-dir", str(out_dir)],
        cwd=EVENTS_DIR.parent,
        check=True,
        capture_output=True,
    )
    (built,) = out_dir.glob("dcs-backup-*.zip")
    return built
