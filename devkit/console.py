"""Output for a person at a terminal: readable log lines, a progress line while backups run, a summary table.

Only the local runner uses this, and only when stderr is a terminal; the platform and anything reading a
pipe get the JSON lines. The lines go through the same processors as the JSON ones (the redactor included),
so a secret is masked here too. The invocation's context (service, versions, request id...) is the same on
every line: the summary says the request id once instead.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from structlog.dev import ConsoleRenderer
from structlog.typing import EventDict, WrappedLogger

# Keys every line of an invocation carries (app._start_logging binds them): left out of a person's view.
CONTEXT_KEYS = frozenset(
    {
        "service",
        "service_version",
        "function_name",
        "function_version",
        "function_memory_size",
        "function_request_id",
        "request_id",
        "cold_start",
        "trigger",
        "location",
    }
)
_CLEAR_LINE = "\r\x1b[K"


def wants_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set to anything (no-color.org)."""
    return stream.isatty() and not env.get("NO_COLOR")


class Durations:
    """How long each instance's steps took, summed from their outcome lines (``duration_ms``)."""

    def __init__(self) -> None:
        self._ms: dict[str, int] = {}
        self._lock = threading.Lock()

    def note(self, event_dict: EventDict) -> None:
        instance_id, duration = event_dict.get("instance_id"), event_dict.get("duration_ms")
        if isinstance(instance_id, str) and isinstance(duration, int) and "outcome" in event_dict:
            with self._lock:
                self._ms[instance_id] = self._ms.get(instance_id, 0) + duration

    def of(self, instance_id: str) -> int | None:
        return self._ms.get(instance_id)


class HumanRenderer:
    """structlog's ConsoleRenderer on the function's keys: time, level, message, then the line's own fields."""

    def __init__(self, colours: bool, durations: Durations) -> None:
        self._console = ConsoleRenderer(
            colors=colours, event_key="message", timestamp_key="timestamp", pad_event_to=40, sort_keys=False
        )
        self._durations = durations

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        self._durations.note(event_dict)
        own = {key: value for key, value in event_dict.items() if key not in CONTEXT_KEYS}
        stamp = own.get("timestamp")
        if isinstance(stamp, str) and len(stamp) >= 19:
            own["timestamp"] = f"{stamp[11:19]}Z"  # the time of day (UTC): the date is the same all run long
        return self._console(logger, name, own)


class WaitingLine:
    """``waiting for backups: N of M still running``, and while exports copy ``exporting: X of Y (R/s)``, kept
    on the terminal's last line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._running: set[str] = set()
        self._seen: set[str] = set()
        self._copies: dict[str, tuple[int, int]] = {}  # object key → bytes done, total
        self._clock = clock
        self._copy_started: float | None = None
        self._lock = threading.Lock()

    def copied(self, key: str, done: int, total: int) -> None:
        with self._lock:
            if self._copy_started is None:
                self._copy_started = self._clock()
            self._copies[key] = (done, total)

    def waiting(self, instance_id: str, running: bool) -> None:
        with self._lock:
            self._seen.add(instance_id)
            if running:
                self._running.add(instance_id)
            else:
                self._running.discard(instance_id)

    @property
    def text(self) -> str:
        with self._lock:
            parts = []
            if self._running:
                parts.append(f"waiting for backups: {len(self._running)} of {len(self._seen)} still running")
            copying = [(done, total) for done, total in self._copies.values() if done < total]
            if copying:
                done, total = sum(d for d, _ in copying), sum(t for _, t in copying)
                elapsed = self._clock() - (self._copy_started or self._clock())
                rate = f" ({human_size(int(done / elapsed))}/s)" if elapsed > 0 else ""
                parts.append(f"exporting: {human_size(done)} of {human_size(total)}{rate}")
            return "; ".join(parts)


class StatusStream(io.TextIOBase):
    """The terminal, with the waiting line redrawn under each log line and whenever it changes."""

    def __init__(self, terminal: TextIO, status: WaitingLine) -> None:
        self._terminal = terminal
        self._status = status
        self._lock = threading.RLock()
        self._shown = ""

    def write(self, text: str) -> int:
        with self._lock:
            self._terminal.write(_CLEAR_LINE if self._shown else "")
            self._terminal.write(text)
            self._shown = ""
            if text.endswith("\n"):
                self._redraw()
            self._terminal.flush()
        return len(text)

    def refresh(self) -> None:
        with self._lock:
            self._redraw()
            self._terminal.flush()

    def _redraw(self) -> None:
        text = self._status.text
        if text != self._shown:
            self._terminal.write(_CLEAR_LINE + text)
            self._shown = text

    def flush(self) -> None:
        self._terminal.flush()

    def isatty(self) -> bool:
        return self._terminal.isatty()


class TerminalProgress:
    """The runtime's progress listener: keeps the waiting line up to date on the status stream."""

    def __init__(self) -> None:
        self.line = WaitingLine()
        self.stream: StatusStream | None = None

    def waiting(self, instance_id: str, running: bool) -> None:
        self.line.waiting(instance_id, running)
        if self.stream is not None:
            self.stream.refresh()

    def copied(self, key: str, done: int, total: int) -> None:
        self.line.copied(key, done, total)
        if self.stream is not None:
            self.stream.refresh()


