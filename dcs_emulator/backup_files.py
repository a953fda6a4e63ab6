"""The files behind a backup record, as generated Redis files: one per shard for clusters, never held whole.

A ``.rdb`` file is a real RDB (version 10, as Redis 7.0 writes it: AUX fields, SELECTDB 0, RESIZEDB,
one string key whose value fills the file to its size, EOF and the CRC-64 Redis writes); an ``.aof``
file is real RESP (a SELECT and one SET whose value fills it). Anything else, or a file too small to
hold that frame, is the plain filler: a run of 64 KiB chunks that each start with their own index, so
a byte that lands at the wrong offset is caught. The bytes are the same for the same seed, whatever
range is asked for; Redis's own redis-check-rdb and redis-check-aof accept the files.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache

import anycrc

CHUNK = 64 * 1024
CLUSTER_SLOT_RANGES = ("0-5460", "5461-10922", "10923-16383")
RDB_CTIME = 1764547200  # the ctime AUX field of every generated RDB
_CRC64_REDIS = anycrc.Model("CRC64-REDIS")


# How a stored file can be damaged (after its CRC was written, as a disk or a copy would damage it).
DAMAGES = ("flipped_byte", "zero_crc", "bad_magic", "no_eof", "broken_crlf")


@dataclass(frozen=True)
class GeneratedFile:
    """A backup file's name, size and the seed its bytes come from, and any damage it took in storage."""

    file_name: str
    size: int
    seed: str
    damage: str | None = None
    declared_keys: int = 1  # the key count its RESIZEDB declares (what an import of the backup loads)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` up to ``end`` (exclusive), in pieces of at most 64 KiB."""
        position = start
        for piece in self._undamaged(start, end):
            yield self._damaged(piece, position)
            position += len(piece)

    def _undamaged(self, start: int, end: int | None) -> Iterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        head, tail = self._frame
        filler_end = self.size - len(tail)
        yield from _window(head, 0, start, stop)
        yield from self._filler(max(start, len(head)) - len(head), min(stop, filler_end) - len(head))
        yield from _window(tail, filler_end, start, stop)

    def _damaged(self, piece: bytes, offset: int) -> bytes:
        """``piece`` (at ``offset``) with the damage's bytes in place."""
        overlay = _overlay(self.damage, self.size)
        if overlay is None:
            return piece
        at, replacement = overlay
        begin, end = max(at, offset), min(at + len(replacement), offset + len(piece))
        if begin >= end:
            return piece
        patched = bytearray(piece)
        patched[begin - offset : end - offset] = replacement[begin - at : end - at]
        return bytes(patched)

    def md5(self) -> str:
        digest = hashlib.md5()
        for piece in self.chunks():
            digest.update(piece)
        return digest.hexdigest()

    def read(self) -> bytes:
        """All of it: for tests on files of a few MB only."""
        return b"".join(self.chunks())

    @cached_property
    def _frame(self) -> tuple[bytes, bytes]:
        """What comes before and after the filler: the Redis framing, or nothing."""
        if self.file_name.endswith(".rdb"):
            return self._rdb_frame()
        if self.file_name.endswith(".aof"):
            return _aof_frame(self.size)
        return b"", b""

    def _rdb_frame(self) -> tuple[bytes, bytes]:
        head = _rdb_head(self.size, self.declared_keys)
        if head is None:
            return b"", b""
        crc = _CRC64_REDIS.calc(head)
        for piece in self._filler(0, self.size - len(head) - 9):
            crc = _CRC64_REDIS.calc(piece, crc)
        crc = _CRC64_REDIS.calc(b"\xff", crc)
        return head, b"\xff" + struct.pack("<Q", crc)

    def _filler(self, start: int, stop: int) -> Iterator[bytes]:
        position = start
        while position < stop:
            index, within = divmod(position, CHUNK)
            piece = _chunk(self.seed, index)[within : within + stop - position]
            position += len(piece)
            yield piece


