"""``make bench-export``: the export at the speed of the link, beside each leg alone and ``rclone copyurl``.

Object storage (the emulator, keeping digests only) runs in a child process behind two throttling
TCP proxies: one caps each download link's connection, one caps the bucket as a whole. This
process runs the engine as the function does (the real OBS SDK, two part buffers per file, the
verifier in the stream), each leg alone (the link read to its end; the same bytes put into the
bucket), and Debian's ``rclone copyurl`` on the same link and bucket, interleaved, so the ratios
compare within one run of a shared, noisy machine. A missed target makes it exit non-zero.

    python -m bench.export_link [--rounds 3] [--part-mb 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection

import requests

from bench.throttle import ThrottledProxy
from dcs_backup.dcs.models import BackupFile
from dcs_backup.export import engine
from dcs_backup.export.base import BackupSource
from dcs_backup.export.errors import classify
from dcs_backup.export.links import LinkPolicy
from dcs_backup.export.obs import ObsAccess, ObsTarget, build_obs_client
from dcs_backup.export.verify.check import FileCheck, _Archive
from dcs_backup.platform.calls import CallLoop
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_emulator.backup_files import GeneratedFile
from dcs_emulator.obs_server import ObsEmulator
from devkit.seed import ACCESS_KEY, SECRET_KEY

MIB = 1 << 20
BUCKET = "bench-exports"
SOURCE_BUCKET = "dcs-backup-files"
RCLONE_REMOTE = "benchobs"
RCLONE_FLAGS = ("--s3-no-check-bucket", "--retries", "1", "--low-level-retries", "1")


@dataclass(frozen=True)
class Scenario:
    name: str
    file_mib: list[int]
    link_mib_s: float  # per link (connection)
    bucket_mib_s: float  # the bucket as a whole


SINGLE = Scenario("one 150 MiB file, link 40 MiB/s, bucket 40 MiB/s", [150], 40, 40)
CLUSTER = Scenario("3-shard cluster, 3 x 50 MiB, 40 MiB/s per link, bucket 120 MiB/s", [50, 50, 50], 40, 120)


@dataclass
class Rig:
    bucket_endpoint: str
    links: list[BackupFile]
    sizes: list[int]


def _serve(scenario: Scenario, conn: Connection) -> None:
    """The child process: object storage behind the two proxies, until the parent says stop."""
    with ObsEmulator({ACCESS_KEY: SECRET_KEY}, keep_data=False) as storage:
        storage.store.create_bucket(BUCKET)
        link_proxy = ThrottledProxy(storage.endpoint, scenario.link_mib_s * MIB, per_connection=True)
        bucket_proxy = ThrottledProxy(storage.endpoint, scenario.bucket_mib_s * MIB, per_connection=False)
        with link_proxy, bucket_proxy:
            storage.link_endpoint = link_proxy.endpoint
            links = []
            for n, mib in enumerate(scenario.file_mib):
                name = f"shard-{n}.rdb"
                generated = GeneratedFile(name, mib * MIB, f"bench-{n}")
                next(generated.chunks(0, 1))  # the RDB's frame (its CRC) is made now, not during a copy
                storage.store.publish(SOURCE_BUCKET, name, generated)
                links.append((name, storage.presign(SOURCE_BUCKET, name, 3600)))
            conn.send({"bucket": bucket_proxy.endpoint, "links": links, "sizes": [m * MIB for m in scenario.file_mib]})
            conn.recv()


@contextmanager
def _servers(scenario: Scenario) -> Iterator[Rig]:
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=_serve, args=(scenario, theirs), daemon=True)
    child.start()
    try:
        ready = ours.recv()
        yield Rig(ready["bucket"], [BackupFile(n, link) for n, link in ready["links"]], ready["sizes"])
    finally:
        ours.send("stop")
        child.join(10)


def _unchecked(claimed_format: str) -> FileCheck:
    """Verification off: a check that takes every file for an archive, so its bytes pass through unread
    (only for the on/off comparison; its state is kept at each part as the real one's is)."""
    check = FileCheck(claimed_format)
    check._verifier = _Archive()
    return check


class Subjects:
    """Each way of moving the scenario's files, timed in seconds."""

    def __init__(self, rig: Rig, part_size: int) -> None:
        self._rig = rig
        self._part_size = part_size
        self._runs = 0
        self._client = build_obs_client(ObsAccess(rig.bucket_endpoint, ACCESS_KEY, SECRET_KEY))

    def engine(self, *, verify: bool = True) -> float:
        self._runs += 1
        deadline = Deadline.from_remaining_ms(600_000)
        policy = RetryPolicy()
        target = ObsTarget(self._client, BUCKET, CallLoop(deadline, policy, classify))
        source = BackupSource("bench-instance", "bench", f"backup-{self._runs}", "rdb", None, sum(self._rig.sizes))
        names = vars(engine)  # verification off swaps the engine's check for one that reads nothing
        original = names["FileCheck"]
        names["FileCheck"] = original if verify else _unchecked
        started = time.monotonic()
        try:
            with requests.Session() as session:
                result = engine.export_backup(
                    self._rig.links,
                    source,
                    target,
                    prefix=f"engine-{self._runs}/",
                    deadline=deadline,
                    policy=policy,
                    part_size=self._part_size,
                    http_session=session,
                    link_policy=LinkPolicy.for_export(None, None, self._rig.bucket_endpoint),
                    file_slots=threading.BoundedSemaphore(len(self._rig.links)),
                )
        finally:
            names["FileCheck"] = original
        if result.status != "done":
            raise SystemExit(f"the export did not finish: {result.status} {result.reason}")
        return time.monotonic() - started

    def link_alone(self) -> float:
        """Every link read to its end (at once, as the engine reads them)."""
        return _at_once([partial(_read_link, f.link) for f in self._rig.links])

    def bucket_alone(self) -> float:
        """The same bytes put into the bucket in the same parts, files at once."""
        self._runs += 1
        return _at_once([partial(self._put, f"alone-{self._runs}/{n}", s) for n, s in enumerate(self._rig.sizes)])

    def rclone(self) -> float:
        self._runs += 1
        # Loopback over plain http: a CA bundle set for the AWS SDKs would only make rclone refuse its transport.
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"} | _rclone_config(self._rig.bucket_endpoint)
        env["NO_PROXY"] = "127.0.0.1,localhost"
        commands = [
            ["rclone", "copyurl", f.link, f"{RCLONE_REMOTE}:{BUCKET}/rclone-{self._runs}/{f.file_name}", *RCLONE_FLAGS]
            for f in self._rig.links
        ]
        started = time.monotonic()
        processes = [subprocess.Popen(c, env=env, stderr=subprocess.PIPE) for c in commands]
        for process in processes:
            _, error = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"rclone failed: {error.decode(errors='replace')[-500:]}")
        return time.monotonic() - started

    def _put(self, key: str, size: int) -> None:
        from obs import CompleteMultipartUploadRequest, CompletePart

        upload_id = self._client.initiateMultipartUpload(BUCKET, key).body.uploadId
        piece = GeneratedFile("alone.bin", self._part_size, key).read()
        parts = []
        for number, offset in enumerate(range(0, size, self._part_size), start=1):
            data = memoryview(piece)[: min(self._part_size, size - offset)]
            sent = self._client.uploadPart(
                BUCKET, key, number, upload_id, content=_Reader(data), partSize=len(data), autoClose=False
            )
            parts.append(CompletePart(number, sent.body.etag))
        done = self._client.completeMultipartUpload(BUCKET, key, upload_id, CompleteMultipartUploadRequest(parts=parts))
        if done.status >= 300:
            raise SystemExit(f"the bucket leg failed: {done.status} {done.errorCode}")


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._at + size)
        piece, self._at = bytes(self._data[self._at : end]), end
        return piece


