"""``make demo``: the lifecycle story runs against both emulators, and a step that does not hold stops it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from devkit.seed import HA_ID
from devkit.story import STORY, demo_state, tell
from tests.conftest import EVENTS_DIR

REPO = EVENTS_DIR.parent
VENV = Path(sys.executable).parent.parent


def test_make_demo_runs_the_story() -> None:
    # make -n prints what the target would run; a make around this test must not add its own flags
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo", f"VENV={VENV}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry_run.stdout.strip().splitlines()[-1].endswith(f"{VENV}/bin/python -m devkit.story")


def test_the_story_tells_each_step_in_one_line_and_exits_0_within_a_minute() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "devkit.story"],
        cwd=REPO,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    lines = result.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines if line[0].isdigit()] == [step.shows for step in STORY]
    assert sum(line.startswith("    ok: ") for line in lines) == len(STORY) >= 5
    assert lines[-1].startswith(f"the story holds: {len(STORY)} steps")


def test_a_step_that_does_not_do_what_it_says_stops_the_story_with_exit_1() -> None:
    # GIVEN every backup of orders-cache ends failed in DCS
    state = demo_state()
    state.instance(HA_ID).backup_error_code = "dcs.08.0002"
    out = io.StringIO()
    # WHEN the story runs
    code = tell(STORY, state, out)
    # THEN the wait step says what did not hold, shows its log lines, and no later step runs
    text = out.getvalue()
    assert code == 1
    assert "FAILED: orders-cache is failed, not completed" in text
    assert "| error: instance failed" in text
    assert f"3/{len(STORY)}" not in text