def backup_files(
    instance_id: str,
    backup_id: str,
    *,
    cluster: bool,
    size: int,
    created: str,
    backup_format: str,
    damage: str | None = None,
    keys: int = 0,
) -> list[GeneratedFile]:
    """The files DCS would link for a backup of ``size`` bytes holding ``keys`` keys: split across three
    shards for a cluster (``damage``, if any, in the last one). A backup of no keys still declares the one
    key its file holds."""
    suffix = "aof" if backup_format == "aof" else "rdb"
    if not cluster:
        return [GeneratedFile(f"{instance_id}_{created}.{suffix}", size, backup_id, damage, max(keys, 1))]
    share, rest = divmod(size, len(CLUSTER_SLOT_RANGES))
    key_share, key_rest = divmod(keys, len(CLUSTER_SLOT_RANGES))
    return [
        GeneratedFile(
            f"{instance_id}_{slots}_{created}.{suffix}",
            share + (rest if n == len(CLUSTER_SLOT_RANGES) - 1 else 0),
            f"{backup_id}/{slots}",
            damage if n == len(CLUSTER_SLOT_RANGES) - 1 else None,
            max(key_share + (key_rest if n == len(CLUSTER_SLOT_RANGES) - 1 else 0), 1),
        )
        for n, slots in enumerate(CLUSTER_SLOT_RANGES)
    ]


def _overlay(damage: str | None, size: int) -> tuple[int, bytes] | None:
    """Where a damage puts which bytes: a byte in the middle changed, the CRC zeroed, the magic or the EOF
    opcode overwritten, the CRLF that ends the last bulk string broken."""
    if damage is None:
        return None
    places = {
        "flipped_byte": (size // 2, b"\x00"),
        "zero_crc": (size - 8, bytes(8)),
        "bad_magic": (0, b"HELLO"),
        "no_eof": (size - 9, b"\x00"),
        "broken_crlf": (size - 2, b".."),
    }
    return places[damage]


def _rdb_head(size: int, declared_keys: int) -> bytes | None:
    """Everything before the one key's value, whose length (a 64-bit RDB length) makes the file ``size`` bytes;
    RESIZEDB declares ``declared_keys`` (Redis reads it as a sizing hint only)."""
    aux = _aux(b"redis-ver", b"7.0.15") + _aux(b"redis-bits", b"64") + _aux(b"ctime", str(RDB_CTIME).encode())
    key = b"\x00" + _rdb_string(b"backup")  # type 0 (string), the key
    head_without_length = b"REDIS0010" + aux + b"\xfe\x00\xfb" + _rdb_length(declared_keys) + b"\x00" + key
    value_length = size - len(head_without_length) - 9 - 9  # the 0x81 length itself, then EOF and CRC
    if value_length < 0:
        return None
    return head_without_length + b"\x81" + struct.pack(">Q", value_length)


def _aof_frame(size: int) -> tuple[bytes, bytes]:
    """A SELECT, then a SET whose value's length makes the file ``size`` bytes."""
    select = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nbackup\r\n"
    for digits in range(1, 21):
        value_length = size - len(select) - len(b"$\r\n") - digits - len(b"\r\n")
        if value_length >= 0 and len(str(value_length)) == digits:
            return select + b"$" + str(value_length).encode() + b"\r\n", b"\r\n"
    return b"", b""


def _rdb_length(value: int) -> bytes:
    """RDB's length encoding: 6 bits, 14 bits, or a 32-bit big-endian length after 0x80."""
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return struct.pack(">H", 0x4000 | value)
    return b"\x80" + struct.pack(">I", value)


def _aux(name: bytes, value: bytes) -> bytes:
    return b"\xfa" + _rdb_string(name) + _rdb_string(value)


def _rdb_string(text: bytes) -> bytes:
    assert len(text) < 64
    return bytes([len(text)]) + text


def _window(data: bytes, offset: int, start: int, stop: int) -> Iterator[bytes]:
    """The part of ``data`` (placed at ``offset`` in the file) that falls in [start, stop)."""
    begin, end = max(start, offset), min(stop, offset + len(data))
    if begin < end:
        yield data[begin - offset : end - offset]


def _chunk(seed: str, index: int) -> bytes:
    return struct.pack(">Q", index) + _block(seed)[8:]


@lru_cache(maxsize=64)
def _block(seed: str) -> bytes:
    return random.Random(seed).randbytes(CHUNK)
