"""The restore action: guards → what to restore → plan, or safety backup → restore → follow it → one answer.

Imported only for a restore, to keep it out of every backup's cold start. Every guard runs before the first
write; the safety backup reuses the backup capability (start or find, then wait) and is never restored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import structlog

from dcs_backup.actions.backup import required_obs_endpoint
from dcs_backup.actions.exported_files import exported_objects, newest_export
from dcs_backup.actions.runner import run_jobs
from dcs_backup.actions.steps import credentials_failure, gateway_for
from dcs_backup.backup.create import BackupStarter
from dcs_backup.completion.wait import BackupWaiter
from dcs_backup.config import Settings
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupImport, BackupRecord, CreatedBackup, InstanceInfo, iso_utc
from dcs_backup.idempotency import find_tagged, made_for_request
from dcs_backup.invocation import Invocation
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, failure_reason
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.request import BackupRequest
from dcs_backup.restore import guards
from dcs_backup.restore.guards import Refusal
from dcs_backup.restore.outcome import RestoreDocument, RestoreOutcome, RestoreStatus, call_failed, refused
from dcs_backup.restore.plan import restore_plan
from dcs_backup.restore.restorer import ImportRestorer, InPlaceRestorer, Progress, follow
from dcs_backup.restore.source import SAFETY_REMARK, chosen_backup, own_safety_backup
from dcs_backup.restore.spec import ExportSource, RestoreRequest
from dcs_backup.runtime import Runtime
from dcs_backup.selection.targets import Target

log = structlog.get_logger("dcs_backup")

STILL_RUNNING = (
    "the restore was still running when the time to wait ran out; a retry of the same request resumes waiting"
)
NOT_WAITED = "the restore was started and not waited for; a retry of the same request reports how it ends"
LATE = (
    "deadline reached while a DCS call was still under way; the restore may have been started: "
    "a retry of the same request finds it"
)
# DCS refusing the start because of the instance's state, after every guard passed (someone else's task).
_STATE_CODES = {"DCS.4097": "restore_running", "111400097": "restore_running", "DCS.4096": "instance_state"}


def restore(request: RestoreRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> RestoreDocument:
    """The one target ends restored, planned, pending, refused or failed, by the invocation's deadline."""
    trigger, request_id = invocation.trigger.value, invocation.request_id
    refusal = guards.target_refusal(request.instance_id, settings)
    if refusal is not None:
        # Not a target at all: DCS is not even asked about it.
        log.warning("restore refused", instance_id=request.instance_id, guard=refusal.guard, reason=refusal.reason)
        return RestoreDocument(trigger, request_id, refused(request.instance_id, refusal))
    if request.source.export is not None:
        required_obs_endpoint(settings)  # a configuration error, before any call
    gateway = gateway_for(invocation, rt)
    job = _RestoreJob(request, settings, invocation, rt, gateway)
    log.info("restore started", instance_id=request.instance_id, plan=request.plan, idempotency_tag=invocation.tag)
    (outcome,) = run_jobs(
        [Target(request.instance_id)],
        job,
        1,
        invocation.deadline,
        failed=lambda target, reason: job.known._replace(status=RestoreStatus.FAILED, reason=reason),
        late=lambda target, running: job.known._replace(status=RestoreStatus.PENDING, reason=LATE),
    )
    return RestoreDocument(trigger, request_id, outcome, credentials_failure(gateway))


class _Checked(NamedTuple):
    chosen: BackupRecord | None  # None for exported files
    target_records: list[BackupRecord] | None  # the target's backups, when they were read as the source's
    safety: bool
    overwrites: bool


