"""Auditing one target: read-only, it never creates or deletes anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from dcs_backup.audit.rules import AuditOutcome, AuditStatus, judge
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.outcome import BackupOutcome, failure_reason
from dcs_backup.platform.calls import CallError
from dcs_backup.selection.eligibility import eligible_instance
from dcs_backup.selection.targets import Target

AUDIT_CUT_SHORT = "deadline reached while reading the instance's backups"


class Auditor:
    """Judges each target's newest good backup against the RPO."""

    def __init__(
        self, gateway: DcsGateway, rpo_hours: int, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    ) -> None:
        self._gateway = gateway
        self._rpo_hours = rpo_hours
        self._now = now

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
        return judge(target.instance_id, name, records, self._rpo_hours, self._now())

    def failed(self, target: Target, reason: str) -> AuditOutcome:
        """A target the runner had to give up on."""
        return AuditOutcome(
            target.instance_id, AuditStatus.FAILED, target.name, rpo_hours=self._rpo_hours, reason=reason
        )

    def _skipped(self, instance_id: str, name: str | None, reason: str | None) -> AuditOutcome:
        return AuditOutcome(instance_id, AuditStatus.SKIPPED, name, rpo_hours=self._rpo_hours, reason=reason)
