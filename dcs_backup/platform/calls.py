"""One deadline-aware call loop for every cloud call: classify the failure, recover, retry or give up.

The loop knows nothing about DCS: a client module supplies ``classify`` (its exceptions →
``CallError``), so any cloud client the function gains later goes through the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import structlog

from dcs_backup.platform.retry import Deadline, RetryPolicy

T = TypeVar("T")
log = structlog.get_logger("dcs_backup.platform.calls")


class ErrorKind(str, Enum):
    REJECTED = "rejected"  # a 4xx the service will answer the same way again
    THROTTLED = "throttled"  # 429 / APIG.0308
    SERVER = "server"  # 5xx
    UNREACHABLE = "unreachable"  # connection refused or reset, response lost
    TIMEOUT = "timeout"
    BUSY = "busy"  # DCS.4096: another backup of the instance is running
    DEADLINE = "deadline"  # no time left for another attempt
    CREDENTIALS = "credentials"  # the keys were refused (401, APIG.0301): nothing more is signed with them


# How a target's reason begins when the keys were refused: the run reports it once, not once per target.
CREDENTIALS_REJECTED = "credentials rejected"
TRANSIENT_KINDS = frozenset({ErrorKind.THROTTLED, ErrorKind.SERVER, ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT})
AMBIGUOUS_KINDS = frozenset({ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT})
# Failures that end the invocation's work, not just one step: no fallback is worth trying after them.
RUN_ENDING_KINDS = frozenset({ErrorKind.DEADLINE, ErrorKind.CREDENTIALS})


class CallError(Exception):
    """A call that did not succeed, with what the service said (when it said anything)."""

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


Classify = Callable[[Exception, str], CallError]


class CallLoop:
    """Runs attempts until one succeeds, a failure is final, the attempts run out or the deadline nears."""

    def __init__(self, deadline: Deadline, policy: RetryPolicy, classify: Classify) -> None:
        self.deadline = deadline
        self._policy = policy
        self._classify = classify

    def run(
        self,
        operation: str,
        attempt: Callable[[], T],
        *,
        recover: Callable[[CallError], T | None] | None = None,
        retry_busy: bool = False,
    ) -> T:
        """``attempt()``'s result; ``recover`` may turn a failure into a result before any retry."""
        attempts = 0
        last_error: CallError | None = None
        while True:
            if not self.deadline.allows(self._policy.min_attempt_s):
                raise deadline_error(operation, attempts, last_error)
            attempts += 1
            try:
                return attempt()
            except Exception as exc:  # noqa: BLE001 - classify() re-raises what is not a call failure
                error = self._classify(exc, operation)
            error.attempts = attempts
            recovered = recover(error) if recover is not None else None
            if recovered is not None:
                return recovered
            retryable = error.kind in TRANSIENT_KINDS or (retry_busy and error.kind is ErrorKind.BUSY)
            if not retryable or attempts >= self._policy.max_attempts:
                raise error
            self._wait_before_retry(error, attempts)
            last_error = error

    def with_allowance(self, seconds: float, max_attempts: int = 2) -> CallLoop:
        """The same loop for cleanup (undoing what was started): it may run up to ``seconds`` past the
        deadline (or past now, once that is later), for at most ``max_attempts`` attempts, since work left
        half done outlives the invocation."""
        # Counted from now when the deadline has passed: cleanup that starts late still gets its time.
        start = max(self.deadline.expires_at, self.deadline.clock())
        deadline = self.deadline._replace(expires_at=start + seconds)
        policy = self._policy._replace(max_attempts=min(max_attempts, self._policy.max_attempts))
        return CallLoop(deadline, policy, self._classify)

    def _wait_before_retry(self, error: CallError, attempts: int) -> None:
        delay = self._policy.delay_before(
            attempts + 1, throttled=error.kind is ErrorKind.THROTTLED, retry_after_s=error.retry_after_s
        )
        if not self.deadline.allows(delay + self._policy.min_attempt_s):
            raise deadline_error(error.operation, attempts, error)
        log.info(
            "call retrying",
            operation=error.operation,
            attempt=attempts,
            error_kind=error.kind.value,
            error_code=error.error_code,
            delay_s=round(delay, 3),
        )
        self._policy.sleep(delay)


def deadline_error(operation: str, attempts: int, last_error: CallError | None) -> CallError:
    """The failure to report when time ran out, keeping what the service last said."""
    detail = f"; last error: {last_error.message}" if last_error is not None else ""
    error = CallError(
        ErrorKind.DEADLINE,
        operation,
        f"deadline reached after {attempts} attempt(s) of {operation}{detail}",
        status_code=last_error.status_code if last_error else None,
        error_code=last_error.error_code if last_error else None,
        request_id=last_error.request_id if last_error else None,
    )
    error.attempts = attempts
    return error
