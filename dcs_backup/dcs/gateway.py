"""Typed DCS operations with one deadline-aware retry loop around every call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import structlog
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdcs.v2 import (
    BackupInstanceBody,
    CopyInstanceRequest,
    ListBackupRecordsRequest,
    ShowInstanceRequest,
)
from huaweicloudsdkdcs.v2.dcs_client import DcsClient

from dcs_backup.access import DcsAccess
from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, build_dcs_client
from dcs_backup.dcs.errors import AMBIGUOUS_KINDS, TRANSIENT_KINDS, DcsCallError, ErrorKind, classify
from dcs_backup.dcs.models import BackupRecord, InstanceInfo
from dcs_backup.retry import Deadline, RetryPolicy

T = TypeVar("T")
log = structlog.get_logger("dcs_backup.dcs")

BACKUP_LIST_WINDOW = timedelta(hours=48)
BACKUP_LIST_LIMIT = 200
_DCS_TIME_FORMAT = "%Y%m%d%H%M%S"


class DcsGateway:
    """The only place that calls the SDK; business code sees typed results and DcsCallError.

    Each worker thread gets its own client so that every attempt's timeout can be cut to
    the time left before the deadline.
    """

    def __init__(
        self,
        access: DcsAccess,
        deadline: Deadline,
        policy: RetryPolicy,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        client_factory: Callable[[DcsAccess], tuple[DcsClient, HttpConfig]] = build_dcs_client,
    ) -> None:
        self._access = access
        self._deadline = deadline
        self._policy = policy
        self._connect_timeout_s, self._read_timeout_s = timeouts
        self._client_factory = client_factory
        self._local = threading.local()

    def show_instance(self, instance_id: str) -> InstanceInfo:
        response = self._call("ShowInstance", lambda c: c.show_instance(ShowInstanceRequest(instance_id=instance_id)))
        return InstanceInfo(
            instance_id=instance_id,
            name=response.name,
            status=response.status,
            cache_mode=response.cache_mode or _mode_from_spec_code(response.spec_code),
        )

    def list_recent_backups(self, instance_id: str) -> list[BackupRecord]:
        """Backups of the last 48 hours (one page; an instance keeps at most 24 backups)."""
        now = datetime.now(timezone.utc)
        request = ListBackupRecordsRequest(
            instance_id=instance_id,
            begin_time=(now - BACKUP_LIST_WINDOW).strftime(_DCS_TIME_FORMAT),
            end_time=(now + timedelta(hours=1)).strftime(_DCS_TIME_FORMAT),
            offset=0,
            limit=BACKUP_LIST_LIMIT,
        )
        response = self._call("ListBackupRecords", lambda c: c.list_backup_records(request))
        return [
            BackupRecord(backup_id=r.backup_id, remark=r.remark or "", status=r.status)
            for r in response.backup_record_response or []
        ]

    def create_backup(
        self,
        instance_id: str,
        remark: str,
        backup_format: str,
        find_existing: Callable[[], str | None],
    ) -> tuple[str, bool]:
        """Start a backup; returns its id and whether it already existed.

        After an ambiguous failure (the POST may have landed) or DCS.4096 (a backup is
        running), ``find_existing`` is asked first, so a retry never makes a second backup.
        """
        body = BackupInstanceBody(remark=remark, backup_format=backup_format)

        def create(client: DcsClient) -> tuple[str, bool]:
            response = client.copy_instance(CopyInstanceRequest(instance_id=instance_id, body=body))
            return str(response.backup_id), False

        def recover(error: DcsCallError) -> tuple[str, bool] | None:
            if error.kind not in AMBIGUOUS_KINDS and error.kind is not ErrorKind.BUSY:
                return None
            existing = find_existing()
            # After a lost answer the backup found is this call's own; after DCS.4096 it is another delivery's.
            return (existing, error.kind is ErrorKind.BUSY) if existing else None

        return self._call("CreateBackup", create, recover=recover, retry_busy=True)

    def _call(
        self,
        operation: str,
        send: Callable[[DcsClient], T],
        *,
        recover: Callable[[DcsCallError], T | None] | None = None,
        retry_busy: bool = False,
    ) -> T:
        attempts = 0
        last_error: DcsCallError | None = None
        while True:
            if not self._deadline.allows(self._policy.min_attempt_s):
                raise _deadline_error(operation, attempts, last_error)
            attempts += 1
            try:
                return send(self._client_for_attempt())
            except Exception as exc:  # noqa: BLE001 - classify() re-raises what is not a DCS failure
                error = classify(exc, operation)
            error.attempts = attempts
            if recover is not None:
                recovered = recover(error)
                if recovered is not None:
                    return recovered
            retryable = error.kind in TRANSIENT_KINDS or (retry_busy and error.kind is ErrorKind.BUSY)
            if not retryable or attempts >= self._policy.max_attempts:
                raise error
            delay = self._policy.delay_before(
                attempts + 1, throttled=error.kind is ErrorKind.THROTTLED, retry_after_s=error.retry_after_s
            )
            if not self._deadline.allows(delay + self._policy.min_attempt_s):
                raise _deadline_error(operation, attempts, error)
            log.info(
                "dcs call retrying",
                operation=operation,
                attempt=attempts,
                error_kind=error.kind.value,
                error_code=error.error_code,
                delay_s=round(delay, 3),
            )
            last_error = error
            self._policy.sleep(delay)

    def _client_for_attempt(self) -> DcsClient:
        """This thread's client, with timeouts cut to the time left."""
        if getattr(self._local, "client", None) is None:
            self._local.client, self._local.config = self._client_factory(self._access)
        remaining = self._deadline.remaining()
        self._local.config.timeout = (min(self._connect_timeout_s, remaining), min(self._read_timeout_s, remaining))
        client: DcsClient = self._local.client
        return client


def _mode_from_spec_code(spec_code: str | None) -> str | None:
    """``redis.single.xu1.large.2`` → ``single``: the spec code embeds the mode when cache_mode is absent."""
    parts = (spec_code or "").split(".")
    return parts[1] if len(parts) > 2 else None


def _deadline_error(operation: str, attempts: int, last_error: DcsCallError | None) -> DcsCallError:
    detail = f"; last error: {last_error.message}" if last_error is not None else ""
    error = DcsCallError(
        ErrorKind.DEADLINE,
        operation,
        f"deadline reached after {attempts} attempt(s) of {operation}{detail}",
        status_code=last_error.status_code if last_error else None,
        error_code=last_error.error_code if last_error else None,
        request_id=last_error.request_id if last_error else None,
    )
    error.attempts = attempts
    return error
