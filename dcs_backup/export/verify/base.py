"""What every file verifier gives: the file's kind, the state of its checksum, and what it declares."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Protocol

FileFormat = Literal["rdb", "aof", "aof-manifest", "archive"]
ChecksumState = Literal["verified", "absent", "not checked"]


class CorruptFileError(Exception):
    """The file is not what it claims, or not whole: where (byte offset) and which check failed."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"{problem} (at byte {offset})")
        self.offset = offset
        self.problem = problem


class Verification(NamedTuple):
    """A file that passed: its kind, its checksum's state and what its header declares (RDB: AUX fields, keys)."""

    format: FileFormat
    checksum: ChecksumState
    rdb_version: int | None = None
    aux: dict[str, str] | None = None
    keys_by_db: dict[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": self.format, "checksum": self.checksum}
        if self.rdb_version is not None:
            data["rdb_version"] = self.rdb_version
        if self.aux:
            data["aux"] = dict(self.aux)
        if self.keys_by_db is not None:
            data["keys_by_db"] = {str(db): count for db, count in self.keys_by_db.items()}
        return data


class FileVerifier(Protocol):
    def feed(self, data: bytes | memoryview) -> None:
        """The next bytes of the file; raises CorruptFileError as soon as they break a check."""

    def finish(self) -> Verification:
        """The verdict once every byte was fed; raises CorruptFileError when the file is not whole."""
