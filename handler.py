"""FunctionGraph entry point: ``handler.handler``."""

from typing import Any

from dcs_backup.platform import coldstart

with coldstart.loading():
    from dcs_backup.app import handle


def handler(event: Any, context: Any) -> Any:
    return handle(event, context)
