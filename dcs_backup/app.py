"""One invocation, start to finish: trigger → request → invocation → targets → jobs → answer."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

import structlog

from dcs_backup import SERVICE_NAME, __version__, responses
from dcs_backup.actions.runner import run_jobs, run_within
from dcs_backup.backup.pipeline import BackupPipeline, backup_failure, started_late
from dcs_backup.completion.wait import BackupWaiter, still_running
from dcs_backup.config import LOG_LEVELS, Settings, requested_log_level
from dcs_backup.dcs.access import DcsAccess, resolve_access
from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from dcs_backup.dcs.credentials_gate import refused
from dcs_backup.dcs.gateway import BACKUP_PAGE_SIZE, INSTANCE_PAGE_SIZE, DcsGateway
from dcs_backup.export.spec import obs_endpoint
from dcs_backup.idempotency import idempotency_tag
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, ResultDocument, failure_reason, summarize
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from dcs_backup.platform.function_context import Invocation, context_value, remaining_ms
from dcs_backup.platform.logs import bind_invocation, configure_logging, redactor
from dcs_backup.platform.retry import Clock, Deadline, PollPolicy, RetryPolicy
from dcs_backup.request import BackupRequest, parse_backup_request
from dcs_backup.retention.keeper import RetentionKeeper
from dcs_backup.selection.resolve import resolve_targets
from dcs_backup.selection.targets import Target
from dcs_backup.triggers import Trigger, detect_trigger, read_trigger_input

if TYPE_CHECKING:
    from dcs_backup.audit.rules import AuditReport
    from dcs_backup.export.exporter import Exporter

log = structlog.get_logger("dcs_backup")


class Runtime:
    """What differs between the platform and tests: environment, clock, retry pacing, log stream."""

    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        policy: RetryPolicy | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        self.env = env
        self.policy = policy or RetryPolicy()
        self.log_stream = log_stream
        self.clock: Clock = time.monotonic
        self.dcs_timeouts = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        self.page_sizes = (INSTANCE_PAGE_SIZE, BACKUP_PAGE_SIZE)  # ListInstances, ListBackupRecords
        self.poll_policy = PollPolicy()
        self.cold_start = True


_platform_runtime = Runtime()


def handle(event: Any, context: Any, runtime: Runtime | None = None) -> Any:
    """Run one invocation; API Gateway gets an HTTP response, other triggers the result or an error."""
    rt = runtime or _platform_runtime
    request_id = context_value(context, "getRequestID") or str(uuid.uuid4())
    trigger = detect_trigger(event)
    # Logging starts before the configuration is validated: an invalid LOG_LEVEL is reported at INFO.
    level = requested_log_level(rt.env)
    configure_logging(level if level in LOG_LEVELS else "INFO", rt.log_stream)
    bind_invocation(
        service=SERVICE_NAME,
        service_version=__version__,
        function_name=context_value(context, "getFunctionName") or rt.env.get("RUNTIME_FUNC_NAME", SERVICE_NAME),
        function_version=context_value(context, "getVersion") or rt.env.get("RUNTIME_FUNC_VERSION", "latest"),
        request_id=request_id,
        cold_start=rt.cold_start,
        trigger=trigger.value,
    )
    rt.cold_start = False
    try:
        settings = Settings.from_env(rt.env)
        # Every configuration problem is reported before the request is judged.
        access = resolve_access(context, settings, rt.env)
        redactor.remember(access.secrets, access.internals)
        request, key = _read_request(event, trigger, settings)
        if request.export is not None:
            _obs_endpoint(settings)  # a configuration error, before any DCS call
        invocation = _start(access, context, trigger, settings, request_id, rt, _tag(trigger, key, request, request_id))
        if request.idempotency_key is not None or (trigger is Trigger.APIG and key is not None):
            invocation = invocation._replace(caller_key=True)
        result = _audit(request, settings, invocation, rt) if request.action == "audit" else None
        document = _back_up(request, settings, invocation, rt) if result is None else None
    except InvalidRequestError as error:
        log.warning("request rejected", http_status=error.http_status, problems=[p.to_dict() for p in error.problems])
        return responses.reject(trigger, error, request_id)
    except ConfigurationError as error:
        log.error("configuration error", error=str(error))
        return responses.fail(trigger, error, request_id)
    except Exception as error:
        log.exception("unexpected error")
        return responses.fail(trigger, error, request_id)
    if result is not None:
        return responses.report(trigger, result, request.raise_on_failure)
    assert document is not None
    return responses.respond(trigger, document, request.raise_on_failure)


def _read_request(event: Any, trigger: Trigger, settings: Settings) -> tuple[BackupRequest, str | None]:
    """The validated request and its idempotency key (the request's own wins over the trigger's)."""
    trigger_input = read_trigger_input(trigger, event)
    request = parse_backup_request(trigger_input.payload, settings)
    return request, request.idempotency_key or trigger_input.idempotency_key


def _tag(trigger: Trigger, key: str | None, request: BackupRequest, request_id: str) -> str:
    """The marker of this request's backups: its key's, and what it asks for (to tell a retry from a reuse).

    Without a key, the tag still lets this invocation recognise its own backup after a lost answer.
    """
    asked = request._replace(
        idempotency_key=None, raise_on_failure=True, instance_ids=tuple(sorted(request.instance_ids))
    )
    return idempotency_tag(f"{trigger.value}:{key}" if key else f"invocation:{request_id}", asked)


def _start(
    access: DcsAccess,
    context: Any,
    trigger: Trigger,
    settings: Settings,
    request_id: str,
    rt: Runtime,
    tag: str,
) -> Invocation:
    """This invocation's credentials, deadline and tag."""
    left_ms = remaining_ms(context, rt.env)
    if trigger is Trigger.APIG:
        # The gateway stops waiting after its backend timeout: the answer must come before that.
        left_ms = min(left_ms, settings.http_timeout_ms)
    return Invocation(
        request_id=request_id,
        trigger=trigger,
        access=access,
        deadline=Deadline.from_remaining_ms(left_ms, rt.clock),
        tag=tag,
    )


