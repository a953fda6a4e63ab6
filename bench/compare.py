"""``make bench``: the function side by side with the SDK's sample code, the import floor and the raw SDK.

Every figure comes from the zip ``make package`` built, run as FunctionGraph runs it: a fresh
CPython 3.12 (``-I -S``) with only the unzipped package on its path, against the DCS emulator on
loopback. These machines are shared and noisy, so runs are interleaved and the figures that
matter are the ratios printed beside them, which only compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dcs_backup import __version__
from dcs_emulator import DcsEmulator, EmulatorState, FaultKind
from dcs_emulator.state import Instance
from devkit.seed import HA_ID
from devkit.zip_probe import ProbeRun, probe, python312

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = BENCH / "sdk_sample_handler.py"
FLOOR = BENCH / "floor_handler.py"
CALLS_PER_INSTANCE = 3  # ShowInstance, ListBackupRecords, CopyInstance
MIB = 1024  # ru_maxrss is in KiB on Linux


@dataclass(frozen=True)
class Subject:
    name: str
    handler: tuple[Path, str] | None  # None: the package's handler.handler


FUNCTION = Subject("this function", None)
SDK_SAMPLE = Subject("SDK-sample handler", (SAMPLE, "handler"))
FLOOR_IMPORTS = Subject("floor (imports only)", (FLOOR, "handler"))
RAW_SDK = Subject("raw SDK, same calls", (SAMPLE, "threaded_handler"))


@dataclass
class Bench:
    """The unzipped package, the emulator and what every probe process shares."""

    package_dir: Path
    work: Path
    emulator: DcsEmulator

    def run(self, subject: Subject, instance_ids: list[str], concurrency: int, warm_runs: int = 0) -> ProbeRun:
        event = self.work / f"event-{len(instance_ids)}.json"
        event.write_text(json.dumps({"instance_ids": instance_ids, "raise_on_failure": False}), encoding="utf-8")
        env = {
            "DCS_ENDPOINT": self.emulator.endpoint,
            "DCS_PROJECT_ID": self.emulator.state.project_id,
            "DCS_MAX_CONCURRENCY": str(concurrency),
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": str(self.work),  # the SDK writes ~/.huaweicloud on import
        }
        return probe(self.package_dir, event, env, handler=subject.handler, warm_runs=warm_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument("--warm-runs", type=int, default=40)
    parser.add_argument("--fan-out-runs", type=int, default=3)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--latency-s", type=float, default=0.05)
    parser.add_argument("--warm-latency-s", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    package = REPO / "dist" / f"dcs-backup-{__version__}.zip"
    fan_out_ids = [f"bench-{n:03d}" for n in range(args.instances)]
    with _bench(package, fan_out_ids) as bench:
        print(f"{package.relative_to(REPO)} on {python312()}, {os.cpu_count()} cpus, DCS emulator on loopback")
        _cold_start(bench, args.cold_runs)
        _warm(bench, args.warm_runs, args.warm_latency_s)
        bench.emulator.faults.set_random(1.0, [FaultKind.LATENCY], seed=1, latency_s=args.latency_s)
        _fan_out(bench, fan_out_ids, args.concurrency, args.fan_out_runs, args.latency_s)
    size_mb = package.stat().st_size / 1e6
    print(f"\nzip: {size_mb:.1f} MB ({package.stat().st_size} bytes)  {_verdict(size_mb, 15, 'MB')}")
    if MISSED:
        raise SystemExit(f"MISSED {len(MISSED)} target(s): {', '.join(MISSED)}")


@contextmanager
def _bench(package: Path, fan_out_ids: list[str]) -> Iterator[Bench]:
    # Backups finish at once, so every invocation makes all three calls (none waits on a running backup).
    state = EmulatorState.from_seed(waiting_s=0, backuping_s=0)
    for instance_id in fan_out_ids:
        state.add_instance(Instance(instance_id, instance_id))
    with tempfile.TemporaryDirectory() as work, DcsEmulator(state) as emulator:
        package_dir = Path(work) / "package"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(package_dir)
        yield Bench(package_dir, Path(work), emulator)


def _cold_start(bench: Bench, runs: int) -> None:
    subjects = [FUNCTION, SDK_SAMPLE, FLOOR_IMPORTS]
    samples: dict[Subject, list[ProbeRun]] = {s: [] for s in subjects}
    for n in range(runs):
        for subject in subjects[n % 3 :] + subjects[: n % 3]:  # each goes first in turn
            samples[subject].append(bench.run(subject, [HA_ID], concurrency=4))
    print(f"\ncold start: fresh process, import + first invocation of one instance, median of {runs} interleaved")
    print(f"  {'':22}{'process ms':>12}{'import+invoke ms':>18}{'peak RSS MiB':>14}{'model modules':>15}")
    for subject, runs_ in samples.items():
        print(
            f"  {subject.name:22}{_median(runs_, _process_ms):12.0f}{_median(runs_, _inside_ms):18.0f}"
            f"{_median(runs_, _rss_mib):14.1f}{len(runs_[0].report['model_modules']):15}"
        )
    function, sample, floor = (samples[s] for s in subjects)
    for label, of in (("process", _process_ms), ("import+invoke", _inside_ms)):
        print(f"  {label}: function / sample {_ratio(function, sample, of, 0.75)}", end="")
        print(f", function / floor {_ratio(function, floor, of, 1.15)}")
    print(f"  peak RSS: function / sample {_ratio(function, sample, _rss_mib, 0.85)}")


def _warm(bench: Bench, runs: int, latency_s: float) -> None:
    """What a caller waits for, each DCS call taking ``latency_s`` (as in the cloud), and the CPU the
    function itself spends per invocation (process time: the same at any latency)."""
    rounds = 4
    warm: dict[Subject, list[float]] = {FUNCTION: [], RAW_SDK: []}
    cpu: dict[Subject, list[float]] = {FUNCTION: [], RAW_SDK: []}
    bench.emulator.faults.set_random(1.0, [FaultKind.LATENCY], seed=2, latency_s=latency_s)
    for _ in range(rounds):
        for subject in warm:
            report = bench.run(subject, [HA_ID], concurrency=4, warm_runs=-(-runs // rounds)).report
            warm[subject] += report["warm_s"]
            cpu[subject] += report["warm_cpu_s"]
    bench.emulator.faults.clear()
    function, raw = (statistics.median(t) * 1000 for t in warm.values())
    function_cpu, raw_cpu = (statistics.median(t) * 1000 for t in cpu.values())
    print(
        f"\nwarm invocation: one instance, {latency_s * 1000:.0f} ms per DCS call, median of {len(warm[FUNCTION])} "
        f"({rounds} interleaved processes each)"
    )
    print(f"  this function {function:.1f} ms, raw SDK {raw:.1f} ms: function / raw {_judge(function / raw, 1.02)}")
    print(f"  CPU per invocation: this function {function_cpu:.1f} ms, raw SDK {raw_cpu:.1f} ms")


def _fan_out(bench: Bench, ids: list[str], concurrency: int, runs: int, latency_s: float) -> None:
    warm: dict[Subject, list[float]] = {FUNCTION: [], RAW_SDK: []}
    rss: dict[Subject, float] = {FUNCTION: 0.0, RAW_SDK: 0.0}
    for _ in range(runs):
        for subject, times in warm.items():
            run = bench.run(subject, ids, concurrency=concurrency, warm_runs=1)
            times += run.report["warm_s"]
            rss[subject] = max(rss[subject], _rss_mib(run))
    function, raw = (statistics.median(t) for t in warm.values())
    ideal = len(ids) * CALLS_PER_INSTANCE * latency_s / concurrency
    print(
        f"\nfan-out: {len(ids)} instances, {latency_s * 1000:.0f} ms per call, {concurrency} at once, "
        f"median of {runs} warm invocations"
    )
    print(f"  this function {function:.2f} s, raw SDK {raw:.2f} s, ideal {ideal:.2f} s")
    print(f"  function / raw {_judge(function / raw, 1.05)}, function / ideal {function / ideal:.2f}")
    print(
        f"  peak RSS: function {rss[FUNCTION]:.1f} MiB {_verdict(rss[FUNCTION], 100, 'MiB')}, "
        f"raw SDK {rss[RAW_SDK]:.1f} MiB"
    )


def _process_ms(run: ProbeRun) -> float:
    return run.process_s * 1000


def _inside_ms(run: ProbeRun) -> float:
    return float(run.report["import_s"] + run.report["invoke_s"]) * 1000


def _rss_mib(run: ProbeRun) -> float:
    return float(run.report["max_rss_kib"]) / MIB


def _median(runs: list[ProbeRun], figure: Callable[[ProbeRun], float]) -> float:
    return statistics.median(figure(run) for run in runs)


def _ratio(a: list[ProbeRun], b: list[ProbeRun], figure: Callable[[ProbeRun], float], target: float) -> str:
    return _judge(_median(a, figure) / _median(b, figure), target)


MISSED: list[str] = []  # every target missed in this run: ``make bench`` then exits non-zero


def _judge(ratio: float, target: float) -> str:
    return f"{ratio:.2f} {_verdict(ratio, target, '')}"


def _verdict(value: float, limit: float, unit: str) -> str:
    met = value <= limit
    if not met:
        MISSED.append(f"{value:.2f} > {limit}{' ' + unit if unit else ''}")
    return f"({'met' if met else 'MISSED'}: target ≤ {limit}{' ' + unit if unit else ''})"


if __name__ == "__main__":
    main()
