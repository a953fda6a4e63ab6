"""Auditing one target: read-only, it never creates or deletes anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import NamedTuple

from dcs_backup.audit.rules import AuditOutcome, AuditStatus, LastDrill, judge, judge_drills
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.outcome import BackupOutcome, failure_reason
from dcs_backup.platform.calls import CallError
from dcs_backup.selection.eligibility import eligible_instance
from dcs_backup.selection.targets import Target

AUDIT_CUT_SHORT = "deadline reached while reading the instance's backups"


class DrillAudit(NamedTuple):
    """Where the audit reads each instance's drills, and how old a passed one may be (None: not judged)."""

    last_drill: Callable[[str], LastDrill | None]
    max_age_days: int | None
    scratch_instance_id: str | None  # drills restore into it: it is never drilled itself


class Auditor:
    """Judges each target's newest good backup against the RPO, and its drills when they are audited."""

    def __init__(
        self,
        gateway: DcsGateway,
        rpo_hours: int,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        drills: DrillAudit | None = None,
    ) -> None:
        self._gateway = gateway
        self._rpo_hours = rpo_hours
        self._now = now
        self._drills = drills

    def __call__(self, target: Target) -> AuditOutcome:
        if target.refusal is not None:
            return self._skipped(target.instance_id, target.name, target.refusal)
        name = target.name
        try:
            instance = eligible_instance(target, self._gateway)
            if isinstance(instance, BackupOutcome):
                return self._skipped(instance.instance_id, instance.instance_name, instance.reason)
            name = instance.name
            records = self._gateway.list_backups(target.instance_id)
        except CallError as error:
            return AuditOutcome(
                target.instance_id,
                AuditStatus.FAILED,
                name,
                rpo_hours=self._rpo_hours,
                reason=failure_reason(error),
                error_code=error.error_code,
                dcs_request_id=error.request_id,
            )
        return self._with_drills(judge(target.instance_id, name, records, self._rpo_hours, self._now()))

    def _with_drills(self, outcome: AuditOutcome) -> AuditOutcome:
        drills = self._drills
        if drills is None or outcome.instance_id == drills.scratch_instance_id:
            return outcome
        try:
            last = drills.last_drill(outcome.instance_id)
        except CallError as error:
            reason = f"its drill records could not be read: {failure_reason(error)}"
            if drills.max_age_days is None:
                return outcome._replace(reason="; ".join(filter(None, (outcome.reason, reason))))
            return outcome._replace(status=AuditStatus.FAILED, reason=reason, error_code=error.error_code)
        return judge_drills(outcome, last, drills.max_age_days, self._now())

    def failed(self, target: Target, reason: str) -> AuditOutcome:
        """A target the runner had to give up on."""
        return AuditOutcome(
            target.instance_id, AuditStatus.FAILED, target.name, rpo_hours=self._rpo_hours, reason=reason
        )

    def _skipped(self, instance_id: str, name: str | None, reason: str | None) -> AuditOutcome:
        return AuditOutcome(instance_id, AuditStatus.SKIPPED, name, rpo_hours=self._rpo_hours, reason=reason)
