"""Pruning the function's own backups, and guarding everyone else's from DCS's 24-backup ring."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import structlog

from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord, InstanceInfo
from dcs_backup.outcome import BackupOutcome, RingGuard, failure_reason
from dcs_backup.platform.calls import CallError
from dcs_backup.retention.rules import RetentionRule, owner_of, ring_victim

log = structlog.get_logger("dcs_backup.jobs")
Now = Callable[[], datetime]


class RetentionKeeper:
    """Applies one request's retention rule (or none) to instances, deleting through DCS."""

    def __init__(
        self, gateway: DcsGateway, rule: RetentionRule | None, now: Now = lambda: datetime.now(timezone.utc)
    ) -> None:
        self._gateway = gateway
        self._rule = rule
        self._now = now

    def guard_ring(self, instance: InstanceInfo, records: list[BackupRecord] | None) -> RingGuard:
        """Before a 25th backup: delete our oldest expendable one, or say whose backup DCS will evict."""
        victim = ring_victim(records or [])
        if victim is None:
            return RingGuard()
        error = None
        if self._rule is not None and not self._rule.dry_run:
            expendable = self._rule.expendable(records or [], self._now())
            error = self._delete(instance, expendable[0]) if expendable else None
            if expendable and error is None:
                return RingGuard(deleted_backup_id=expendable[0].backup_id)
        log.warning(
            "backup will be evicted",
            detail=f"instance {instance.name or instance.instance_id} holds 24 backups: creating one makes DCS "
            f"delete the oldest, {owner_of(victim)} backup {victim.backup_id}",
            evicts_backup_id=victim.backup_id,
            owner=owner_of(victim),
        )
        return RingGuard(evicts_backup_id=victim.backup_id, error=error)

    def prune(self, outcome: BackupOutcome) -> BackupOutcome:
        """After this run's backup: delete (or, dry run, list) what the rule no longer keeps."""
        if self._rule is None or outcome.backup_id is None:
            return outcome
        instance = InstanceInfo(outcome.instance_id, outcome.instance_name, None, None)
        try:
            records = self._gateway.list_backups(outcome.instance_id)
        except CallError as error:
            return outcome._replace(retention_error=self._report(instance, None, error))
        doomed = self._rule.expendable(records, self._now())
        if self._rule.dry_run:
            return outcome._replace(would_delete_backup_ids=tuple(r.backup_id for r in doomed))
        deleted, first_error = list(outcome.deleted_backup_ids), outcome.retention_error
        for record in doomed:
            problem = self._delete(instance, record)
            if problem is None:
                deleted.append(record.backup_id)
            first_error = first_error or problem
        return outcome._replace(deleted_backup_ids=tuple(deleted), retention_error=first_error)

    def cut_short(self, outcome: BackupOutcome) -> BackupOutcome:
        """Pruning still under way when the invocation had to answer: say so, deletions may be partial."""
        reason = "deadline reached while pruning; some deletions may not have been made"
        name = outcome.instance_name or outcome.instance_id
        log.error("retention failed", detail=f"pruning the backups of instance {name}: {reason}")
        return outcome._replace(retention_error={"backup_id": None, "error_code": None, "reason": reason})

    def _delete(self, instance: InstanceInfo, record: BackupRecord) -> dict[str, str | None] | None:
        """Delete one backup; the error as reported in the outcome, or None."""
        try:
            self._gateway.delete_backup(instance.instance_id, record.backup_id)
        except CallError as error:
            return self._report(instance, record.backup_id, error)
        log.info("backup deleted", backup_id=record.backup_id, backup_status=record.status)
        return None

    @staticmethod
    def _report(instance: InstanceInfo, backup_id: str | None, error: CallError) -> dict[str, str | None]:
        reason = failure_reason(error)
        what = f"deleting backup {backup_id}" if backup_id else "reading the backups to prune"
        log.error(
            "retention failed",
            detail=f"{what} of instance {instance.name or instance.instance_id} failed: {reason}",
            backup_id=backup_id,
            error_code=error.error_code,
            dcs_request_id=error.request_id,
        )
        return {"backup_id": backup_id, "error_code": error.error_code, "reason": reason}
