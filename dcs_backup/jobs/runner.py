"""Runs one job per target through a bounded pool: each target ends with exactly one outcome."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import structlog

from dcs_backup.jobs.targets import Target
from dcs_backup.outcome import BackupOutcome, OutcomeStatus

log = structlog.get_logger("dcs_backup.jobs")

Job = Callable[[Target], BackupOutcome]


def run_jobs(targets: Sequence[Target], job: Job, max_concurrency: int) -> list[BackupOutcome]:
    """Outcomes in the order of ``targets``.

    Each job runs in a copy of the caller's context, so its log lines carry the invocation's
    keys (and the redactor its secrets); a job that crashes still yields a failed outcome.
    """
    if not targets:
        return []
    workers = min(max_concurrency, len(targets))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcs-backup") as pool:
        futures = [pool.submit(contextvars.copy_context().run, _run_logged, job, target) for target in targets]
        return [future.result() for future in futures]


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
    fields = outcome.to_dict()
    fields.pop("status")
    log_method = log.warning if outcome.status is OutcomeStatus.FAILED else log.info
    log_method(
        f"instance {outcome.status.value}",
        outcome=outcome.status.value,
        duration_ms=round((time.monotonic() - started) * 1000),
        **fields,
    )
    return outcome
