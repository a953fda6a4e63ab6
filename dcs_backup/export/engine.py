"""Copying a backup's files from DCS's download links into a bucket: one multipart upload per file.

Each part is read into one of two reusable buffers (never the whole file, never /tmp) while the
other is being sent (see ``pipeline``), with its Content-MD5, and the completed object's size is
checked; a cluster's shards are copied at the same time, as many as the memory holds. No part is
started that cannot finish before the deadline at the throughput measured so far: the upload is then aborted and the
export reported ``pending``, for the next run to start again (a half-copied file is not kept
waiting, billed, for a run that may never come; the bucket's lifecycle rule is the backstop).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import requests
import structlog

from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.base import (
    BackupSource,
    ExportObject,
    ExportResult,
    ExportStatus,
    ExportTarget,
    object_key,
    safe_file_names,
)
from dcs_backup.export.download import LinkDownload
from dcs_backup.export.errors import classify
from dcs_backup.export.links import LinkPolicy
from dcs_backup.export.pipeline import NoTimeLeftError, PartPipeline, PartPlan
from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import show_list

MIB = 1024 * 1024
MIN_PART_BYTES = 100 * 1024  # OBS's smallest part (but the last); the function's setting starts at 5 MiB
MAX_PARTS = 10_000
MAX_FILE_THREADS = 16  # files waiting for a slot (each holding none of its memory yet)
# Until a part has been timed: a deliberately modest rate, so the first part is not started blindly.
ASSUMED_BYTES_PER_S = 16 * MIB

log = structlog.get_logger("dcs_backup.export")


@dataclass
class Pace:
    """Throughput of one file's stream, measured over the parts done so far (by every file: they run
    alike), to decide whether the next part fits; parts of several files record it at once."""

    reserve_s: float
    assumed_bytes_per_s: float = ASSUMED_BYTES_PER_S
    bytes_done: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def bytes_per_s(self) -> float:
        with self._lock:
            done, seconds = self.bytes_done, self.seconds
        return done / seconds if done and seconds > 0 else self.assumed_bytes_per_s

    def require(self, size: int, deadline: Deadline, *, measured_only: bool = False) -> None:
        if measured_only and not self.bytes_done:
            return
        rate = self.bytes_per_s
        if not deadline.allows(size / rate + self.reserve_s):
            raise NoTimeLeftError(f"{size} bytes need about {size / rate:.1f} s at {rate / MIB:.1f} MiB/s")

    def record(self, size: int, seconds: float) -> None:
        with self._lock:
            self.bytes_done += size
            self.seconds += seconds


def export_backup(
    files: Sequence[BackupFile],
    source: BackupSource,
    target: ExportTarget,
    *,
    prefix: str,
    deadline: Deadline,
    policy: RetryPolicy,
    part_size: int,
    http_session: requests.Session,
    link_policy: LinkPolicy,
    file_slots: threading.Semaphore | None = None,
    assumed_bytes_per_s: float = ASSUMED_BYTES_PER_S,
) -> ExportResult:
    """Export every file (idempotently: an object already there with the same size is not copied again).

    Never raises for a failed call: the result says ``failed`` or ``pending`` with a reason naming the file.
    ``target`` is built on the same ``deadline`` (see ``ObsTarget``); ``part_size`` is in bytes. Every
    link is judged by ``link_policy`` before any is fetched. A cluster's shards are copied at the same
    time, each once it holds one of ``file_slots`` (shared by the invocation's exports: each holds two
    parts in memory; without it, one file at a time); once one fails, no other starts.
    """
    if part_size < MIN_PART_BYTES:
        raise ValueError(f"part_size must be at least {MIN_PART_BYTES} bytes")
    if not files:
        return ExportResult("failed", reason="DCS gave no download link for the backup")
    refused = _refused_link(safe_file_names(files), link_policy)
    if refused is not None:
        return ExportResult("failed", reason=refused)
    # Time kept after the last part for completing (or aborting) the upload and checking the object.
    pace = Pace(reserve_s=3 * policy.min_attempt_s, assumed_bytes_per_s=assumed_bytes_per_s)
    slots = file_slots or threading.BoundedSemaphore(1)
    copier = _FileCopier(source, target, CallLoop(deadline, policy, classify), pace, part_size, http_session, slots)
    named = safe_file_names(files)
    try:
        expected = copier.expected_sizes(named)
    except CallError as error:
        return ExportResult(_status_of(error), reason=f"{error.operation}: {error.message}")
    keys = [object_key(prefix, source.instance_id, source.backup_id, file.file_name) for file in named]
    with ThreadPoolExecutor(max_workers=min(MAX_FILE_THREADS, len(named)), thread_name_prefix="export") as pool:
        copies = [pool.submit(copier.copy, *job) for job in zip(named, keys, expected, strict=True)]
        wait(copies, return_when=FIRST_EXCEPTION)
        for copy in copies:
            copy.cancel()  # those not started: the export has failed or is cut short anyway
    return _result(named, copies)


def _result(files: Sequence[BackupFile], copies: Sequence[Future[ExportObject]]) -> ExportResult:
    """``done`` when every copy is; else the first failure in file order (a failed file before a pending one)."""
    settled = [(file, copy) for file, copy in zip(files, copies, strict=True) if not copy.cancelled()]
    objects = tuple(copy.result() for _, copy in settled if copy.exception() is None)
    problems = [(file, problem) for file, copy in settled if (problem := copy.exception()) is not None]
    for file, problem in sorted(problems, key=lambda found: isinstance(found[1], NoTimeLeftError)):
        if isinstance(problem, NoTimeLeftError):
            return ExportResult("pending", objects, f"{file.file_name}: not enough time left ({problem})")
        if isinstance(problem, CallError):
            reason = f"{file.file_name}: {problem.operation}: {problem.message}"
            return ExportResult(_status_of(problem), objects, reason)
        raise problem  # not a call's failure: a fault in the code, never hidden
    return ExportResult("done", objects)


def _status_of(error: CallError) -> ExportStatus:
    return "pending" if error.kind is ErrorKind.DEADLINE else "failed"


def _refused_link(files: Sequence[BackupFile], policy: LinkPolicy) -> str | None:
    """The first link the policy refuses, as a reason naming its file (never the link itself)."""
    for file in files:
        problem = policy.problem(file.link)
        if problem is not None:
            return f"{file.file_name}: the download link was not followed: {problem}"
    return None


def _checked(check: FileCheck, part: memoryview) -> None:
    try:
        check.feed(part)
    except CorruptFileError as corrupt:
        raise _corrupt(corrupt) from None


def _verdict(check: FileCheck) -> Verification:
    try:
        return check.finish()
    except CorruptFileError as corrupt:
        raise _corrupt(corrupt) from None


def _corrupt(corrupt: CorruptFileError) -> CallError:
    return CallError(ErrorKind.REJECTED, "VerifyBackupFile", f"the backup file is corrupt: {corrupt}")


def _size_mismatch(size: int, expected: int, recorded: int | None) -> CallError:
    basis = (
        f"DCS records the backup as {recorded} bytes" if expected == recorded else f"asked its size it said {expected}"
    )
    return CallError(ErrorKind.REJECTED, "DownloadBackupFile", f"the download announces {size} bytes, but {basis}")


class _FileCopier:
    """Streams each file through two part-sized buffers (one downloading, one uploading); files may run at once."""

    def __init__(
        self,
        source: BackupSource,
        target: ExportTarget,
        loop: CallLoop,
        pace: Pace,
        part_size: int,
        session: requests.Session,
        slots: threading.Semaphore,
    ) -> None:
        self._slots = slots
        self._source = source
        self._target = target
        self._loop = loop
        self.pace = pace
        self._part_size = part_size
        self._session = session

    def expected_sizes(self, files: Sequence[BackupFile]) -> list[int | None]:
        """What each file must hold so that the export adds up to the size DCS records for the backup.

        One file must hold it all. Several (a cluster's shards) are each asked their size first, with a
        one-byte range, so that a mismatch fails the export before any object is written; their answers
        then bind each download. Without a recorded size, each download is checked against itself only.
        """
        recorded = self._source.size_bytes
        if not recorded:
            return [None] * len(files)
        if len(files) == 1:
            return [recorded]
        sizes = [LinkDownload(file, self._session, self._loop).probe() for file in files]
        if sum(sizes) != recorded:
            shown = show_list([f"{file.file_name} {size}" for file, size in zip(files, sizes, strict=True)], 5)
            raise CallError(
                ErrorKind.REJECTED,
                "DownloadBackupFile",
                f"the backup's files hold {sum(sizes)} bytes in all ({shown}), "
                f"but DCS records the backup as {recorded} bytes",
            )
        return list(sizes)

    def copy(self, file: BackupFile, key: str, expected: int | None) -> ExportObject:
        """The object once it holds the file (now or before), copied once a slot is free."""
        deadline = self._loop.deadline
        if not self._slots.acquire(timeout=max(0.0, deadline.remaining() - self.pace.reserve_s)):
            raise NoTimeLeftError("every file slot the memory allows stayed taken until the deadline")
        try:
            return self._copy(file, key, expected)
        finally:
            self._slots.release()

    def _copy(self, file: BackupFile, key: str, expected: int | None) -> ExportObject:
        """The download must announce ``expected`` (when known)."""
        download = LinkDownload(file, self._session, self._loop, self.pace.reserve_s)
        try:
            size = download.open()
            if expected is not None and size != expected:
                raise _size_mismatch(size, expected, self._source.size_bytes)
            if self._target.existing_size(key) == size:
                log.info("export object already present", key=key, size_bytes=size)
                return ExportObject(key, size)
            parts = max(1, math.ceil(size / self._part_size))
            if parts > MAX_PARTS:
                raise CallError(ErrorKind.REJECTED, "UploadPart", f"{size} bytes need more than {MAX_PARTS} parts")
            self.pace.require(size, self._loop.deadline, measured_only=True)
            verification = self._upload(download, key, size, parts, FileCheck(self._claimed_format(file)))
        finally:
            download.close()
        stored = self._target.existing_size(key)
        if stored != size:
            raise CallError(ErrorKind.REJECTED, "HeadObject", f"the object holds {stored} bytes, not {size}")
        return ExportObject(key, size, verification)

    def _claimed_format(self, file: BackupFile) -> str:
        """What DCS calls the file: its name's suffix, else the backup's format."""
        suffix = file.file_name.rsplit(".", 1)[-1].lower()
        return suffix if suffix in ("rdb", "aof") else self._source.backup_format

    def _upload(self, download: LinkDownload, key: str, size: int, parts: int, check: FileCheck) -> Verification:
        """Every part goes through ``check`` before it is sent; a file that fails it is never completed."""
        upload_id = self._target.start_upload(key, self._source.metadata())
        clock = self._loop.deadline.clock
        started = clock()
        plan = PartPlan(size, self._part_size, first=1, last=parts)
        try:
            PartPipeline(self._target, key, upload_id, self.pace, self._loop.deadline).run(
                _CheckedDownload(download, check), plan
            )
            download.finish()
            verification = _verdict(check)
            self._target.complete_upload(key, upload_id, [(part.number, part.etag) for part in plan.sent])
        except BaseException:
            self._abort(key, upload_id)
            raise
        seconds = clock() - started
        log.info(
            "export object copied and verified",
            key=key,
            size_bytes=size,
            parts=parts,
            seconds=round(seconds, 3),
            **verification.to_dict(),
        )
        return verification

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort: when even this fails, the bucket's lifecycle rule removes the parts."""
        try:
            self._target.abort_upload(key, upload_id)
        except CallError as error:
            log.warning("export upload not aborted", key=key, error_kind=error.kind.value, error_code=error.error_code)


class _CheckedDownload:
    """The download leg's parts: read from the link, each verified before it may be sent."""

    def __init__(self, download: LinkDownload, check: FileCheck) -> None:
        self._download = download
        self._check = check

    def fill(self, part: memoryview) -> None:
        self._download.fill(part)

    def check(self, part: memoryview) -> None:
        _checked(self._check, part)
