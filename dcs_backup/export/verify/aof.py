"""An AOF file, checked in the stream: RESP framing (``*N`` commands of ``$len`` bulk strings) to its very end.

A file cut in the middle of a command is corrupt. Only the framing is read: a bulk string's
bytes are skipped, not parsed, so the cost does not depend on what the commands hold.
"""

from __future__ import annotations

from dcs_backup.export.verify.base import CorruptFileError, Verification

MAX_HEADER = 32  # "*<count>\r\n" or "$<length>\r\n": digits, never more
MAX_ARGUMENTS = 1 << 20
MAX_BULK = 1 << 40


class AofVerifier:
    """Fed an AOF in order; each command's framing is checked as it arrives."""

    def __init__(self) -> None:
        self._position = 0
        self._line = bytearray()  # a header line not yet ended by CRLF
        self._arguments_left = 0  # bulk strings still due in this command
        self._bulk_left = 0  # bytes of the current bulk string still due, CRLF included
        self._commands = 0

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self._bulk_left:
                step = min(self._bulk_left, len(view))
                if self._bulk_left <= 2:  # the CRLF after the bulk string's bytes
                    self._check_crlf(view[:step], 2 - self._bulk_left)
                elif step > self._bulk_left - 2:
                    self._check_crlf(view[self._bulk_left - 2 : step], 0)
                self._bulk_left -= step
                self._position += step
                view = view[step:]
                continue
            view = self._header_bytes(view)

    def finish(self) -> Verification:
        if self._line or self._arguments_left or self._bulk_left:
            raise CorruptFileError(self._position, "ends in the middle of a command")
        if not self._commands:
            raise CorruptFileError(self._position, "holds no command")
        return Verification("aof", "not checked")

    def _header_bytes(self, view: memoryview) -> memoryview:
        """Take bytes up to the end of a header line, then act on the line."""
        end = bytes(view[: MAX_HEADER + 1]).find(b"\n")
        taken = view[: end + 1] if end >= 0 else view
        self._line += taken
        self._position += len(taken)
        if len(self._line) > MAX_HEADER:
            raise CorruptFileError(self._position, "not RESP: a header line runs on")
        if end >= 0:
            self._on_line(bytes(self._line))
            self._line.clear()
        return view[len(taken) :]

    def _on_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise CorruptFileError(self._position, "not RESP: a line does not end with CRLF")
        kind, number = line[:1], _count(line[1:-2])
        if number is None:
            raise CorruptFileError(self._position, "not RESP: a count is not a number")
        if self._arguments_left == 0:
            if kind != b"*" or not 1 <= number <= MAX_ARGUMENTS:
                raise CorruptFileError(self._position, "not RESP: a command does not start with *<count>")
            self._arguments_left = number
            self._commands += 1
            return
        if kind != b"$" or number > MAX_BULK:
            raise CorruptFileError(self._position, "not RESP: an argument is not a $<length> bulk string")
        self._arguments_left -= 1
        self._bulk_left = number + 2

    def _check_crlf(self, piece: memoryview, offset: int) -> None:
        if bytes(piece) != b"\r\n"[offset : offset + len(piece)]:
            raise CorruptFileError(self._position, "not RESP: a bulk string is not followed by CRLF")


def _count(digits: bytes) -> int | None:
    return int(digits) if digits.isascii() and digits.isdigit() else None
