"""EventGrid trigger: the request is the CloudEvent's ``data`` (or ``data_base64``)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.platform.text import is_utf8_text
from dcs_backup.triggers.base import TriggerInput, parse_json_object

REQUIRED_ATTRIBUTES = ("id", "source", "specversion", "type")
# CloudEvents attribute names are lower-case letters and digits; ``data_base64`` is the JSON format's own member.
_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+|data_base64")


def is_cloud_event(event: dict[str, Any]) -> bool:
    """A CloudEvent: its required attributes as text, and only names a CloudEvent may carry.

    A request's own fields (``instance_ids``, ``backup_format``) can never be CloudEvents attributes.
    """
    return all(isinstance(event.get(name), str) for name in REQUIRED_ATTRIBUTES) and all(
        isinstance(name, str) and _ATTRIBUTE_NAME.fullmatch(name) for name in event
    )


def read(event: dict[str, Any]) -> TriggerInput:
    """Take the payload (absent means the defaults).

    Redeliveries share ``source`` and ``id``; only the pair is unique (two sources may use one id).
    """
    source, event_id = _text_attribute(event, "source"), _text_attribute(event, "id")
    key = json.dumps([source, event_id]) if source and event_id else None
    return TriggerInput(payload=_payload(event), idempotency_key=key)


def _text_attribute(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    if not isinstance(value, str):
        return None
    if not is_utf8_text(value):
        raise InvalidRequestError([FieldProblem(name, "must be valid Unicode text")])
    return value


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
