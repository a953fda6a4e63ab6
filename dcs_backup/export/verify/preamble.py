"""An AOF that starts with an RDB preamble (Redis's default since 5.0): the RDB checked, then the commands.

Where the RDB ends is found without parsing its keys: after an RDB's EOF opcode and its stored CRC, the
running CRC-64 is 0 again. So the preamble ends at the first EOF opcode + 8 bytes, followed by a
command or an annotation, at which the running CRC is 0 (by chance, 1 in 2^64); the RDB check is
then finished there and the rest is read as RESP. A preamble saved without a checksum cannot be
told from its commands this way: if one may be there (an EOF and 8 zero bytes before a command),
the file is reported with its checksum absent; otherwise it must be an RDB to its very end.
"""

from __future__ import annotations

import re

import anycrc

from dcs_backup.export.verify.aof import AofVerifier
from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.rdb import RdbVerifier

# an EOF opcode, then a stored CRC and the first command or annotation (looked ahead at: they may overlap)
_END = re.compile(rb"\xff(?=[\x00-\xff]{8}[*#])")
_UNCHECKED_END = b"\xff" + bytes(8)
_RECENT = 9  # an EOF opcode and a CRC seen before the next bytes
_CRC64_REDIS = anycrc.Model("CRC64-REDIS")


class PreambleAofVerifier:
    """Fed an AOF that starts with ``REDIS``; its verdict is the preamble's, with the commands' framing checked."""

    def __init__(self) -> None:
        self._rdb = RdbVerifier()
        self._commands: AofVerifier | None = None
        self._preamble: Verification | None = None
        self._preamble_size = 0  # the bytes the RDB check was fed
        self._crc = 0  # over every byte up to the end of ``_recent``
        self._recent = b""
        self._unchecked_end_seen = False
        self._first_end: int | None = None  # where the first EOF opcode and CRC before a command began

    def feed(self, data: bytes | memoryview) -> None:
        if self._commands is not None:
            self._feed_commands(data)
            return
        fed = self._preamble_size
        straddling = self._recent + bytes(data[:_RECENT])  # an EOF opcode and CRC that began before ``data``
        ends: list[tuple[int, bytes | memoryview]] = [
            (fed - len(self._recent) + m.start(), straddling) for m in _END.finditer(straddling)
        ]
        ends = [(at, seen) for at, seen in ends if at < fed]
        ends += [(fed + m.start(), data) for m in _END.finditer(data)]
        crc, crc_at = self._crc, fed
        for at, seen in ends:
            command = at + _RECENT  # where the command after this EOF opcode and CRC would begin
            crc, crc_at = _CRC64_REDIS.calc(data[crc_at - fed : command - fed], crc), command
            if crc == 0:
                self._end_preamble(data[: command - fed], data[command - fed :])
                return
            where = at - fed + (len(self._recent) if seen is straddling else 0)
            self._unchecked_end_seen |= bytes(seen[where : where + _RECENT]) == _UNCHECKED_END
            if self._first_end is None:
                self._first_end = at
        self._crc = _CRC64_REDIS.calc(data[crc_at - fed :], crc)
        self._rdb.feed(data)
        self._preamble_size += len(data)
        self._recent = (self._recent + bytes(data[-_RECENT:]))[-_RECENT:]

    def finish(self) -> Verification:
        if self._commands is None:  # no command after the preamble: the file is an RDB to its end
            try:
                return self._as_aof(self._rdb.finish())
            except CorruptFileError:
                if self._unchecked_end_seen:
                    return Verification("aof", "absent")
                if self._first_end is None:
                    raise
                raise CorruptFileError(
                    self._first_end, "CRC mismatch: no EOF opcode with a matching CRC-64 ends the RDB preamble"
                ) from None
        assert self._preamble is not None
        try:
            self._commands.finish()
        except CorruptFileError as corrupt:
            raise self._in_file(corrupt) from None
        return self._as_aof(self._preamble)

    def _end_preamble(self, last: bytes | memoryview, rest: bytes | memoryview) -> None:
        self._rdb.feed(last)
        self._preamble = self._rdb.finish()
        self._preamble_size += len(last)
        self._commands = AofVerifier()
        self._feed_commands(rest)

    def _feed_commands(self, data: bytes | memoryview) -> None:
        assert self._commands is not None
        try:
            self._commands.feed(data)
        except CorruptFileError as corrupt:
            raise self._in_file(corrupt) from None

    def _in_file(self, corrupt: CorruptFileError) -> CorruptFileError:
        """The commands' offsets are counted from the preamble's end; the file's, from its start."""
        return CorruptFileError(self._preamble_size + corrupt.offset, corrupt.problem)

    @staticmethod
    def _as_aof(preamble: Verification) -> Verification:
        return preamble._replace(format="aof")
