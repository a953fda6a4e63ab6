"""Object storage and download failures, classified once for the call loop.

Messages name exception types only: requests' and the SDK's texts carry URLs, and a pre-signed
link's query string is a credential.
"""

from __future__ import annotations

import http.client
import socket

import requests
import urllib3.exceptions

from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.text import ascii_whole_number, foreign_text

MAX_CODE_LENGTH = 64
# Answers that say "send it again": the bytes were altered in transit, or arrived too slowly.
RESEND_CODES = frozenset({"BadDigest", "RequestTimeout", "IncompleteBody"})
THROTTLE_CODES = frozenset({"SlowDown"})


class ServiceAnswerError(Exception):
    """An answer with an error status (the OBS SDK returns these; it does not raise)."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str | None,
        *,
        request_id: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status} {code or ''}".strip())
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after


class BrokenDownloadError(Exception):
    """The download stopped before the announced length: resume it where it stopped."""


class IntegrityError(Exception):
    """What arrived is not what was sent or announced (a part's ETag, a range, a length): never resumed."""


def classify(exc: Exception, operation: str) -> CallError:
    if isinstance(exc, ServiceAnswerError):
        return _from_answer(exc, operation)
    if isinstance(exc, IntegrityError):
        return CallError(ErrorKind.REJECTED, operation, str(exc))
    if isinstance(exc, BrokenDownloadError):
        return CallError(ErrorKind.UNREACHABLE, operation, str(exc))
    if isinstance(exc, (TimeoutError, socket.timeout, requests.Timeout, urllib3.exceptions.TimeoutError)):
        return CallError(ErrorKind.TIMEOUT, operation, f"no answer in time ({type(exc).__name__})")
    if isinstance(exc, (OSError, http.client.HTTPException, requests.RequestException, urllib3.exceptions.HTTPError)):
        return CallError(ErrorKind.UNREACHABLE, operation, f"connection failed ({type(exc).__name__})")
    raise exc


def _from_answer(exc: ServiceAnswerError, operation: str) -> CallError:
    code = foreign_text(exc.code, MAX_CODE_LENGTH) if exc.code else None
    if exc.status == 429 or code in THROTTLE_CODES:
        kind = ErrorKind.THROTTLED
    elif exc.status >= 500 or code in RESEND_CODES:
        kind = ErrorKind.SERVER
    else:
        kind = ErrorKind.REJECTED
    detail = foreign_text(exc.message) if exc.message else "no message"
    return CallError(
        kind,
        operation,
        f"HTTP {exc.status}{f' {code}' if code else ''}: {detail}",
        status_code=exc.status,
        error_code=code,
        request_id=foreign_text(exc.request_id, MAX_CODE_LENGTH) if exc.request_id else None,
        retry_after_s=_seconds(exc.retry_after),
    )


def _seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds (ASCII digits); an HTTP date or anything else is not used."""
    seconds = ascii_whole_number(value)
    return float(seconds) if seconds is not None else None
