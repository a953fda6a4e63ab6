"""The composition root: trigger → request → invocation → action → answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog

from dcs_backup import SERVICE_NAME, __version__, responses
from dcs_backup.actions.backup import back_up, export_files_at_once, required_obs_endpoint
from dcs_backup.config import ENCRYPTED_VARIABLES, LOG_LEVELS, Settings, requested_log_level
from dcs_backup.dcs.access import DcsAccess, resolve_access
from dcs_backup.idempotency import idempotency_tag
from dcs_backup.invocation import Invocation
from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from dcs_backup.platform.function_context import context_value, memory_size_mb, remaining_ms, with_user_data
from dcs_backup.platform.logs import bind_invocation, configure_logging, redactor
from dcs_backup.platform.retry import Deadline
from dcs_backup.request import DRILL_ACTION, RESTORE_ACTION, BackupRequest, parse_backup_request
from dcs_backup.runtime import Runtime
from dcs_backup.triggers import Trigger, TriggerInput, detect_trigger, read_trigger_input

if TYPE_CHECKING:
    from dcs_backup.audit.rules import AuditReport

__all__ = ["Runtime", "handle"]

log = structlog.get_logger("dcs_backup")
_platform_runtime = Runtime()


class _Received(NamedTuple):
    """An invocation once its configuration and trigger are read: what every action starts from."""

    trigger_input: TriggerInput
    trigger: Trigger
    settings: Settings
    access: DcsAccess
    context: Any
    request_id: str
    rt: Runtime


def handle(event: Any, context: Any, runtime: Runtime | None = None) -> Any:
    """Run one invocation; API Gateway gets an HTTP response, other triggers the result or an error."""
    rt = runtime or _platform_runtime
    request_id = context_value(context, "getRequestID") or str(uuid.uuid4())
    trigger = detect_trigger(event)
    _start_logging(context, rt, request_id, trigger)
    try:
        settings = Settings.from_env(with_user_data(context, rt.env, ENCRYPTED_VARIABLES))
        # Every configuration problem is reported before the request is judged.
        access = resolve_access(context, settings.location, rt.env)
        redactor.remember((*access.secrets, *settings.target_passwords.values()), access.internals)
        trigger_input = read_trigger_input(trigger, event)
        received = _Received(trigger_input, trigger, settings, access, context, request_id, rt)
        action = _asked_action(trigger_input.payload)
        if action == RESTORE_ACTION:
            answer = _restore(received)
        elif action == DRILL_ACTION:
            answer = _drill(received)
        else:
            answer = _back_up_or_audit(received)
    except InvalidRequestError as error:
        log.warning("request rejected", http_status=error.http_status, problems=[p.to_dict() for p in error.problems])
        return responses.reject(trigger, error, request_id)
    except ConfigurationError as error:
        log.error("configuration error", error=str(error))
        return responses.fail(trigger, error, request_id)
    except Exception as error:
        log.exception("unexpected error")
        return responses.fail(trigger, error, request_id)
    # Outside the try: a failed run raises its own error type to non-HTTP callers.
    return answer()


def _back_up_or_audit(received: _Received) -> Callable[[], Any]:
    """Run the backup (or the audit); what answers the caller."""
    trigger_input, trigger, settings, access, context, request_id, rt = received
    request, key = _read_request(trigger_input, settings)
    if request.export is not None:
        required_obs_endpoint(settings)  # configuration errors, before any DCS call
        export_files_at_once(settings)
    invocation = _invocation(access, context, trigger, settings, request_id, rt, request, key)
    if request.action == "audit":
        return partial(responses.report, trigger, _audit(request, settings, invocation, rt), request.raise_on_failure)
    return partial(responses.respond, trigger, back_up(request, settings, invocation, rt), request.raise_on_failure)


def _audit(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> AuditReport:
    """The audit's code is imported only for an audit, to keep it out of every backup's cold start."""
    from dcs_backup.actions.audit import audit

    return audit(request, settings, invocation, rt)


def _start_logging(context: Any, rt: Runtime, request_id: str, trigger: Trigger) -> None:
    """Logging starts before the configuration is validated: an invalid LOG_LEVEL is reported at INFO."""
    level = requested_log_level(rt.env)
    configure_logging(level if level in LOG_LEVELS else "INFO", rt.log_stream, rt.log_renderer)
    # Named as Powertools' Logger names them where it has a counterpart (service, cold_start, function_*).
    bind_invocation(
        service=SERVICE_NAME,
        service_version=__version__,
        function_name=context_value(context, "getFunctionName") or rt.env.get("RUNTIME_FUNC_NAME", SERVICE_NAME),
        function_version=context_value(context, "getVersion") or rt.env.get("RUNTIME_FUNC_VERSION", "latest"),
        function_memory_size=memory_size_mb(context, rt.env),
        function_request_id=request_id,
        request_id=request_id,
        cold_start=rt.cold_start,
        trigger=trigger.value,
    )
    rt.cold_start = False


def _asked_action(payload: Any) -> Any:
    return payload.get("action") if isinstance(payload, dict) else None


def _drill(received: _Received) -> Callable[[], Any]:
    """Run the drill; what answers the caller. Imported only for a drill, like the restore's code."""
    from dcs_backup.actions.drill import drill
    from dcs_backup.drill.spec import parse_drill_request

    trigger_input, trigger, settings, access, context, request_id, rt = received
    request = parse_drill_request(trigger_input.payload, settings)
    invocation = Invocation(
        request_id=request_id,
        trigger=trigger,
        access=access,
        deadline=_deadline(context, trigger, settings, rt),
        tag=idempotency_tag(f"invocation:{request_id}", request),
    )
    report = drill(request, settings, invocation, rt)
    return partial(responses.answer_drill, trigger, report, request.raise_on_failure)


