"""EventGrid trigger: the request is the CloudEvent's ``data`` (or ``data_base64``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from dcs_backup.errors import FieldProblem, InvalidRequestError
from dcs_backup.text import is_utf8_text
from dcs_backup.triggers.base import TriggerInput, parse_json_object


def read(event: dict[str, Any]) -> TriggerInput:
    """Take the payload (absent means the defaults); redeliveries share the ``id``."""
    event_id = event.get("id")
    if isinstance(event_id, str) and not is_utf8_text(event_id):
        raise InvalidRequestError([FieldProblem("id", "must be valid Unicode text")])
    key = event_id if isinstance(event_id, str) and event_id else None
    return TriggerInput(payload=_payload(event), idempotency_key=key)


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    """``data`` as an object or a JSON string, or ``data_base64`` (CloudEvents' JSON format for binary data)."""
    data, encoded = event.get("data"), event.get("data_base64")
    if data is not None and encoded is not None:
        raise InvalidRequestError([FieldProblem("data_base64", "must not be sent together with data")])
    if encoded is not None:
        return parse_json_object(_decode_base64(encoded), "data_base64")
    if data is None:
        return {}
    if isinstance(data, dict):
        return data
    if isinstance(data, str):
        return parse_json_object(data, "data")
    raise InvalidRequestError([FieldProblem("data", "must be a JSON object holding the backup request")])


def _decode_base64(encoded: Any) -> str:
    try:
        if not isinstance(encoded, str):
            raise ValueError
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidRequestError(
            [FieldProblem("data_base64", "must be base64 of a UTF-8 JSON object holding the backup request")]
        ) from None
