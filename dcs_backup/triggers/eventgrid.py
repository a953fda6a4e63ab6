"""EventGrid trigger: the request is the CloudEvent's ``data``."""

from __future__ import annotations

from typing import Any

from dcs_backup.errors import FieldProblem, InvalidRequestError
from dcs_backup.triggers.base import TriggerInput, parse_json_object


def read(event: dict[str, Any]) -> TriggerInput:
    """Take ``data`` (an object, a JSON string, or absent for the defaults); redeliveries share the ``id``."""
    data = event.get("data")
    if data is None:
        payload: dict[str, Any] = {}
    elif isinstance(data, dict):
        payload = data
    elif isinstance(data, str):
        payload = parse_json_object(data, "data")
    else:
        raise InvalidRequestError([FieldProblem("data", "must be a JSON object holding the backup request")])
    event_id = event.get("id")
    key = event_id if isinstance(event_id, str) and event_id else None
    return TriggerInput(payload=payload, idempotency_key=key)
