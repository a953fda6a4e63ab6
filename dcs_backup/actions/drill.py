"""The drill action: each source's newest good backup is imported into the scratch instance, one after another,
and the restored key count is held against what the backup's files declare.

Imported only for a drill. The scratch instance is the only instance ever written to: it passes the restore's
own guards (DCS_RESTORE_TARGETS, its state, its password) before it is first emptied, and every import goes
through the restore's import path. A running import into the scratch instance is found again by its name
(the next run, or a retried delivery, follows it); a second one is never started beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, TypeVar

import structlog

from dcs_backup.actions.declared_keys import declared_keys
from dcs_backup.actions.drill_records import NO_RECORDS, DrillRecords
from dcs_backup.actions.exported_files import exported_objects, newest_export
from dcs_backup.actions.runner import run_jobs
from dcs_backup.actions.scratch import (
    FLUSHING_STATUS,
    SCRATCH_UNCHANGED,
    STILL_FLUSHING,
    Blocked,
    ScratchClearer,
)
from dcs_backup.actions.steps import credentials_failure, gateway_for, run_targets
from dcs_backup.config import Settings
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import (
    CLUSTER_MODE,
    READY_STATUS,
    BackupImport,
    BackupRecord,
    InstanceInfo,
    MigrationTask,
    iso_utc,
    utc_time,
)
from dcs_backup.drill.outcome import DrillOutcome, DrillReport, DrillStatus, key_verdict
from dcs_backup.drill.records import RECORDED, DrillRecord
from dcs_backup.drill.spec import DrillRequest
from dcs_backup.idempotency import idempotency_tag
from dcs_backup.invocation import Invocation
from dcs_backup.outcome import BackupOutcome, failure_reason
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.errors import ConfigurationError
from dcs_backup.restore import guards
from dcs_backup.restore.guards import ExportedObject, Refusal
from dcs_backup.restore.restorer import ImportRestorer, Progress, follow
from dcs_backup.restore.source import chosen_backup
from dcs_backup.restore.spec import ExportSource, RestoreSource
from dcs_backup.runtime import Runtime
from dcs_backup.selection.eligibility import eligible_instance
from dcs_backup.selection.targets import Target

log = structlog.get_logger("dcs_backup")
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
UNJUDGED_WINDOW = timedelta(days=1)  # how old an import never judged may be and still be judged, not redone
T = TypeVar("T")

DRILLS_DISABLED = "drills are refused: set DCS_DRILL_INSTANCE to a scratch instance (also in DCS_RESTORE_TARGETS)"
TASK_PREFIX = "dcsb-restore-"  # the restore's import tasks; a drill's description says whose backup it imports
_DRILLED = re.compile(r"drill of backup (\S+)")
# How a drill task's description says it imports the export, not the backup (DCS keeps 128 characters of it).
FROM_EXPORT = " from its export"
SCRATCH_HOLDS_DRILL = "the drilled backup's data"
SCRATCH_IMPORTING = "the import in progress"
STILL_IMPORTING = "the import was still running at the deadline; the next run follows it and verifies"
BUSY = "the scratch instance is busy with another import ({}); the next run continues"
NOT_STARTED = "deadline reached before this source's turn; the next run continues"


def drill(request: DrillRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> DrillReport:
    """Every source ends passed, failed, inconclusive, pending or skipped, by the invocation's deadline."""
    scratch = settings.drill_instance
    if scratch is None:
        raise ConfigurationError(DRILLS_DISABLED)
    refusal = guards.target_refusal(scratch, settings)
    if refusal is not None:
        raise ConfigurationError(f"DCS_DRILL_INSTANCE {scratch} cannot be written to: {refusal.reason}")
    gateway = gateway_for(invocation, rt)
    targets, run_failure, _ = run_targets(request.sources, settings, gateway, invocation.deadline)
    trigger, request_id = invocation.trigger.value, invocation.request_id
    records = DrillRecords.of(settings, invocation.access, invocation.deadline, rt.policy)
    kept = {"bucket": records.bucket, "prefix": records.prefix} if records else {"kept": False, "reason": NO_RECORDS}
    if records is None:
        log.warning(NO_RECORDS)
    try:
        job = _DrillJob(request, settings, invocation, rt, gateway, scratch, records)
        ordered = job.order(targets)
    except CallError as error:
        reason = f"the scratch instance {scratch} could not be read: {failure_reason(error)}"
        log.error(reason, error_code=error.error_code, dcs_request_id=error.request_id)
        return DrillReport(trigger, request_id, scratch, request.tolerance_pct, (), reason, kept)
    log.info("drill started", scratch_instance_id=scratch, source_count=len(ordered))
    outcomes = run_jobs(
        ordered,
        job,
        1,  # one scratch instance: one drill at a time
        invocation.deadline,
        failed=lambda target, reason: DrillOutcome(target.instance_id, DrillStatus.FAILED, reason=reason),
        late=job.late,
    )
    report = DrillReport(
        trigger,
        request_id,
        scratch,
        request.tolerance_pct,
        tuple(outcomes),
        credentials_failure(gateway) or run_failure or job.scratch_problem,
        kept,
    )
    log.info("drill finished", status=report.status, counts=report.counts)
    return report


