"""The function wired to the emulator with restores enabled for the seed's instances, and quick DCS tasks."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_emulator import DcsEmulator
from dcs_emulator.model import Backup
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness
from tests.support import FAST_POLLS

HA_NAME = "orders-cache"
BACKUP_KEYS = 500  # what the seeded backups hold
LIVE_KEYS = 42  # what the instances hold now


@pytest.fixture
def restoring(function: FunctionHarness) -> FunctionHarness:
    """Restores allowed into every seeded instance; backups, restores and imports take well under a second."""
    return enable_restores(function)


def enable_restores(harness: FunctionHarness) -> FunctionHarness:
    harness.runtime.poll_policy = FAST_POLLS
    harness.env["DCS_RESTORE_TARGETS"] = ",".join((HA_ID, CLUSTER_ID, SINGLE_ID, FROZEN_ID))
    state = harness.emulator.state
    state.waiting_s, state.backuping_s = 0.05, 0.15
    desk = state.restores
    desk.waiting_s, desk.restoring_s, desk.import_s = 0.05, 0.2, 0.2
    for instance in state.instances.values():
        instance.keys = LIVE_KEYS
    return harness


def restore_request(**fields: Any) -> dict[str, Any]:
    """A restore of HA_ID's newest backup, answered as a document (not raised) unless ``fields`` say otherwise."""
    return {
        "action": "restore",
        "instance_id": HA_ID,
        "confirm_instance_name": HA_NAME,
        "source": {"latest": True},
        "raise_on_failure": False,
        **fields,
    }


def seeded_backup(harness: FunctionHarness, instance_id: str = HA_ID, **fields: Any) -> Backup:
    """A succeeded backup DCS already holds, five hours old, holding BACKUP_KEYS keys."""
    return harness.emulator.state.add_backup(instance_id, age_hours=5, keys=BACKUP_KEYS, **fields)


def writes(emulator: DcsEmulator) -> list[str]:
    """The routes of every request that could change something (anything but a GET)."""
    return [r.route for r in emulator.requests if r.method != "GET"]


def only_result(answer: dict[str, Any]) -> dict[str, Any]:
    (result,) = answer["results"]
    assert isinstance(result, dict)
    return result
