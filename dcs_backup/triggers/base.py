"""What every trigger adapter produces."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, NamedTuple

from dcs_backup.platform.errors import FieldProblem, InvalidRequestError


class Trigger(str, Enum):
    """The ways the function is invoked; the value appears in logs and results."""

    TIMER = "timer"
    APIG = "apig"
    EVENTGRID = "eventgrid"
    DIRECT = "direct"


class TriggerInput(NamedTuple):
    """The raw request object an event carries, before validation."""

    payload: Any
    idempotency_key: str | None = None


def parse_json_object(text: str, field: str, *, http_status: int = 400) -> dict[str, Any]:
    """Parse ``text`` as the request object; blank text means "use the configured defaults"."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError(
            [FieldProblem(field, "must be empty or a JSON object holding the backup request")],
            http_status=http_status,
        )
    return value
