"""The steps one target goes through for a backup request: eligible? then start (or find) its backup."""

from __future__ import annotations

from dcs_backup.calls import CallError
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.jobs.create import BackupStarter
from dcs_backup.jobs.eligibility import eligible_instance
from dcs_backup.jobs.targets import Target
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, failed_outcome
from dcs_backup.request import BackupRequest


class BackupPipeline:
    """Turns a target into its outcome; a failed DCS call ends that target, never the others."""

    def __init__(self, gateway: DcsGateway, request: BackupRequest, tag: str) -> None:
        self._gateway = gateway
        self._starter = BackupStarter(gateway, request, tag)

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
            backup = self._starter.start(instance)
        except CallError as error:
            return failed_outcome(target.instance_id, error, name)
        return BackupOutcome(
            target.instance_id,
            OutcomeStatus.CREATED,
            backup_id=backup.backup_id,
            reused=backup.reused,
            instance_name=name,
        )
