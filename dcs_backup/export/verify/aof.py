"""An AOF file, checked in the stream: RESP framing (``*N`` commands of ``$len`` bulk strings) to its very end.

A file cut in the middle of a command is corrupt. Only the framing is read: a bulk string's bytes are
skipped, not parsed, and headers are matched by one compiled pattern per argument, so small commands
cost little and large values nothing. Annotation lines (``#TS:…``, Redis 7's timestamps) between
commands are skipped, as Redis's loader skips them. An empty AOF (an empty dataset) is valid.
"""

from __future__ import annotations

import re

from dcs_backup.export.verify.base import CorruptFileError, Verification

MAX_ARGUMENTS = 2**31 - 1  # Redis takes up to INT_MAX arguments
MAX_BULK = 1 << 40
MAX_LINE = 1024  # a header or an annotation line; a longer one is not RESP
_COMMAND = re.compile(rb"\*([0-9]{1,10})\r\n")
_BULK = re.compile(rb"\$([0-9]{1,13})\r\n")


class AofVerifier:
    """Fed an AOF in order; each command's framing is checked as it arrives."""

    def __init__(self) -> None:
        self._carry = b""  # the start of a command (or line) that the next bytes complete
        self._offset = 0  # where _carry starts in the file
        self._skip = 0  # bytes of a long bulk string (and its CRLF) still to come, not carried
        self._crlf_due = b""  # what of a skipped bulk string's CRLF is still to be checked
        self._args_left = 0  # arguments of the command still due after a skipped bulk string

    def feed(self, data: bytes | memoryview) -> None:
        buffer = self._carry + bytes(data) if self._carry else bytes(data)
        self._carry = b""
        start = self._skip_bulk(buffer)
        if self._skip:
            return
        if self._args_left:  # the rest of a command that an earlier part began
            end, left = self._arguments(buffer, start, self._args_left, start)
            self._offset += end - start
            if self._held_within_command(buffer, end, left):
                return
            start = end
        self._carry, consumed = self._commands(buffer, start)
        self._offset += consumed

    def finish(self) -> Verification:
        if self._carry or self._skip or self._crlf_due or self._args_left:
            raise CorruptFileError(self._offset, "ends in the middle of a command")
        return Verification("aof", "not checked")

    def _skip_bulk(self, buffer: bytes) -> int:
        """Pass over what is left of a long bulk string; where the next command starts in ``buffer``."""
        if not self._skip:
            return 0
        step = min(self._skip, len(buffer))
        tail = buffer[max(0, self._skip - 2) : step] if self._skip - step < 2 else b""
        self._crlf_due += tail
        self._skip -= step
        if not self._skip:
            if self._crlf_due[-2:] != b"\r\n":
                raise CorruptFileError(self._offset + step, "not RESP: a bulk string is not followed by CRLF")
            self._crlf_due = b""
        self._offset += step
        return step

    def _commands(self, buffer: bytes, position: int) -> tuple[bytes, int]:
        """Check whole commands from ``position``; what to carry to the next part, and the bytes consumed."""
        begin = position
        size = len(buffer)
        while position < size:
            if buffer[position] == 0x23:  # '#': an annotation line
                end = buffer.find(b"\r\n", position, position + MAX_LINE)
                if end < 0:
                    return self._incomplete(buffer, begin, position, size, "an annotation line runs on")
                position = end + 2
                continue
            found = _COMMAND.match(buffer, position)
            if found is None:
                return self._incomplete(buffer, begin, position, size, "a command does not start with *<count>")
            count = int(found.group(1))
            if not 1 <= count <= MAX_ARGUMENTS:
                raise CorruptFileError(self._offset + position - begin, "not RESP: a command has no arguments")
            end, left = self._arguments(buffer, found.end(), count, begin)
            if self._held_within_command(buffer, end, left):
                return self._carry, end - begin
            position = end
        return b"", position - begin

    def _held_within_command(self, buffer: bytes, end: int, left: int) -> bool:
        """When the part ends inside a command: keep its place (the arguments still due, and only the one
        argument begun, never the whole command), so a command of any size costs linear time."""
        self._args_left = left
        if not left and not self._skip:
            return False
        self._carry = b"" if self._skip else buffer[end:]
        return True

    def _arguments(self, buffer: bytes, position: int, count: int, begin: int) -> tuple[int, int]:
        """How far ``count`` arguments reach in ``buffer``, and how many are still due when it ends first
        (the one begun among them; a long bulk string is skipped, its rest counted in ``_skip``)."""
        for left in range(count, 0, -1):
            found = _BULK.match(buffer, position)
            if found is None:
                if len(buffer) - position < MAX_LINE and buffer.startswith(b"$"[: len(buffer) - position], position):
                    return position, left
                raise CorruptFileError(
                    self._offset + position - begin, "not RESP: an argument is not a $<length> bulk string"
                )
            length = int(found.group(1))
            if length > MAX_BULK:
                raise CorruptFileError(self._offset + position - begin, "not RESP: a bulk string is too long")
            end = found.end() + length
            if end + 2 > len(buffer):
                if length > MAX_LINE:  # a long value: skip it, carry nothing, resume after it
                    self._skip = end + 2 - len(buffer)
                    self._crlf_due = buffer[end:] if end < len(buffer) else b""
                    return len(buffer), left - 1
                return position, left
            if buffer[end : end + 2] != b"\r\n":
                raise CorruptFileError(self._offset + end - begin, "not RESP: a bulk string is not followed by CRLF")
            position = end + 2
        return position, 0

    def _incomplete(self, buffer: bytes, begin: int, position: int, size: int, problem: str) -> tuple[bytes, int]:
        """The bytes from ``position`` when they may still become a line; else the file is not RESP."""
        rest = buffer[position:]
        if size - position < MAX_LINE and b"\r\n" not in rest and rest[:1] in (b"*", b"#"):
            return rest, position - begin
        raise CorruptFileError(self._offset + position - begin, f"not RESP: {problem}")
