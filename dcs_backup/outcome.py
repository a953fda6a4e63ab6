"""Per-instance outcomes and the result document of one invocation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from dcs_backup.platform.calls import CREDENTIALS_REJECTED, RUN_ENDING_KINDS, CallError

if TYPE_CHECKING:
    from dcs_backup.export.base import ExportResult


class OutcomeStatus(str, Enum):
    READY = "ready"  # eligible and no backup of this request found: about to be started (never in a result)
    CREATED = "created"  # started (or found started), not waited for
    COMPLETED = "completed"  # waited for, and DCS reports it succeeded
    PENDING = "pending"  # waited for, and still running when time ran out
    SKIPPED = "skipped"
    FAILED = "failed"


_HEADLINES = {
    OutcomeStatus.READY: "instance ready for its backup",
    OutcomeStatus.CREATED: "backup started",
    OutcomeStatus.COMPLETED: "backup completed",
    OutcomeStatus.PENDING: "instance pending",
    OutcomeStatus.SKIPPED: "instance skipped",
    OutcomeStatus.FAILED: "instance failed",
}


_TALLY_WORDS = {
    OutcomeStatus.CREATED: "backup(s) started or found started",
    OutcomeStatus.COMPLETED: "backup(s) completed",
    OutcomeStatus.PENDING: "pending",
    OutcomeStatus.SKIPPED: "skipped",
    OutcomeStatus.FAILED: "failed",
}


class RunStatus(str, Enum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    PARTIAL = "partial"
    FAILED = "failed"


_OPTIONAL_FIELDS = (
    "instance_name",
    "backup_id",
    "backup_status",
    "size_bytes",
    "finished_at",
    "reason",
    "error_code",
    "error_msg",
    "dcs_request_id",
)


class PreviousBackup(NamedTuple):
    """The newest earlier backup this function made on the instance, whoever asked for it."""

    backup_id: str
    status: str | None
    error_code: str | None
    finished_at: str | None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "status": self.status,
            "error_code": self.error_code,
            "finished_at": self.finished_at,
        }


class BackupOutcome(NamedTuple):
    """How one targeted instance ended; every target gets exactly one."""

    instance_id: str
    status: OutcomeStatus
    backup_id: str | None = None
    reason: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    dcs_request_id: str | None = None
    reused: bool = False
    instance_name: str | None = None
    backup_status: str | None = None
    size_bytes: int | None = None
    finished_at: str | None = None
    previous_backup: PreviousBackup | None = None
    evicts_backup_id: str | None = None
    deleted_backup_ids: tuple[str, ...] = ()
    would_delete_backup_ids: tuple[str, ...] | None = None
    retention_error: dict[str, str | None] | None = None
    export: ExportResult | None = None
    exported_backup_id: str | None = None

    @property
    def verdict(self) -> str:
        return self.status.value

    @property
    def headline(self) -> str:
        if self.status is OutcomeStatus.CREATED and self.reused:
            return "backup found, started earlier for this request"
        return _HEADLINES[self.status]

    @property
    def attention(self) -> str | None:
        if self.status is not OutcomeStatus.FAILED or told_for_the_run(self.reason):
            return None
        return f"backing up instance {self.instance_name or self.instance_id} failed: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: absent fields are left out, ``reused`` appears only when true."""
        data = outcome_dict(self, _OPTIONAL_FIELDS)
        if self.previous_backup is not None:
            data["previous_backup"] = self.previous_backup.to_dict()
        return data | self._retention_dict()

    def _retention_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.evicts_backup_id is not None:
            data["evicts_backup_id"] = self.evicts_backup_id
        if self.deleted_backup_ids:
            data["deleted_backup_ids"] = list(self.deleted_backup_ids)
        if self.would_delete_backup_ids is not None:
            data["would_delete_backup_ids"] = list(self.would_delete_backup_ids)
        if self.retention_error is not None:
            data["retention_error"] = self.retention_error
        if self.export is not None:
            data["export"] = _export_dict(self.export, self.exported_backup_id)
        return data


def outcome_dict(outcome: Any, optional_fields: Sequence[str]) -> dict[str, Any]:
    """An outcome's id and status, the optional fields it has, and ``reused`` only when true."""
    data: dict[str, Any] = {"instance_id": outcome.instance_id, "status": outcome.status.value}
    for name in optional_fields:
        value = getattr(outcome, name)
        if value is not None:
            data[name] = value
    if outcome.reused:
        data["reused"] = True
    return data


