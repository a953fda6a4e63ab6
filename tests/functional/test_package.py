"""The deployment zip: what is inside, that it rebuilds identically, and that it runs on its own."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcs_emulator import DcsEmulator, EmulatorState
from tests.conftest import ACCESS_KEY, EVENTS_DIR, HA_ID, PROJECT_ID, SECRET_KEY

REPO = EVENTS_DIR.parent


def _python312() -> str:
    """CPython 3.12, the function's runtime, as `make package` finds it."""
    found = subprocess.run(["pyenv", "prefix", "3.12"], capture_output=True, text=True, check=False)
    candidate = Path(found.stdout.strip()) / "bin" / "python3.12" if found.returncode == 0 else None
    path = str(candidate) if candidate and candidate.exists() else shutil.which("python3.12")
    assert path, "the package tests need a CPython 3.12 interpreter (pyenv install 3.12)"
    return path


def _build(out_dir: Path) -> Path:
    subprocess.run(
        [sys.executable, "scripts/package.py", "--python312", _python312(), "--out-dir", str(out_dir)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (built,) = out_dir.glob("dcs-backup-*.zip")
    return built


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("dist"))


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
        assert not tops & {"tests", "dcs_emulator", "bench", "template", "scripts", "events", "bin"}
        assert not [n for n in names if n.endswith(("/RECORD", "/INSTALLER", "/direct_url.json"))]

    def test_zip_is_within_the_console_limit(self, package: Path) -> None:
        assert package.stat().st_size < 40 * 1024 * 1024

    def test_rebuilding_gives_the_same_bytes(self, package: Path, tmp_path: Path) -> None:
        again = _build(tmp_path)
        assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(package.read_bytes()).digest()


# Also used by bench/cold_start.py, hence the timings.
RUN_FROM_ZIP = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import handler
imported = time.perf_counter()

class Context:
    def getRequestID(self): return "zip-test"
    def getRemainingTimeInMilliSeconds(self): return 60000
    def getSecurityAccessKey(self): return sys.argv[3]
    def getSecuritySecretKey(self): return sys.argv[4]
    def getSecurityToken(self): return ""
    def getProjectID(self): return ""

event = json.load(open(sys.argv[2]))
result = handler.handler(event, Context())
invoked = time.perf_counter()
sdk = sys.modules["huaweicloudsdkdcs.v2.dcs_client"]
print(json.dumps({
    "result": result, "sdk_file": sdk.__file__, "sdk_cached": sdk.__cached__, "modules": len(sys.modules),
    "import_s": imported - started, "invoke_s": invoked - imported,
}))
"""


@pytest.fixture
def extracted(package: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "function"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(target)
    yield target


def test_the_zip_alone_backs_up_an_instance(extracted: Path, tmp_path: Path) -> None:
    # GIVEN only the unzipped function on sys.path of an isolated CPython 3.12
    with DcsEmulator(EmulatorState.from_seed()) as emulator:
        env = {
            "DCS_ENDPOINT": emulator.endpoint,
            "DCS_PROJECT_ID": PROJECT_ID,
            "DCS_INSTANCE_IDS": HA_ID,
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": str(tmp_path),
        }
        # WHEN it handles the sample timer event that uses the configured targets
        run = subprocess.run(
            [
                _python312(),
                "-I",
                "-S",
                "-c",
                RUN_FROM_ZIP,
                str(extracted),
                str(EVENTS_DIR / "timer-defaults.json"),
                ACCESS_KEY,
                SECRET_KEY,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        output = json.loads(run.stdout)
        # THEN the backup exists, and the SDK and its bytecode came from the zip
        assert output["result"]["status"] == "succeeded"
        assert emulator.state.backup_count(HA_ID) == 1
    assert output["sdk_file"].startswith(str(extracted))
    assert output["sdk_cached"].endswith(".cpython-312.pyc")
