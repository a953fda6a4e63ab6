"""The local runner behind ``python -m dcs_backup invoke EVENT_FILE``.

Prints the handler's answer as one JSON document on stdout and logs on stderr. With no
credentials and no DCS_ENDPOINT it runs in demo mode against the bundled DCS emulator.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from dcs_backup.platform.logs import configure_logging
from devkit.context import LocalContext
from devkit.demo import demo_mode, wants_demo_mode
from handler import handler

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dcs_backup", description="Run dcs-backup locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="invoke the function on an event file")
    invoke.add_argument("event_file", type=Path, help="a JSON trigger event (see events/)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        event = json.loads(args.event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        print(f"cannot read event file {args.event_file}: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging("INFO")
    with ExitStack() as stack:
        if wants_demo_mode():
            stack.enter_context(demo_mode())
        answer, failed = _invoke(event)
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return EXIT_FAILED if failed else EXIT_OK


def _one_line(error: BaseException) -> str:
    """The error's first line, short: a usage error is one line, never a traceback."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _invoke(event: Any) -> tuple[Any, bool]:
    """The handler's answer and whether it reports a failure (an error, a failed target, HTTP ≥ 300)."""
    try:
        answer = handler(event, LocalContext.from_env())
    except Exception as error:  # noqa: BLE001 - shown the way the platform shows it
        return {"errorMessage": str(error), "errorType": type(error).__name__}, True
    if isinstance(answer, dict) and "statusCode" in answer:
        return answer, not 200 <= int(answer["statusCode"]) < 300
    return answer, isinstance(answer, dict) and answer.get("status") != "succeeded"
