"""The backup service: one outcome for every targeted instance, whatever happens."""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor

import structlog

from dcs_backup.dcs.errors import DcsCallError, ErrorKind
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.idempotency import find_tagged, tagged_remark
from dcs_backup.outcome import BackupOutcome, OutcomeStatus
from dcs_backup.request import BackupRequest

log = structlog.get_logger("dcs_backup.service")

SINGLE_NODE_REASON = "single-node instances cannot be backed up"
BACKUP_READY_STATUS = "RUNNING"


class BackupService:
    """Backs up instances concurrently through a bounded pool."""

    def __init__(self, gateway: DcsGateway, max_concurrency: int) -> None:
        self._gateway = gateway
        self._max_concurrency = max_concurrency

    def back_up(self, request: BackupRequest, tag: str) -> list[BackupOutcome]:
        """Outcomes in the order of ``request.instance_ids``.

        Each task runs in a copy of the caller's context so its log lines carry the
        invocation's keys.
        """
        workers = min(self._max_concurrency, len(request.instance_ids))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcs-backup") as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, self._back_up_logged, instance_id, request, tag)
                for instance_id in request.instance_ids
            ]
            return [future.result() for future in futures]

    def _back_up_logged(self, instance_id: str, request: BackupRequest, tag: str) -> BackupOutcome:
        structlog.contextvars.bind_contextvars(instance_id=instance_id)
        started = time.monotonic()
        try:
            outcome = self._back_up_instance(instance_id, request, tag)
        except Exception:
            log.exception("instance backup crashed")
            outcome = BackupOutcome(instance_id, OutcomeStatus.FAILED, reason="internal error; see the function log")
        fields = outcome.to_dict()
        fields.pop("status")
        log_method = log.warning if outcome.status is OutcomeStatus.FAILED else log.info
        log_method(
            f"instance {outcome.status.value}",
            outcome=outcome.status.value,
            duration_ms=round((time.monotonic() - started) * 1000),
            **fields,
        )
        return outcome

    def _back_up_instance(self, instance_id: str, request: BackupRequest, tag: str) -> BackupOutcome:
        try:
            instance = self._gateway.show_instance(instance_id)
            if instance.cache_mode == "single":
                return BackupOutcome(instance_id, OutcomeStatus.SKIPPED, reason=SINGLE_NODE_REASON)
            if instance.status != BACKUP_READY_STATUS:
                reason = f"instance status is {instance.status}; only {BACKUP_READY_STATUS} instances can be backed up"
                return BackupOutcome(instance_id, OutcomeStatus.SKIPPED, reason=reason)
            existing = self._find_existing(instance_id, tag)
            if existing is not None:
                return BackupOutcome(instance_id, OutcomeStatus.CREATED, backup_id=existing, reused=True)
            backup_id, reused = self._gateway.create_backup(
                instance_id,
                tagged_remark(request.remark, tag),
                request.backup_format,
                find_existing=lambda: self._find_existing(instance_id, tag),
            )
            return BackupOutcome(instance_id, OutcomeStatus.CREATED, backup_id=backup_id, reused=reused)
        except DcsCallError as error:
            return _failed(instance_id, error)

    def _find_existing(self, instance_id: str, tag: str) -> str | None:
        """This request's live backup, if any.

        When the records cannot be read (e.g. the role lacks the permission) the backup goes
        ahead unchecked: DCS itself refuses a second backup while one runs (DCS.4096).
        """
        try:
            records = self._gateway.list_recent_backups(instance_id)
        except DcsCallError as error:
            if error.kind is ErrorKind.DEADLINE:
                raise
            log.warning(
                "could not list backups; continuing without the duplicate check",
                error_kind=error.kind.value,
                error_code=error.error_code,
                dcs_request_id=error.request_id,
            )
            return None
        record = find_tagged(records, tag)
        return record.backup_id if record else None


def _failed(instance_id: str, error: DcsCallError) -> BackupOutcome:
    if error.kind is ErrorKind.DEADLINE:
        reason = error.message
    elif error.error_code:
        reason = f"{error.operation} failed after {error.attempts} attempt(s)"
    else:
        reason = f"{error.operation} failed after {error.attempts} attempt(s): {error.message}"
    return BackupOutcome(
        instance_id,
        OutcomeStatus.FAILED,
        reason=reason,
        error_code=error.error_code,
        error_msg=error.message if error.error_code else None,
        dcs_request_id=error.request_id,
    )
