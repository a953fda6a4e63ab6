"""Cold-start cost: time to import the function in a fresh interpreter, and its first invocation.

Run by hand after ``make package``:
``.venv/bin/python -m bench.cold_start [--runs 15]``. Each run starts a fresh CPython 3.12 with
only the unzipped package on its path (as FunctionGraph does), imports ``handler`` and invokes it
once on the sample timer event against the emulator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import zipfile
from pathlib import Path

from dcs_emulator import DcsEmulator, EmulatorState
from devkit.seed import HA_ID
from devkit.zip_probe import probe

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    (package,) = sorted((REPO / "dist").glob("dcs-backup-*.zip"))
    with tempfile.TemporaryDirectory() as work, DcsEmulator(EmulatorState.from_seed()) as emulator:
        with zipfile.ZipFile(package) as archive:
            archive.extractall(work)
        env = {
            "DCS_ENDPOINT": emulator.endpoint,
            "DCS_PROJECT_ID": emulator.state.project_id,
            "DCS_INSTANCE_IDS": HA_ID,
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": work,
            "LOG_LEVEL": "WARNING",
        }
        event = REPO / "events" / "timer-defaults.json"
        samples = [probe(Path(work), event, env).report for _ in range(args.runs)]
    imports = [s["import_s"] * 1000 for s in samples]
    invokes = [s["invoke_s"] * 1000 for s in samples]
    print(f"package: {package.name} ({package.stat().st_size} bytes), runs: {args.runs}, cpus: {os.cpu_count()}")
    print(f"import handler: median {statistics.median(imports):.0f} ms, min {min(imports):.0f}, max {max(imports):.0f}")
    print(
        f"first invocation: median {statistics.median(invokes):.0f} ms, min {min(invokes):.0f}, max {max(invokes):.0f}"
    )
    print(f"modules loaded after import+invoke: {samples[0]['modules']}")


if __name__ == "__main__":
    main()
