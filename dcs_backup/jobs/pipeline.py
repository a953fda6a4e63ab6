"""The steps one target goes through for a backup request: eligible? then start (or find) its backup."""

from __future__ import annotations

import structlog

from dcs_backup.calls import CallError
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord, CreatedBackup, InstanceInfo
from dcs_backup.idempotency import find_tagged
from dcs_backup.jobs.create import BackupStarter
from dcs_backup.jobs.eligibility import eligible_instance
from dcs_backup.jobs.history import previous_backup, read_records
from dcs_backup.jobs.retention import RetentionKeeper
from dcs_backup.jobs.targets import Target
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, PreviousBackup, failed_outcome
from dcs_backup.request import BackupRequest

log = structlog.get_logger("dcs_backup.jobs")


class BackupPipeline:
    """Turns a target into its outcome; a failed DCS call ends that target, never the others."""

    def __init__(self, gateway: DcsGateway, request: BackupRequest, tag: str, keeper: RetentionKeeper) -> None:
        self._gateway = gateway
        self._tag = tag
        self._starter = BackupStarter(gateway, request, tag)
        self._keeper = keeper

    def __call__(self, target: Target) -> BackupOutcome:
        if target.refusal is not None:
            return BackupOutcome(
                target.instance_id, OutcomeStatus.SKIPPED, reason=target.refusal, instance_name=target.name
            )
        name = target.name
        try:
            instance = eligible_instance(target, self._gateway)
            if isinstance(instance, BackupOutcome):
                return instance
            name = instance.name
            records = read_records(self._gateway, instance.instance_id)
            previous = self._previous(instance, records)
            existing = find_tagged(records or [], self._tag)
            if existing is not None:
                # This request's backup, found again: nothing new is made, so DCS evicts nothing.
                return _started(instance, CreatedBackup(existing.backup_id, reused=True), existing, previous)
            ring = self._keeper.guard_ring(instance, records)
            backup = self._starter.start(instance)
        except CallError as error:
            return failed_outcome(target.instance_id, error, name)
        return _started(instance, backup, None, previous)._replace(
            evicts_backup_id=ring.evicts_backup_id,
            deleted_backup_ids=(ring.deleted_backup_id,) if ring.deleted_backup_id else (),
            retention_error=ring.error,
        )

    def _previous(self, instance: InstanceInfo, records: list[BackupRecord] | None) -> PreviousBackup | None:
        """The newest earlier backup of this function on the instance; a failed one is logged as an ERROR."""
        record = previous_backup(records or [], self._tag)
        if record is None:
            return None
        if record.status == "failed":
            log.error(
                "previous backup failed",
                detail=f"the previous backup {record.backup_id} of instance {instance.name or instance.instance_id} "
                f"failed in DCS ({record.error_code or 'no error code'}); this run starts a new one",
                backup_id=record.backup_id,
                error_code=record.error_code,
                instance_name=instance.name,
            )
        return PreviousBackup(record.backup_id, record.status, record.error_code, record.finished_at)


def backup_failure(target: Target, reason: str) -> BackupOutcome:
    """A target the runner had to give up on (a crash, or the deadline)."""
    return BackupOutcome(target.instance_id, OutcomeStatus.FAILED, reason=reason, instance_name=target.name)


def _started(
    instance: InstanceInfo,
    backup: CreatedBackup,
    known: BackupRecord | None,
    previous: PreviousBackup | None,
) -> BackupOutcome:
    """``created``, with what DCS already says of the backup (``known``) when an earlier delivery started it."""
    return BackupOutcome(
        instance.instance_id,
        OutcomeStatus.CREATED,
        backup_id=backup.backup_id,
        reused=backup.reused,
        instance_name=instance.name,
        backup_status=known.status if known else None,
        size_bytes=known.size_bytes if known and known.status == "succeed" else None,
        finished_at=known.finished_at if known else None,
        previous_backup=previous,
    )
