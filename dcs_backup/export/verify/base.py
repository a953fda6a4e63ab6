"""What every file verifier gives: the file's kind, the state of its checksum, and what it declares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, Protocol, get_args

FileFormat = Literal["rdb", "aof", "aof-manifest", "archive"]
ChecksumState = Literal["verified", "absent", "not checked"]
LABEL = "dcs-verified-format"  # the metadata name an object verified while it was copied always carries
_AUX_LABEL = "dcs-aux-"


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
    crc64: int | None = None  # the CRC-64 the file stores, when it was verified

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": self.format, "checksum": self.checksum}
        if self.rdb_version is not None:
            data["rdb_version"] = self.rdb_version
        if self.aux:
            data["aux"] = dict(self.aux)
        if self.keys_by_db is not None:
            data["keys_by_db"] = {str(db): count for db, count in self.keys_by_db.items()}
        if self.crc64 is not None:
            data["crc64"] = f"{self.crc64:016x}"
        return data

    def to_metadata(self) -> dict[str, str]:
        """The object's metadata that says what the file proved to be (ASCII values: they travel as headers)."""
        labels: dict[str, str] = {LABEL: self.format, "dcs-checksum": self.checksum}
        if self.rdb_version is not None:
            labels["dcs-rdb-version"] = str(self.rdb_version)
        if self.keys_by_db is not None:
            labels["dcs-keys-by-db"] = ",".join(f"{db}:{count}" for db, count in self.keys_by_db.items())
        if self.crc64 is not None:
            labels["dcs-crc64"] = f"{self.crc64:016x}"
        labels.update({f"{_AUX_LABEL}{name}": value for name, value in (self.aux or {}).items()})
        # OBS's SDK percent-decodes metadata it reads back: a '%' is written encoded to come back as itself.
        return {name: value.replace("%", "%25") for name, value in labels.items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Verification | None:
        """What an object's metadata says it was verified as; None when it carries no (readable) label."""
        try:
            file_format, checksum = metadata[LABEL], metadata["dcs-checksum"]
            if file_format not in get_args(FileFormat) or checksum not in get_args(ChecksumState):
                return None
            version, keys, crc = (
                metadata.get("dcs-rdb-version"),
                metadata.get("dcs-keys-by-db"),
                metadata.get("dcs-crc64"),
            )
            return cls(
                file_format,  # type: ignore[arg-type]
                checksum,  # type: ignore[arg-type]
                rdb_version=int(version) if version is not None else None,
                aux={k[len(_AUX_LABEL) :]: v for k, v in metadata.items() if k.startswith(_AUX_LABEL)} or None,
                keys_by_db=_keys(keys) if keys is not None else None,
                crc64=int(crc, 16) if crc is not None else None,
            )
        except (KeyError, ValueError):
            return None


def _keys(text: str) -> dict[int, int]:
    pairs = (item.split(":") for item in text.split(",") if item)
    return {int(db): int(count) for db, count in pairs}


class FileVerifier(Protocol):
    def feed(self, data: bytes | memoryview) -> None:
        """The next bytes of the file; raises CorruptFileError as soon as they break a check."""

    def finish(self) -> Verification:
        """The verdict once every byte was fed; raises CorruptFileError when the file is not whole."""
