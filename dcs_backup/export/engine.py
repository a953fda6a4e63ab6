"""Copying a backup's files from DCS's download links into a bucket: one multipart upload per file.

Each part is read into one of two reusable buffers (never the whole file, never /tmp) while the
other is being sent (see ``pipeline``), with its Content-MD5, and the completed object's size is
checked; a cluster's shards are copied at the same time, as many as the memory holds. No part is
started that cannot finish before the deadline at the throughput measured so far. A file cut short
keeps its upload open and its progress recorded (``progress``): the next run lists the parts OBS
holds, asks the link for the rest with a Range request and carries the verifier on from its state
at the last part, so the object is still checked over every byte and no part is sent twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests
import structlog

from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.base import (
    BackupSource,
    CorruptFile,
    ExportObject,
    ExportProgress,
    ExportResult,
    ExportStatus,
    ExportTarget,
    object_key,
    safe_file_names,
)
from dcs_backup.export.download import LinkDownload
from dcs_backup.export.errors import classify
from dcs_backup.export.links import LinkPolicy
from dcs_backup.export.pipeline import (
    MIN_PART_BYTES,
    NoTimeLeftError,
    PartPipeline,
    PartPlan,
    SentPart,
    part_count,
    part_end,
)
from dcs_backup.export.progress import FileProgress, ProgressBook, progress_key
from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck
from dcs_backup.export.verify.state import StateError, restore, snapshot
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import show_list

MIB = 1024 * 1024
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
    copied: Callable[[str, int, int], None] | None = None,
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
    loop = CallLoop(deadline, policy, classify)
    named = safe_file_names(files)
    book = ProgressBook(target, progress_key(prefix, source.instance_id), source.backup_id)
    result: ExportResult | None = None
    try:
        book.open()
        slots = file_slots or threading.BoundedSemaphore(1)
        copier = _FileCopier(source, target, loop, pace, part_size, http_session, slots, book, copied)
        expected = copier.expected_sizes(named)
        keys = [object_key(prefix, source.instance_id, source.backup_id, file.file_name) for file in named]
        with ThreadPoolExecutor(max_workers=min(MAX_FILE_THREADS, len(named)), thread_name_prefix="export") as pool:
            copies = [pool.submit(copier.copy, *job) for job in zip(named, keys, expected, strict=True)]
            wait(copies, return_when=FIRST_EXCEPTION)
            for copy in copies:
                copy.cancel()  # those not started: the export has failed or is cut short anyway
        result = _result(named, copies, expected)
    except CallError as error:
        result = ExportResult(_status_of(error), reason=f"{error.operation}: {error.message}")
    finally:
        _close(book, keep=result is None or result.status == "pending")
    return result


def _close(book: ProgressBook, *, keep: bool) -> None:
    """The progress record written for the next run (pending), else removed; a failure here is only logged."""
    try:
        book.close(keep=keep)
    except CallError as error:
        log.warning("export progress record not updated", error_kind=error.kind.value, error_code=error.error_code)


def _result(
    files: Sequence[BackupFile], copies: Sequence[Future[ExportObject]], expected: Sequence[int | None]
) -> ExportResult:
    """``done`` when every copy is; else the first failure in file order (a failed file before a pending one),
    with how far the export got when it is pending."""
    settled = [(file, copy) for file, copy in zip(files, copies, strict=True) if not copy.cancelled()]
    objects = tuple(copy.result() for _, copy in settled if copy.exception() is None)
    problems = [(file, problem) for file, copy in settled if (problem := copy.exception()) is not None]
    for file, problem in sorted(problems, key=lambda found: isinstance(found[1], _CutShortError)):
        if isinstance(problem, _CutShortError):
            reason = f"{file.file_name}: not enough time left ({problem}); the next run continues"
            return ExportResult("pending", objects, reason, progress=_progress(copies, objects, expected))
        if isinstance(problem, CallError):
            reason = f"{file.file_name}: {problem.operation}: {problem.message}"
            corrupt = problem.corrupt_file(file.file_name) if isinstance(problem, CorruptBackupError) else None
            return ExportResult(_status_of(problem), objects, reason, corrupt)
        raise problem  # not a call's failure: a fault in the code, never hidden
    return ExportResult("done", objects)


def _progress(
    copies: Sequence[Future[ExportObject]], objects: Sequence[ExportObject], expected: Sequence[int | None]
) -> ExportProgress:
    """Bytes and parts done of the whole export: finished files, the parts of those cut short, none of the rest."""
    done = sum(o.size_bytes for o in objects)
    total = done
    parts_done = parts_total = 0
    for copy, size in zip(copies, expected, strict=True):
        problem = None if copy.cancelled() else copy.exception()
        if isinstance(problem, _CutShortError):
            done += problem.bytes_done
            total += problem.bytes_total
            parts_done += problem.parts_done
            parts_total += problem.parts_total
        elif problem is not None or copy.cancelled():
            total += size or 0
    return ExportProgress(done, total, parts_done, parts_total)


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


class CorruptBackupError(CallError):
    """The backup's own file failed its check (not the copy): where, and which check."""

    def __init__(self, corrupt: CorruptFileError) -> None:
        super().__init__(ErrorKind.REJECTED, "VerifyBackupFile", f"the backup file is corrupt: {corrupt}")
        self.offset, self.check = corrupt.offset, corrupt.problem

    def corrupt_file(self, file_name: str) -> CorruptFile:
        return CorruptFile(file_name, self.offset, self.check)


