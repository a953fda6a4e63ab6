"""Which check a file gets: recognised by its first bytes, held against what DCS calls it.

An RDB starts ``REDIS`` + four digits, an AOF with a RESP command (``*``) or with an RDB preamble, and
Redis 7's AOF manifest with ``file ``; an archive (gzip, zip, tar) is exported byte for byte and reported
as such. A file DCS calls RDB or AOF that starts as none of these fails.
"""

from __future__ import annotations

from dcs_backup.export.verify import manifest
from dcs_backup.export.verify.aof import AofVerifier
from dcs_backup.export.verify.base import CorruptFileError, FileVerifier, Verification
from dcs_backup.export.verify.preamble import PreambleAofVerifier
from dcs_backup.export.verify.rdb import MAGIC, RdbVerifier

ARCHIVE_MAGICS = (b"\x1f\x8b", b"PK\x03\x04")
TAR_MAGIC, TAR_MAGIC_AT = b"ustar", 257
_RECOGNISED_AFTER = TAR_MAGIC_AT + len(TAR_MAGIC)


class FileCheck:
    """Fed a file in order; picks its verifier once the first bytes are in."""

    def __init__(self, claimed_format: str) -> None:
        self._claimed = claimed_format
        self._first = b""
        self._verifier: FileVerifier | None = None

    def feed(self, data: bytes | memoryview) -> None:
        if self._verifier is None:
            if not self._first and len(data) >= _RECOGNISED_AFTER:
                self._verifier = self._pick(bytes(data[:_RECOGNISED_AFTER]))
            else:  # a file's first bytes in small pieces: held until there are enough
                self._first += bytes(data)
                if len(self._first) < _RECOGNISED_AFTER:
                    return
                self._verifier = self._pick(self._first)
                data, self._first = self._first, b""
        self._verifier.feed(data)

    def finish(self) -> Verification:
        if self._verifier is None:
            self._verifier = self._pick(self._first)
            self._verifier.feed(self._first)
        return self._verifier.finish()

    def _pick(self, first: bytes) -> FileVerifier:
        if first.startswith(MAGIC):  # before the archives: an RDB's first value may hold "ustar" at 257
            return PreambleAofVerifier() if self._claimed == "aof" else RdbVerifier()
        if first.startswith(ARCHIVE_MAGICS) or first[TAR_MAGIC_AT:_RECOGNISED_AFTER] == TAR_MAGIC:
            return _Archive()
        if self._claimed == "aof" and first[:1] in (b"", b"*", b"#"):  # empty, a command, or an annotation
            return AofVerifier()
        if self._claimed == "aof" and first.startswith(manifest.MAGIC):  # Redis 7: the list of the AOF's files
            return manifest.ManifestVerifier()
        raise CorruptFileError(0, f"not an {self._claimed.upper()}: bad magic")


class _Archive:
    """Compressed as a whole: exported byte for byte, its contents not checked."""

    def feed(self, data: bytes | memoryview) -> None:
        return None

    def finish(self) -> Verification:
        return Verification("archive", "not checked")
