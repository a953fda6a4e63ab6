"""Runs one job per target through a bounded pool: each target ends with exactly one outcome."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, Generic, Protocol, TypeVar

import structlog

from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.retry import Deadline
from dcs_backup.selection.targets import Target

log = structlog.get_logger("dcs_backup.jobs")

# The deadline already keeps a margin for answering; this only absorbs a job finishing right at it.
_LATE_GRACE_S = 0.05
LATE_REASON = (
    "deadline reached while a DCS call was still under way; the backup may have been started: "
    "a retry of the same request finds it"
)
NOT_STARTED_REASON = "deadline reached before this instance's turn"
CRASHED_REASON = "internal error; see the function log"


class JobOutcome(Protocol):
    """What the runner needs of an outcome: whom it is about, how to log it, whether a person must act."""

    @property
    def instance_id(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def headline(self) -> str:
        """What happened, in a few words: the message of the outcome's log line."""

    @property
    def attention(self) -> str | None:
        """Words for an ERROR line when a person must act, else None."""

    def to_dict(self) -> dict[str, Any]: ...


OutcomeT = TypeVar("OutcomeT", bound=JobOutcome)
T = TypeVar("T")


def run_within(deadline: Deadline, operation: str, work: Callable[[], T]) -> T:
    """``work()``'s result, or a DEADLINE CallError once the deadline passes while it still runs.

    For work done before the jobs (reading the selection): its socket timeouts bound each read, not
    a whole answer, so only waiting on it from here keeps the invocation's answer on time.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dcs-backup")
    try:
        future = pool.submit(contextvars.copy_context().run, work)
        return future.result(timeout=deadline.remaining() + _LATE_GRACE_S)
    except FutureTimeoutError:
        raise CallError(ErrorKind.DEADLINE, operation, f"deadline reached during {operation}") from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_jobs(
    targets: Sequence[Target],
    job: Callable[[Target], OutcomeT],
    max_concurrency: int,
    deadline: Deadline,
    failed: Callable[[Target, str], OutcomeT],
    late: Callable[[Target, bool], OutcomeT] | None = None,
    interim: Callable[[OutcomeT], bool] | None = None,
) -> list[OutcomeT]:
    """Outcomes in the order of ``targets``, by the deadline whatever the jobs are doing.

    Each job runs in a copy of the caller's context, so its log lines carry the invocation's
    keys (and the redactor its secrets); a job that crashes still yields ``failed(target, reason)``.
    Timeouts bound each socket read, not a whole answer: a peer that trickles bytes could hold
    a job past the deadline, so a job still running then is reported by ``late(target, running)``
    (by default failed, saying whether it had begun) and left behind. An ``interim`` outcome is
    not logged: a next step replaces it (and logs what it makes of it).
    """
    if not targets:
        return []

    def cut_short(target: Target, running: bool) -> OutcomeT:
        return failed(target, LATE_REASON if running else NOT_STARTED_REASON)

    workers = min(max_concurrency, len(targets))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcs-backup")
    logged = _LoggedJob(job, failed, interim)
    try:
        futures = [pool.submit(contextvars.copy_context().run, logged, target) for target in targets]
        wait(futures, timeout=deadline.remaining() + _LATE_GRACE_S)
        logged.answered.set()
        return [_outcome(f, target, late or cut_short) for f, target in zip(futures, targets, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _outcome(future: Future[OutcomeT], target: Target, late: Callable[[Target, bool], OutcomeT]) -> OutcomeT:
    if future.done() and not future.cancelled():
        return future.result()
    outcome = late(target, future.running())
    _log_outcome(outcome, extra={})
    return outcome


class _LoggedJob(Generic[OutcomeT]):
    """A job that logs its outcome: as the answer's, or, once the invocation has answered without it, as late."""

    def __init__(
        self,
        job: Callable[[Target], OutcomeT],
        failed: Callable[[Target, str], OutcomeT],
        interim: Callable[[OutcomeT], bool] | None,
    ) -> None:
        self._job = job
        self._failed = failed
        self._interim = interim
        self.answered = threading.Event()

    def __call__(self, target: Target) -> OutcomeT:
        structlog.contextvars.bind_contextvars(instance_id=target.instance_id)
        started = time.monotonic()
        try:
            outcome = self._job(target)
        except Exception:
            log.exception("instance job crashed")
            outcome = self._failed(target, CRASHED_REASON)
        duration_ms = round((time.monotonic() - started) * 1000)
        if self.answered.is_set():
            # The answer already said what became of this target (late); this only records how it ended.
            log.info("instance step ended after the answer", outcome=outcome.verdict, duration_ms=duration_ms)
        elif self._interim is None or not self._interim(outcome):
            _log_outcome(outcome, extra={"duration_ms": duration_ms})
        return outcome


def _log_outcome(outcome: JobOutcome, extra: dict[str, int]) -> None:
    """One line per outcome; one that needs a person is an ERROR line saying what and for which instance."""
    fields = outcome.to_dict()
    fields.pop("status")
    attention = outcome.attention
    if attention is not None:
        log.error(outcome.headline, outcome=outcome.verdict, detail=attention, **extra, **fields)
        return
    log.info(outcome.headline, outcome=outcome.verdict, **extra, **fields)
