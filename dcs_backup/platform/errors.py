"""The errors the function raises to the platform.

FunctionGraph reports an unhandled exception as ``{"errorMessage", "errorType"}``; the
type names below are the only ones callers (workflow error branches, async retry
policies) ever see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from dcs_backup.platform.text import closest, show_name


class FieldProblem(NamedTuple):
    """What is wrong with one field of a request, and what would be accepted."""

    field: str
    problem: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


MAX_NAMED_UNKNOWN_FIELDS = 10


def unknown_field_problems(names: Iterable[object], allowed: Sequence[str], parent: str = "") -> list[FieldProblem]:
    """One problem per unknown field, at most ten named (escaped and cut), then how many more.

    ``parent`` (e.g. "select") prefixes the names of a nested object's fields.
    """
    unknown = [name for name in names if name not in allowed]
    prefix = f"{parent}." if parent else ""
    problems = [
        FieldProblem(f"{prefix}{show_name(name)}", _unknown_field(name, allowed))
        for name in unknown[:MAX_NAMED_UNKNOWN_FIELDS]
    ]
    if len(unknown) > MAX_NAMED_UNKNOWN_FIELDS:
        more = len(unknown) - MAX_NAMED_UNKNOWN_FIELDS
        problems.append(FieldProblem(parent or "request", f"and {more} more unknown fields"))
    return problems


def _unknown_field(name: object, allowed: Sequence[str]) -> str:
    meant = closest(name, allowed)
    guess = f"did you mean {meant}? " if meant is not None else ""
    return f"unknown field; {guess}allowed fields are {', '.join(allowed)}"


class DcsBackupError(Exception):
    """Base of every error the function raises on purpose."""


class InvalidRequestError(DcsBackupError):
    """The request cannot be executed as given; nothing was sent to DCS.

    ``http_status`` is the answer an HTTP caller gets (400, or 403/405/413/415 for
    the transport-level refusals); ``headers`` carries e.g. ``Allow`` for 405.
    """

    def __init__(
        self,
        problems: Sequence[FieldProblem],
        *,
        http_status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.problems = tuple(problems)
        self.http_status = http_status
        self.headers = dict(headers or {})
        super().__init__("invalid request: " + "; ".join(str(p) for p in self.problems))


class ConfigurationError(DcsBackupError):
    """The function is deployed without something it needs (region, project, credentials)."""


class BackupFailedError(DcsBackupError):
    """At least one targeted instance was not backed up; the message carries the result."""


class BackupPendingError(DcsBackupError):
    """Nothing failed, but a backup waited for was still running when time ran out.

    The message carries the result. Retrying the same delivery (same idempotency key) finds the
    same backups and resumes waiting: a workflow retries on this error.
    """


class RpoViolatedError(DcsBackupError):
    """An audit found an instance without a good backup newer than the RPO (or could not tell);
    the message carries the report."""


class RestoreRefusedError(DcsBackupError):
    """A guard refused the restore before anything was written; the message names the guard and carries
    the result. Retrying the same request is refused the same way until what the guard names changes."""


class RestorePendingError(DcsBackupError):
    """The restore (or the safety backup before it) was still running when time ran out.

    Retrying the same request (same idempotency key) finds it and resumes waiting: it never restarts.
    """


class RestoreFailedError(DcsBackupError):
    """DCS failed the restore, or a call to it failed; the message carries DCS's code and the result."""


class InternalError(DcsBackupError):
    """An unexpected fault inside the function; details are in the log under the request id."""
