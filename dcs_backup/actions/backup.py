"""The backup action: targets → look and start each backup → wait, export, prune as asked → one document."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from dcs_backup.actions.runner import LATE_REASON, run_jobs
from dcs_backup.actions.steps import FollowUp, credentials_failure, gateway_for, run_targets
from dcs_backup.backup.pipeline import BackupPipeline, backup_failure
from dcs_backup.completion.wait import BackupWaiter, still_running
from dcs_backup.config import Settings
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.export.spec import files_at_once, obs_endpoint
from dcs_backup.invocation import Invocation
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, ResultDocument, summarize
from dcs_backup.platform.errors import ConfigurationError
from dcs_backup.request import BackupRequest
from dcs_backup.retention.keeper import RetentionKeeper
from dcs_backup.runtime import Runtime

if TYPE_CHECKING:
    from dcs_backup.export.exporter import Exporter

log = structlog.get_logger("dcs_backup")


def back_up(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> ResultDocument:
    """Every target ends with one outcome, by the invocation's deadline."""
    gateway = gateway_for(invocation, rt)
    targets, run_failure, empty = run_targets(request, settings, gateway, invocation.deadline)
    log.info(
        "run started",
        instance_count=len(targets),
        backup_format=request.backup_format,
        idempotency_tag=invocation.tag,
        remaining_ms=round(invocation.deadline.remaining() * 1000),
    )
    keeper = RetentionKeeper(gateway, request.retention)
    pipeline = BackupPipeline(gateway, request, invocation.tag, keeper)
    follow_up = FollowUp(targets, settings.max_concurrency, invocation.deadline)
    if invocation.caller_key:
        # Every target is looked at before any backup starts, so a reused key is refused with nothing made.
        outcomes = run_jobs(
            targets,
            pipeline.look,
            settings.max_concurrency,
            invocation.deadline,
            failed=backup_failure,
            interim=_is_ready,
        )
        pipeline.refuse_reused_key()
        outcomes = follow_up.run(outcomes, _is_ready, pipeline.start, late=_started_late)
    else:
        # Keys of timers and events differ per firing: each target starts as soon as it was looked at.
        outcomes = run_jobs(targets, pipeline, settings.max_concurrency, invocation.deadline, failed=backup_failure)
    if request.wait:
        waiter = BackupWaiter(gateway, invocation.deadline, rt.poll_policy, rt.policy.min_attempt_s, rt.progress)
        outcomes = follow_up.run(outcomes, _was_started, waiter.wait, late=still_running)
    if request.export is not None:
        exporter = _exporter(request, settings, gateway, invocation, rt)
        outcomes = follow_up.run(outcomes, _can_export, exporter.export, late=exporter.still_copying)
    if request.retention is not None:
        outcomes = follow_up.run(outcomes, _has_backup, keeper.prune, late=keeper.cut_short)
    run_failure = credentials_failure(gateway) or run_failure
    document = summarize(outcomes, invocation.trigger.value, invocation.request_id, run_failure, empty)
    log.info(
        f"run ended: {document.tally}", status=document.status.value, counts=document.counts, reason=document.reason
    )
    return document


def required_obs_endpoint(settings: Settings) -> str:
    """Where exports go; a configuration error (before any DCS call) when nothing says."""
    endpoint = obs_endpoint(settings.obs_endpoint, settings.region)
    if endpoint is None:
        raise ConfigurationError("export needs OBS_ENDPOINT, or DCS_REGION to find the region's OBS endpoint")
    return endpoint


def export_files_at_once(settings: Settings) -> int:
    """How many files the invocation's exports copy at once; a configuration error when its memory holds none."""
    count, problem = files_at_once(settings.function_memory_mb, settings.export_part_mb, settings.export_files_at_once)
    if problem is not None:
        raise ConfigurationError(f"invalid configuration: {problem}")
    return count


def _is_ready(outcome: BackupOutcome) -> bool:
    return outcome.status is OutcomeStatus.READY


def _was_started(outcome: BackupOutcome) -> bool:
    return outcome.status is OutcomeStatus.CREATED


def _has_backup(outcome: BackupOutcome) -> bool:
    """A backup of this run exists (started, finished, still running, or failed in DCS)."""
    return outcome.backup_id is not None


def _can_export(outcome: BackupOutcome) -> bool:
    """Every run exports the newest good backup, also when tonight's failed in DCS (but not an instance
    that could not even be read or backed up: there is nothing to say about its backups)."""
    return outcome.status is not OutcomeStatus.SKIPPED and outcome.backup_id is not None


def _started_late(ready: BackupOutcome) -> BackupOutcome:
    """A start still under way at the deadline: failed, though DCS may have begun the backup."""
    return ready._replace(status=OutcomeStatus.FAILED, reason=LATE_REASON)


def _exporter(
    request: BackupRequest, settings: Settings, gateway: DcsGateway, invocation: Invocation, rt: Runtime
) -> Exporter:
    """The export step, imported only now: the OBS SDK stays out of runs that export nothing."""
    from dcs_backup.export.exporter import Exporter, ExportSettings
    from dcs_backup.export.links import LinkPolicy

    assert request.export is not None
    endpoint = required_obs_endpoint(settings)
    export_settings = ExportSettings(
        spec=request.export,
        obs_endpoint=endpoint,
        part_size=settings.export_part_mb * 1024 * 1024,
        backup_format=request.backup_format,
        links=LinkPolicy.for_export(settings.link_domains, settings.region, endpoint),
        kms_key_id=settings.export_kms_key_id,
        files_at_once=export_files_at_once(settings),
    )
    return Exporter(gateway, invocation.access, export_settings, invocation.deadline, rt.policy, rt.progress.copied)
