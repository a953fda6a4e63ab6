"""Trigger adapters: tell which trigger delivered an event and pull the backup request out of it.

Each adapter is thin: it knows its trigger's event shape and nothing about backups.
"""

from __future__ import annotations

from typing import Any

from dcs_backup.triggers import apigateway, direct, eventgrid, timer
from dcs_backup.triggers.base import Trigger, TriggerInput

__all__ = ["Trigger", "TriggerInput", "detect_trigger", "read_trigger_input"]

_READERS = {
    Trigger.TIMER: timer.read,
    Trigger.APIG: apigateway.read,
    Trigger.EVENTGRID: eventgrid.read,
    Trigger.DIRECT: direct.read,
}


def detect_trigger(event: Any) -> Trigger:
    """Identify the trigger by the event's shape (FunctionGraph sends no explicit type for most)."""
    if not isinstance(event, dict):
        return Trigger.DIRECT
    if event.get("trigger_type") == "TIMER":
        return Trigger.TIMER
    if "httpMethod" in event and "requestContext" in event:
        return Trigger.APIG
    if "specversion" in event:
        return Trigger.EVENTGRID
    return Trigger.DIRECT


def read_trigger_input(trigger: Trigger, event: Any) -> TriggerInput:
    """The request payload and idempotency key carried by ``event``; raises InvalidRequestError."""
    return _READERS[trigger](event)
