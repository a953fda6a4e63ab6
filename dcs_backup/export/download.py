"""Reading a backup file from its pre-signed link, in order, resuming a broken stream with ``Range``."""

from __future__ import annotations

import re
from typing import Any

import requests

from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.errors import BrokenDownloadError, IntegrityError, ServiceAnswerError
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.text import ascii_whole_number

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
# At most per read: a read returns what has arrived, so the deadline is checked often; small pieces
# (copied into the part buffer) keep the allocator from holding freed megabytes in each thread's arena.
PIECE_BYTES = 1 << 18
# ASCII digits only: "\d" would take any script's digits, which int() then reads.
_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)")


class LinkDownload:
    """One file's bytes, read sequentially into the caller's buffer.

    The first GET announces the size (its Content-Length); when the stream breaks, the next
    attempt asks for the rest from the byte it stopped at, so a part is never fetched twice.
    The link is never logged or put in an error: its query string is a signature.
    """

    def __init__(self, file: BackupFile, session: requests.Session, loop: CallLoop, reserve_s: float = 0.0) -> None:
        self._link = file.link
        self._reserve_s = reserve_s
        self._session = session
        self._loop = loop
        self._response: requests.Response | None = None
        self.size = 0
        self.position = 0

    def open(self, start: int = 0, size: int | None = None) -> int:
        """The file's size, from the first answer's Content-Length; from ``start`` on (an earlier run read the
        rest), it is a Range request whose Content-Range must say the file still holds ``size`` bytes."""
        if start == 0:
            return self._loop.run("DownloadBackupFile", self._open_at_start)
        self.position, self.size = start, size or 0
        self._loop.run("DownloadBackupFile", self._resume)
        return self.size

    def probe(self) -> int:
        """The file's size without reading it: the total of a one-byte Range request's Content-Range."""
        return self._loop.run("DownloadBackupFile", self._probe)

    def fill(self, part: memoryview) -> None:
        """Fill ``part`` with the next bytes of the file (resuming, through the loop, if the stream breaks)."""
        end = self.position + len(part)
        start = self.position
        self._loop.run("DownloadBackupFile", lambda: self._read_until(part, start, end))

    def finish(self) -> None:
        """Everything announced arrived, and nothing more."""
        if self.position != self.size:
            raise IntegrityError(f"read {self.position} of {self.size} announced bytes")
        if self._response is not None and self._response.raw.read(1):
            raise IntegrityError(f"the download sent more than its announced {self.size} bytes")

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _open_at_start(self) -> int:
        response = self._get({})
        if response.status_code != 200:
            response.close()
            raise IntegrityError(f"the download answered HTTP {response.status_code} without a Range")
        length = ascii_whole_number(response.headers.get("Content-Length"))
        if length is None:
            response.close()
            raise IntegrityError("the download announced no usable Content-Length (ASCII digits)")
        self._response, self.size, self.position = response, length, 0
        return self.size

    def _read_until(self, part: memoryview, start: int, end: int) -> None:
        try:
            while self.position < end:
                self._stop_if_out_of_time()
                stream = self._response or self._resume()
                piece = stream.raw.read1(min(PIECE_BYTES, end - self.position))
                if not piece:
                    raise BrokenDownloadError(f"the download ended at byte {self.position} of {self.size}")
                offset = self.position - start
                part[offset : offset + len(piece)] = piece
                self.position += len(piece)
        except Exception:
            self.close()
            raise

    def _stop_if_out_of_time(self) -> None:
        """A slow stream is not read into the time kept for aborting the upload and answering."""
        if not self._loop.deadline.allows(self._reserve_s):
            raise CallError(
                ErrorKind.DEADLINE,
                "DownloadBackupFile",
                f"deadline reached at byte {self.position} of {self.size}; the copy stops here",
            )

    def _resume(self) -> requests.Response:
        """The rest of the file from ``position``, which the answer's Content-Range must confirm."""
        response = self._get({"Range": f"bytes={self.position}-"})
        try:
            start, total = _content_range(response)
        except IntegrityError:
            response.close()
            raise
        if (start, total) != (self.position, self.size):
            response.close()
            raise IntegrityError("the download's Content-Range does not continue where it stopped")
        self._response = response
        return response

    def _probe(self) -> int:
        response = self._get({"Range": "bytes=0-0"})
        try:
            return _content_range(response)[1]
        finally:
            response.close()

    def _get(self, headers: dict[str, str]) -> requests.Response:
        remaining = self._loop.deadline.remaining()
        response = self._session.get(
            self._link,
            headers={"Accept-Encoding": "identity", **headers},
            stream=True,
            timeout=(min(CONNECT_TIMEOUT_S, remaining), min(READ_TIMEOUT_S, remaining)),
            allow_redirects=False,
        )
        if response.status_code >= 300:
            response.close()
            raise ServiceAnswerError(
                response.status_code,
                _error_code(response),
                None,
                request_id=response.headers.get("x-obs-request-id"),
                retry_after=response.headers.get("Retry-After"),
            )
        return response


def _content_range(response: requests.Response) -> tuple[int, int]:
    """The first byte and the file's total size that a 206 answer's Content-Range gives."""
    if response.status_code != 206:
        raise IntegrityError(f"the download answered HTTP {response.status_code} to a Range request")
    found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
    if found is None:
        raise IntegrityError("the download answered a Range request without a usable Content-Range")
    return int(found.group(1)), int(found.group(3))


def _error_code(response: Any) -> str | None:
    """OBS names its error in a header too, so the body (possibly large) is never read."""
    code = response.headers.get("x-obs-error-code")
    return str(code) if code else None