class _Running(NamedTuple):
    """An unfinished import into the scratch instance (or a drill's never judged), and the drill it belongs to
    (if it is one)."""

    task: MigrationTask
    backup_id: str | None  # a drill's description names the backup; its name carries the source's hash


class _DrillJob:
    """Drills one source at a time; once an import is left running, every later source waits for the next run."""

    def __init__(
        self,
        request: DrillRequest,
        settings: Settings,
        invocation: Invocation,
        rt: Runtime,
        gateway: DcsGateway,
        scratch: str,
        records: DrillRecords | None,
    ) -> None:
        self._request = request
        self._records = records
        self._settings = settings
        self._invocation = invocation
        self._rt = rt
        self._gateway = gateway
        self._scratch_id = scratch
        self._scratch = gateway.show_instance(scratch)
        self._clearer = ScratchClearer(gateway, self._scratch, invocation, rt, self._poll)
        self.scratch_problem = self._scratch_refusal()
        self._scratch_tasks = [
            t for t in gateway.find_migration_tasks(None) if t.target_instance_id == scratch
        ]  # every import into the scratch instance, under any name
        self._running = self._running_import()
        self._busy: str | None = None  # why no further import may start in this run
        if self._scratch.status == FLUSHING_STATUS and self.scratch_problem is None:
            self._busy = STILL_FLUSHING
        self._chosen: DrillOutcome | None = None  # the source's backup once chosen, for a call that fails after
        self._modes: dict[str, str | None] = {}  # each source's cache mode: a Redis Cluster has database 0 only
        self._resumed: dict[str, tuple[str, str]] = {}  # a source whose import was followed: its drill id, kind

    def order(self, targets: list[Target]) -> list[Target]:
        """The source whose import is running (or was never judged) first: it resumes; then the least recently
        drilled."""
        self._running = self._running or self._unjudged_import(targets)
        last = self._last_drilled()
        never = datetime.min.replace(tzinfo=timezone.utc)
        return sorted(
            targets,
            key=lambda t: (not self._runs_for(t.instance_id), last.get(self._key_hash(t.instance_id), never)),
        )

    def _runs_for(self, source_id: str) -> bool:
        """The unfinished import into the scratch instance is this source's drill."""
        running = self._running
        if running is None or running.backup_id is None:
            return False
        return _key_hash_of(running.task) == self._key_hash(source_id)

    def late(self, target: Target, running: bool) -> DrillOutcome:
        reason = STILL_IMPORTING if running else NOT_STARTED
        return DrillOutcome(target.instance_id, DrillStatus.PENDING, target.name, reason=reason)

    def __call__(self, target: Target) -> DrillOutcome:
        """The drill of one source, and its record once it ran."""
        outcome = self._judged(target)
        if self._records is None or outcome.status not in RECORDED or outcome.record is not None:
            return outcome
        # A drill resumed from an earlier run's import is recorded as that import's drill, of its kind.
        drill_id, kind = self._resumed.get(
            outcome.instance_id, (self._drill_id(outcome.instance_id, outcome.backup_id), self._request.source_kind)
        )
        record = DrillRecord.of(outcome, _now(), kind, self._scratch_id, self._invocation.request_id, drill_id)
        try:
            return outcome._replace(record=self._records.keep(record))
        except CallError as error:
            problem = f"writing it to bucket {self._records.bucket} failed: {failure_reason(error)}"
            return outcome._replace(record_problem=problem)

    def _judged(self, target: Target) -> DrillOutcome:
        source = target.instance_id
        if source == self._scratch_id:
            return self._outcome(target, DrillStatus.SKIPPED, reason="it is the scratch instance: never drilled")
        if target.refusal is not None:
            return self._outcome(target, DrillStatus.SKIPPED, reason=target.refusal)
        if self.scratch_problem is not None:
            return self._outcome(target, DrillStatus.FAILED, reason=self.scratch_problem)
        if self._busy is not None:
            return self._outcome(target, DrillStatus.PENDING, reason=self._busy)
        self._chosen = None
        try:
            return self._drill(target)
        except CallError as error:
            status = DrillStatus.PENDING if error.kind is ErrorKind.DEADLINE else DrillStatus.FAILED
            failed = {
                "reason": failure_reason(error),
                "error_code": error.error_code,
                "dcs_request_id": error.request_id,
            }
            if self._chosen is not None:  # the backup it was drilling, its age: what the record and the retry need
                return self._chosen._replace(status=status, **failed)
            return self._outcome(target, status, **failed)

    def _drill(self, target: Target) -> DrillOutcome:
        eligible = eligible_instance(target, self._gateway)
        if isinstance(eligible, BackupOutcome):
            return self._outcome(
                target, DrillStatus.SKIPPED, reason=eligible.reason, instance_name=eligible.instance_name
            )
        target = target._replace(known=eligible)
        self._modes[target.instance_id] = eligible.cache_mode
        running = self._running
        if running is not None and running.backup_id is not None and self._runs_for(target.instance_id):
            records = self._gateway.list_backups(target.instance_id)
            backup = next((r for r in records if r.backup_id == running.backup_id), None)
            restorer = self._restorer_of(running.task)
            started = utc_time(running.task.created_at) or _now()
            known = self._known(target, backup, running.backup_id)
            self._resumed[target.instance_id] = (
                _drill_id_of(running.task),
                "export" if FROM_EXPORT in running.task.description else "backup",
            )
            if FROM_EXPORT in running.task.description:
                known = self._with_labels_of(known, running.task.task_id)
            else:
                known = self._with_declared_keys(known)
            known = known._replace(migration_task_id=running.task.task_id, reused=True)
            self._running = None  # followed here: if it runs on past the deadline, _follow marks the run busy
            return self._follow(known, restorer, running.task.task_id, started)
        if running is not None:
            self._busy = BUSY.format(running.task.name)
            return self._outcome(target, DrillStatus.PENDING, reason=self._busy)
        return self._fresh_drill(target, self._gateway.show_instance(target.instance_id))

    def _fresh_drill(self, target: Target, source: InstanceInfo) -> DrillOutcome:
        if self._request.source_kind == "export":
            return self._export_drill(target, source)
        records = self._gateway.list_backups(target.instance_id)
        chosen = chosen_backup(records, RestoreSource(latest=True))
        refusal = guards.backup_refusal(chosen, None, target.instance_id)
        if refusal is not None or chosen is None:
            return self._outcome(target, DrillStatus.FAILED, reason=refusal.reason if refusal else None)
        known = self._known(target, chosen, chosen.backup_id)
        unfit = self._unfit(known, guards.version_refusal(source, self._scratch))
        if unfit is not None:
            return unfit
        what = f"drill of backup {chosen.backup_id}"  # the task's name says whose (the source's key hash)
        return self._import(self._with_declared_keys(known), BackupImport(backup_id=chosen.backup_id), what)

    def _export_drill(self, target: Target, source: InstanceInfo) -> DrillOutcome:
        """The newest verified export of the source in the export bucket, imported from OBS: the off-instance
        copy proven; its objects' labels say how many keys the files declared."""
        spec = self._settings.default_export
        assert spec is not None  # a drill from the export is refused without an export bucket (its spec)
        wanted = ExportSource(bucket=spec.bucket, objects=(), prefix=spec.prefix)
        found = newest_export(
            wanted,
            target.instance_id,
            self._settings,
            self._invocation.access,
            self._invocation.deadline,
            self._rt.policy,
        )
        if found is None:
            reason = f"no complete, verified export of the instance in bucket {spec.bucket} under {spec.prefix}"
            return self._outcome(target, DrillStatus.FAILED, reason=reason)
        export, objects = found
        backup_id = objects[0].backup_id or ""
        records = self._gateway.list_backups(target.instance_id)
        known = self._known(target, next((r for r in records if r.backup_id == backup_id), None), backup_id)
        unfit = self._unfit(known, guards.rdb_version_refusal(objects, self._scratch))
        if unfit is not None:
            return unfit
        known = _with_exported_keys(known, export, objects)
        what = f"drill of backup {backup_id}{FROM_EXPORT}"
        return self._import(known, BackupImport(bucket=export.bucket, object_keys=export.objects), what)

    def _import(self, known: DrillOutcome, source: BackupImport, what: str) -> DrillOutcome:
        """The scratch instance emptied (and found empty), then ``source`` imported into it and followed."""
        assert known.backup_id is not None
        drill_id = self._drill_id(known.instance_id, known.backup_id)
        earlier = self._records.earlier(known, drill_id) if self._records else None
        if earlier is not None:  # a retried delivery: the drill already ran, and its record says how it ended
            return earlier
        blocked = self._clearer.clear(f"before the drill of {known.instance_id}'s backup {known.backup_id}")
        if blocked is not None:
            if blocked.pending:
                self._busy = blocked.reason  # nothing more is imported in this run
            status = DrillStatus.PENDING if blocked.pending else DrillStatus.FAILED
            return known._replace(status=status, reason=blocked.reason, scratch=blocked.scratch)
        restorer = ImportRestorer(
            self._gateway,
            self._scratch_id,
            self._tag(known.instance_id, known.backup_id),
            self._settings.target_passwords.get(self._scratch_id),
        )
        started = _now()
        task_id = restorer.start(source, what)
        return self._follow(known._replace(migration_task_id=task_id), restorer, task_id, started)

    def _follow(self, known: DrillOutcome, restorer: ImportRestorer, task_id: str, started: datetime) -> DrillOutcome:
        """Wait for the import, then for the scratch instance to run, then count its keys."""
        seen = follow(
            lambda: restorer.progress(task_id),
            self._invocation.deadline,
            self._rt.poll_policy,
            self._rt.policy.min_attempt_s,
        )
        if seen is None or not seen.finished:
            self._busy = STILL_IMPORTING
            return known._replace(status=DrillStatus.PENDING, reason=STILL_IMPORTING, scratch=SCRATCH_IMPORTING)
        if not seen.succeeded:
            return self._import_failed(known, seen)
        instance = self._poll(lambda: self._running_scratch())
        if instance is None:
            self._busy = "the scratch instance was not RUNNING again by the deadline; the next run continues"
            return known._replace(status=DrillStatus.PENDING, reason=self._busy, scratch=SCRATCH_HOLDS_DRILL)
        restored = self._gateway.statistics().get(self._scratch_id)
        status, reason = key_verdict(
            known.keys_expected,
            restored.keys if restored else None,
            self._request.tolerance_pct,
            first_database_only=self._modes.get(known.instance_id) != CLUSTER_MODE,
        )
        if known.keys_expected is None and known.reason:
            reason = f"{reason}: {known.reason}"
        return known._replace(
            status=status,
            reason=reason,
            keys_restored=restored.keys if restored else None,
            restore_seconds=round((_now() - started).total_seconds(), 3),
            scratch=SCRATCH_HOLDS_DRILL,
        )

    def _import_failed(self, known: DrillOutcome, seen: Progress) -> DrillOutcome:
        """DCS did not load the backup: the scratch instance is emptied again, so it holds nothing half-loaded."""
        reason = f"the import failed in DCS: {seen.error_msg or seen.status}"
        try:
            blocked = self._clearer.clear(f"after the failed import {known.migration_task_id}")
        except CallError as error:
            blocked = Blocked(False, failure_reason(error), SCRATCH_UNCHANGED)
        if blocked is None:
            scratch = self._clearer.emptied
        elif blocked.pending:
            self._busy = blocked.reason  # nothing more is imported in this run
            scratch = blocked.scratch
        else:
            scratch = f"what the failed import left (emptying it failed: {blocked.reason})"
        return known._replace(status=DrillStatus.FAILED, reason=reason, scratch=scratch)

    def _known(self, target: Target, backup: BackupRecord | None, backup_id: str) -> DrillOutcome:
        """What the drill of ``backup_id`` knows from its record: the backup and its age."""
        created = backup.created if backup is not None else None
        age = round((_now() - created).total_seconds() / 3600, 2) if created is not None else None
        self._chosen = DrillOutcome(
            target.instance_id,
            DrillStatus.PENDING,
            target.name,
            backup_id=backup_id,
            backup_created_at=iso_utc(backup.created_at) if backup is not None else None,
            backup_age_hours=age,
        )
        return self._chosen

    def _with_labels_of(self, known: DrillOutcome, task_id: str) -> DrillOutcome:
        """A resumed drill of an export: the key count the labels of the objects its task imports declare."""
        task = self._gateway.show_migration_task(task_id)
        export = ExportSource(bucket=task.bucket or "", objects=task.object_keys)
        if not task.bucket or not task.object_keys:
            return known._replace(reason="the import task does not say which exported objects it imports")
        invocation = self._invocation
        objects = exported_objects(export, self._settings, invocation.access, invocation.deadline, self._rt.policy)
        return _with_exported_keys(known, export, objects)

    def _with_declared_keys(self, known: DrillOutcome) -> DrillOutcome:
        """The key count the backup's files declare (read from their heads), or why it is unknown."""
        assert known.backup_id is not None
        declared = declared_keys(
            self._gateway,
            known.instance_id,
            known.backup_id,
            self._settings,
            self._invocation.deadline,
            self._rt.policy,
        )
        return known._replace(keys_expected=declared.keys, reason=declared.why_unknown)

    def _unfit(self, known: DrillOutcome, version: Refusal | None) -> DrillOutcome | None:
        """Skipped before anything is written: a Redis version (or RDB format) newer than the scratch instance
        loads, or a source bigger than it; None when the scratch instance can take it."""
        if version is not None:
            return known._replace(status=DrillStatus.SKIPPED, reason=f"{version.guard}: {version.reason}")
        too_big = self._too_big(known.instance_id)
        return known._replace(status=DrillStatus.SKIPPED, reason=too_big) if too_big is not None else None

    def _too_big(self, source_id: str) -> str | None:
        """A source whose used memory exceeds the scratch instance's capacity is never imported."""
        statistics = self._gateway.statistics()
        source, scratch = statistics.get(source_id), statistics.get(self._scratch_id)
        used = source.used_memory_mb if source is not None else None
        capacity = scratch.max_memory_mb if scratch is not None else None
        if used is None or capacity is None or used <= capacity:
            return None
        return f"the source uses {used} MB, more than the scratch instance's {capacity} MB: use a bigger one"

    def _running_scratch(self) -> InstanceInfo | None:
        instance = self._gateway.show_instance(self._scratch_id)
        return instance if instance.status == READY_STATUS else None

    def _poll(self, check: Callable[[], T | None]) -> T | None:
        """``check()`` until it gives something or there is no time for another look."""
        delays = self._rt.poll_policy.delays()
        deadline = self._invocation.deadline
        while True:
            found = check()
            if found is not None:
                return found
            delay = next(delays)
            if not deadline.allows(delay + self._rt.policy.min_attempt_s):
                return None
            self._rt.poll_policy.sleep(delay)

    def _scratch_refusal(self) -> str | None:
        """The restore's guards for an import target, on the scratch instance, before anything is written."""
        refusal = self._clearer.state_refusal() or guards.password_refusal(
            self._scratch, self._settings.target_passwords
        )
        if refusal is None:
            return None
        reason = f"the scratch instance {self._scratch_id} cannot be drilled into: {refusal.guard}: {refusal.reason}"
        log.error(reason)
        return reason

    def _running_import(self) -> _Running | None:
        """An unfinished import into the scratch instance (a drill's, a restore's, or one started from the
        console under any name), if there is one."""
        for task in self._scratch_tasks:
            if not task.finished:
                drilled = _DRILLED.search(task.description)
                return _Running(task, drilled.group(1) if drilled else None)
        return None

    def _unjudged_import(self, targets: list[Target]) -> _Running | None:
        """The newest import into the scratch instance when it is a drill's that ended but was never judged
        (the deadline came before the count, or its record could not be written): the scratch instance still
        holds what it loaded, so it is judged now rather than imported again. Only records can tell."""
        dated = [(utc_time(t.created_at), t) for t in self._scratch_tasks]
        if self._records is None or not dated or any(at is None for at, _ in dated):
            return None  # an import whose time is unknown may be newer than any: nothing is taken for the newest
        created, newest = max(dated, key=lambda pair: pair[0] or _EARLIEST)
        drilled = _DRILLED.search(newest.description)
        if created is None or drilled is None or not (newest.name or "").startswith(TASK_PREFIX):
            return None
        if _now() - created > UNJUDGED_WINDOW or self._restored_since(created):
            return None  # the scratch instance may hold something else by now: drilled afresh
        source = next((t.instance_id for t in targets if self._key_hash(t.instance_id) == _key_hash_of(newest)), None)
        if source is None or self._records.judged(source, _drill_id_of(newest)):
            return None
        return _Running(newest, drilled.group(1))

    def _restored_since(self, moment: datetime) -> bool:
        """Any in-place restore of the scratch instance begun after the import created at ``moment`` (or at a
        time unknown). A task's time is given to the second: a restore begun within that second is the emptying
        before the import (DCS runs no restore beside an import)."""
        for restore in self._gateway.list_restores(self._scratch_id):
            began = utc_time(restore.created_at)
            if began is None or began >= moment + timedelta(seconds=1):
                return True
        return False

    def _last_drilled(self) -> dict[str, datetime]:
        """When each source (by its hash) was last drilled into the scratch instance, from the import tasks."""
        last: dict[str, datetime] = {}
        for task in self._scratch_tasks:
            created = utc_time(task.created_at)
            if not (task.name or "").startswith(TASK_PREFIX) or not _DRILLED.search(task.description) or not created:
                continue
            source = _key_hash_of(task)
            last[source] = max(created, last.get(source, created))
        return last

    def _drill_id(self, source_id: str, backup_id: str | None) -> str:
        """This run's drill of the source's backup, as its import task's name and its record's key carry it."""
        return self._tag(source_id, backup_id or "").removesuffix("]").rsplit("-", 1)[-1]

    def _key_hash(self, source_id: str) -> str:
        """The part of a drill's task name that names its source (and the scratch instance)."""
        return self._tag(source_id, "").removeprefix("[dcsb:").split("-")[0]

    def _tag(self, source_id: str, backup_id: str) -> str:
        """This run's drill of one source's backup: found again by a retried delivery, new for the next run."""
        return idempotency_tag(f"drill:{self._scratch_id}:{source_id}", (backup_id, self._invocation.request_id))

    def _restorer_of(self, task: MigrationTask) -> ImportRestorer:
        """The restore's follower for a task found running, under the tag its name carries."""
        tag = "[dcsb:" + (task.name or "").removeprefix(TASK_PREFIX) + "]"
        password = self._settings.target_passwords.get(self._scratch_id)
        return ImportRestorer(self._gateway, self._scratch_id, tag, password)

    def _outcome(self, target: Target, status: DrillStatus, **fields: object) -> DrillOutcome:
        fields.setdefault("instance_name", target.name)
        return DrillOutcome(target.instance_id, status, **fields)  # type: ignore[arg-type]


def _with_exported_keys(known: DrillOutcome, export: ExportSource, objects: list[ExportedObject]) -> DrillOutcome:
    """The key count the export's labels declare (over every object), and the export drilled."""
    counts = [o.declared_keys for o in objects]
    expected = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
    return known._replace(
        keys_expected=expected,
        reason=None if expected is not None else "the export's labels declare no key count",
        export={"bucket": export.bucket, "objects": list(export.objects)},
    )


def _drill_id_of(task: MigrationTask) -> str:
    """The request-and-backup part of a drill task's name, which the drill's record carries too."""
    return (task.name or "").rsplit("-", 1)[-1]


def _key_hash_of(task: MigrationTask) -> str:
    return (task.name or "").removeprefix(TASK_PREFIX).split("-")[0]


def _now() -> datetime:
    return datetime.now(timezone.utc)
