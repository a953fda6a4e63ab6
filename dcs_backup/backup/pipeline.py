"""The steps one target goes through for a backup request: eligible? then start (or find) its backup."""

from __future__ import annotations

from typing import NamedTuple, Protocol

import structlog

from dcs_backup.backup.create import BackupStarter
from dcs_backup.backup.history import previous_backup, read_records
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord, CreatedBackup, InstanceInfo
from dcs_backup.idempotency import find_tagged, made_for_another_request, made_for_request
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, PreviousBackup, RingGuard, failed_outcome
from dcs_backup.platform.calls import CallError
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.request import BackupRequest
from dcs_backup.selection.eligibility import eligible_instance
from dcs_backup.selection.targets import Target

log = structlog.get_logger("dcs_backup.jobs")
KEY_REUSED = "its idempotency key was already used for a different request"


class _Looked(NamedTuple):
    """What the first step learnt of an instance that the second step needs to start its backup."""

    instance: InstanceInfo
    records: list[BackupRecord] | None
    previous: PreviousBackup | None


class RingKeeper(Protocol):
    """Makes room in DCS's 24-backup ring before a backup is created (retention's keeper, composed by the action)."""

    def guard_ring(self, instance: InstanceInfo, records: list[BackupRecord] | None) -> RingGuard: ...


class BackupPipeline:
    """Turns a target into its outcome, in two steps; a failed DCS call ends that target, never the others.

    ``look`` reads a target (eligible? its backups, this request's among them?) and ``start`` starts its
    backup. When the caller chose the key, every target is looked at before any is started, so a
    request that reuses another request's key is refused with nothing made.
    """

    def __init__(self, gateway: DcsGateway, request: BackupRequest, tag: str, keeper: RingKeeper) -> None:
        self._gateway = gateway
        self._tag = tag
        self._starter = BackupStarter(gateway, request, tag)
        self._keeper = keeper
        self._looked: dict[str, _Looked] = {}
        self._reused_key: list[tuple[str, str]] = []  # (instance, backup) made for another request

    def __call__(self, target: Target) -> BackupOutcome:
        """Both steps at once, for a request whose key no caller can reuse."""
        outcome = self.look(target)
        return self.start(outcome) if outcome.status is OutcomeStatus.READY else outcome

    def look(self, target: Target) -> BackupOutcome:
        """The target's outcome when nothing is to be started (skipped, failed, found), else ``ready``."""
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
        except CallError as error:
            return failed_outcome(target.instance_id, error, name)
        previous = self._previous(instance, records)
        existing = find_tagged(records or [], self._tag)
        if existing is not None:
            # This request's backup, found again: nothing new is made, so DCS evicts nothing.
            return _started(instance, CreatedBackup(existing.backup_id, reused=True), existing, previous)
        other = _key_reused(records or [], self._tag)
        if other is not None:
            self._reused_key.append((instance.instance_id, other.backup_id))
            return _failed(instance, KEY_REUSED)
        self._looked[instance.instance_id] = _Looked(instance, records, previous)
        return BackupOutcome(
            instance.instance_id, OutcomeStatus.READY, instance_name=instance.name, previous_backup=previous
        )

    def refuse_reused_key(self) -> None:
        """Raises a 409 when any target holds a backup made with this key for a different request."""
        if not self._reused_key:
            return
        instance_id, backup_id = self._reused_key[0]
        raise InvalidRequestError(
            [
                FieldProblem(
                    "idempotency_key",
                    f"was already used for a different request (backup {backup_id} of instance {instance_id}): "
                    "send the same request to retry it, or a new key for a new request",
                )
            ],
            http_status=409,
        )

    def start(self, ready: BackupOutcome) -> BackupOutcome:
        """Start the backup of a ``ready`` target, making room in DCS's ring first when retention allows."""
        looked = self._looked[ready.instance_id]
        try:
            ring = self._keeper.guard_ring(looked.instance, looked.records)
            backup = self._starter.start(looked.instance)
        except CallError as error:
            return failed_outcome(ready.instance_id, error, looked.instance.name)
        return _started(looked.instance, backup, None, looked.previous)._replace(
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


def _key_reused(records: list[BackupRecord], tag: str) -> BackupRecord | None:
    """A backup made with this key for another request, unless this request has been here too (a retry)."""
    if any(made_for_request(r, tag) for r in records):
        return None
    return next((r for r in records if made_for_another_request(r, tag)), None)


def _failed(instance: InstanceInfo, reason: str) -> BackupOutcome:
    return BackupOutcome(instance.instance_id, OutcomeStatus.FAILED, reason=reason, instance_name=instance.name)


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