def _corrupt(corrupt: CorruptFileError) -> CallError:
    return CorruptBackupError(corrupt)


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
        book: ProgressBook,
        copied: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self._copied = copied  # told each object's bytes after each part, for a person watching
        self._slots = slots
        self._book = book
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
            raise _CutShortError(
                key, 0, expected or 0, "every file slot the memory allows stayed taken until the deadline"
            )
        try:
            return self._copy(file, key, expected)
        finally:
            self._slots.release()

    def _copy(self, file: BackupFile, key: str, expected: int | None) -> ExportObject:
        """Continued from the record of an earlier run when it still fits; the download must announce ``expected``."""
        resumed = self._resumable(key, expected)
        download = LinkDownload(file, self._session, self._loop, self.pace.reserve_s)
        try:
            if resumed is not None:
                size = download.open(resumed.bytes_done, resumed.size)
                verification = self._upload(download, key, resumed, restore(resumed.check_state))
            else:
                size = download.open()
                if expected is not None and size != expected:
                    raise _size_mismatch(size, expected, self._source.size_bytes)
                present = self._already_exported(key, size)
                if present is not None:
                    return present
                if part_count(size, self._part_size) > MAX_PARTS:
                    raise CallError(ErrorKind.REJECTED, "UploadPart", f"{size} bytes need more than {MAX_PARTS} parts")
                self.pace.require(size, self._loop.deadline, measured_only=True)
                upload_id = self._target.start_upload(key, self._source.metadata())
                started = FileProgress(upload_id, size, self._part_size)
                verification = self._upload(download, key, started, FileCheck(self._claimed_format(file)))
        finally:
            download.close()
        stored = self._target.existing(key)
        if stored is None or stored.size != size:
            held = None if stored is None else stored.size
            raise CallError(ErrorKind.REJECTED, "HeadObject", f"the object holds {held} bytes, not {size}")
        return ExportObject(key, size, verification)

    def _already_exported(self, key: str, size: int) -> ExportObject | None:
        """The object when it holds ``size`` bytes and says how it was verified; else it is copied (again)."""
        stored = self._target.existing(key)
        if stored is None or stored.size != size:
            return None
        verification = Verification.from_metadata(stored.metadata)
        if verification is None:
            log.info("export object present but not labelled as verified: copied again", key=key, size_bytes=size)
            return None
        log.info("export object already present", key=key, size_bytes=size, **verification.to_dict())
        return ExportObject(key, size, verification)

    def _resumable(self, key: str, expected: int | None) -> FileProgress | None:
        """An earlier run's upload of this file, when OBS still holds every part it recorded and it fits this run;
        else None (an upload that does not fit is aborted: the file is copied again from its start)."""
        progress = self._book.entry(key)
        if progress is None:
            return None
        held = self._target.uploaded_parts(key, progress.upload_id)
        problem = _resume_problem(progress, held, expected, self._part_size)
        if problem is None:
            log.info(
                "export continues an earlier run's upload",
                key=key,
                bytes_done=progress.bytes_done,
                size_bytes=progress.size,
                parts_done=len(progress.parts),
            )
            return progress
        log.info("export starts a file again", key=key, problem=problem)
        self._book.forget(key, progress.upload_id if held is not None else None)
        return None

    def _claimed_format(self, file: BackupFile) -> str:
        """What DCS calls the file: its name's suffix, else the backup's format."""
        suffix = file.file_name.rsplit(".", 1)[-1].lower()
        return suffix if suffix in ("rdb", "aof") else self._source.backup_format

    def _upload(self, download: LinkDownload, key: str, progress: FileProgress, check: FileCheck) -> Verification:
        """Every part goes through ``check`` before it is sent; a file that fails it is never completed.

        Cut short by the deadline, the upload stays open with its progress recorded, for the next run.
        """
        size = progress.size
        parts = part_count(size, self._part_size)
        clock = self._loop.deadline.clock
        started = clock()
        plan = PartPlan(size, self._part_size, first=len(progress.parts) + 1, last=parts)

        def sent(part: SentPart) -> None:
            progress.parts.append((part.number, part.etag))
            progress.bytes_done, progress.check_state = part.end_offset, part.state
            self._book.update(key, progress)
            if self._copied is not None:
                self._copied(key, part.end_offset, size)

        pipeline = PartPipeline(self._target, key, progress.upload_id, self.pace, self._loop.deadline, sent)
        try:
            pipeline.run(_CheckedDownload(download, check), plan)
            download.finish()
            verification = _verdict(check)
            self._target.complete_upload(key, progress.upload_id, progress.parts)
        except (NoTimeLeftError, CallError) as exc:
            out_of_time = isinstance(exc, NoTimeLeftError) or exc.kind is ErrorKind.DEADLINE
            if not (out_of_time and progress.parts):  # an upload without a part is not worth keeping open
                self._book.forget(key, progress.upload_id)
            if not out_of_time:
                raise
            if progress.parts:
                self._book.update(key, progress)
            raise _CutShortError(key, progress.bytes_done, size, str(exc), len(progress.parts), parts) from None
        except BaseException:
            self._book.forget(key, progress.upload_id)
            raise
        self._book.forget(key)
        # Known only once the last byte passed: the object is labelled once it is whole. Unlabelled
        # (this call failed), it is never taken for a verified copy: the next run copies it again.
        # The source's metadata goes again with it: OBS may read REPLACE_NEW as replacing every custom name.
        self._target.label(key, {**self._source.metadata(), **verification.to_metadata()})
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