def _export_dict(result: ExportResult, backup_id: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"status": result.status}
    if backup_id is not None:
        data["backup_id"] = backup_id
    data["objects"] = [o.to_dict() for o in result.objects]
    if result.reason is not None:
        data["reason"] = result.reason
    if result.corrupt is not None:
        data["backup_corrupt"] = result.corrupt.to_dict()
    if result.progress is not None:
        data.update(result.progress.to_dict())
    return data


def told_for_the_run(reason: str | None) -> bool:
    """Refused keys fail every target alike: the run says so once, in one ERROR line, not per target."""
    return reason is not None and reason.startswith(CREDENTIALS_REJECTED)


def failure_reason(error: CallError) -> str:
    """Which operation failed and how often; the message too when DCS gave no code."""
    if error.kind in RUN_ENDING_KINDS:
        return error.message
    if error.error_code:
        return f"{error.operation} failed after {error.attempts} attempt(s)"
    return f"{error.operation} failed after {error.attempts} attempt(s): {error.message}"


def failed_outcome(instance_id: str, error: CallError, instance_name: str | None = None) -> BackupOutcome:
    """A failed call as an outcome: which operation, how often, and what DCS said."""
    return BackupOutcome(
        instance_id,
        OutcomeStatus.FAILED,
        reason=failure_reason(error),
        error_code=error.error_code,
        error_msg=error.message if error.error_code else None,
        dcs_request_id=error.request_id,
        instance_name=instance_name,
    )


class RingGuard(NamedTuple):
    """What happened before creating: a backup of ours deleted to make room, or the one DCS will evict."""

    deleted_backup_id: str | None = None
    evicts_backup_id: str | None = None
    error: dict[str, str | None] | None = None


class ResultDocument(NamedTuple):
    """What the invocation did, in the form returned to callers and logged as the summary.

    ``reason`` explains a run-level failure: a selection that matched nothing or could not be read;
    ``no_targets`` says the selection matched nothing (HTTP 404).
    """

    status: RunStatus
    trigger: str
    request_id: str
    results: tuple[BackupOutcome, ...]
    reason: str | None = None
    no_targets: bool = False

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(outcome.status for outcome in self.results)
        counts = {status.value: tally[status] for status in OutcomeStatus if status is not OutcomeStatus.READY}
        counts["total"] = len(self.results)
        return counts

    @property
    def tally(self) -> str:
        """The counts in words, e.g. ``2 backups started, 1 instance skipped``: what the run did."""
        counts = self.counts
        words = [f"{counts[status.value]} {_TALLY_WORDS[status]}" for status in _TALLY_WORDS if counts[status.value]]
        return ", ".join(words) or "no instance"

    @property
    def failed(self) -> tuple[BackupOutcome, ...]:
        return tuple(o for o in self.results if o.status is OutcomeStatus.FAILED)

    @property
    def previous_failures(self) -> list[dict[str, Any]]:
        """Instances whose previous backup by this function ended failed in DCS."""
        return [
            {"instance_id": o.instance_id, "backup_id": p.backup_id, "error_code": p.error_code}
            for o in self.results
            if (p := o.previous_backup) is not None and p.failed
        ]

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status.value,
            "trigger": self.trigger,
            "request_id": self.request_id,
            "results": [outcome.to_dict() for outcome in self.results],
            "counts": self.counts,
        }
        if self.reason is not None:
            document["reason"] = self.reason
        if self.previous_failures:
            document["previous_failures"] = self.previous_failures
        return document


def summarize(
    outcomes: Sequence[BackupOutcome],
    trigger: str,
    request_id: str,
    run_failure: str | None = None,
    empty_selection: bool = False,
) -> ResultDocument:
    """Failed when all failed, partial when some did, pending when nothing failed but something is
    still running, else succeeded (skipped is not a failure).

    A run-level failure (``run_failure``) caps the status at partial, or failed when nothing succeeded.
    """
    failures = sum(1 for o in outcomes if o.status is OutcomeStatus.FAILED)
    if failures == len(outcomes) and (failures or run_failure):
        status = RunStatus.FAILED
    elif failures or run_failure:
        status = RunStatus.PARTIAL
    elif any(o.status is OutcomeStatus.PENDING for o in outcomes):
        status = RunStatus.PENDING
    else:
        status = RunStatus.SUCCEEDED
    return ResultDocument(
        status=status,
        trigger=trigger,
        request_id=request_id,
        results=tuple(outcomes),
        reason=run_failure,
        no_targets=empty_selection,
    )
