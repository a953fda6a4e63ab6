"""The outcome of a restore and the document it is answered in."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from dcs_backup.outcome import failure_reason, outcome_dict, told_for_the_run
from dcs_backup.platform.calls import CallError
from dcs_backup.restore.guards import Refusal


class RestoreStatus(str, Enum):
    RESTORED = "restored"  # DCS reports the restore (or import) finished
    PLANNED = "planned"  # plan mode: what would happen, nothing written
    PENDING = "pending"  # still running (or the safety backup is) at the deadline: the same request resumes
    REFUSED = "refused"  # a guard refused, before any write
    FAILED = "failed"  # DCS failed it, or a call failed


_HEADLINES = {
    RestoreStatus.RESTORED: "restore finished",
    RestoreStatus.PLANNED: "restore planned, nothing changed",
    RestoreStatus.PENDING: "restore pending",
    RestoreStatus.REFUSED: "restore refused",
    RestoreStatus.FAILED: "restore failed",
}
_OPTIONAL_FIELDS = (
    "instance_name",
    "guard",
    "reason",
    "restore_id",
    "migration_task_id",
    "restore_status",
    "source",
    "safety_backup_id",
    "started_at",
    "finished_at",
    "duration_s",
    "plan",
    "error_code",
    "error_msg",
    "dcs_request_id",
)


class RestoreOutcome(NamedTuple):
    """How the restore of the one target ended."""

    instance_id: str
    status: RestoreStatus
    instance_name: str | None = None
    guard: str | None = None
    reason: str | None = None
    http_status: int | None = None  # a refusal's (403/409)
    restore_id: str | None = None
    migration_task_id: str | None = None
    restore_status: str | None = None  # DCS's word for it
    source: dict[str, Any] | None = None
    safety_backup_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    plan: dict[str, Any] | None = None
    error_code: str | None = None
    error_msg: str | None = None
    dcs_request_id: str | None = None
    reused: bool = False  # found started by an earlier delivery of the same request

    @property
    def verdict(self) -> str:
        return self.status.value

    @property
    def headline(self) -> str:
        return _HEADLINES[self.status]

    @property
    def attention(self) -> str | None:
        """A failed restore pages someone: the instance may hold partial data or none."""
        if self.status is not RestoreStatus.FAILED or told_for_the_run(self.reason):
            return None
        return f"restoring instance {self.instance_name or self.instance_id} failed: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return outcome_dict(self, _OPTIONAL_FIELDS)


def refused(instance_id: str, refusal: Refusal, instance_name: str | None = None) -> RestoreOutcome:
    """The reason starts with the guard's name, so a log search or an error message shows which one."""
    return RestoreOutcome(
        instance_id,
        RestoreStatus.REFUSED,
        instance_name=instance_name,
        guard=refusal.guard,
        reason=f"{refusal.guard}: {refusal.reason}",
        http_status=refusal.http_status,
    )


def call_failed(outcome: RestoreOutcome, error: CallError) -> RestoreOutcome:
    """A DCS call that failed, on what the outcome already knew."""
    return outcome._replace(
        status=RestoreStatus.FAILED,
        reason=failure_reason(error),
        error_code=error.error_code,
        error_msg=error.message if error.error_code else None,
        dcs_request_id=error.request_id,
    )


class RestoreDocument(NamedTuple):
    """The answer to a restore request: its one outcome, and the run's status."""

    trigger: str
    request_id: str
    outcome: RestoreOutcome
    reason: str | None = None  # a run-level failure (the keys were refused)

    @property
    def status(self) -> str:
        """succeeded (restored or planned), pending, or failed (refused or failed)."""
        if self.outcome.status in (RestoreStatus.RESTORED, RestoreStatus.PLANNED):
            return "succeeded"
        return "pending" if self.outcome.status is RestoreStatus.PENDING else "failed"

    @property
    def http_status(self) -> int:
        """200 done, 202 still running, the guard's 403/409 when refused, 502 when DCS failed it."""
        status = self.outcome.status
        if status is RestoreStatus.REFUSED:
            return self.outcome.http_status or 409
        return {RestoreStatus.PENDING: 202, RestoreStatus.FAILED: 502}.get(status, 200)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "action": "restore",
            "status": self.status,
            "trigger": self.trigger,
            "request_id": self.request_id,
            "results": [self.outcome.to_dict()],
        }
        if self.reason is not None:
            document["reason"] = self.reason
        return document
