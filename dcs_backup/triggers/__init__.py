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
    """Identify the trigger by the event's complete shape (FunctionGraph sends no explicit type for most).

    A direct request that merely holds one trigger's key (``trigger_type``, ``specversion``) is
    still a direct request, where that key is an unknown field and is refused as such.
    """
    if not isinstance(event, dict):
        return Trigger.DIRECT
    if timer.is_timer_event(event):
        return Trigger.TIMER
    if apigateway.is_apig_event(event):
        return Trigger.APIG
    if eventgrid.is_cloud_event(event):
        return Trigger.EVENTGRID
    return Trigger.DIRECT


def read_trigger_input(trigger: Trigger, event: Any) -> TriggerInput:
    """The request payload and idempotency key carried by ``event``; raises InvalidRequestError."""
    return _READERS[trigger](event)
