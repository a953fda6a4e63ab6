"""The function wired to both emulators with a scratch instance to drill into, and quick DCS tasks."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_backup.drill.baseline import baseline_remark
from dcs_emulator import DcsEmulator
from dcs_emulator.model import Backup, Instance
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import Invocation
from tests.support import EXPORT_TOKEN, FAST_POLLS, ExportHarness

SCRATCH_ID = "0a9d3f7e-5b1c-4e2a-8f60-d1c2b3a4e5f6"
BIG_ID = "6b8e2c4a-7d19-4f05-a3b6-e8c9d0f1a2b3"
BACKUP_KEYS = 500  # what the sources' backups hold
SCRATCH_LEFTOVER_KEYS = 77  # what the scratch instance holds before a drill


@pytest.fixture
def bare_scratch(export_harness: ExportHarness) -> ExportHarness:
    """A scratch instance (Redis 7.0, 2 GB, holding leftover keys, no baseline yet) allowed as the only restore
    target; a third source too big for it."""
    harness = export_harness
    state = harness.emulator.state
    state.add_instance(
        Instance(SCRATCH_ID, "drill-scratch", engine_version="7.0", capacity=2, keys=SCRATCH_LEFTOVER_KEYS)
    )
    state.add_instance(Instance(BIG_ID, "big-ha", engine_version="6.0", capacity=8, keys=10, used_memory_mb=5000))
    desk = state.restores
    desk.import_s, desk.flush_s = 0.2, 0.1
    harness.runtime.poll_policy = FAST_POLLS
    harness.env.update({"DCS_RESTORE_TARGETS": SCRATCH_ID, "DCS_DRILL_INSTANCE": SCRATCH_ID})
    return harness


@pytest.fixture
def drilling(bare_scratch: ExportHarness) -> ExportHarness:
    """The Redis 7.0 scratch instance with its empty baseline backup, taken a month ago: DCS cannot flush it."""
    seed_baseline(bare_scratch)
    return bare_scratch


@pytest.fixture
def flushing(bare_scratch: ExportHarness) -> ExportHarness:
    """The scratch instance and the sources on Redis 5.0, which DCS flushes; no baseline."""
    for instance_id in (SCRATCH_ID, HA_ID, CLUSTER_ID, BIG_ID):
        bare_scratch.emulator.state.instances[instance_id].engine_version = "5.0"
    return bare_scratch


@pytest.fixture(params=["drilling", "flushing"])
def any_scratch(request: pytest.FixtureRequest) -> ExportHarness:
    """Each way of emptying the scratch instance: restored to its baseline (7.0), flushed (5.0)."""
    harness: ExportHarness = request.getfixturevalue(request.param)
    return harness


def seed_baseline(harness: ExportHarness, keys: int = 0, age_hours: float = 720) -> Backup:
    """An empty baseline backup of the scratch instance, as a drill takes it (its remark is the function's)."""
    return harness.emulator.state.add_backup(
        SCRATCH_ID, remark=baseline_remark(SCRATCH_ID), age_hours=age_hours, keys=keys
    )


def clearings(harness: ExportHarness) -> list[str]:
    """Each request that emptied (or began emptying) the scratch instance: flushes and in-place restores."""
    return [r.route for r in harness.emulator.requests if r.route in ("RestartOrFlushInstances", "RestoreInstance")]


def good_backup(harness: ExportHarness, instance_id: str = HA_ID, **fields: Any) -> Backup:
    """A succeeded backup, five hours old, holding BACKUP_KEYS keys."""
    return harness.emulator.state.add_backup(instance_id, age_hours=5, keys=BACKUP_KEYS, **fields)


def run_drill(harness: ExportHarness, remaining_ms: int = 60_000, **fields: Any) -> Invocation:
    """A drill of HA_ID (unless ``fields`` say otherwise), its report returned rather than raised."""
    body = {"action": "drill", "instance_ids": [HA_ID], "raise_on_failure": False, **fields}
    return harness.invoke(body, LocalContext.seeded(security_token=EXPORT_TOKEN, remaining_ms=remaining_ms))


WRITES = ("RestartOrFlushInstances", "CreateMigrationTask", "RestoreInstance", "CreateBackup", "DeleteBackup")


def written_instances(emulator: DcsEmulator) -> set[str]:
    """Every instance a request could have changed: flushed, imported into, restored, backed up or pruned."""
    touched: set[str] = set()
    for request in emulator.requests:
        if request.route == "RestartOrFlushInstances":
            touched.update(request.json()["instances"])
        elif request.route == "CreateMigrationTask":
            touched.add(request.json()["target_instance"]["id"])
        elif request.route in WRITES:
            touched.add(request.path.split("/")[4])
    return touched


def scratch_version(harness: ExportHarness) -> str:
    return harness.emulator.state.instances[SCRATCH_ID].engine_version


def by_source(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["instance_id"]: result for result in answer["results"]}


__all__ = ["BIG_ID", "CLUSTER_ID", "HA_ID", "SCRATCH_ID"]