def _gateway(invocation: Invocation, rt: Runtime) -> DcsGateway:
    return DcsGateway(invocation.access, invocation.deadline, rt.policy, rt.dcs_timeouts, page_sizes=rt.page_sizes)


def _audit(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> AuditReport:
    """Read-only: each target's newest good backup against the RPO; nothing is created or deleted.

    Imported only for an audit, to keep it out of every backup's cold start.
    """
    from dcs_backup.audit.auditor import AUDIT_CUT_SHORT, Auditor
    from dcs_backup.audit.rules import AuditReport

    gateway = _gateway(invocation, rt)
    targets, run_failure, _ = _targets(request, settings, gateway, invocation.deadline)
    log.info("audit started", instance_count=len(targets), rpo_hours=request.rpo_hours)
    auditor = Auditor(gateway, request.rpo_hours)
    outcomes = run_jobs(
        targets,
        auditor,
        settings.max_concurrency,
        invocation.deadline,
        failed=auditor.failed,
        late=lambda target, _: auditor.failed(target, AUDIT_CUT_SHORT),
    )
    run_failure = _credentials_failure(gateway) or run_failure
    report = AuditReport(
        invocation.trigger.value, invocation.request_id, request.rpo_hours, tuple(outcomes), run_failure
    )
    log.info("audit finished", status="succeeded" if report.succeeded else "failed", counts=report.counts)
    return report


def _back_up(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> ResultDocument:
    gateway = _gateway(invocation, rt)
    targets, run_failure, empty = _targets(request, settings, gateway, invocation.deadline)
    log.info(
        "run started",
        instance_count=len(targets),
        backup_format=request.backup_format,
        idempotency_tag=invocation.tag,
        remaining_ms=round(invocation.deadline.remaining() * 1000),
    )
    keeper = RetentionKeeper(gateway, request.retention)
    pipeline = BackupPipeline(gateway, request, invocation.tag, keeper)
    follow_up = _FollowUp(targets, settings.max_concurrency, invocation.deadline)
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
        outcomes = follow_up.run(outcomes, _is_ready, pipeline.start, late=started_late)
    else:
        # Keys of timers and events differ per firing: each target starts as soon as it was looked at.
        outcomes = run_jobs(targets, pipeline, settings.max_concurrency, invocation.deadline, failed=backup_failure)
    if request.wait:
        waiter = BackupWaiter(gateway, invocation.deadline, rt.poll_policy, rt.policy.min_attempt_s)
        outcomes = follow_up.run(outcomes, _was_started, waiter.wait, late=still_running)
    if request.export is not None:
        exporter = _exporter(request, settings, gateway, invocation, rt)
        outcomes = follow_up.run(outcomes, _can_export, exporter.export, late=exporter.still_copying)
    if request.retention is not None:
        outcomes = follow_up.run(outcomes, _has_backup, keeper.prune, late=keeper.cut_short)
    run_failure = _credentials_failure(gateway) or run_failure
    document = summarize(outcomes, invocation.trigger.value, invocation.request_id, run_failure, empty)
    log.info(
        f"run ended: {document.tally}", status=document.status.value, counts=document.counts, reason=document.reason
    )
    return document


def _credentials_failure(gateway: DcsGateway) -> str | None:
    """The run's one report of refused keys (every target failed with it, without an ERROR line of its own)."""
    rejection = gateway.credentials_rejection
    if rejection is None:
        return None
    reason = refused(rejection.operation, rejection).message
    log.error(reason, error_code=rejection.error_code, dcs_request_id=rejection.request_id)
    return reason


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


class _FollowUp(NamedTuple):
    """A later step for some targets, by their outcome so far, in the same bounded pool."""

    targets: list[Target]
    max_concurrency: int
    deadline: Deadline

    def run(
        self,
        outcomes: list[BackupOutcome],
        wanted: Callable[[BackupOutcome], bool],
        step: Callable[[BackupOutcome], BackupOutcome],
        late: Callable[[BackupOutcome], BackupOutcome],
    ) -> list[BackupOutcome]:
        """Outcomes in the same order, the ``wanted`` ones replaced by what ``step`` made of them;
        ``late`` says what a step still running at the deadline leaves."""
        current = {o.instance_id: o for o in outcomes if wanted(o)}
        chosen = [t for t in self.targets if t.instance_id in current]
        done = run_jobs(
            chosen,
            lambda target: step(current[target.instance_id]),
            self.max_concurrency,
            self.deadline,
            failed=lambda target, reason: current[target.instance_id]._replace(
                status=OutcomeStatus.FAILED, reason=reason
            ),
            late=lambda target, _: late(current[target.instance_id]),
        )
        by_id = {o.instance_id: o for o in done}
        return [by_id.get(o.instance_id, o) for o in outcomes]


def _exporter(
    request: BackupRequest, settings: Settings, gateway: DcsGateway, invocation: Invocation, rt: Runtime
) -> Exporter:
    """The export step, imported only now: the OBS SDK stays out of runs that export nothing."""
    from dcs_backup.export.exporter import Exporter, ExportSettings
    from dcs_backup.export.links import LinkPolicy

    assert request.export is not None
    endpoint = _obs_endpoint(settings)
    export_settings = ExportSettings(
        spec=request.export,
        obs_endpoint=endpoint,
        part_size=settings.export_part_mb * 1024 * 1024,
        backup_format=request.backup_format,
        links=LinkPolicy.for_export(settings.link_domains, settings.region, endpoint),
        kms_key_id=settings.export_kms_key_id,
    )
    return Exporter(gateway, invocation.access, export_settings, invocation.deadline, rt.policy)


def _obs_endpoint(settings: Settings) -> str:
    endpoint = obs_endpoint(settings.obs_endpoint, settings.region)
    if endpoint is None:
        raise ConfigurationError("export needs OBS_ENDPOINT, or DCS_REGION to find the region's OBS endpoint")
    return endpoint


def _targets(
    request: BackupRequest, settings: Settings, gateway: DcsGateway, deadline: Deadline
) -> tuple[list[Target], str | None, bool]:
    """The targets; why the run failed as a whole (the selection matched nothing, or was unreadable);
    and whether it matched nothing.

    A selection that cannot be read still leaves the named instances to back up.
    """
    try:
        targets = run_within(deadline, "ListInstances", lambda: resolve_targets(request, settings, gateway))
    except CallError as error:
        code = f" ({error.error_code})" if error.error_code else ""
        reason = f"instance selection failed: {failure_reason(error)}{code}"
        if error.kind is not ErrorKind.CREDENTIALS:  # refused keys are reported once, for the whole run
            log.error(reason, error_code=error.error_code, dcs_request_id=error.request_id)
        return [Target(instance_id) for instance_id in request.instance_ids], reason, False
    selection = request.selection
    if targets or selection is None or selection.allow_empty:
        return targets, None, False
    reason = f"no instance matched the selection: {selection.describe()}"
    log.error(reason)
    return targets, reason, True
