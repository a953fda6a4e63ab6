"""The local runner behind ``python -m dcs_backup invoke EVENT_FILE`` (``-`` for standard input).

Prints the handler's answer as one JSON document on stdout and logs on stderr. With no
credentials and no DCS_ENDPOINT it runs in demo mode against the bundled DCS emulator.
``--env-file FILE`` sets the configuration first, as SAM's ``--env-vars`` does.

Logs are the platform's JSON lines, unless stderr is a terminal: then they are rendered for a person
(devkit/console.py), a line shows how many backups are still being waited for, and a table of the
outcomes ends the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import handler  # first: the function loads as FunctionGraph loads it (platform/coldstart.py)
from dcs_backup import __version__
from dcs_backup.app import handle
from dcs_backup.platform.logs import configure_logging
from dcs_backup.runtime import Runtime
from devkit.console import Durations, HumanRenderer, StatusStream, TerminalProgress, summary_table, wants_colour
from devkit.context import LocalContext
from devkit.demo import demo_mode, wants_demo_mode
from devkit.env_file import read_env_file

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """A usage error is one line on stderr (and exit 2), not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        if args.env_file is not None:
            os.environ.update(read_env_file(args.env_file))
    except (OSError, ValueError) as error:
        print(f"cannot read env file {args.env_file}: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        event = json.loads(_event_text(args.event_file))
    except (OSError, ValueError, RecursionError) as error:
        source = "the event from standard input" if args.event_file == "-" else f"event file {args.event_file}"
        print(f"cannot read {source}: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    durations = Durations()
    runtime = _for_a_person(sys.stderr, durations) if sys.stderr.isatty() else None
    if runtime is None:
        configure_logging("INFO")
    else:
        configure_logging("INFO", runtime.log_stream, runtime.log_renderer)
    with ExitStack() as stack:
        if wants_demo_mode():
            stack.enter_context(demo_mode())
        answer, failed = _invoke(event, runtime)
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    if runtime is not None:
        table = summary_table(answer, durations)
        print(f"\n{table}" if table else "", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _for_a_person(terminal: TextIO, durations: Durations) -> Runtime:
    """The local runtime for a terminal: readable lines (colour unless NO_COLOR) and the waiting line."""
    runtime = Runtime()
    progress = TerminalProgress()
    progress.stream = StatusStream(terminal, progress.line)
    runtime.log_stream = cast(TextIO, progress.stream)  # a text stream in all the logger uses: write, flush
    runtime.log_renderer = HumanRenderer(wants_colour(terminal, os.environ), durations)
    runtime.progress = progress
    return runtime


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dcs_backup", description="Run dcs-backup locally.")
    parser.add_argument("--version", action="version", version=f"dcs-backup {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    invoke = commands.add_parser(
        "invoke",
        help="invoke the function on a trigger event",
        description="Invoke the function once, as FunctionGraph would, and print its answer.",
    )
    invoke.add_argument("event_file", help="a JSON trigger event (see events/), or - to read it from standard input")
    invoke.add_argument(
        "--env-file", type=Path, help="KEY=VALUE lines (dotenv style) that set the configuration for this run"
    )
    return parser


def _event_text(name: str) -> str:
    return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")


def _one_line(error: BaseException) -> str:
    """The error's first line, short: a usage error is one line, never a traceback."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _invoke(event: Any, runtime: Runtime | None) -> tuple[Any, bool]:
    """The handler's answer and whether it reports a failure (an error, a failed target, HTTP ≥ 300).

    Without a runtime of its own (not a terminal), this is the platform's path: ``handler.handler``.
    """
    context = LocalContext.from_env()
    try:
        answer = handler.handler(event, context) if runtime is None else handle(event, context, runtime)
    except Exception as error:  # noqa: BLE001 - shown the way the platform shows it
        return {"errorMessage": str(error), "errorType": type(error).__name__}, True
    if isinstance(answer, dict) and "statusCode" in answer:
        return answer, not 200 <= int(answer["statusCode"]) < 300
    return answer, isinstance(answer, dict) and answer.get("status") != "succeeded"
