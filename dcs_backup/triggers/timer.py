"""Timer trigger: the request is the JSON object in ``user_event`` (a string)."""

from __future__ import annotations

from typing import Any

from dcs_backup.errors import FieldProblem, InvalidRequestError
from dcs_backup.triggers.base import TriggerInput, parse_json_object


def read(event: dict[str, Any]) -> TriggerInput:
    """Parse ``user_event``; the timer's name and scheduled time identify one firing."""
    user_event = event.get("user_event")
    if user_event is None:
        user_event = ""
    if not isinstance(user_event, str):
        raise InvalidRequestError([FieldProblem("user_event", "must be a string holding a JSON object, or empty")])
    payload = parse_json_object(user_event, "user_event")
    name, fired_at = event.get("trigger_name"), event.get("time")
    key = f"{name}@{fired_at}" if isinstance(name, str) and isinstance(fired_at, str) and fired_at else None
    return TriggerInput(payload=payload, idempotency_key=key)
