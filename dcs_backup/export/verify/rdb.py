"""An RDB file, checked in the stream: magic and version, the header's AUX fields and key counts, EOF and CRC-64.

The header (up to the first key) is parsed for what it declares; every byte after it only runs
through the CRC-64 (Jones, as Redis computes it), so the cost is the CRC's, at memory speed.
"""

from __future__ import annotations

import re
import struct

import anycrc

from dcs_backup.export.verify.base import CorruptFileError, Verification

MAGIC = b"REDIS"
MIN_VERSION, MAX_VERSION = 5, 12  # 5: the first with a checksum (Redis 2.6); 12: Redis 7.4
HEADER_LIMIT = 1 << 20  # AUX fields and functions are small; past this the key counts are left unknown
_TAIL = 8  # the stored CRC, after the EOF opcode
_JOIN = _TAIL + 1 + len(MAGIC) + 4  # an EOF opcode, its CRC, and the next file's magic and version
# The AUX fields reported (the file's own words, so kept short): the engine, the time of the save, its memory.
AUX_FIELDS = frozenset({"redis-ver", "redis-bits", "ctime", "used-mem", "aof-base"})
MAX_AUX_VALUE = 64
_PRINTABLE = re.compile(r"[^\x20-\x7e]")  # the file's own words reach results and logs: printable ASCII only
_AUX, _RESIZEDB, _SELECTDB, _EOF, _FUNCTION2, _MODULE_AUX = 0xFA, 0xFB, 0xFE, 0xFF, 0xF5, 0xF7
_CRC64_REDIS = anycrc.Model("CRC64-REDIS")
_JOINED = re.compile(rb"\xff[\x00-\xff]{8}REDIS[0-9]{4}")  # an EOF opcode, a stored CRC, a file's start


class _HeaderIncompleteError(Exception):
    """The header continues beyond the bytes seen so far."""


