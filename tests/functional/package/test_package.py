"""The deployment zip: what is inside, that it rebuilds identically, and that it runs on its own."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcs_backup.platform.coldstart import DEFERRED_MODULES
from dcs_emulator import DcsEmulator, EmulatorState
from devkit.seed import HA_ID, PROJECT_ID
from devkit.zip_probe import ProbeRun, probe, python312
from tests.conftest import EVENTS_DIR, build_package

REPO = EVENTS_DIR.parent
# ShowInstance, ListBackupRecords and CopyInstance need 8; loading every model eagerly gives 416.
MAX_MODEL_MODULES = 12


@pytest.fixture(scope="module")
def names(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        return archive.namelist()


class TestContents:
    def test_function_and_dependencies_sit_at_the_root(self, names: list[str]) -> None:
        for required in (
            "handler.py",
            "dcs_backup/app.py",
            "huaweicloudsdkdcs/v2/dcs_client.py",
            "structlog/__init__.py",
        ):
            assert required in names

    def test_bytecode_is_compiled_for_python_312_only(self, names: list[str]) -> None:
        pycs = [n for n in names if n.endswith(".pyc")]
        assert "huaweicloudsdkdcs/v2/model/__pycache__/copy_instance_request.cpython-312.pyc" in names
        assert "dcs_backup/__pycache__/app.cpython-312.pyc" in names
        assert pycs and all(".cpython-312." in n for n in pycs)

    def test_nothing_but_the_function_goes_in(self, names: list[str]) -> None:
        tops = {n.split("/", 1)[0] for n in names}
        assert not tops & {"tests", "dcs_emulator", "devkit", "bench", "template", "scripts", "events", "bin"}
        assert not [n for n in names if n.endswith(("/RECORD", "/INSTALLER", "/direct_url.json"))]

    def test_zip_is_within_the_console_limit(self, package: Path) -> None:
        assert package.stat().st_size < 40 * 1024 * 1024

    def test_zip_with_the_obs_sdk_stays_within_15_mb(self, package: Path, names: list[str]) -> None:
        # The OBS SDK (and pycryptodome, which its package imports) ships for export, pure Python where it can
        assert "obs/client.py" in names and not [n for n in names if n.startswith("crcmod/_crcfunext")]
        assert package.stat().st_size <= 15 * 1024 * 1024

    def test_rebuilding_gives_the_same_bytes(self, package: Path, tmp_path: Path) -> None:
        again = build_package(tmp_path)
        assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(package.read_bytes()).digest()


@pytest.fixture
def extracted(package: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "function"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(target)
    yield target


@pytest.fixture
def zip_run(extracted: Path, tmp_path: Path) -> Iterator[tuple[ProbeRun, DcsEmulator]]:
    """The unzipped function alone on sys.path of an isolated CPython 3.12, run on the sample timer event."""
    with DcsEmulator(EmulatorState.from_seed()) as emulator:
        env = {
            "DCS_ENDPOINT": emulator.endpoint,
            "DCS_PROJECT_ID": PROJECT_ID,
            "DCS_INSTANCE_IDS": HA_ID,
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": str(tmp_path),
        }
        yield probe(extracted, EVENTS_DIR / "timer-defaults.json", env), emulator


class TestRunningFromTheZip:
    def test_the_zip_alone_backs_up_an_instance(self, zip_run: tuple[ProbeRun, DcsEmulator]) -> None:
        # GIVEN the sample timer event that uses the configured targets, WHEN the zip alone handles it
        run, emulator = zip_run
        # THEN the backup exists
        assert run.report["result"]["status"] == "succeeded"
        assert emulator.state.backup_count(HA_ID) == 1

    def test_the_sdk_and_its_bytecode_come_from_the_zip(
        self, zip_run: tuple[ProbeRun, DcsEmulator], extracted: Path
    ) -> None:
        # WHEN the zip alone handles an event, THEN the SDK it used, and its compiled bytecode, are the zip's
        run, _ = zip_run
        assert run.report["sdk_file"].startswith(str(extracted))
        assert run.report["sdk_cached"].endswith(".cpython-312.pyc")

    def test_only_the_sdk_models_the_function_uses_are_loaded(self, zip_run: tuple[ProbeRun, DcsEmulator]) -> None:
        # GIVEN an invocation that succeeded through the real SDK: every response type it needed resolved
        run, _ = zip_run
        assert run.report["result"]["status"] == "succeeded"
        # THEN a handful of the SDK's ~400 model modules were loaded, not all of them
        assert len(run.report["model_modules"]) <= MAX_MODEL_MODULES, run.report["model_modules"]

    def test_modules_the_function_never_uses_are_still_not_imported_after_it_ran(
        self, zip_run: tuple[ProbeRun, DcsEmulator]
    ) -> None:
        # GIVEN an invocation that succeeded through the real SDK, logging as it went
        run, _ = zip_run
        assert run.report["result"]["status"] == "succeeded"
        # THEN asyncio, configparser and pyasn1's codecs were never imported: they are stand-ins still
        assert run.report["stand_ins"] == sorted(DEFERRED_MODULES)

    def test_the_collector_runs_again_with_the_loaded_modules_frozen(
        self, zip_run: tuple[ProbeRun, DcsEmulator]
    ) -> None:
        run, _ = zip_run
        assert run.report["gc_enabled"] is True
        assert run.report["gc_frozen"] > 10_000


def test_the_zipped_local_runner_says_where_it_runs(extracted: Path) -> None:
    # GIVEN the unzipped function, which has no devkit/ beside it
    # WHEN its local runner is started there
    run = subprocess.run(
        [python312(), "-S", "-m", "dcs_backup", "invoke", "event.json"],
        cwd=extracted,
        env={"HOME": str(extracted)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN it exits 2 saying to run it from the repository
    assert run.returncode == 2
    assert "run it from the repository" in run.stderr


def _package_with(python312: str, out_dir: Path) -> subprocess.CompletedProcess[str]:
    """scripts/package.py run with ``python312`` as the interpreter that compiles the bytecode."""
    return subprocess.run(
        [sys.executable, "scripts/package.py", "--python312", python312, "--out-dir", str(out_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _assert_refused_in_one_line(run: subprocess.CompletedProcess[str], out_dir: Path) -> None:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    for needed in ("CPython 3.12", "pyenv", "python3.12", "PYTHON312="):
        assert needed in run.stderr
    assert not list(out_dir.glob("*.zip"))


class TestPackagingNeedsPython312:
    @pytest.mark.parametrize("missing", ["", "/nonexistent/python3.12"])
    def test_packaging_without_a_python_312_says_what_is_needed_in_one_line(self, missing: str, tmp_path: Path) -> None:
        # GIVEN no CPython 3.12 was found (make passes an empty path) or the path given does not exist
        # WHEN the zip is built
        run = _package_with(missing, tmp_path)
        # THEN it stops with exit 2 and one line saying what is needed and how to provide it
        _assert_refused_in_one_line(run, tmp_path)

    def test_packaging_with_another_python_version_is_refused_in_one_line(self, tmp_path: Path) -> None:
        # GIVEN an interpreter that reports CPython 3.11, whatever Python runs these tests
        fake = tmp_path / "python3.11"
        fake.write_text("#!/bin/sh\necho 'cpython-311 3.11.9'\n", encoding="utf-8")
        fake.chmod(0o755)
        # WHEN the zip is built with it
        run = _package_with(str(fake), tmp_path)
        # THEN no zip of 3.11 bytecode is written: exit 2, one line naming the version it found
        _assert_refused_in_one_line(run, tmp_path)
        assert "3.11" in run.stderr

    @pytest.mark.skipif(sys.version_info[:2] == (3, 12), reason="needs an interpreter that is not 3.12")
    def test_packaging_with_the_interpreter_running_the_tests_is_refused_when_it_is_not_312(
        self, tmp_path: Path
    ) -> None:
        # GIVEN the real interpreter running these tests, which is not CPython 3.12
        # WHEN the zip is built with it, THEN it is refused in one line naming its version
        run = _package_with(sys.executable, tmp_path)
        _assert_refused_in_one_line(run, tmp_path)
        assert f"{sys.version_info[0]}.{sys.version_info[1]}" in run.stderr
