"""DCS call failures, classified once so the rest of the function never sees SDK exceptions."""

from __future__ import annotations

import requests
from huaweicloudsdkcore.exceptions.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    SdkException,
    ServiceResponseException,
)

from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.text import ascii_whole_number, foreign_text

INSTANCE_BUSY_CODES = frozenset({"DCS.4096", "111400096"})
# The gateway's verdicts on the signature and on the caller (a DCS.2003 403 is about one action only).
CREDENTIALS_REJECTED_CODES = frozenset({"APIG.0301", "APIGW.0301", "APIG.0302", "APIGW.0302"})
MAX_CODE_LENGTH = 64


class UnreadableAnswerError(Exception):
    """A 2xx answer without what DCS always sends (an HTML page from a proxy, an empty object).

    Treated like a lost answer: the call may have done its work, so a create looks for its
    backup before trying again.
    """


def classify(exc: Exception, operation: str) -> CallError:
    """Map whatever the SDK (or requests, for POST read timeouts) raised to a CallError.

    A CallError is already one: a 200 whose content says DCS refused (CreateMigrationTask's ``error``).
    """
    if isinstance(exc, CallError):
        return exc
    if isinstance(exc, ServiceResponseException):
        return _from_response(exc, operation)
    # Messages name the exception type only: the SDK's and requests' texts carry the URL, host and project id.
    if isinstance(exc, (RequestTimeoutException, requests.exceptions.Timeout)) or _says_timed_out(exc):
        return CallError(ErrorKind.TIMEOUT, operation, f"no answer from DCS in time ({type(exc).__name__})")
    if isinstance(exc, (ConnectionException, requests.exceptions.RequestException)):
        # Refused, reset, or an answer cut short (ChunkedEncodingError): the call may have landed.
        return CallError(ErrorKind.UNREACHABLE, operation, f"connection to DCS failed ({type(exc).__name__})")
    if isinstance(exc, UnreadableAnswerError):
        return CallError(ErrorKind.UNREACHABLE, operation, f"DCS's answer could not be read ({exc})")
    if isinstance(exc, SdkException):
        return CallError(ErrorKind.SERVER, operation, f"DCS call failed ({type(exc).__name__})")
    raise exc


def rejects_credentials(error: CallError) -> bool:
    """Whether DCS's gateway refused the keys themselves: every further call would be refused too,
    and each refused signature counts towards locking the key."""
    return error.status_code == 401 or error.error_code in CREDENTIALS_REJECTED_CODES


def _says_timed_out(exc: Exception) -> bool:
    """A timeout the SDK wrapped as a connection error (its text is all that tells)."""
    return isinstance(exc, ConnectionException) and "timed out" in str(exc).lower()


def _from_response(exc: ServiceResponseException, operation: str) -> CallError:
    code = str(exc.error_code) if exc.error_code else None
    if exc.status_code == 429:
        kind = ErrorKind.THROTTLED
    elif exc.status_code >= 500:
        kind = ErrorKind.SERVER
    elif code in INSTANCE_BUSY_CODES:
        kind = ErrorKind.BUSY
    else:
        kind = ErrorKind.REJECTED
    return CallError(
        kind,
        operation,
        foreign_text(exc.error_msg or ""),
        status_code=exc.status_code,
        error_code=foreign_text(code, MAX_CODE_LENGTH) if code else None,
        request_id=foreign_text(exc.request_id, MAX_CODE_LENGTH) if exc.request_id else None,
        retry_after_s=_retry_after_seconds(getattr(exc, "retry_after", None)),
    )


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in whole seconds (ASCII digits, as HTTP defines it); the HTTP-date form and
    anything else are ignored (the gateway sends seconds)."""
    seconds = ascii_whole_number(value.strip()) if isinstance(value, str) else None
    return float(seconds) if seconds is not None else None
