"""Drill records in the export bucket: written by the drill, one object per finished drill; read by the audit.

Imported only by a drill or by an audit that reads drills: the OBS SDK stays out of every other run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dcs_backup.actions.exported_files import obs_target
from dcs_backup.audit.rules import LastDrill
from dcs_backup.config import Settings
from dcs_backup.dcs.access import DcsAccess
from dcs_backup.drill.outcome import DrillOutcome
from dcs_backup.drill.records import (
    MAX_RECORD_BYTES,
    DrillRecord,
    RecordName,
    instance_folder,
    newest_records,
    record_body,
    record_name,
    recorded_outcome,
)
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.logs import redactor
from dcs_backup.platform.retry import Deadline, RetryPolicy

if TYPE_CHECKING:
    from dcs_backup.export.obs import ObsTarget

NO_RECORDS = (
    "drill records are not kept: set DCS_EXPORT_BUCKET, the bucket they are written to; without them the audit "
    "sees no drill, and an import cut off before its count is imported again by the next run"
)
_LIST_PAGES = 20  # 20,000 records of one instance: decades of daily drills
WRITE_ALLOWANCE_S = 1.0  # a drill that ran is recorded even when it ended at the deadline


class TooManyRecordsError(CallError):
    """An instance's record folder holds more than can be listed in one run: its newest records are unseen."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.REJECTED, "ListObjects", message)


class DrillRecords:
    """``{bucket}/{prefix}{instance_id}/…json``: the records of each source, in the bucket the exports use."""

    def __init__(self, target: Callable[[], ObsTarget], bucket: str, prefix: str) -> None:
        self._target = target  # built on first use: a run that records nothing never loads the OBS SDK
        self._built: ObsTarget | None = None
        self._building = threading.Lock()  # the audit reads records from several threads
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def of(cls, settings: Settings, access: DcsAccess, deadline: Deadline, policy: RetryPolicy) -> DrillRecords | None:
        """The configured store; None without an export bucket."""
        spec = settings.default_export
        if spec is None:
            return None
        bucket = spec.bucket
        return cls(lambda: obs_target(settings, access, bucket, deadline, policy), bucket, settings.drill_record_prefix)

    def keep(self, record: DrillRecord) -> str:
        """Written even a little past the deadline: the drill it proves has already run."""
        key = record.key(self.prefix)
        self._bucket().write_object(key, record.to_json(redactor.redact_public), allowance_s=WRITE_ALLOWANCE_S)
        return key

    def earlier(self, known: DrillOutcome, drill_id: str) -> DrillOutcome | None:
        """What an earlier delivery of this request recorded of its import of ``known``'s backup, if one ran:
        a retry never imports it again. A drill that failed before its import is drilled again."""
        bucket = self._bucket()
        for name in self._named(bucket, known.instance_id, drill_id):
            recorded = recorded_outcome(name, bucket.read_object(name.key, MAX_RECORD_BYTES) or b"", known)
            if recorded.migration_task_id is not None:
                return recorded
        return None

    def judged(self, instance_id: str, drill_id: str) -> bool:
        """Whether the drill (its import task's fingerprint) has a record: its import was judged."""
        return any(self._named(self._bucket(), instance_id, drill_id))

    def _named(self, bucket: ObsTarget, instance_id: str, drill_id: str) -> Iterator[RecordName]:
        for key in self._keys(bucket, instance_id):
            name = record_name(key)
            if name is not None and name.drill_id == drill_id:
                yield name

    def last_drill(self, instance_id: str) -> LastDrill | None:
        """The instance's newest drill on record (its body read for the RTO and backup) and its newest passed
        one; None when it was never drilled."""
        bucket = self._bucket()
        found = newest_records(self._keys(bucket, instance_id), datetime.now(timezone.utc))
        newest, passed = found.newest, found.passed
        if newest is None:
            return None if not found.future else LastDrill(None, None, future_records=found.future)
        body = record_body(bucket.read_object(newest.key, MAX_RECORD_BYTES) or b"")
        return LastDrill(
            newest.at,
            newest.result,
            body.get("restore_seconds"),
            body.get("backup_id"),
            passed.at if passed is not None else None,
            found.future,
        )

    def _keys(self, bucket: ObsTarget, instance_id: str) -> list[str]:
        """Every key in the instance's folder; a folder too big to list whole is an error, not "no drill"."""
        keys = [key for key, _ in bucket.listed(instance_folder(self.prefix, instance_id), _LIST_PAGES + 1)]
        if len(keys) > _LIST_PAGES * 1000:
            raise TooManyRecordsError(
                f"more than {_LIST_PAGES * 1000} objects under {instance_folder(self.prefix, instance_id)}: "
                "delete the oldest drill records there"
            )
        return keys

    def _bucket(self) -> ObsTarget:
        with self._building:
            if self._built is None:
                self._built = self._target()
            return self._built
