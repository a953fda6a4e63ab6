"""Local runner: ``python -m dcs_backup invoke EVENT_FILE``.

Prints the handler's answer as one JSON document on stdout and logs on stderr. With no
credentials and no DCS_ENDPOINT it runs in demo mode against the bundled DCS emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import structlog

from dcs_backup.local import LocalContext
from dcs_backup.logs import configure_logging

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
        if not (os.environ.get("HUAWEICLOUD_SDK_AK") or os.environ.get("DCS_ENDPOINT")):
            stack.enter_context(_demo_mode())
        answer, failed = _invoke(event)
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return EXIT_FAILED if failed else EXIT_OK


def _invoke(event: Any) -> tuple[Any, bool]:
    """The handler's answer and whether it reports a failure (an error, a failed target, HTTP ≥ 300)."""
    from handler import handler

    try:
        answer = handler(event, LocalContext())
    except Exception as error:  # noqa: BLE001 - shown the way the platform shows it
        return {"errorMessage": str(error), "errorType": type(error).__name__}, True
    if isinstance(answer, dict) and "statusCode" in answer:
        return answer, not 200 <= int(answer["statusCode"]) < 300
    return answer, isinstance(answer, dict) and answer.get("status") != "succeeded"


def _one_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


class _demo_mode:  # noqa: N801 - used as a context manager
    """Start the emulator with its seeded instances and point the function at it."""

    def __enter__(self) -> None:
        try:
            from dcs_emulator import DcsEmulator, EmulatorState
        except ImportError:
            raise SystemExit("demo mode needs the dcs_emulator package (run from the repository)") from None
        state = EmulatorState.from_seed()
        self._emulator = DcsEmulator(state).start()
        access_key, secret_key = next(iter(state.credentials.items()))
        os.environ.update(
            {
                "DCS_ENDPOINT": self._emulator.endpoint,
                "DCS_PROJECT_ID": state.project_id,
                "HUAWEICLOUD_SDK_AK": access_key,
                "HUAWEICLOUD_SDK_SK": secret_key,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        os.environ.setdefault("DCS_INSTANCE_IDS", ",".join(state.instances))
        structlog.get_logger("dcs_backup.local").info(
            "demo mode: no credentials and no DCS_ENDPOINT, using the local DCS emulator",
            endpoint=self._emulator.endpoint,
            instances=list(state.instances),
        )

    def __exit__(self, *_: object) -> None:
        self._emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