class RdbVerifier:
    """Fed an RDB file in order; its verdict once the last byte is in."""

    def __init__(self) -> None:
        self._crc = 0
        self._size = 0
        self._tail = b""  # the last bytes seen, at most _TAIL + 1, not yet run through the CRC
        self._header: bytearray | None = bytearray()
        self._parse_at = 0  # header bytes needed before the next parse (it doubles: small feeds stay linear)
        self._version: int | None = None
        self._aux: dict[str, str] = {}
        self._keys: dict[int, int] | None = None
        self._recent = b""  # the last bytes seen, where a joined file's start may begin

    def feed(self, data: bytes | memoryview) -> None:
        if not data:
            return
        if self._header is not None:
            self._read_header(data)
        self._refuse_a_joined_file(data)
        self._run_crc(data)
        self._size += len(data)

    def finish(self) -> Verification:
        if self._header is not None:  # bytes that arrived after the last parse
            self._parse_at = 0
            self._read_header(b"")
        if self._version is None:
            raise CorruptFileError(self._size, "ends before its RDB header")
        if len(self._tail) < _TAIL + 1 or self._tail[0] != _EOF:
            raise CorruptFileError(self._size, "ends before EOF: no EOF opcode before the checksum")
        self._crc = _CRC64_REDIS.calc(self._tail[:1], self._crc)
        stored = int.from_bytes(self._tail[1:], "little")
        if stored and stored != self._crc:
            raise CorruptFileError(self._size - _TAIL, f"CRC mismatch: stored {stored:016x}, computed {self._crc:016x}")
        return Verification(
            "rdb",
            "verified" if stored else "absent",
            rdb_version=self._version,
            aux=dict(self._aux),
            keys_by_db=self._keys,
        )

    def _refuse_a_joined_file(self, data: bytes | memoryview) -> None:
        """Two whole RDBs joined end to end would pass the CRC: after a file and its stored CRC, the CRC is 0
        again, so the first file goes unseen. A second file's start, right after an EOF and a CRC at which the
        running CRC is 0, is refused (by chance, 1 in 2^64). The CRC to each such place runs on from the last."""
        straddling = self._recent + bytes(data[: _JOIN - 1])  # the places that begin before ``data``
        places = [self._size - len(self._recent) + m.start() for m in _JOINED.finditer(straddling)]
        places = [at for at in places if at < self._size]
        places += [self._size + m.start() for m in _JOINED.finditer(data)]
        at, crc = self._size - len(self._tail), self._crc  # how far the running CRC has got
        for place in places:
            start = place + _TAIL + 1  # where the second file's magic begins
            crc = self._crc_between(data, at, start, crc)
            at = start
            if crc == 0:
                raise CorruptFileError(start, "a second RDB file starts here: two files joined into one")
        self._recent = (self._recent + bytes(data[-(_JOIN - 1) :]))[-(_JOIN - 1) :]

    def _crc_between(self, data: bytes | memoryview, begin: int, end: int, crc: int) -> int:
        """The CRC run on over the stream's bytes [begin, end): the held tail's, then the new ``data``'s."""
        held_from = self._size - len(self._tail)
        if begin < self._size:
            crc = _CRC64_REDIS.calc(self._tail[begin - held_from : min(end, self._size) - held_from], crc)
            begin = self._size
        return _CRC64_REDIS.calc(data[begin - self._size : end - self._size], crc) if end > begin else crc

    def _run_crc(self, data: bytes | memoryview) -> None:
        """Everything but the last 9 bytes seen goes through the CRC now; those wait to be the EOF and CRC."""
        keep = _TAIL + 1
        if len(data) >= keep:
            self._crc = _CRC64_REDIS.calc(self._tail, self._crc)
            self._crc = _CRC64_REDIS.calc(data[:-keep], self._crc)
            self._tail = bytes(data[-keep:])
            return
        joined = self._tail + bytes(data)
        self._crc = _CRC64_REDIS.calc(joined[:-keep], self._crc) if len(joined) > keep else self._crc
        self._tail = joined[-keep:]

    def _read_header(self, data: bytes | memoryview) -> None:
        assert self._header is not None
        self._header += data[: HEADER_LIMIT + 1 - len(self._header)]  # never a whole part: the header is small
        if len(self._header) < self._parse_at:
            return
        try:
            self._parse_header(bytes(self._header))
        except _HeaderIncompleteError:
            if len(self._header) > HEADER_LIMIT:
                self._header = None  # the counts stay unknown; the CRC still covers every byte
            else:
                self._parse_at = min(2 * len(self._header), HEADER_LIMIT + 1)
            return
        self._header = None

    def _parse_header(self, buffer: bytes) -> None:
        reader = _Reader(buffer)
        self._version = _version(reader.take(9))
        keys: dict[int, int] = {}
        db: int | None = None
        while True:
            opcode = reader.take(1)[0]
            if opcode == _AUX:
                name, value = reader.string(), reader.string()
                if name in AUX_FIELDS:
                    self._aux[name] = _PRINTABLE.sub("?", value[:MAX_AUX_VALUE])
            elif opcode == _SELECTDB:
                db = reader.length()
            elif opcode == _RESIZEDB:
                db_size, _ = reader.length(), reader.length()
                keys[db if db is not None else 0] = db_size
            elif opcode == _FUNCTION2:
                reader.string()
            else:  # the first key (or EOF, or a record this header pass does not walk, like module AUX)
                self._keys = keys if keys and opcode != _MODULE_AUX else ({} if opcode == _EOF else None)
                return


class _Reader:
    """Reads RDB encodings from the header's bytes; raises _HeaderIncompleteError at their end."""

    def __init__(self, buffer: bytes) -> None:
        self._buffer = buffer
        self._position = 0

    def take(self, count: int) -> bytes:
        end = self._position + count
        if end > len(self._buffer):
            raise _HeaderIncompleteError
        piece = self._buffer[self._position : end]
        self._position = end
        return piece

    def length(self) -> int:
        value, special = self._length()
        if special:
            raise CorruptFileError(self._position, "a length is encoded as a string")
        return value

    def string(self) -> str:
        value, special = self._length()
        if not special:
            return self.take(value).decode("utf-8", "replace")
        if value in (0, 1, 2):  # INT8, INT16, INT32
            return str(int.from_bytes(self.take(1 << value), "little", signed=True))
        if value == 3:  # LZF: compressed and raw lengths, then the compressed bytes (not needed here)
            compressed, _ = self.length(), self.length()
            self.take(compressed)
            return "(compressed)"
        raise CorruptFileError(self._position, f"unknown string encoding {value}")

    def _length(self) -> tuple[int, bool]:
        first = self.take(1)[0]
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.take(1)[0], False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise CorruptFileError(self._position, f"unknown length encoding 0x{first:02x}")


def _version(head: bytes) -> int:
    if not head.startswith(MAGIC):
        raise CorruptFileError(0, "not an RDB: bad magic")
    digits = head[len(MAGIC) :]
    if not (digits.isascii() and digits.isdigit()):
        raise CorruptFileError(len(MAGIC), "not an RDB: its version is not four digits")
    version = int(digits)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise CorruptFileError(
            len(MAGIC), f"RDB version {version} is not one this verifier knows ({MIN_VERSION}-{MAX_VERSION})"
        )
    return version
