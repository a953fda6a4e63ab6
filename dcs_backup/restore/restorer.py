"""The DCS side of a restore: start it (once per request), find it again, follow it until DCS says it ended.

In place: RestoreInstance, followed through ListRestoreRecords. Into another instance: a backup import
(CreateMigrationTask), followed through ShowMigrationTask. Both carry the request's marker (the restore's
remark, the task's description), so a redelivery finds the first delivery's restore instead of starting one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupImport, MigrationTask, RestoreRecord, iso_utc, utc_time
from dcs_backup.idempotency import carries_tag, marked_for_request, tagged_remark
from dcs_backup.outcome import failure_reason
from dcs_backup.platform.calls import AMBIGUOUS_KINDS, RUN_ENDING_KINDS, CallError
from dcs_backup.platform.retry import Deadline, PollPolicy

RESTORE_REMARK = "dcs-backup restore"
TASK_SUCCEEDED = "SUCCESS"


class Progress(NamedTuple):
    """Where a restore or import stands, in DCS's words and ISO times."""

    job_id: str
    status: str | None
    finished: bool
    succeeded: bool
    started_at: str | None = None
    finished_at: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    backup_id: str | None = None  # what a restore record says it restores (an import's task does not say)

    @property
    def duration_s(self) -> float | None:
        start, end = utc_time(self.started_at), utc_time(self.finished_at)
        return round((end - start).total_seconds(), 3) if start and end and self.finished else None


class InPlaceRestorer:
    """RestoreInstance on the target, from one of its own backups."""

    id_field = "restore_id"

    def __init__(self, gateway: DcsGateway, instance_id: str, tag: str) -> None:
        self._gateway = gateway
        self._instance_id = instance_id
        self._tag = tag

        self.records: list[RestoreRecord] = []  # as last listed

    def find_own(self) -> Progress | None:
        """This request's restore, if an earlier delivery started one."""
        self.records = self._gateway.list_restores(self._instance_id)
        own = next((r for r in self.records if marked_for_request(r.remark, self._tag)), None)
        return _restore_progress(own) if own is not None else None

    def key_reused_by(self) -> str | None:
        """A restore (as last listed) made with this request's key for a different request."""
        return next((r.restore_id for r in self.records if carries_tag(r.remark, self._tag)), None)

    def start(self, backup_id: str, remark: str = RESTORE_REMARK) -> str:
        """RestoreInstance, ``remark`` (what the restore is for) carrying the request's marker."""
        return self._gateway.restore_instance(
            self._instance_id,
            backup_id,
            tagged_remark(remark, self._tag),
            recover=_recover("RestoreInstance", self.find_own),
        )

    def progress(self, job_id: str) -> Progress | None:
        self.records = self._gateway.list_restores(self._instance_id)
        record = next((r for r in self.records if r.restore_id == job_id), None)
        return _restore_progress(record) if record is not None else None


class ImportRestorer:
    """A backup import into the target: another instance's backup record, or exported files in OBS."""

    id_field = "migration_task_id"

    def __init__(self, gateway: DcsGateway, instance_id: str, tag: str, password: str | None) -> None:
        self._gateway = gateway
        self._instance_id = instance_id
        self._tag = tag
        self._password = password

    @property
    def task_name(self) -> str:
        """DCS's task names take letters, digits, '_' and '-': the marker's hashes, spelt so."""
        return "dcsb-restore-" + self._tag.removeprefix("[dcsb:").removesuffix("]")

    def find_own(self) -> Progress | None:
        tasks = self._gateway.find_migration_tasks(self.task_name)
        own = next(
            (
                t
                for t in tasks
                if marked_for_request(t.description, self._tag) and t.target_instance_id in (None, self._instance_id)
            ),
            None,
        )
        return _task_progress(own) if own is not None else None

    def key_reused_by(self) -> str | None:
        """A task made with this request's key for a different request (names share the key's hash)."""
        key_part = self.task_name.rsplit("-", 1)[0]
        tasks = self._gateway.find_migration_tasks(key_part)
        return next((t.task_id for t in tasks if carries_tag(t.description, self._tag)), None)

    def start(self, source: BackupImport, what: str) -> str:
        description = tagged_remark(f"{RESTORE_REMARK} of {what}", self._tag)
        return self._gateway.create_migration_task(
            self.task_name,
            description,
            (self._instance_id, self._password),
            source,
            recover=_recover("CreateMigrationTask", self.find_own),
        )

    def progress(self, job_id: str) -> Progress | None:
        """ShowMigrationTask; for a task that ended badly, the listing's error message too (Show has none)."""
        seen = _task_progress(self._gateway.show_migration_task(job_id))
        if seen.finished and not seen.succeeded:
            listed = self.find_own()
            if listed is not None and listed.job_id == job_id:
                return seen._replace(error_msg=listed.error_msg)
        return seen


def follow(
    progress: Callable[[], Progress | None],
    deadline: Deadline,
    policy: PollPolicy,
    min_poll_s: float,
) -> Progress | None:
    """Poll until DCS says it ended or there is no time for another look; the last progress seen."""
    delays = policy.delays()
    while True:
        seen = progress()
        if seen is not None and seen.finished:
            return seen
        delay = next(delays)
        if not deadline.allows(delay + min_poll_s):
            return seen
        policy.sleep(delay)


def _recover(operation: str, find_own: Callable[[], Progress | None]) -> Callable[[CallError], str | None]:
    """After a start that may have landed (a lost answer), only a look-up that worked allows another POST."""

    def recover(error: CallError) -> str | None:
        if error.kind not in AMBIGUOUS_KINDS:
            return None
        try:
            found = find_own()
        except CallError as lookup:
            if lookup.kind in RUN_ENDING_KINDS:
                raise
            stopped = CallError(
                error.kind,
                operation,
                f"the restore may have been started, but {failure_reason(lookup)}; not trying again, so as not "
                "to start a second one: a retry of the same request finds it",
                request_id=lookup.request_id,
            )
            stopped.attempts = error.attempts
            raise stopped from None
        return found.job_id if found is not None else None

    return recover


def _restore_progress(record: RestoreRecord) -> Progress:
    return Progress(
        job_id=record.restore_id,
        status=record.status,
        finished=record.finished,
        succeeded=record.status == "succeed",
        started_at=iso_utc(record.created_at),
        finished_at=iso_utc(record.updated_at) if record.finished else None,
        error_code=record.error_code if record.status == "failed" else None,
        backup_id=record.backup_id,
    )


def _task_progress(task: MigrationTask) -> Progress:
    return Progress(
        job_id=task.task_id,
        status=task.status,
        finished=task.finished,
        succeeded=task.status == TASK_SUCCEEDED,
        started_at=iso_utc(task.created_at),
        finished_at=iso_utc(task.updated_at) if task.finished else None,
        error_msg=task.error_message if task.finished and task.status != TASK_SUCCEEDED else None,
    )
