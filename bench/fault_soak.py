"""Back up many instances while the emulator injects every transient fault; print the figures.

Run by hand: ``.venv/bin/python -m bench.fault_soak [--instances 100] [--rate 0.3] [--seed 7]``.
Retry waits are skipped (the policy's arithmetic is unit-tested) so the run measures the
function's own work; everything else is real: the SDK, HTTP on loopback, signatures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections import Counter

from dcs_backup.app import Runtime, handle
from dcs_backup.platform.retry import RetryPolicy
from dcs_emulator import TRANSIENT_FAULTS, DcsEmulator, EmulatorState
from dcs_emulator.state import Instance
from devkit.context import LocalContext


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=100, help="1 to 100 (one request)")
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", default="8")
    args = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    state = EmulatorState.from_seed(waiting_s=0.5, backuping_s=0.5)
    ids = [f"soak-{n:04d}" for n in range(args.instances)]
    for instance_id in ids:
        state.add_instance(Instance(instance_id, instance_id))
    with DcsEmulator(state) as emulator:
        emulator.faults.set_random(args.rate, TRANSIENT_FAULTS, seed=args.seed, latency_s=0.01)
        logs = io.StringIO()
        runtime = Runtime(
            env={"DCS_ENDPOINT": emulator.endpoint, "DCS_PROJECT_ID": state.project_id,
                 "DCS_MAX_CONCURRENCY": args.concurrency},
            policy=RetryPolicy(max_attempts=12, sleep=lambda _: None),
            log_stream=logs,
        )  # fmt: skip
        started = time.monotonic()
        answer = handle(
            {"instance_ids": ids, "raise_on_failure": False}, LocalContext.seeded(remaining_ms=900_000), runtime
        )
        elapsed = time.monotonic() - started
        lines = [json.loads(line) for line in logs.getvalue().splitlines()]
        outcomes = {r["instance_id"]: r["status"] for r in answer["results"]}
        backups = Counter(state.backup_count(i) for i in ids)
        print(f"instances: {len(ids)}  concurrency: {args.concurrency}  fault rate: {args.rate}  seed: {args.seed}")
        print(f"faults injected: {sum(emulator.faults.injected.values())}")
        for (route, kind), count in sorted(emulator.faults.injected.items(), key=lambda x: (x[0][0], x[0][1].value)):
            print(f"  {route:18} {kind.value:14} {count}")
        print(f"requests received: {len(emulator.requests)}")
        print(f"retries: {sum(1 for line in lines if line['message'] == 'dcs call retrying')}")
        print(f"outcomes: {dict(Counter(outcomes.values()))}  document status: {answer['status']}")
        print(f"outcomes lost: {len(set(ids) - set(outcomes))}")
        print(f"backups per instance: {dict(backups)}  duplicates: {sum(n - 1 for n in backups.elements() if n > 1)}")
        print(f"wall time: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
