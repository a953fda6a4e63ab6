"""API Gateway trigger: an HTTP POST whose body is the request; answers in APIG's response shape."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from dcs_backup.idempotency import key_problem
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.platform.text import show_value
from dcs_backup.request import REQUEST_FIELDS
from dcs_backup.triggers.base import TriggerInput, parse_json_object

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_HEADER = "idempotency-key"
_JSON_HEADERS = {"Content-Type": "application/json"}


def is_apig_event(event: dict[str, Any]) -> bool:
    """APIG's event: the method as text, its request context, and none of a request's own fields
    (those are in the body); a direct request that merely names a method is a direct request."""
    return (
        isinstance(event.get("httpMethod"), str)
        and isinstance(event.get("requestContext"), dict)
        and not event.keys() & REQUEST_FIELDS
    )


def read(event: dict[str, Any]) -> TriggerInput:
    """Check method, media type and size, then decode the body (base64 only when flagged)."""
    method = event.get("httpMethod")
    if not isinstance(method, str) or method.upper() != "POST":
        raise InvalidRequestError(
            [FieldProblem("httpMethod", f"{show_value(method)} is not allowed; use POST to start backups")],
            http_status=405,
            headers={"Allow": "POST"},
        )
    headers = _lower_keys(event.get("headers"))
    content_type = headers.get("content-type")
    if content_type is not None and not _is_json_media_type(content_type):
        raise InvalidRequestError(
            [FieldProblem("content-type", f"{show_value(content_type)} is not supported; send application/json")],
            http_status=415,
        )
    body = _body_bytes(event.get("body"), event.get("isBase64Encoded") is True)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError([FieldProblem("body", "must be UTF-8 encoded JSON")]) from None
    key = headers.get(IDEMPOTENCY_HEADER) or None
    problem = key_problem("Idempotency-Key", key) if key is not None else None
    if problem is not None:
        raise InvalidRequestError([problem])
    return TriggerInput(payload=parse_json_object(text, "body"), idempotency_key=key)


def respond(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The exact response object API Gateway expects from a function."""
    return {
        "statusCode": status_code,
        "headers": {**_JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def _body_bytes(body: Any, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidRequestError([FieldProblem("body", "must be a string holding a JSON object")])
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise _too_large()
    if is_base64:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError(
                [FieldProblem("body", "isBase64Encoded is true but the body is not valid base64")]
            ) from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return raw


def _too_large() -> InvalidRequestError:
    return InvalidRequestError([FieldProblem("body", f"is larger than {MAX_BODY_BYTES // 1024} KB")], http_status=413)


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _lower_keys(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        return {}
    return {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
