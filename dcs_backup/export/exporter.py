"""Exporting an instance's newest good backup of this function into the user's bucket.

Imported only when a request exports, so that the OBS SDK and its dependencies stay out of
every other cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import requests
import structlog

from dcs_backup.dcs.access import DcsAccess
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupFile, BackupRecord
from dcs_backup.export.base import BackupSource, ExportResult, ExportStatus
from dcs_backup.export.engine import export_backup
from dcs_backup.export.errors import classify
from dcs_backup.export.links import LinkPolicy
from dcs_backup.export.obs import ObsAccess, ObsTarget, build_obs_client
from dcs_backup.export.spec import ExportSpec
from dcs_backup.idempotency import made_by_function
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, failure_reason
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy

log = structlog.get_logger("dcs_backup.jobs")
LINK_EXPIRATION_S = 3600
NOTHING_TO_EXPORT = "no backup of this function has succeeded on this instance yet"
STILL_COPYING = "deadline reached while copying; the next run continues from the last part recorded"


class ExportSettings(NamedTuple):
    spec: ExportSpec
    obs_endpoint: str
    part_size: int
    backup_format: str
    links: LinkPolicy
    kms_key_id: str | None = None
    files_at_once: int = 1


class Exporter:
    """One invocation's exports: the agency's keys, the bucket, the shared deadline and retry rules."""

    def __init__(
        self,
        gateway: DcsGateway,
        access: DcsAccess,
        settings: ExportSettings,
        deadline: Deadline,
        policy: RetryPolicy,
        copied: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self._copied = copied
        self._gateway = gateway
        self._access = access
        self._settings = settings
        self._deadline = deadline
        self._policy = policy
        # Shared by every instance's export in this invocation: the memory holds this many files' parts.
        self._file_slots = threading.BoundedSemaphore(settings.files_at_once)

    def export(self, outcome: BackupOutcome) -> BackupOutcome:
        """This run's backup once it succeeded, else the newest earlier one that did (if not yet copied).

        A failed export fails the instance (the off-instance copy asked for does not exist); a
        pending one makes it pending, for a retry or the next run to finish.
        """
        try:
            newest = self._newest_good_backup(outcome.instance_id)
        except CallError as error:
            return _with_export(outcome, ExportResult(_status_of(error), reason=failure_reason(error)))
        if newest is None:
            return _with_export(outcome, ExportResult("skipped", reason=NOTHING_TO_EXPORT), backup_id=None)
        try:
            files = self._gateway.list_backup_file_links(outcome.instance_id, newest.backup_id, LINK_EXPIRATION_S)
        except CallError as error:
            result = ExportResult(_status_of(error), reason=failure_reason(error))
            return _with_export(outcome, result, newest.backup_id)
        return _with_export(outcome, self._copy(outcome, newest, files), newest.backup_id)

    def still_copying(self, outcome: BackupOutcome) -> BackupOutcome:
        """An export still under way when the invocation had to answer: pending, for the next run."""
        return _with_export(outcome, ExportResult("pending", reason=STILL_COPYING))

    def _newest_good_backup(self, instance_id: str) -> BackupRecord | None:
        records = self._gateway.list_backups(instance_id)
        good = [r for r in records if r.status == "succeed" and made_by_function(r.remark) and r.created]
        return max(good, key=lambda r: r.created_or_oldest, default=None)

    def _copy(self, outcome: BackupOutcome, backup: BackupRecord, files: list[BackupFile]) -> ExportResult:
        source = BackupSource(
            instance_id=outcome.instance_id,
            instance_name=outcome.instance_name,
            backup_id=backup.backup_id,
            backup_format=self._settings.backup_format,
            created_at=backup.created_at,
            size_bytes=backup.size_bytes,
        )
        access = ObsAccess(
            self._settings.obs_endpoint,
            self._access.access_key,
            self._access.secret_key,
            self._access.security_token or "",
        )
        client = build_obs_client(access)
        target = ObsTarget(client, self._settings.spec.bucket, self._loop(), kms_key_id=self._settings.kms_key_id)
        with requests.Session() as session:
            return export_backup(
                files,
                source,
                target,
                prefix=self._settings.spec.prefix,
                deadline=self._deadline,
                policy=self._policy,
                part_size=self._settings.part_size,
                http_session=session,
                link_policy=self._settings.links,
                file_slots=self._file_slots,
                copied=self._copied,
            )

    def _loop(self) -> CallLoop:
        return CallLoop(self._deadline, self._policy, classify)


def _status_of(error: CallError) -> ExportStatus:
    return "pending" if error.kind is ErrorKind.DEADLINE else "failed"


def _with_export(outcome: BackupOutcome, result: ExportResult, backup_id: str | None = None) -> BackupOutcome:
    """The outcome with its ``export`` field; a failed or pending export decides the instance's status."""
    exported = outcome._replace(export=result, exported_backup_id=backup_id)
    if outcome.status is OutcomeStatus.FAILED:
        return exported  # already failed for its own reason, which stays the one reported
    if result.status == "failed":
        log.error(
            "export failed",
            detail=f"copying backup {backup_id} of instance {outcome.instance_name or outcome.instance_id} "
            f"to the bucket failed: {result.reason}",
            backup_id=backup_id,
        )
        return exported._replace(status=OutcomeStatus.FAILED, reason=f"export failed: {result.reason}")
    if result.status == "pending":
        return exported._replace(status=OutcomeStatus.PENDING, reason=f"export pending: {result.reason}")
    return exported
