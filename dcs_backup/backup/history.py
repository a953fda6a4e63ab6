"""An instance's backup records: read once per run, for the duplicate check and the earlier backups."""

from __future__ import annotations

import structlog

from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import carries_tag, made_by_function
from dcs_backup.platform.calls import RUN_ENDING_KINDS, CallError

log = structlog.get_logger("dcs_backup.jobs")
GONE_STATUSES = frozenset({"deleted", "expired"})


def read_records(gateway: DcsGateway, instance_id: str) -> list[BackupRecord] | None:
    """Every record of the instance, or None when they cannot be read.

    Unreadable records do not stop a backup (e.g. the role lacks the permission): DCS itself
    refuses a second backup while one runs (DCS.4096). Running out of time does stop it.
    """
    try:
        return gateway.list_backups(instance_id)
    except CallError as error:
        if error.kind in RUN_ENDING_KINDS:
            raise
        log.warning(
            "could not list backups; continuing without the duplicate check",
            error_kind=error.kind.value,
            error_code=error.error_code,
            dcs_request_id=error.request_id,
        )
        return None


def previous_backup(records: list[BackupRecord], tag: str) -> BackupRecord | None:
    """The newest backup this function made on the instance for another request (gone ones aside)."""
    earlier = [
        record
        for record in records
        if made_by_function(record.remark)
        and not carries_tag(record.remark, tag)
        and record.status not in GONE_STATUSES
    ]
    return max(earlier, key=lambda record: record.created_or_oldest, default=None)