class _RestoreJob:
    """One target's restore; ``known`` is what it has learnt so far (for an answer cut short)."""

    def __init__(
        self, request: RestoreRequest, settings: Settings, invocation: Invocation, rt: Runtime, gateway: DcsGateway
    ) -> None:
        self._request = request
        self._settings = settings
        self._tag = invocation.tag
        self._deadline = invocation.deadline
        self._access = invocation.access
        self._rt = rt
        self._gateway = gateway
        self.known = RestoreOutcome(request.instance_id, RestoreStatus.PENDING)
        self._exported: list[guards.ExportedObject] = []  # what OBS said of the exported files, once read
        self._export: ExportSource | None = None  # the newest export, when the request asked for it

    def __call__(self, target: Target) -> RestoreOutcome:
        try:
            return self._restore()
        except CallError as error:
            if error.kind is ErrorKind.DEADLINE:  # a call cut short may have started the restore: look again
                return self.known._replace(status=RestoreStatus.PENDING, reason=LATE)
            return call_failed(self.known, error)

    def _restore(self) -> RestoreOutcome:
        request = self._request
        instance = self._gateway.show_instance(request.instance_id)
        self.known = self.known._replace(instance_name=instance.name)
        refusal = guards.confirmation_refusal(instance, request.confirm_instance_name)
        if refusal is not None:
            return self._refused(refusal)
        restorer = self._restorer(instance)
        existing = restorer.find_own()
        if existing is not None:
            return self._resume(restorer, existing)
        other = restorer.key_reused_by()
        if other is not None:
            return self._refused(
                Refusal(
                    "idempotency_key",
                    f"its idempotency key was already used for a different restore ({other}): send the same request "
                    "to retry it, or a new key for a new request",
                    409,
                )
            )
        refusal = guards.state_refusal(instance) or self._running_refusal(instance, restorer)
        if refusal is not None:
            return self._refused(refusal)
        return self._restore_from_source(instance, restorer)

    def _running_refusal(self, instance: InstanceInfo, restorer: InPlaceRestorer | ImportRestorer) -> Refusal | None:
        """Whichever path this restore takes, none other may run into the instance: an in-place restore
        (queued or running), a backup import, or another request's safety backup (its restore comes next)."""
        restores = restorer.records if isinstance(restorer, InPlaceRestorer) else None
        return (
            guards.running_restore_refusal(
                restores if restores is not None else self._gateway.list_restores(instance.instance_id)
            )
            or guards.running_import_refusal(self._gateway.find_migration_tasks(None), instance.instance_id)
            or guards.other_safety_backup_refusal(self._gateway.list_backups(instance.instance_id), self._tag)
        )

    def _restore_from_source(
        self, instance: InstanceInfo, restorer: InPlaceRestorer | ImportRestorer
    ) -> RestoreOutcome:
        request = self._request
        checked = self._checked_source(instance, restorer)
        if isinstance(checked, Refusal):
            return self._refused(checked)
        chosen, target_records, safety, overwrites = checked
        if request.plan:
            return self._planned(instance, restorer, safety, overwrites)
        if safety:
            taken = self._safety_backup(instance, target_records)
            if taken is not None:
                return taken
        if isinstance(restorer, InPlaceRestorer):
            assert chosen is not None
            job_id = self._start(lambda: restorer.start(chosen.backup_id))
        else:
            job_id = self._start(lambda: restorer.start(self._import_source(chosen), request.source.describe()))
        if isinstance(job_id, Refusal):
            return self._refused(job_id)
        return self._follow(restorer, job_id, reused=False)

    def _checked_source(self, instance: InstanceInfo, restorer: InPlaceRestorer | ImportRestorer) -> _Checked | Refusal:
        """What to restore, and whether a safety backup comes first, once every remaining guard passed."""
        request = self._request
        chosen, source_records, refusal = self._source()
        if refusal is not None:
            return refusal
        overwrites = True
        if isinstance(restorer, ImportRestorer):
            keys, refusal = self._import_refusal(instance)
            if refusal is not None:
                return refusal
            overwrites = bool(keys)
        safety = request.backup_before_restore and overwrites
        target_records = source_records if request.source_instance_id == instance.instance_id else None
        if safety and chosen is not None and target_records is not None:
            refusal = guards.eviction_refusal(target_records, chosen)
            if refusal is not None:
                return refusal
        return _Checked(chosen, target_records, safety, overwrites)

    def _restorer(self, instance: InstanceInfo) -> InPlaceRestorer | ImportRestorer:
        if self._request.in_place:
            return InPlaceRestorer(self._gateway, instance.instance_id, self._tag)
        password = self._settings.target_passwords.get(instance.instance_id)
        return ImportRestorer(self._gateway, instance.instance_id, self._tag, password)

    def _source(self) -> tuple[BackupRecord | None, list[BackupRecord] | None, Refusal | None]:
        """The backup to restore (resolved before any safety backup exists) and the source's records."""
        request = self._request
        export = request.source.export
        if export is not None and not export.objects:
            found = newest_export(
                export, request.source_instance_id, self._settings, self._access, self._deadline, self._rt.policy
            )
            if found is None:
                where = (
                    f"{export.bucket}/{export.prefix if export.prefix is not None else self._settings.export_prefix}"
                )
                return (
                    None,
                    None,
                    Refusal(
                        "export_complete",
                        f"no complete, verified export of instance {request.source_instance_id} under {where}",
                        409,
                    ),
                )
            export, self._exported = found
            self._export = export
            self.known = self.known._replace(source={"bucket": export.bucket, "objects": list(export.objects)})
            return None, None, None
        if export is not None:
            self.known = self.known._replace(source={"bucket": export.bucket, "objects": list(export.objects)})
            objects = exported_objects(export, self._settings, self._access, self._deadline, self._rt.policy)
            self._exported = objects
            refusal = guards.export_source_refusal(objects, request.source_instance_id)
            return None, None, refusal or guards.export_refusal(objects)
        records = self._gateway.list_backups(request.source_instance_id)
        chosen = chosen_backup(records, request.source, self._chosen_before(records))
        refusal = guards.backup_refusal(chosen, request.source.backup_id, request.source_instance_id)
        if chosen is not None:
            self.known = self.known._replace(source=_backup_source(request.source_instance_id, chosen))
        return chosen, records, refusal

    def _chosen_before(self, source_records: list[BackupRecord]) -> datetime | None:
        """For ``latest``: when an earlier delivery took this request's safety backup, the backup chosen then
        is the newest made before it (one made meanwhile is not the one the first delivery chose)."""
        request = self._request
        if request.source.backup_id is not None:
            return None
        same = request.source_instance_id == request.instance_id
        target_records = source_records if same else self._gateway.list_backups(request.instance_id)
        safety = own_safety_backup(target_records, self._tag)
        return safety.created_or_oldest if safety is not None else None

    def _import_refusal(self, instance: InstanceInfo) -> tuple[int | None, Refusal | None]:
        """An import's own guards: the password, the engine version, and the target's keys."""
        request = self._request
        refusal = guards.password_refusal(instance, self._settings.target_passwords)
        if refusal is None and request.source.export is None:
            refusal = guards.version_refusal(self._gateway.show_instance(request.source_instance_id), instance)
        elif refusal is None:
            refusal = guards.rdb_version_refusal(self._exported, instance)
        if refusal is not None:
            return None, refusal
        keys = self._gateway.key_counts().get(instance.instance_id)
        return keys, guards.emptiness_refusal(instance.instance_id, keys, request.allow_non_empty_target)

    def _import_source(self, chosen: BackupRecord | None) -> BackupImport:
        export = self._export or self._request.source.export  # the one found, for "the newest export"
        if export is not None:
            return BackupImport(bucket=export.bucket, object_keys=export.objects)
        assert chosen is not None
        return BackupImport(backup_id=chosen.backup_id)

    def _safety_backup(self, instance: InstanceInfo, records: list[BackupRecord] | None) -> RestoreOutcome | None:
        """Take (or find) this request's backup of the target and wait for it; None once it succeeded."""
        listed = records if records is not None else self._gateway.list_backups(instance.instance_id)
        found = find_tagged(listed, self._tag)
        if found is not None:
            created = CreatedBackup(found.backup_id, reused=True)
        else:
            safety_request = BackupRequest(
                instance_ids=(instance.instance_id,), backup_format="rdb", remark=SAFETY_REMARK
            )
            created = BackupStarter(self._gateway, safety_request, self._tag).start(instance)
        self.known = self.known._replace(safety_backup_id=created.backup_id)
        started = BackupOutcome(instance.instance_id, OutcomeStatus.CREATED, backup_id=created.backup_id)
        waiter = BackupWaiter(
            self._gateway, self._deadline, self._rt.poll_policy, self._rt.policy.min_attempt_s, self._rt.progress
        )
        waited = waiter.wait(started)
        if waited.status is OutcomeStatus.COMPLETED:
            return None
        if waited.status is OutcomeStatus.PENDING:
            return self.known._replace(
                status=RestoreStatus.PENDING,
                reason=f"the safety backup {created.backup_id} is still running; nothing was restored yet: a retry "
                "of the same request waits for it, then restores",
            )
        return self.known._replace(
            status=RestoreStatus.FAILED,
            reason=f"the safety backup {created.backup_id} failed ({waited.reason}); nothing was restored",
            error_code=waited.error_code,
            error_msg=waited.error_msg,
        )

    def _start(self, start: Any) -> str | Refusal:
        """The restore's id; DCS refusing it for the instance's state (a task of someone else) is a refusal."""
        try:
            job_id: str = start()
        except CallError as error:
            guard = _STATE_CODES.get(error.error_code or "")
            if guard is None or error.kind not in (ErrorKind.REJECTED, ErrorKind.BUSY):
                raise
            return Refusal(guard, f"DCS refused to start the restore: {error.message} ({error.error_code})", 409)
        return job_id

    def _resume(self, restorer: InPlaceRestorer | ImportRestorer, existing: Progress) -> RestoreOutcome:
        """An earlier delivery started this request's restore: report it, or wait on; never start another."""
        request = self._request
        export = request.source.export
        if export is not None:
            self.known = self.known._replace(source={"bucket": export.bucket, "objects": list(export.objects)})
        elif (backup_id := existing.backup_id or request.source.backup_id) is not None:
            self.known = self.known._replace(source=_backup_source(request.source_instance_id, backup_id))
        safety = next(
            (r for r in self._gateway.list_backups(request.instance_id) if made_for_request(r, self._tag)), None
        )
        if safety is not None:
            self.known = self.known._replace(safety_backup_id=safety.backup_id)
        if existing.finished:
            return self._ended(restorer, existing.job_id, existing, reused=True)
        return self._follow(restorer, existing.job_id, reused=True)

    def _follow(self, restorer: InPlaceRestorer | ImportRestorer, job_id: str, *, reused: bool) -> RestoreOutcome:
        if not self._request.wait:
            outcome = self._ended(restorer, job_id, None, reused=reused)
            return outcome._replace(reason=NOT_WAITED)
        try:
            seen = follow(
                lambda: restorer.progress(job_id), self._deadline, self._rt.poll_policy, self._rt.policy.min_attempt_s
            )
        except CallError as error:
            return self._unreadable(restorer, job_id, error, reused)
        return self._ended(restorer, job_id, seen, reused=reused)

    def _unreadable(
        self, restorer: InPlaceRestorer | ImportRestorer, job_id: str, error: CallError, reused: bool
    ) -> RestoreOutcome:
        """A restore that runs but cannot be seen: pending (a retry looks again), unless DCS refuses the read."""
        outcome = self._ended(restorer, job_id, None, reused=reused)
        if error.kind in (ErrorKind.REJECTED, ErrorKind.CREDENTIALS):
            return call_failed(outcome, error)
        return outcome._replace(reason=f"the restore's progress could not be read: {failure_reason(error)}")

    def _ended(
        self, restorer: InPlaceRestorer | ImportRestorer, job_id: str, seen: Progress | None, *, reused: bool
    ) -> RestoreOutcome:
        ids: dict[str, Any] = {restorer.id_field: job_id}
        outcome = self.known._replace(status=RestoreStatus.PENDING, reason=STILL_RUNNING, reused=reused, **ids)
        if seen is None:
            return outcome
        outcome = outcome._replace(
            restore_status=seen.status,
            started_at=seen.started_at,
            finished_at=seen.finished_at,
            duration_s=seen.duration_s,
        )
        if not seen.finished:
            return outcome
        if seen.succeeded:
            return outcome._replace(status=RestoreStatus.RESTORED, reason=None)
        return outcome._replace(
            status=RestoreStatus.FAILED,
            reason="restore failed in DCS",
            error_code=seen.error_code,
            error_msg=seen.error_msg,
        )

    def _planned(
        self, instance: InstanceInfo, restorer: InPlaceRestorer | ImportRestorer, safety: bool, overwrites: bool
    ) -> RestoreOutcome:
        kind = "in_place" if isinstance(restorer, InPlaceRestorer) else "backup_record"
        if self._request.source.export is not None:
            kind = "self_build_obs"
        plan = restore_plan(instance, self.known.source, kind, safety=safety, overwrites=overwrites)
        return self.known._replace(status=RestoreStatus.PLANNED, plan={**plan, "wait": self._request.wait})

    def _refused(self, refusal: Refusal) -> RestoreOutcome:
        return refused(self._request.instance_id, refusal, self.known.instance_name)._replace(source=self.known.source)


def _backup_source(instance_id: str, backup: BackupRecord | str) -> dict[str, Any]:
    if isinstance(backup, str):
        return {"instance_id": instance_id, "backup_id": backup}
    return {"instance_id": instance_id, "backup_id": backup.backup_id, "backup_created_at": iso_utc(backup.created_at)}