def _restore(received: _Received) -> Callable[[], Any]:
    """Run the restore; what answers the caller. Its code is imported only for a restore, like the audit's."""
    from dcs_backup.actions.restore import restore
    from dcs_backup.restore.spec import parse_restore_request

    trigger_input, trigger, settings, access, context, request_id, rt = received
    request = parse_restore_request(trigger_input.payload)
    key = request.idempotency_key or trigger_input.idempotency_key
    asked = request._replace(idempotency_key=None, raise_on_failure=True, plan=False)
    scope = f"{trigger.value}:{key}" if key else f"invocation:{request_id}"
    invocation = Invocation(
        request_id=request_id,
        trigger=trigger,
        access=access,
        deadline=_deadline(context, trigger, settings, rt),
        tag=idempotency_tag(scope, asked),
        caller_key=key is not None,
    )
    document = restore(request, settings, invocation, rt)
    return partial(responses.answer_restore, trigger, document, request.raise_on_failure)


def _read_request(trigger_input: TriggerInput, settings: Settings) -> tuple[BackupRequest, str | None]:
    """The validated request and its idempotency key (the request's own wins over the trigger's)."""
    request = parse_backup_request(trigger_input.payload, settings)
    return request, request.idempotency_key or trigger_input.idempotency_key


def _invocation(
    access: DcsAccess,
    context: Any,
    trigger: Trigger,
    settings: Settings,
    request_id: str,
    rt: Runtime,
    request: BackupRequest,
    key: str | None,
) -> Invocation:
    """This invocation's credentials, deadline and tag."""
    return Invocation(
        request_id=request_id,
        trigger=trigger,
        access=access,
        deadline=_deadline(context, trigger, settings, rt),
        tag=_tag(trigger, key, request, request_id),
        caller_key=request.idempotency_key is not None or (trigger is Trigger.APIG and key is not None),
    )


def _deadline(context: Any, trigger: Trigger, settings: Settings, rt: Runtime) -> Deadline:
    left_ms = remaining_ms(context, rt.env)
    if trigger is Trigger.APIG:
        # The gateway stops waiting after its backend timeout: the answer must come before that.
        left_ms = min(left_ms, settings.http_timeout_ms)
    return Deadline.from_remaining_ms(left_ms, rt.clock)


def _tag(trigger: Trigger, key: str | None, request: BackupRequest, request_id: str) -> str:
    """The marker of this request's backups: its key's, and what it asks for (to tell a retry from a reuse).

    Without a key, the tag still lets this invocation recognise its own backup after a lost answer.
    """
    asked = request._replace(
        idempotency_key=None, raise_on_failure=True, instance_ids=tuple(sorted(request.instance_ids))
    )
    return idempotency_tag(f"{trigger.value}:{key}" if key else f"invocation:{request_id}", asked)