def _resume_problem(
    progress: FileProgress, held: dict[int, str] | None, expected: int | None, part_size: int
) -> str | None:
    """Why an earlier run's upload cannot be continued, or None when it can."""
    if held is None:
        return "its upload is gone"
    if expected is not None and progress.size != expected:
        return f"it was {progress.size} bytes, the backup's file is {expected}"
    if progress.part_size != part_size:
        return f"its parts were {progress.part_size} bytes, now {part_size}"
    if any(held.get(number, "").strip('"') != etag.strip('"') for number, etag in progress.parts):
        return "OBS does not hold every part it recorded"
    if progress.bytes_done != part_end(len(progress.parts), progress.size, part_size):
        return "its record does not add up"
    try:
        restore(progress.check_state)
    except StateError as problem:
        return str(problem)
    return None


class _CutShortError(Exception):
    """A file not finished by the deadline: its upload stays open, its progress recorded."""

    def __init__(
        self, key: str, bytes_done: int, bytes_total: int, why: str, parts_done: int = 0, parts_total: int = 0
    ) -> None:
        super().__init__(why)
        self.key, self.bytes_done, self.bytes_total = key, bytes_done, bytes_total
        self.parts_done, self.parts_total = parts_done, parts_total


class _CheckedDownload:
    """The download leg's parts: read from the link, each verified before it may be sent."""

    def __init__(self, download: LinkDownload, check: FileCheck) -> None:
        self._download = download
        self._check = check

    def fill(self, part: memoryview) -> None:
        self._download.fill(part)

    def check(self, part: memoryview) -> Any:
        """The check's state at the part's end, kept with the part for a later run to continue from."""
        _checked(self._check, part)
        return snapshot(self._check)
