"""One invocation, start to finish: trigger adapter → request → backup service → response."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import structlog

from dcs_backup import SERVICE_NAME, __version__, responses
from dcs_backup.access import context_value, resolve_access
from dcs_backup.config import LOG_LEVELS, Settings, ascii_whole_number, requested_log_level
from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.errors import ConfigurationError, InvalidRequestError
from dcs_backup.idempotency import idempotency_tag
from dcs_backup.logs import bind_invocation, configure_logging, redactor
from dcs_backup.outcome import ResultDocument, summarize
from dcs_backup.request import BackupRequest, parse_backup_request
from dcs_backup.retry import Clock, Deadline, RetryPolicy
from dcs_backup.service import BackupService
from dcs_backup.triggers import Trigger, detect_trigger, read_trigger_input

log = structlog.get_logger("dcs_backup")

DEFAULT_TIMEOUT_S = 300


@dataclass
class Runtime:
    """What differs between the platform and tests: environment, clock, retry pacing, log stream."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Clock = time.monotonic
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    log_stream: TextIO | None = None
    dcs_timeouts: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
    cold_start: bool = True


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
        request, key = _read_request(event, trigger, settings)
        document = _back_up(request, key, context, trigger, settings, rt, request_id)
    except InvalidRequestError as error:
        log.warning("request rejected", http_status=error.http_status, problems=[p.to_dict() for p in error.problems])
        return responses.reject(trigger, error, request_id)
    except ConfigurationError as error:
        log.error("configuration error", error=str(error))
        return responses.fail(trigger, error, request_id)
    except Exception as error:
        log.exception("unexpected error")
        return responses.fail(trigger, error, request_id)
    return responses.respond(trigger, document, request.raise_on_failure)


def _read_request(event: Any, trigger: Trigger, settings: Settings) -> tuple[BackupRequest, str | None]:
    """The validated request and its idempotency key (the request's own wins over the trigger's)."""
    trigger_input = read_trigger_input(trigger, event)
    request = parse_backup_request(trigger_input.payload, settings)
    return request, request.idempotency_key or trigger_input.idempotency_key


def _back_up(
    request: BackupRequest,
    key: str | None,
    context: Any,
    trigger: Trigger,
    settings: Settings,
    rt: Runtime,
    request_id: str,
) -> ResultDocument:
    access = resolve_access(context, settings, rt.env)
    redactor.remember(access.secrets, access.internals)
    # Without a key, the tag still lets this invocation recognise its own backup after a lost answer.
    tag = idempotency_tag(f"{trigger.value}:{key}" if key else f"invocation:{request_id}")
    remaining_ms = _remaining_ms(context, rt.env)
    if trigger is Trigger.APIG:
        # The gateway stops waiting after its backend timeout: the answer must come before that.
        remaining_ms = min(remaining_ms, settings.http_timeout_ms)
    log.info(
        "backup started",
        instance_count=len(request.instance_ids),
        backup_format=request.backup_format,
        idempotency_tag=tag,
        deduplicated=key is not None,
        remaining_ms=remaining_ms,
    )
    gateway = DcsGateway(access, Deadline.from_remaining_ms(remaining_ms, rt.clock), rt.policy, rt.dcs_timeouts)
    outcomes = BackupService(gateway, settings.max_concurrency).back_up(request, tag)
    document = summarize(outcomes, trigger.value, request_id)
    log.info("backup finished", status=document.status.value, counts=document.counts)
    return document


def _remaining_ms(context: Any, env: Mapping[str, str]) -> float:
    getter = getattr(context, "getRemainingTimeInMilliSeconds", None)
    if getter is not None:
        value = getter()
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    timeout = ascii_whole_number(env.get("RUNTIME_TIMEOUT", "").strip())
    return float(timeout) * 1000 if timeout else DEFAULT_TIMEOUT_S * 1000
