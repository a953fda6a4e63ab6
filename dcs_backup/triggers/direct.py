"""Workflow node or direct invocation: the event itself is the request."""

from __future__ import annotations

from typing import Any

from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.triggers.base import TriggerInput

# A trigger's telltale field in an event that is not that trigger's: say what the trigger sends.
_LOOKALIKES = {
    "trigger_type": "the event is not a complete timer event, which carries trigger_type, trigger_name and "
    "time and no other fields than version and user_event",
    "specversion": "the event is not a complete CloudEvent, which carries id, source, specversion and type "
    "as text and attribute names of lower-case letters and digits only",
    "httpMethod": "the event is not an API Gateway event, which carries requestContext and has the request in its body",
}


def read(event: Any) -> TriggerInput:
    """Pass the event through; the request's own ``idempotency_key`` field, if any, applies.

    A trigger's field here means an event of that trigger that came out wrong (or a request that
    borrowed the name): refused, saying which trigger's shape it missed.
    """
    if isinstance(event, dict):
        found = [FieldProblem(name, hint) for name, hint in _LOOKALIKES.items() if name in event]
        if found:
            raise InvalidRequestError(found)
    return TriggerInput(payload=event)
