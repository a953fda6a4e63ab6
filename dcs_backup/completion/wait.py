"""Waiting for a started backup to finish: poll its record until DCS says succeed or failed, or time is up."""

from __future__ import annotations

from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, failure_reason
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.retry import Deadline, PollPolicy
from dcs_backup.runtime import Progress

FAILED_IN_DCS = "backup failed in DCS"
STILL_RUNNING = (
    "the backup was still running when the time to wait ran out; a retry of the same request resumes waiting"
)


class BackupWaiter:
    """Polls through the one call loop, so throttling, faults and the deadline follow the same rules."""

    def __init__(
        self, gateway: DcsGateway, deadline: Deadline, policy: PollPolicy, min_poll_s: float, progress: Progress
    ) -> None:
        self._gateway = gateway
        self._deadline = deadline
        self._policy = policy
        self._min_poll_s = min_poll_s
        self._progress = progress

    def wait(self, started: BackupOutcome) -> BackupOutcome:
        """``completed``, ``failed`` (DCS's record error code) or ``pending``, from a ``created`` outcome."""
        self._progress.waiting(started.instance_id, running=True)
        try:
            return self._polled(started)
        finally:
            self._progress.waiting(started.instance_id, running=False)

    def _polled(self, started: BackupOutcome) -> BackupOutcome:
        backup_id = str(started.backup_id)
        delays = self._policy.delays()
        while True:
            try:
                records = self._gateway.list_backups(started.instance_id)
            except CallError as error:
                return _unreadable(started, error)
            record = next((r for r in records if r.backup_id == backup_id), None)
            if record is not None and record.status == "succeed":
                return _with_record(started, record, OutcomeStatus.COMPLETED)
            if record is not None and record.status == "failed":
                finished = _with_record(started, record, OutcomeStatus.FAILED)
                return finished._replace(reason=FAILED_IN_DCS, error_code=record.error_code)
            delay = next(delays)
            if not self._deadline.allows(delay + self._min_poll_s):
                return _pending(started, record, STILL_RUNNING)
            self._policy.sleep(delay)


def _unreadable(started: BackupOutcome, error: CallError) -> BackupOutcome:
    """DCS refusing the read for good fails the instance (retrying would wait forever); anything else
    (throttling, faults, the deadline) leaves it pending, for a retry to resume."""
    reason = f"the backup's status could not be read: {failure_reason(error)}"
    if error.kind not in (ErrorKind.REJECTED, ErrorKind.CREDENTIALS):
        return _pending(started, None, reason)
    return started._replace(
        status=OutcomeStatus.FAILED,
        reason=reason,
        error_code=error.error_code,
        error_msg=error.message,
        dcs_request_id=error.request_id,
    )


def still_running(started: BackupOutcome) -> BackupOutcome:
    """A wait still under way when the invocation had to answer."""
    return _pending(started, None, STILL_RUNNING)


def _with_record(started: BackupOutcome, record: BackupRecord, status: OutcomeStatus) -> BackupOutcome:
    return started._replace(
        status=status,
        backup_status=record.status,
        size_bytes=record.size_bytes if record.status == "succeed" else None,
        finished_at=record.finished_at,
    )


def _pending(started: BackupOutcome, record: BackupRecord | None, reason: str) -> BackupOutcome:
    status = record.status if record is not None else started.backup_status
    return started._replace(status=OutcomeStatus.PENDING, backup_status=status, reason=reason)