def _engine_peak_rss_mib(rig: Rig, part_size: int) -> float:
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_export_once, args=(rig, part_size, theirs))
    process.start()
    peak = float(ours.recv())
    process.join(60)
    return peak


def _export_once(rig: Rig, part_size: int, conn: Connection) -> None:
    Subjects(rig, part_size).engine()
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _read_link(link: str) -> None:
    with requests.get(link, stream=True, timeout=30) as response:
        while response.raw.read(MIB):
            pass


def _at_once(jobs: list[Callable[[], None]]) -> float:
    threads = [threading.Thread(target=job) for job in jobs]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _rclone_config(endpoint: str) -> dict[str, str]:
    prefix = f"RCLONE_CONFIG_{RCLONE_REMOTE.upper()}_"
    values = {
        "TYPE": "s3",
        "PROVIDER": "Other",
        "ACCESS_KEY_ID": ACCESS_KEY,
        "SECRET_ACCESS_KEY": SECRET_KEY,
        "ENDPOINT": endpoint,
        "V2_AUTH": "true",
        "FORCE_PATH_STYLE": "true",
    }
    return {prefix + name: value for name, value in values.items()}


def _judge(label: str, value: float, target: float, unit: str = "", missed: list[str] | None = None) -> None:
    met = value <= target
    if not met and missed is not None:
        missed.append(label)
    print(f"  {label:48}{value:8.2f}{unit}  ({'met' if met else 'MISSED'}: target ≤ {target:g}{unit})")


