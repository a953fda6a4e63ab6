"""Turning a result or an error into what each trigger expects back.

Everything a caller sees passes the same redaction as the logs, and hides where DCS is
reached and the project id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dcs_backup.outcome import OutcomeStatus, ResultDocument, RunStatus
from dcs_backup.platform.errors import (
    BackupFailedError,
    BackupPendingError,
    ConfigurationError,
    FieldProblem,
    InternalError,
    InvalidRequestError,
    RestoreFailedError,
    RestorePendingError,
    RestoreRefusedError,
    RpoViolatedError,
)
from dcs_backup.platform.logs import redactor
from dcs_backup.triggers import Trigger, apigateway

if TYPE_CHECKING:
    from dcs_backup.audit.rules import AuditReport
    from dcs_backup.drill.outcome import DrillReport
    from dcs_backup.restore.outcome import RestoreDocument

_HTTP_STATUS = {RunStatus.SUCCEEDED: 202, RunStatus.PENDING: 202, RunStatus.PARTIAL: 207, RunStatus.FAILED: 502}
_FINISHED = frozenset({OutcomeStatus.COMPLETED, OutcomeStatus.SKIPPED})


def respond(trigger: Trigger, document: ResultDocument, raise_on_failure: bool) -> dict[str, Any]:
    """HTTP: 200 when every target is completed or skipped, 202 while something runs, 207/502 on
    failures, 404 when nothing matched. Others: the document, or an error when the run did not
    succeed (BackupPendingError when nothing failed but something is still running).

    Raising is what makes async retries and workflow error branches see the failure.
    """
    public: dict[str, Any] = redactor.redact_public(document.to_dict())
    if trigger is Trigger.APIG:
        return apigateway.respond(_http_status(document), public)
    if document.status is RunStatus.SUCCEEDED or not raise_on_failure:
        return public
    summary = json.dumps(public, ensure_ascii=False)
    if document.status is RunStatus.PENDING:
        pending = sum(1 for o in document.results if o.status is OutcomeStatus.PENDING)
        raise BackupPendingError(
            redactor.redact_public(f"{pending} backup(s) still running; retry the same request to wait on: {summary}")
        )
    raise BackupFailedError(redactor.redact_public(f"{_failure_summary(document)}: {summary}"))


def report(trigger: Trigger, audit: AuditReport, raise_on_failure: bool) -> dict[str, Any]:
    """An audit: HTTP 200 with the report (the audit itself worked; ``status`` is the verdict).
    Others: the report, or RpoViolatedError carrying it when an instance violates the RPO."""
    drill_age = f" or drill age of {audit.max_drill_age_days} days" if audit.max_drill_age_days is not None else ""
    said = f"RPO of {audit.rpo_hours} h{drill_age} not met for {_needing_attention(audit)} instance(s)"
    return _verdict(trigger, audit, raise_on_failure, RpoViolatedError, said)


def answer_drill(trigger: Trigger, report: DrillReport, raise_on_failure: bool) -> dict[str, Any]:
    """A drill: HTTP 200 with the report (``status`` is the verdict), as for the audit. Others: the report, or
    BackupFailedError carrying it when a drill failed or proved nothing (inconclusive)."""
    said = f"restorability not proven for {_needing_attention(report)} instance(s)"
    return _verdict(trigger, report, raise_on_failure, BackupFailedError, said)


class _Verdict(Protocol):
    """A report that judges (an audit, a drill): the run worked; its ``succeeded`` is the verdict."""

    @property
    def succeeded(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def results(self) -> Sequence[Any]: ...

    def to_dict(self) -> dict[str, Any]: ...


def _needing_attention(document: _Verdict) -> int:
    return sum(1 for o in document.results if o.attention is not None)


def _verdict(
    trigger: Trigger, document: _Verdict, raise_on_failure: bool, error: type[Exception], said: str
) -> dict[str, Any]:
    """HTTP 200 with the report; other triggers the report, or ``error`` carrying it after ``said`` (what
    fails) when the verdict is a failure."""
    public: dict[str, Any] = redactor.redact_public(document.to_dict())
    if trigger is Trigger.APIG:
        return apigateway.respond(200, public)
    if document.succeeded or not raise_on_failure:
        return public
    summary = json.dumps(public, ensure_ascii=False)
    reason = f"; {document.reason}" if document.reason else ""
    raise error(redactor.redact_public(f"{said}{reason}: {summary}"))


def answer_restore(trigger: Trigger, document: RestoreDocument, raise_on_failure: bool) -> dict[str, Any]:
    """HTTP: 200 restored or planned, 202 pending, 403/409 refused (by the guard), 502 failed.
    Others: the document, or RestoreRefusedError / RestorePendingError / RestoreFailedError."""
    public: dict[str, Any] = redactor.redact_public(document.to_dict())
    if trigger is Trigger.APIG:
        return apigateway.respond(document.http_status, public)
    if document.status == "succeeded" or not raise_on_failure:
        return public
    outcome = document.outcome
    summary = json.dumps(public, ensure_ascii=False)
    if document.status == "pending":
        raise RestorePendingError(
            redactor.redact_public(f"restore still running; retry the same request to wait on: {summary}")
        )
    if outcome.guard is not None:
        raise RestoreRefusedError(
            redactor.redact_public(f"restore refused by {outcome.guard}: {outcome.reason}: {summary}")
        )
    raise RestoreFailedError(redactor.redact_public(f"restore failed: {outcome.reason}: {summary}"))


def _http_status(document: ResultDocument) -> int:
    if document.no_targets and document.status is RunStatus.FAILED:
        return 404
    if document.status is RunStatus.SUCCEEDED and all(o.status in _FINISHED for o in document.results):
        return 200
    return _HTTP_STATUS[document.status]


def _failure_summary(document: ResultDocument) -> str:
    parts = []
    if document.failed:
        parts.append(f"backup failed for {len(document.failed)} of {len(document.results)} instance(s)")
    if document.reason:
        parts.append(document.reason)
    return "; ".join(parts)


def reject(trigger: Trigger, error: InvalidRequestError, request_id: str) -> dict[str, Any]:
    """An invalid request: HTTP 4xx naming every problem, or the error itself for other triggers."""
    problems = [FieldProblem(**redactor.redact_public(problem.to_dict())) for problem in error.problems]
    if trigger is not Trigger.APIG:
        raise InvalidRequestError(problems, http_status=error.http_status, headers=error.headers) from None
    body = {
        "error": "invalid request",
        "problems": [problem.to_dict() for problem in problems],
        "request_id": request_id,
    }
    return apigateway.respond(error.http_status, body, error.headers)


def fail(trigger: Trigger, error: Exception, request_id: str) -> dict[str, Any]:
    """A configuration error (says what to fix) or an unexpected one (says only where to look)."""
    if isinstance(error, ConfigurationError):
        public: Exception = ConfigurationError(redactor.redact_public(str(error)))
    else:
        public = InternalError(f"internal error; see the function log for request {request_id}")
    if trigger is not Trigger.APIG:
        raise public from None
    kind = "configuration error" if isinstance(error, ConfigurationError) else "internal error"
    return apigateway.respond(500, {"error": kind, "message": str(public), "request_id": request_id})
