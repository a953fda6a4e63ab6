"""Turning a result or an error into what each trigger expects back.

Everything a caller sees passes the same redaction as the logs, and hides where DCS is
reached and the project id.
"""

from __future__ import annotations

import json
from typing import Any

from dcs_backup.errors import BackupFailedError, ConfigurationError, FieldProblem, InternalError, InvalidRequestError
from dcs_backup.logs import redactor
from dcs_backup.outcome import ResultDocument, RunStatus
from dcs_backup.triggers import Trigger, apigateway

_HTTP_STATUS = {RunStatus.SUCCEEDED: 202, RunStatus.PARTIAL: 207, RunStatus.FAILED: 502}


def respond(trigger: Trigger, document: ResultDocument, raise_on_failure: bool) -> dict[str, Any]:
    """HTTP: 202/207/502 (404 when nothing matched) with the document. Others: the document, or an
    error when the run did not succeed.

    Raising is what makes async retries and workflow error branches see the failure.
    """
    public: dict[str, Any] = redactor.redact_public(document.to_dict())
    if trigger is Trigger.APIG:
        return apigateway.respond(_http_status(document), public)
    if document.status is not RunStatus.SUCCEEDED and raise_on_failure:
        summary = json.dumps(public, ensure_ascii=False)
        raise BackupFailedError(redactor.redact_public(f"{_failure_summary(document)}: {summary}"))
    return public


def _http_status(document: ResultDocument) -> int:
    if document.no_targets and document.status is RunStatus.FAILED:
        return 404
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