SUMMARY_COLUMNS = ("instance", "status", "backup id", "size", "duration", "reason")


def summary_table(answer: Any, durations: Durations) -> str:
    """The outcomes of the answer as a table, one row per instance; "" when the answer has none."""
    results = _results(answer)
    if not results:
        return ""
    rows = [_row(result, durations) for result in results]
    widths = [max(len(row[i]) for row in [SUMMARY_COLUMNS, *rows]) for i in range(len(SUMMARY_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    header = "  ".join(name.ljust(width) for name, width in zip(SUMMARY_COLUMNS, widths, strict=True)).rstrip()
    footer = f"{_status_of(answer)} · request {_document(answer).get('request_id', '?')}"
    return "\n".join([header, *lines, footer])


def _document(answer: Any) -> dict[str, Any]:
    """The result document: the answer itself, an API Gateway answer's JSON body, or the document a
    raised error's message carries after its summary (``backup failed for 1 of 2 instance(s): {...}``)."""
    if not isinstance(answer, dict):
        return {}
    for key in ("body", "errorMessage"):
        text = answer.get(key)
        if isinstance(text, str) and "{" in text:
            try:
                found, _ = json.JSONDecoder().raw_decode(text, text.index("{"))
            except ValueError:
                return {}
            return found if isinstance(found, dict) else {}
    return answer


def _results(answer: Any) -> Sequence[dict[str, Any]]:
    results = _document(answer).get("results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def _status_of(answer: Any) -> str:
    document = _document(answer)
    status = document.get("status") or "answer"
    counts = document.get("counts")
    shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n and name != "total") if counts else ""
    return f"{status} ({shown})" if shown else str(status)


def _row(result: dict[str, Any], durations: Durations) -> tuple[str, ...]:
    found = result.get("last_backup")
    last: dict[str, Any] = found if isinstance(found, dict) else {}
    instance_id = str(result.get("instance_id", ""))
    size = result.get("size_bytes", last.get("size_bytes"))
    duration = durations.of(instance_id)
    return (
        str(result.get("instance_name") or instance_id),
        str(result.get("status", "")),
        str(result.get("backup_id") or last.get("backup_id") or "-"),
        human_size(size) if isinstance(size, int) else "-",
        f"{duration / 1000:.1f} s" if duration is not None else "-",
        str(result.get("reason") or result.get("retention_error") or ""),
    )


def human_size(size: int) -> str:
    """1536 → "1.5 KiB": binary units, as DCS and OBS consoles show sizes."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
