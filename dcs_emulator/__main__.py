"""Run the emulator standalone: ``python -m dcs_emulator [--port N] [--seed FILE] [--fleet N]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dcs_emulator.server import DcsEmulator
from dcs_emulator.state import DEFAULT_SEED, EmulatorState


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dcs_emulator", description="Local DCS v2 API emulator.")
    parser.add_argument("--port", type=int, default=8089, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument(
        "--seed", type=Path, default=DEFAULT_SEED, help="JSON file with project, credentials, instances"
    )
    parser.add_argument("--waiting-s", type=float, default=5.0, help="seconds a new backup stays 'waiting'")
    parser.add_argument("--backuping-s", type=float, default=30.0, help="seconds a backup stays 'backuping'")
    parser.add_argument("--fleet", type=int, default=0, help="add N generated instances to the seeded ones")
    parser.add_argument("--fleet-seed", type=int, default=0, help="which reproducible fleet to generate")
    args = parser.parse_args()
    state = EmulatorState.fleet(
        args.fleet, seed=args.fleet_seed, path=args.seed, waiting_s=args.waiting_s, backuping_s=args.backuping_s
    )
    with DcsEmulator(state, args.port) as emulator:
        print(
            f"DCS emulator listening on {emulator.endpoint} (project {state.project_id},"
            f" {len(state.instances)} instances)",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
