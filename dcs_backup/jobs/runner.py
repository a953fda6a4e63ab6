"""Runs one job per target through a bounded pool: each target ends with exactly one outcome."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

import structlog

from dcs_backup.jobs.targets import Target
from dcs_backup.outcome import BackupOutcome, OutcomeStatus
from dcs_backup.retry import Deadline

log = structlog.get_logger("dcs_backup.jobs")

Job = Callable[[Target], BackupOutcome]
# The deadline already keeps a margin for answering; this only absorbs a job finishing right at it.
_LATE_GRACE_S = 0.05
LATE_REASON = (
    "deadline reached while a DCS call was still under way; the backup may have been started: "
    "a retry of the same request finds it"
)
NOT_STARTED_REASON = "deadline reached before this instance's turn"


def run_jobs(
    targets: Sequence[Target],
    job: Job,
    max_concurrency: int,
    deadline: Deadline,
    late: Callable[[Target, bool], BackupOutcome] | None = None,
) -> list[BackupOutcome]:
    """Outcomes in the order of ``targets``, by the deadline whatever the jobs are doing.

    Each job runs in a copy of the caller's context, so its log lines carry the invocation's
    keys (and the redactor its secrets); a job that crashes still yields a failed outcome.
    Timeouts bound each socket read, not a whole answer: a peer that trickles bytes could hold
    a job past the deadline, so a job still running then is reported by ``late(target, running)``
    (failed, by default) and left behind.
    """
    if not targets:
        return []
    workers = min(max_concurrency, len(targets))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcs-backup")
    try:
        futures = [pool.submit(contextvars.copy_context().run, _run_logged, job, target) for target in targets]
        wait(futures, timeout=deadline.remaining() + _LATE_GRACE_S)
        return [_outcome(future, target, late or late_failure) for future, target in zip(futures, targets, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def late_failure(target: Target, running: bool) -> BackupOutcome:
    """A job the deadline cut short: failed, saying whether it had begun."""
    return BackupOutcome(
        target.instance_id,
        OutcomeStatus.FAILED,
        reason=LATE_REASON if running else NOT_STARTED_REASON,
        instance_name=target.name,
    )


def _outcome(
    future: Future[BackupOutcome], target: Target, late: Callable[[Target, bool], BackupOutcome]
) -> BackupOutcome:
    if future.done() and not future.cancelled():
        return future.result()
    outcome = late(target, future.running())
    _log_outcome(outcome, extra={})
    return outcome


def _run_logged(job: Job, target: Target) -> BackupOutcome:
    structlog.contextvars.bind_contextvars(instance_id=target.instance_id)
    started = time.monotonic()
    try:
        outcome = job(target)
    except Exception:
        log.exception("instance backup crashed")
        outcome = BackupOutcome(
            target.instance_id,
            OutcomeStatus.FAILED,
            reason="internal error; see the function log",
            instance_name=target.name,
        )
    _log_outcome(outcome, extra={"duration_ms": round((time.monotonic() - started) * 1000)})
    return outcome


def _log_outcome(outcome: BackupOutcome, extra: dict[str, int]) -> None:
    """One line per outcome; a failed instance is an ERROR line, saying what failed in words."""
    fields = outcome.to_dict()
    fields.pop("status")
    if outcome.status is OutcomeStatus.FAILED:
        name = outcome.instance_name or outcome.instance_id
        fields["detail"] = f"backing up instance {name} failed: {outcome.reason}"
        log.error("instance failed", outcome=outcome.status.value, **extra, **fields)
        return
    log.info(f"instance {outcome.status.value}", outcome=outcome.status.value, **extra, **fields)
