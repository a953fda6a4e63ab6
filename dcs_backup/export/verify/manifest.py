"""Redis 7's AOF manifest (``appendonly.aof.manifest``): which base and incremental files make the AOF.

A small text file of lines such as ``file appendonly.aof.2.base.rdb seq 2 type b``. Each line is
checked as Redis's loader reads it (key/value pairs, with ``file``, ``seq`` and ``type`` present);
the files it names are checked as files of their own.
"""

from __future__ import annotations

import re

from dcs_backup.export.verify.base import CorruptFileError, Verification

MAGIC = b"file "
MAX_SIZE = 1 << 20  # a manifest names a few files
_LINE = re.compile(rb"file (?:\S+|\"[^\"\n]*\") seq [0-9]{1,19} type [bhi]")
_REQUIRED = (b"file", b"seq", b"type")


class ManifestVerifier:
    """Fed a manifest in order; held whole (it is small) and read at the end."""

    def __init__(self) -> None:
        self._text = bytearray()

    def feed(self, data: bytes | memoryview) -> None:
        self._text += data
        if len(self._text) > MAX_SIZE:
            raise CorruptFileError(MAX_SIZE, "not an AOF manifest: too long")

    def finish(self) -> Verification:
        if not self._text.endswith(b"\n"):
            raise CorruptFileError(len(self._text), "not an AOF manifest: its last line is cut")
        offset = 0
        for line in bytes(self._text).splitlines(keepends=True):
            if not line.startswith(b"#") and not _is_entry(line.rstrip(b"\r\n")):
                raise CorruptFileError(offset, "not an AOF manifest: a line is not 'file <name> seq <n> type <b|h|i>'")
            offset += len(line)
        return Verification("aof-manifest", "not checked")


def _is_entry(line: bytes) -> bool:
    if _LINE.fullmatch(line):
        return True
    words = line.split(b" ")  # Redis also reads the pairs in another order
    pairs = dict(zip(words[::2], words[1::2], strict=False))
    return (
        len(words) % 2 == 0
        and all(key in pairs for key in _REQUIRED)
        and pairs[b"seq"].isdigit()
        and pairs[b"type"] in (b"b", b"h", b"i")
    )
