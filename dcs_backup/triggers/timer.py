"""Timer trigger: the request is the JSON object in ``user_event`` (a string)."""

from __future__ import annotations

from typing import Any

from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.platform.text import is_utf8_text
from dcs_backup.triggers.base import TriggerInput, parse_json_object

TIMER_FIELDS = frozenset({"version", "time", "trigger_type", "trigger_name", "user_event"})
_ALWAYS_SENT = frozenset({"time", "trigger_type", "trigger_name"})


def is_timer_event(event: dict[str, Any]) -> bool:
    """A timer's firing: ``trigger_type`` TIMER, its name and time, and nothing a timer does not send."""
    return event.get("trigger_type") == "TIMER" and _ALWAYS_SENT <= event.keys() <= TIMER_FIELDS


def read(event: dict[str, Any]) -> TriggerInput:
    """Parse ``user_event``; the timer's name and scheduled time identify one firing."""
    user_event = event.get("user_event")
    if user_event is None:
        user_event = ""
    if not isinstance(user_event, str):
        raise InvalidRequestError([FieldProblem("user_event", "must be a string holding a JSON object, or empty")])
    payload = parse_json_object(user_event, "user_event")
    name, fired_at = event.get("trigger_name"), event.get("time")
    if not isinstance(name, str) or not isinstance(fired_at, str) or not fired_at:
        return TriggerInput(payload=payload)
    unusable = [field for field, value in (("trigger_name", name), ("time", fired_at)) if not is_utf8_text(value)]
    if unusable:
        raise InvalidRequestError([FieldProblem(field, "must be valid Unicode text") for field in unusable])
    return TriggerInput(payload=payload, idempotency_key=f"{name}@{fired_at}")
