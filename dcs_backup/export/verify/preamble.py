"""An AOF that starts with an RDB preamble (Redis's default since 5.0): the RDB checked, then the commands.

Where the RDB ends is found without parsing its keys: after an RDB's EOF opcode and its stored CRC, the
running CRC-64 is 0 again. So the preamble ends at the first EOF opcode + 8 bytes, followed by a
command header or an annotation, at which the running CRC is 0 (by chance, 1 in 2^64); the RDB check
is finished there and the rest is read as RESP. A preamble saved without a checksum (a stored CRC of
0) cannot be found that way: each place that may be its end (an EOF and 8 zero bytes before a
command) starts a trial RESP check of the rest, and the file passes, with its checksum ``absent``,
only when one trial holds to the very end. Otherwise the file must be an RDB to its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import anycrc

from dcs_backup.export.verify.aof import AofVerifier
from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.rdb import RdbVerifier

# An EOF opcode, then (looked ahead at: they may overlap) a stored CRC and a command header or an annotation.
_END = re.compile(rb"\xff(?=[\x00-\xff]{8}(?:\*[0-9]{1,10}\r\n|#))")
_END_SPAN = 1 + 8 + len(b"*2147483647\r\n")  # the most an end and what follows it take
_CRC_SPAN = 9  # the EOF opcode and the stored CRC
_UNCHECKED_CRC = bytes(8)
_TRIAL_START = 64  # most trials fail within their first command
MAX_TRIALS = 16  # places that may end a preamble saved without a checksum, checked at once
_CRC64_REDIS = anycrc.Model("CRC64-REDIS")


class PreambleAofVerifier:
    """Fed an AOF that starts with ``REDIS``; its verdict is the preamble's, with the commands' framing checked.

    The last bytes seen are held back (from the CRC and the RDB check alike) until the bytes after
    them show whether an end begins there.
    """

    def __init__(self) -> None:
        self._rdb = RdbVerifier()
        self._commands: AofVerifier | None = None
        self._preamble: Verification | None = None
        self._size = 0  # every byte fed so far
        self._preamble_size = 0  # where the commands begin, once found
        self._held = b""  # the last bytes fed, not yet through the CRC or the RDB check
        self._crc = 0  # over every byte before ``_held``
        self._last_end = -1  # the last place looked at (an end seen twice is looked at once)
        self._first_end: int | None = None
        self._trials: list[AofVerifier] = []  # trial RESP checks, one per place a checksum-less preamble may end
        self._trials_at: list[int] = []

    def feed(self, data: bytes | memoryview) -> None:
        if self._commands is not None:
            self._feed_commands(data)
            return
        self._feed_trials(data)
        held_from = self._size - len(self._held)
        crc, crc_at = self._crc, held_from
        for end in self._ends(data):
            command = end + _CRC_SPAN  # where the command after this EOF opcode and CRC begins
            crc, crc_at = _CRC64_REDIS.calc(self._span(data, crc_at, command), crc), command
            if crc == 0:
                self._end_preamble(data, command)
                return
            if self._first_end is None:
                self._first_end = end
            if self._span(data, end + 1, command) == _UNCHECKED_CRC:
                self._start_trial(data, command)
        joined_end = self._size + len(data)
        keep_from = max(held_from, joined_end - _END_SPAN)  # the last bytes wait for what follows them
        if crc_at <= keep_from:
            self._crc = _CRC64_REDIS.calc(self._span(data, crc_at, keep_from), crc)
        else:  # the last place looked at lies in the bytes now held: the CRC up to them, afresh
            self._crc = _CRC64_REDIS.calc(self._span(data, held_from, keep_from), self._crc)
        self._rdb.feed(self._span(data, held_from, keep_from))
        self._held = self._span(data, keep_from, joined_end)
        self._size = joined_end

    def finish(self) -> Verification:
        if self._commands is None:  # no command after the preamble: the file is an RDB to its end
            self._rdb.feed(self._held)
            try:
                return self._rdb.finish()._replace(format="aof")
            except CorruptFileError:
                if any(self._trial_holds(trial) for trial in self._trials):
                    return self._rdb.declared("absent")._replace(format="aof")
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
        return self._preamble._replace(format="aof")

    def _ends(self, data: bytes | memoryview) -> Iterator[int]:
        """Where an EOF opcode may end the preamble, in order, each once: those that began in the held bytes
        (seen now that the bytes after them are in), then those within ``data``."""
        held_from = self._size - len(self._held)
        straddling = self._held + bytes(data[:_END_SPAN])
        for found in _END.finditer(straddling):
            if held_from + found.start() < self._size and held_from + found.start() > self._last_end:
                self._last_end = held_from + found.start()
                yield self._last_end
        for found in _END.finditer(data):
            if self._size + found.start() > self._last_end:
                self._last_end = self._size + found.start()
                yield self._last_end

    def _span(self, data: bytes | memoryview, begin: int, end: int) -> bytes:
        """The stream's bytes [begin, end), from the held bytes and ``data`` (begin at the held bytes or later)."""
        held_from = self._size - len(self._held)
        piece = self._held[max(0, begin - held_from) : max(0, end - held_from)]
        if end > self._size:
            piece += bytes(data[max(0, begin - self._size) : end - self._size])
        return piece

    def _end_preamble(self, data: bytes | memoryview, command: int) -> None:
        held_from = self._size - len(self._held)
        self._rdb.feed(self._span(data, held_from, command))
        self._preamble = self._rdb.finish()
        self._preamble_size = command
        self._commands = AofVerifier()
        self._trials, self._trials_at = [], []
        rest = self._span(data, command, self._size + len(data))
        self._size += len(data)
        self._feed_commands(rest)

    def _start_trial(self, data: bytes | memoryview, at: int) -> None:
        """A trial from ``at`` to the end of ``data``: its first bytes alone first, as most trials fail at once."""
        trial, end = AofVerifier(), self._size + len(data)
        first_end = min(end, at + _TRIAL_START)
        if not (_fed(trial, self._span(data, at, first_end)) and _fed(trial, self._span(data, first_end, end))):
            return
        if len(self._trials) == MAX_TRIALS:  # the oldest gives way: a real end is the last before the commands
            del self._trials[0], self._trials_at[0]
        self._trials.append(trial)
        self._trials_at.append(at)

    def _feed_trials(self, data: bytes | memoryview) -> None:
        kept = [(trial, at) for trial, at in zip(self._trials, self._trials_at, strict=True) if _fed(trial, data)]
        self._trials, self._trials_at = [t for t, _ in kept], [a for _, a in kept]

    @staticmethod
    def _trial_holds(trial: AofVerifier) -> bool:
        try:
            trial.finish()
        except CorruptFileError:
            return False
        return True

    def _feed_commands(self, data: bytes | memoryview) -> None:
        assert self._commands is not None
        try:
            self._commands.feed(data)
        except CorruptFileError as corrupt:
            raise self._in_file(corrupt) from None

    def _in_file(self, corrupt: CorruptFileError) -> CorruptFileError:
        """The commands' offsets are counted from the preamble's end; the file's, from its start."""
        return CorruptFileError(self._preamble_size + corrupt.offset, corrupt.problem)


def _fed(trial: AofVerifier, data: bytes | memoryview) -> bool:
    """Whether the trial still holds with ``data``."""
    try:
        trial.feed(data)
    except CorruptFileError:
        return False
    return True
