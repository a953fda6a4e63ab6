"""Every sample event in events/ goes through the local runner (demo mode) and does what docs/triggers.md says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EVENTS_DIR

REPO = EVENTS_DIR.parent
EVENTS = sorted(EVENTS_DIR.glob("*.json"))
TRIGGER_WORDS = {"Timer": "timer", "API Gateway": "apig", "EventGrid": "eventgrid", "workflow": "direct"}


def _documented_triggers() -> dict[str, str]:
    """docs/triggers.md's table: file name → the trigger the answer names."""
    table = re.findall(r"^\| `([\w.-]+\.json)` \| ([^|]+) \|", (REPO / "docs" / "triggers.md").read_text(), re.M)
    return {
        name: next(value for word, value in TRIGGER_WORDS.items() if description.strip().startswith(word))
        for name, description in table
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every event run at once, each in its own runner process with its own emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCS_", "HUAWEICLOUD_SDK_"))}
    started = {
        event.name: subprocess.Popen(
            [sys.executable, "-m", "dcs_backup", "invoke", str(event)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for event in EVENTS
    }
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=180)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def _document(answer: Any) -> Any:
    return json.loads(answer["body"]) if "statusCode" in answer else answer


def test_every_event_file_is_documented() -> None:
    assert sorted(_documented_triggers()) == [event.name for event in EVENTS]


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.name)
def test_the_runner_succeeds_on_the_event_as_the_trigger_it_is(
    event: Path, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    run = runs[event.name]
    assert run.returncode == 0, run.stderr
    document = _document(json.loads(run.stdout))
    assert document["trigger"] == _documented_triggers()[event.name]
    assert document["status"] == "succeeded" or document["counts"]["failed"] == 0
