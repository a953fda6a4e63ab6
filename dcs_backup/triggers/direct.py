"""Workflow node or direct invocation: the event itself is the request."""

from __future__ import annotations

from typing import Any

from dcs_backup.triggers.base import TriggerInput


def read(event: Any) -> TriggerInput:
    """Pass the event through; the request's own ``idempotency_key`` field, if any, applies."""
    return TriggerInput(payload=event)
