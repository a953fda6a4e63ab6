"""Turning a result or an error into what each trigger expects back."""

from __future__ import annotations

import json
from typing import Any

from dcs_backup.errors import BackupFailedError, ConfigurationError, InternalError, InvalidRequestError
from dcs_backup.logs import redactor
from dcs_backup.outcome import ResultDocument, RunStatus
from dcs_backup.triggers import Trigger, apigateway

_HTTP_STATUS = {RunStatus.SUCCEEDED: 202, RunStatus.PARTIAL: 207, RunStatus.FAILED: 502}


def respond(trigger: Trigger, document: ResultDocument, raise_on_failure: bool) -> dict[str, Any]:
    """HTTP: 202/207/502 with the document. Others: the document, or an error when a target failed.

    Raising is what makes async retries and workflow error branches see the failure.
    """
    if trigger is Trigger.APIG:
        return apigateway.respond(_HTTP_STATUS[document.status], document.to_dict())
    if document.failed and raise_on_failure:
        failed = len(document.failed)
        summary = json.dumps(document.to_dict(), ensure_ascii=False)
        raise BackupFailedError(
            redactor.redact_text(f"backup failed for {failed} of {len(document.results)} instance(s): {summary}")
        )
    return document.to_dict()


def reject(trigger: Trigger, error: InvalidRequestError, request_id: str) -> dict[str, Any]:
    """An invalid request: HTTP 4xx naming every problem, or the error itself for other triggers."""
    if trigger is not Trigger.APIG:
        raise error
    body = {
        "error": "invalid request",
        "problems": [problem.to_dict() for problem in error.problems],
        "request_id": request_id,
    }
    return apigateway.respond(error.http_status, body, error.headers)


def fail(trigger: Trigger, error: Exception, request_id: str) -> dict[str, Any]:
    """A configuration error (says what to fix) or an unexpected one (says only where to look)."""
    if isinstance(error, ConfigurationError):
        public: Exception = error
    else:
        public = InternalError(f"internal error; see the function log for request {request_id}")
    if trigger is not Trigger.APIG:
        raise public from None
    kind = "configuration error" if isinstance(error, ConfigurationError) else "internal error"
    return apigateway.respond(500, {"error": kind, "message": str(public), "request_id": request_id})