def _timed(rounds: int, subjects: dict[str, Callable[[], float]]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in subjects}
    names = list(subjects)
    for n in range(rounds):
        for name in names[n % len(names) :] + names[: n % len(names)]:  # each goes first in turn
            times[name].append(subjects[name]())
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part-mb", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("rclone") is None:
        raise SystemExit("rclone is not installed (Debian: apt-get install rclone)")
    part = args.part_mb * MIB
    missed: list[str] = []
    version = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout.split("\n", 1)[0]
    print(f"export at the speed of the link: {args.part_mb} MiB parts, median of {args.rounds} interleaved rounds")
    print(f"  {version}, {os.cpu_count()} cpus (shared, noisy: the ratios compare within this run)")
    with _servers(SINGLE) as rig:
        subjects = Subjects(rig, part)
        t = _timed(
            args.rounds,
            {
                "link": subjects.link_alone,
                "bucket": subjects.bucket_alone,
                "engine": subjects.engine,
                "engine, verification off": lambda: subjects.engine(verify=False),
                "rclone": subjects.rclone,
            },
        )
    slower = max(t["link"], t["bucket"])
    print(f"\n{SINGLE.name}")
    print("  " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in t.items()))
    _judge("export / slower leg alone", t["engine"] / slower, 1.05, "x", missed)
    _judge("export / rclone copyurl", t["engine"] / t["rclone"], 1.0, "x", missed)
    _judge("verification on / off", t["engine"] / t["engine, verification off"], 1.05, "x", missed)
    with _servers(CLUSTER) as rig:
        subjects = Subjects(rig, part)
        c = _timed(args.rounds, {"engine": subjects.engine, "rclone x3": subjects.rclone, "link": subjects.link_alone})
        peak = _engine_peak_rss_mib(rig, part)
    print(f"\n{CLUSTER.name}")
    print("  " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in c.items()))
    _judge("export / three parallel rclone copyurl", c["engine"] / c["rclone x3"], 1.2, "x", missed)
    limit = 2 * len(CLUSTER.file_mib) * args.part_mb + 64  # the most buffers in flight: two per shard
    print("\nmemory: a fresh process that only runs the export of the cluster (its peak RSS)")
    _judge(f"peak RSS (buffers x part + 64 = {limit} MiB)", peak, limit, " MiB", missed)
    if missed:
        raise SystemExit(f"MISSED: {', '.join(missed)}")


if __name__ == "__main__":
    main()
