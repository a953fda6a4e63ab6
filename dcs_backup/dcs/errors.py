"""DCS call failures, classified once so the rest of the function never sees SDK exceptions."""

from __future__ import annotations

from enum import Enum

import requests
from huaweicloudsdkcore.exceptions.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    SdkException,
    ServiceResponseException,
)

INSTANCE_BUSY_CODES = frozenset({"DCS.4096", "111400096"})


class ErrorKind(str, Enum):
    REJECTED = "rejected"  # a 4xx DCS will answer the same way again
    THROTTLED = "throttled"  # 429 / APIG.0308
    SERVER = "server"  # 5xx
    UNREACHABLE = "unreachable"  # connection refused or reset, response lost
    TIMEOUT = "timeout"
    BUSY = "busy"  # DCS.4096: another backup of the instance is running
    DEADLINE = "deadline"  # no time left for another attempt


TRANSIENT_KINDS = frozenset({ErrorKind.THROTTLED, ErrorKind.SERVER, ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT})
AMBIGUOUS_KINDS = frozenset({ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT})


class DcsCallError(Exception):
    """A DCS call that did not succeed, with what DCS said (when it said anything)."""

    def __init__(
        self,
        kind: ErrorKind,
        operation: str,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.operation = operation
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        self.attempts = 0


def classify(exc: Exception, operation: str) -> DcsCallError:
    """Map whatever the SDK (or requests, for POST read timeouts) raised to a DcsCallError."""
    if isinstance(exc, ServiceResponseException):
        return _from_response(exc, operation)
    # Messages name the exception type only: the SDK's and requests' texts carry the URL, host and project id.
    if isinstance(exc, (RequestTimeoutException, requests.exceptions.Timeout)) or _says_timed_out(exc):
        return DcsCallError(ErrorKind.TIMEOUT, operation, f"no answer from DCS in time ({type(exc).__name__})")
    if isinstance(exc, (ConnectionException, requests.exceptions.ConnectionError)):
        return DcsCallError(ErrorKind.UNREACHABLE, operation, f"connection to DCS failed ({type(exc).__name__})")
    if isinstance(exc, SdkException):
        return DcsCallError(ErrorKind.SERVER, operation, f"DCS call failed ({type(exc).__name__})")
    raise exc


def _says_timed_out(exc: Exception) -> bool:
    """A timeout the SDK wrapped as a connection error (its text is all that tells)."""
    return isinstance(exc, ConnectionException) and "timed out" in str(exc).lower()


def _from_response(exc: ServiceResponseException, operation: str) -> DcsCallError:
    code = str(exc.error_code) if exc.error_code else None
    if exc.status_code == 429:
        kind = ErrorKind.THROTTLED
    elif exc.status_code >= 500:
        kind = ErrorKind.SERVER
    elif code in INSTANCE_BUSY_CODES:
        kind = ErrorKind.BUSY
    else:
        kind = ErrorKind.REJECTED
    return DcsCallError(
        kind,
        operation,
        str(exc.error_msg or ""),
        status_code=exc.status_code,
        error_code=code,
        request_id=exc.request_id or None,
        retry_after_s=_retry_after_seconds(getattr(exc, "retry_after", None)),
    )


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form is ignored (the gateway sends seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
