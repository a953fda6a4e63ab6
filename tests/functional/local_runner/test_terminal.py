"""The local runner at a terminal renders for a person; through a pipe, and on the platform, it writes JSON lines."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from typing import NamedTuple

from tests.conftest import EVENTS_DIR

REPO = EVENTS_DIR.parent
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
HUMAN_LINE = re.compile(r"^\d\d:\d\d:\d\dZ \[(info|warning|error)\s*\] \S")


class Run(NamedTuple):
    code: int
    stdout: str
    terminal: str

    @property
    def lines(self) -> list[str]:
        """What the terminal shows, line by line, the waiting line's redraws resolved."""
        text = self.terminal.replace("\r\n", "\n")
        return [line.rsplit("\r\x1b[K", 1)[-1] for line in text.split("\n")]


def _on_a_terminal(*command: str, **env: str) -> Run:
    """``command`` with stderr a pseudo-terminal and stdout a pipe (as in ``... | jq``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DCS_", "HUAWEICLOUD_SDK_", "NO_COLOR"))}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, cwd=REPO, env={**clean, **env}, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    return Run(process.wait(timeout=120), stdout, b"".join(chunks).decode())


def _invoke(event: str, **env: str) -> Run:
    return _on_a_terminal(sys.executable, "-m", "dcs_backup", "invoke", str(EVENTS_DIR / event), **env)


class TestOnATerminal:
    def test_lines_show_time_level_and_message_first_and_no_json(self) -> None:
        run = _invoke("workflow-wait.json", NO_COLOR="1")
        assert run.code == 0, run.terminal
        completed = [line for line in run.lines if "backup completed" in line]
        assert completed and HUMAN_LINE.match(completed[0]), run.terminal
        assert "outcome=completed" in completed[0] and "service=" not in completed[0]
        assert not any(line.lstrip().startswith("{") for line in run.lines)

    def test_a_summary_table_ends_the_run(self) -> None:
        run = _invoke("workflow-wait.json", NO_COLOR="1")
        (result,) = json.loads(run.stdout)["results"]
        lines = [line for line in run.lines if line.strip()]
        header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["instance", "status"])
        assert lines[header].split() == ["instance", "status", "backup", "id", "size", "duration", "reason"]
        row = lines[header + 1].split()
        assert row[:3] == ["orders-cache", "completed", result["backup_id"]]
        assert row[4] == "MiB" and row[6] == "s"
        assert lines[header + 2].startswith("succeeded (1 completed)")

    def test_the_wait_shows_how_many_backups_are_still_running(self) -> None:
        run = _invoke("workflow-wait.json", NO_COLOR="1")
        assert "waiting for backups: 1 of 1 still running" in run.terminal

    def test_colour_only_without_no_color(self) -> None:
        assert COLOUR.search(_invoke("workflow.json").terminal)
        assert not COLOUR.search(_invoke("workflow.json", NO_COLOR="1").terminal)


class TestOffATerminal:
    def test_each_line_is_json_with_timestamp_level_message_first_and_no_summary(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "dcs_backup", "invoke", str(EVENTS_DIR / "workflow-wait.json")],
            cwd=REPO,
            env={k: v for k, v in os.environ.items() if not k.startswith(("DCS_", "HUAWEICLOUD_SDK_"))},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stderr.splitlines()]
        assert all(list(line)[:3] == ["timestamp", "level", "message"] for line in lines)
        assert "waiting for backups" not in result.stderr

    def test_the_platform_entry_writes_json_even_to_a_terminal(self) -> None:
        # GIVEN handler.handler itself (FunctionGraph's entry), with stderr a terminal
        code = (
            "import handler\n"
            "from devkit.context import LocalContext\n"
            "try:\n"
            "    handler.handler({}, LocalContext.seeded())\n"
            "except Exception:\n"
            "    pass\n"
        )
        run = _on_a_terminal(
            sys.executable, "-c", code, DCS_ENDPOINT="http://127.0.0.1:9", DCS_PROJECT_ID="0" * 32, NO_COLOR=""
        )
        # THEN every line it writes is JSON (the request has no targets: one warning)
        lines = [json.loads(line) for line in run.lines if line.strip()]
        assert lines and [line["message"] for line in lines] == ["request rejected"]
