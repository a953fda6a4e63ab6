"""Copying a backup's files from DCS's download links into a bucket: one multipart upload per file.

Each part is read into one reusable buffer (never the whole file, never /tmp), sent with its
Content-MD5, and the completed object's size is checked. No part is started that cannot finish
before the deadline at the throughput measured so far: the upload is then aborted and the
export reported ``pending``, for the next run to start again (a half-copied file is not kept
waiting, billed, for a run that may never come; the bucket's lifecycle rule is the backstop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import requests
import structlog

from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.base import (
    BackupSource,
    CorruptFile,
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
from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import show_list

MIB = 1024 * 1024
MIN_PART_BYTES = 100 * 1024  # OBS's smallest part (but the last); the function's setting starts at 5 MiB
MAX_PARTS = 10_000
# Until a part has been timed: a deliberately modest rate, so the first part is not started blindly.
ASSUMED_BYTES_PER_S = 16 * MIB

log = structlog.get_logger("dcs_backup.export")


class NoTimeLeftError(Exception):
    """The next step would not finish before the deadline at the measured throughput."""


@dataclass
class Pace:
    """Throughput measured over the parts done so far, to decide whether the next one fits."""

    reserve_s: float
    assumed_bytes_per_s: float = ASSUMED_BYTES_PER_S
    bytes_done: int = 0
    seconds: float = 0.0

    @property
    def bytes_per_s(self) -> float:
        return self.bytes_done / self.seconds if self.bytes_done and self.seconds > 0 else self.assumed_bytes_per_s

    def require(self, size: int, deadline: Deadline, *, measured_only: bool = False) -> None:
        if measured_only and not self.bytes_done:
            return
        if not deadline.allows(size / self.bytes_per_s + self.reserve_s):
            raise NoTimeLeftError(
                f"{size} bytes need about {size / self.bytes_per_s:.1f} s at {self.bytes_per_s / MIB:.1f} MiB/s"
            )

    def record(self, size: int, seconds: float) -> None:
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
    assumed_bytes_per_s: float = ASSUMED_BYTES_PER_S,
) -> ExportResult:
    """Export every file (idempotently: an object already there with the same size is not copied again).

    Never raises for a failed call: the result says ``failed`` or ``pending`` with a reason naming the file.
    ``target`` is built on the same ``deadline`` (see ``ObsTarget``); ``part_size`` is in bytes. Every
    link is judged by ``link_policy`` before any is fetched.
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
    copier = _FileCopier(source, target, CallLoop(deadline, policy, classify), pace, part_size, http_session)
    named = safe_file_names(files)
    try:
        expected = copier.expected_sizes(named)
    except CallError as error:
        return ExportResult(_status_of(error), reason=f"{error.operation}: {error.message}")
    objects: list[ExportObject] = []
    for file, size in zip(named, expected, strict=True):
        key = object_key(prefix, source.instance_id, source.backup_id, file.file_name)
        try:
            objects.append(copier.copy(file, key, size))
        except NoTimeLeftError as exc:
            return ExportResult("pending", tuple(objects), f"{file.file_name}: not enough time left ({exc})")
        except CallError as error:
            reason = f"{file.file_name}: {error.operation}: {error.message}"
            corrupt = error.corrupt_file(file.file_name) if isinstance(error, CorruptBackupError) else None
            return ExportResult(_status_of(error), tuple(objects), reason, corrupt)
    return ExportResult("done", tuple(objects))


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
    """Streams files one at a time through one part-sized buffer."""

    def __init__(
        self,
        source: BackupSource,
        target: ExportTarget,
        loop: CallLoop,
        pace: Pace,
        part_size: int,
        session: requests.Session,
    ) -> None:
        self._source = source
        self._target = target
        self._loop = loop
        self.pace = pace
        self._part_size = part_size
        self._session = session
        self._buffer = memoryview(bytearray(part_size))

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
        """The object once it holds the file (now or before); the download must announce ``expected``."""
        download = LinkDownload(file, self._session, self._loop, self.pace.reserve_s)
        try:
            size = download.open()
            if expected is not None and size != expected:
                raise _size_mismatch(size, expected, self._source.size_bytes)
            present = self._already_exported(key, size)
            if present is not None:
                return present
            parts = max(1, math.ceil(size / self._part_size))
            if parts > MAX_PARTS:
                raise CallError(ErrorKind.REJECTED, "UploadPart", f"{size} bytes need more than {MAX_PARTS} parts")
            self.pace.require(size, self._loop.deadline, measured_only=True)
            verification = self._upload(download, key, size, parts, FileCheck(self._claimed_format(file)))
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

    def _claimed_format(self, file: BackupFile) -> str:
        """What DCS calls the file: its name's suffix, else the backup's format."""
        suffix = file.file_name.rsplit(".", 1)[-1].lower()
        return suffix if suffix in ("rdb", "aof") else self._source.backup_format

    def _upload(self, download: LinkDownload, key: str, size: int, parts: int, check: FileCheck) -> Verification:
        """Every part goes through ``check`` before it is sent; a file that fails it is never completed."""
        upload_id = self._target.start_upload(key, self._source.metadata())
        clock = self._loop.deadline.clock
        started = clock()
        try:
            etags = []
            for number in range(1, parts + 1):
                etags.append((number, self._part(download, key, upload_id, number, size, check)))
            download.finish()
            verification = _verdict(check)
            self._target.complete_upload(key, upload_id, etags)
        except BaseException:
            self._abort(key, upload_id)
            raise
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

    def _part(self, download: LinkDownload, key: str, upload_id: str, number: int, size: int, check: FileCheck) -> str:
        length = min(self._part_size, size - (number - 1) * self._part_size)
        self.pace.require(length, self._loop.deadline)
        clock = self._loop.deadline.clock
        started = clock()
        part = self._buffer[:length]
        download.fill(part)
        _checked(check, part)
        etag = self._target.upload_part(key, upload_id, number, part)
        self.pace.record(length, clock() - started)
        return etag

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort: when even this fails, the bucket's lifecycle rule removes the parts."""
        try:
            self._target.abort_upload(key, upload_id)
        except CallError as error:
            log.warning("export upload not aborted", key=key, error_kind=error.kind.value, error_code=error.error_code)
