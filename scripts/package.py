"""Build dist/dcs-backup-<version>.zip, the exact artifact FunctionGraph runs.

The function code and its pinned runtime dependencies (wheels for Linux x86_64, CPython
3.12) sit at the zip root, with bytecode compiled by CPython 3.12 so a cold start does
not compile hundreds of SDK modules. The same sources always give the same zip.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_LIMIT_BYTES = 40 * 1024 * 1024  # the console's upload limit for a code zip
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# Installed-package metadata the runtime never reads; METADATA stays for importlib.metadata.
DROPPED_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "WHEEL", "entry_points.txt"}
DROPPED_DIRS = {"__pycache__", "bin", "tests", "test"}
FUNCTION_SOURCES = ("handler.py", "dcs_backup")
# Published as source only, and pure Python once crcmod's optional C extension (a CRC64 the export does
# not ask for) is dropped: built here, never with this machine's compiled code.
SOURCE_ONLY = ("esdk-obs-python", "crcmod")
DROPPED_FILES = ("crcmod/_crcfunext*",)
RUNTIME_CACHE_TAG = "cpython-312"  # FunctionGraph's Python 3.12 loads only bytecode with this tag
# What the interpreter says about itself: the bytecode tag it writes, then its version.
IDENTIFY = "import sys; print(sys.implementation.cache_tag, sys.version.split()[0])"
HOW_TO_PROVIDE = (
    "the zip's bytecode must be compiled by CPython 3.12, the function's runtime: install it with pyenv"
    " (pyenv install 3.12), put python3.12 on PATH, or run make package PYTHON312=/path/to/python3.12"
)


class UnusableInterpreterError(Exception):
    """The interpreter given to compile the bytecode is missing or is not CPython 3.12."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python312", default="", help="a CPython 3.12 interpreter to compile bytecode")
    parser.add_argument("--out-dir", type=Path, default=REPO / "dist")
    args = parser.parse_args()
    try:
        check_python312(args.python312)
    except UnusableInterpreterError as exc:
        print(f"error: {exc}; {HOW_TO_PROVIDE}", file=sys.stderr)
        return 2
    version = _version()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "package"
        _install_dependencies(root)
        _copy_function(root)
        _prune(root)
        _compile(root, args.python312)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        target = args.out_dir / f"dcs-backup-{version}.zip"
        count = _write_zip(root, target)
    size = target.stat().st_size
    print(f"{target.relative_to(REPO) if target.is_relative_to(REPO) else target}: {size} bytes, {count} files")
    if size > ZIP_LIMIT_BYTES:
        print(f"error: the zip is larger than the {ZIP_LIMIT_BYTES} byte console limit", file=sys.stderr)
        return 1
    return 0


def check_python312(python312: str) -> None:
    """Refuse, before minutes of downloads, an interpreter whose bytecode the runtime would ignore.

    Raises UnusableInterpreterError saying what was found instead.
    """
    if not python312:
        raise UnusableInterpreterError("no CPython 3.12 interpreter was found")
    try:
        found = subprocess.run([python312, "-c", IDENTIFY], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnusableInterpreterError(f"{python312} cannot be run ({_reason(exc)})") from None
    words = found.stdout.split()
    if found.returncode or len(words) != 2:
        raise UnusableInterpreterError(f"{python312} did not say which Python it is (exit {found.returncode})")
    cache_tag, version = words
    if cache_tag != RUNTIME_CACHE_TAG:
        raise UnusableInterpreterError(f"{python312} is Python {version} ({cache_tag}), not CPython 3.12")


def _reason(exc: OSError | subprocess.TimeoutExpired) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return f"no answer in {exc.timeout:.0f} s"


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((REPO / "dcs_backup" / "__init__.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def _install_dependencies(root: Path) -> None:
    """Wheels for the target runtime, never whatever this machine would build; then the pure sources."""
    lines = (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    sources = [pin for pin in pins if pin.split("==")[0] in SOURCE_ONLY]
    wheels = root.parent / "wheels.txt"
    wheels.write_text("\n".join(pin for pin in pins if pin not in sources) + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    subprocess.run(
        [*pip, "--no-deps", "--target", str(root), "--no-binary", ",".join(SOURCE_ONLY), *sources], check=True
    )
    subprocess.run(
        [
            *pip,
            "--target",
            str(root),
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            "3.12",
            "--only-binary=:all:",
            "-r",
            str(wheels),
        ],
        check=True,
    )


def _copy_function(root: Path) -> None:
    for name in FUNCTION_SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, root / name)


def _prune(root: Path) -> None:
    for pattern in DROPPED_FILES:
        for path in root.glob(pattern):
            path.unlink()
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in DROPPED_DIRS and not path.parent.name.endswith(".dist-info"):
            shutil.rmtree(path)
        elif path.is_file() and path.parent.name.endswith(".dist-info") and path.name in DROPPED_METADATA:
            path.unlink()


def _compile(root: Path, python312: str) -> None:
    """Unchecked-hash pycs stay valid whatever timestamps the platform gives the extracted files.

    The build directory is stripped from the paths recorded in the bytecode, so two builds
    in different temporary directories give identical files.
    """
    subprocess.run(
        [
            python312,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            str(root),
        ],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def _write_zip(root: Path, target: Path) -> int:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return len(files)


if __name__ == "__main__":
    sys.exit(main())
