"""Where an export cut short stands, kept in the bucket beside its uploads, so that the next run continues it.

One small JSON object per instance, ``{prefix}{instance_id}/export-progress.json``: the backup being
exported and, per file, its open multipart upload, the parts sent (number and ETag), the bytes they
hold and the verifier's state at their end. It is written after each part by one writer thread (the
newest state, so a part's upload never waits for it), and removed once the export is done or failed,
or when the backup it names is no longer the one to export (its uploads are aborted first).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from dcs_backup import __version__
from dcs_backup.export.base import ExportTarget
from dcs_backup.platform.calls import CallError

PROGRESS_NAME = "export-progress.json"
log = structlog.get_logger("dcs_backup.export")


def progress_key(prefix: str, instance_id: str) -> str:
    return f"{prefix}{instance_id}/{PROGRESS_NAME}"


@dataclass
class FileProgress:
    """One file's open upload and how far it got."""

    upload_id: str
    size: int
    part_size: int
    parts: list[tuple[int, str]] = field(default_factory=list)
    bytes_done: int = 0
    check_state: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "size": self.size,
            "part_size": self.part_size,
            "parts": [[number, etag] for number, etag in self.parts],
            "bytes_done": self.bytes_done,
            "check_state": self.check_state,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> FileProgress:
        parts = [(int(number), str(etag)) for number, etag in raw["parts"]]
        sizes = int(raw["size"]), int(raw["part_size"]), int(raw["bytes_done"])
        return cls(str(raw["upload_id"]), sizes[0], sizes[1], parts, sizes[2], raw["check_state"])


class ProgressBook:
    """The instance's progress record: read once, changed as parts are sent, written behind them."""

    def __init__(self, target: ExportTarget, key: str, backup_id: str) -> None:
        self._target = target
        self._key = key
        self._backup_id = backup_id
        self._files: dict[str, FileProgress] = {}
        self._stored = False  # a record exists in the bucket
        self._version = 0  # of the files, counting changes
        self._written = 0  # the version last written
        self._condition = threading.Condition()
        self._closing = False
        self._writer: threading.Thread | None = None
        self.write_error: CallError | None = None

    def open(self) -> None:
        """Read the record; uploads of another backup (superseded, or gone) are aborted and the record dropped."""
        raw = self._target.read_object(self._key)
        if raw is None:
            return
        self._stored = True
        try:
            record = json.loads(raw)
            same = record["backup_id"] == self._backup_id and record["function_version"] == __version__
            files = {str(k): FileProgress.from_dict(v) for k, v in record["files"].items()}
        except (ValueError, KeyError, TypeError):
            log.warning("export progress record unreadable: its uploads are left to the lifecycle rule", key=self._key)
            self._target.delete_object(self._key)
            self._stored = False
            return
        if same:
            self._files = files
            return
        for key, progress in files.items():
            self._abort(key, progress.upload_id)
        log.info(
            "export of an earlier backup given up: it is no longer the one to export",
            backup_id=record.get("backup_id"),
            aborted_uploads=len(files),
        )
        self._target.delete_object(self._key)
        self._stored = False

    def entry(self, key: str) -> FileProgress | None:
        with self._condition:
            return self._files.get(key)

    def update(self, key: str, progress: FileProgress) -> None:
        """The file's new standing, written behind by the writer thread."""
        with self._condition:
            self._files[key] = progress
            self._version += 1
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_behind, name="export progress", daemon=True)
                self._writer.start()
            self._condition.notify_all()

    def forget(self, key: str, abort_upload: str | None = None) -> None:
        """The file needs no resuming any more (copied, failed, or started again); ``abort_upload`` is dropped."""
        with self._condition:
            self._files.pop(key, None)
            self._version += 1
        if abort_upload is not None:
            self._abort(key, abort_upload)

    def close(self, *, keep: bool) -> None:
        """Stop the writer; ``keep`` (the export is pending) writes the newest record, else removes it."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._writer is not None:
            self._writer.join()
        if keep and self._files:
            self._write()
        elif self._stored:
            self._target.delete_object(self._key)
            self._stored = False

    def _write_behind(self) -> None:
        while True:
            with self._condition:
                while self._written == self._version and not self._closing:
                    self._condition.wait()
                if self._closing:
                    return
            try:
                self._write()
            except CallError as error:  # tried again at the next part's change, and once more at the end
                with self._condition:
                    self._written = self._version
                self.write_error = error
                log.warning("export progress not written", key=self._key, error_kind=error.kind.value)

    def _write(self) -> None:
        with self._condition:
            version = self._version
            record = {
                "backup_id": self._backup_id,
                "function_version": __version__,
                "files": {key: progress.to_dict() for key, progress in self._files.items()},
            }
        self._target.write_object(self._key, json.dumps(record, separators=(",", ":")).encode("utf-8"))
        with self._condition:
            self._stored = True
            self._written = max(self._written, version)

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._target.abort_upload(key, upload_id)
        except CallError as error:
            log.warning("export upload not aborted", key=key, error_kind=error.kind.value, error_code=error.error_code)
