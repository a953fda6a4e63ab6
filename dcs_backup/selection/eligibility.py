"""Whether an instance can be backed up: single-node and not-running instances are skipped."""

from __future__ import annotations

from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import READY_STATUS, InstanceInfo
from dcs_backup.outcome import BackupOutcome, OutcomeStatus
from dcs_backup.selection.targets import Target

SINGLE_NODE_REASON = "single-node instances cannot be backed up"


def eligible_instance(target: Target, gateway: DcsGateway) -> InstanceInfo | BackupOutcome:
    """The instance to back up, or its skipped outcome.

    What the listing said is trusted when it names the mode; otherwise ShowInstance decides.
    """
    info = target.known
    if info is None or info.cache_mode is None:
        info = gateway.show_instance(target.instance_id)
    if info.cache_mode == "single":
        return _skipped(info, SINGLE_NODE_REASON)
    if info.status != READY_STATUS:
        return _skipped(info, f"instance status is {info.status}; only {READY_STATUS} instances can be backed up")
    return info


def _skipped(info: InstanceInfo, reason: str) -> BackupOutcome:
    return BackupOutcome(info.instance_id, OutcomeStatus.SKIPPED, reason=reason, instance_name=info.name)
