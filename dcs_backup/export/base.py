"""What an export produces and what it writes to: result types and the target protocol."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol
from urllib.parse import quote

from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.verify.base import Verification

ExportStatus = Literal["done", "pending", "failed", "skipped"]
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class ExportObject(NamedTuple):
    """One object in the bucket that holds a backup file (copied now or found already there).

    ``verification`` says what the file proved to be while it was copied (or, for one found already
    there, what its metadata says it was verified as).
    """

    key: str
    size_bytes: int
    verification: Verification | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "size_bytes": self.size_bytes}
        if self.verification is not None:
            data["verification"] = self.verification.to_dict()
        return data


class CorruptFile(NamedTuple):
    """A backup file that failed its check: the backup it belongs to cannot be trusted to restore."""

    file_name: str
    offset: int
    check: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file_name, "offset": self.offset, "check": self.check}


class ExportProgress(NamedTuple):
    """How far a pending export got: bytes (of the files known) and parts of the files cut short."""

    bytes_done: int
    bytes_total: int
    parts_done: int
    parts_total: int

    def to_dict(self) -> dict[str, int]:
        return self._asdict()


class ExportResult(NamedTuple):
    """``done``: every file is in the bucket; ``pending``: time ran out, the next run continues from where
    this one stopped (``progress``); ``failed``: a file could not be copied (``reason`` says which and why;
    ``corrupt`` when the backup's file itself failed its check); ``skipped``: nothing to do.
    """

    status: ExportStatus
    objects: tuple[ExportObject, ...] = ()
    reason: str | None = None
    corrupt: CorruptFile | None = None
    progress: ExportProgress | None = None


class BackupSource(NamedTuple):
    """The backup being exported, as its objects' metadata describes it."""

    instance_id: str
    instance_name: str | None
    backup_id: str
    backup_format: str
    created_at: str | None
    size_bytes: int | None

    def metadata(self) -> dict[str, str]:
        """User metadata for each object; values percent-encoded (headers carry ASCII only, names may not)."""
        values = {
            "dcs-instance-name": self.instance_name or "",
            "dcs-backup-id": self.backup_id,
            "dcs-backup-format": self.backup_format,
            "dcs-created-at": self.created_at or "",
            "dcs-source-size": "" if self.size_bytes is None else str(self.size_bytes),
        }
        return {name: quote(value, safe="") for name, value in values.items() if value}


def safe_file_names(files: Sequence[BackupFile]) -> list[BackupFile]:
    """DCS's file names made safe for object keys: a plain base name (no path, no "..", no control
    characters), and each one distinct (shards named alike are numbered), so that every file lands
    in its own object under ``{prefix}{instance_id}/{backup_id}/``."""
    names = [_base_name(file.file_name, n) for n, file in enumerate(files)]
    if len(set(names)) < len(names):
        names = [f"{n:03d}-{name}" for n, name in enumerate(names)]
    return [file._replace(file_name=name) for file, name in zip(files, names, strict=True)]


def _base_name(name: str, index: int) -> str:
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1])
    return base if base.strip(". _") else f"file-{index:03d}"


def object_key(prefix: str, instance_id: str, backup_id: str, file_name: str) -> str:
    """Where a backup file lands: ``{prefix}{instance_id}/{backup_id}/{file_name}``."""
    return f"{prefix}{instance_id}/{backup_id}/{file_name}"


class StoredObject(NamedTuple):
    size: int
    metadata: dict[str, str]


class ExportTarget(Protocol):
    """A bucket that takes multipart uploads; every method retries through the call loop or raises CallError."""

    def existing(self, key: str) -> StoredObject | None:
        """The object at ``key`` (its size and user metadata), or None when there is none."""

    def label(self, key: str, metadata: Mapping[str, str]) -> None:
        """Add ``metadata`` to the object at ``key`` (in place: its bytes are not copied)."""

    def start_upload(self, key: str, metadata: Mapping[str, str]) -> str:
        """A new multipart upload's id."""

    def upload_part(self, key: str, upload_id: str, number: int, data: memoryview, digest: bytes | None = None) -> str:
        """Send one part with its Content-MD5 (``digest``, else worked out here); its ETag, checked against it."""

    def complete_upload(self, key: str, upload_id: str, etags: Sequence[tuple[int, str]]) -> None: ...

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop the upload's parts, so none stays billed."""

    def uploaded_parts(self, key: str, upload_id: str) -> dict[int, str] | None:
        """The parts the upload holds (number → ETag), or None when the upload is gone."""

    def read_object(self, key: str) -> bytes | None:
        """A small object's bytes, or None when there is none."""

    def write_object(self, key: str, data: bytes) -> None: ...

    def delete_object(self, key: str) -> None: ...
