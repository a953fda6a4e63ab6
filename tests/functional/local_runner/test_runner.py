"""The local runner, as a user runs it: ``python -m dcs_backup invoke EVENT_FILE``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcs_emulator import DcsEmulator
from devkit import runner
from devkit.seed import ACCESS_KEY, HA_ID, PROJECT_ID, SECRET_KEY
from tests.conftest import EVENTS_DIR

REPO = EVENTS_DIR.parent


def _run(*args: str, stdin_text: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DCS_", "HUAWEICLOUD_SDK_"))}
    return subprocess.run(
        [sys.executable, "-m", "dcs_backup", *args],
        cwd=REPO,
        env={**clean, **env},
        input=stdin_text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_mode_backs_up_the_sample_timer_event() -> None:
    result = _run("invoke", str(EVENTS_DIR / "timer.json"))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "succeeded"
    assert document["counts"] == {"created": 2, "completed": 0, "pending": 0, "skipped": 1, "failed": 0, "total": 3}
    log_lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert any("demo mode" in line["message"] for line in log_lines)


def test_a_failed_target_exits_1_with_the_platform_error_shape(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"instance_ids": ["no-such-instance"]}))
    result = _run("invoke", str(event))
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["errorType"] == "BackupFailedError"
    assert "DCS.3022" in error["errorMessage"]


def test_unreadable_event_file_exits_2(tmp_path: Path) -> None:
    result = _run("invoke", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert result.stdout == ""


def test_bad_command_line_exits_2() -> None:
    assert _run("backup-everything").returncode == 2


def test_a_deeply_nested_event_file_exits_2_with_one_line(tmp_path: Path) -> None:
    event = tmp_path / "deep.json"
    event.write_text("[" * 200_000)
    result = _run("invoke", str(event))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_superscript_runtime_timeout_falls_back_to_the_default(
    emulator: DcsEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The local runner reads RUNTIME_TIMEOUT as the handler does: ASCII digits only, else the default.

    GIVEN ``RUNTIME_TIMEOUT=²`` (docs/local-runner.md: ASCII digits only, otherwise the default 300 s), THEN the
    backup runs and the runner exits 0; it never prints ``{"errorType": "ValueError", ...}`` and exits
    1 without running the function.
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


class TestCommandLine:
    def test_the_event_can_come_from_standard_input(self) -> None:
        event = (EVENTS_DIR / "workflow.json").read_text(encoding="utf-8")
        result = _run("invoke", "-", stdin_text=event)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["trigger"] == "direct"

    def test_an_env_file_sets_the_configuration(self, tmp_path: Path) -> None:
        env_file = tmp_path / "local.env"
        env_file.write_text(f"# the defaults of this run\nexport DCS_INSTANCE_IDS='{HA_ID}'\nDCS_BACKUP_FORMAT=aof\n")
        result = _run("invoke", str(EVENTS_DIR / "timer-defaults.json"), "--env-file", str(env_file))
        assert result.returncode == 0, result.stderr
        assert [o["instance_id"] for o in json.loads(result.stdout)["results"]] == [HA_ID]

    def test_a_line_of_an_env_file_that_is_not_key_value_is_named_not_quoted(self, tmp_path: Path) -> None:
        env_file = tmp_path / "local.env"
        env_file.write_text("DCS_REGION=cn-north-4\nsecret-value-without-a-key\n")
        result = _run("invoke", str(EVENTS_DIR / "timer.json"), "--env-file", str(env_file))
        assert result.returncode == 2
        assert "line 2 is not KEY=VALUE" in result.stderr and "secret-value" not in result.stderr

    def test_version_is_printed(self) -> None:
        result = _run("--version")
        assert (result.returncode, result.stdout.strip()) == (0, "dcs-backup 0.1.0")

    def test_an_unknown_option_is_one_usage_line_and_exit_2(self) -> None:
        result = _run("invoke", "--no-such-option", "events/timer.json")
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "--no-such-option" in result.stderr

    def test_invoke_help_lists_the_options(self) -> None:
        result = _run("invoke", "--help")
        assert result.returncode == 0
        assert "--env-file" in result.stdout and "standard input" in result.stdout

    def test_make_help_lists_every_target_with_one_line(self) -> None:
        result = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=False)
        targets = {line.split()[0] for line in result.stdout.splitlines()}
        assert {"run", "test", "fuzz", "package", "bench", "clean"} <= targets
