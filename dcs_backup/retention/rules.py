"""Which of the function's own backups to delete, and which backup DCS's 24-backup ring would evict.

Pure rules over backup records, shared by the request's ``retention`` field and the
DCS_KEEP_LAST / DCS_MAX_AGE_DAYS defaults. Only backups this function made (its marker at the
end of the remark) are ever chosen; the newest one that succeeded is always kept; a drill scratch
instance's empty baseline is never chosen (drills restore it to empty the instance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import is_baseline_backup, made_by_function
from dcs_backup.platform.errors import FieldProblem, unknown_field_problems
from dcs_backup.platform.text import show_value

KEEP_LAST_RANGE = (1, 24)
MAX_AGE_DAYS_RANGE = (1, 3650)
RETENTION_FIELDS = ("keep_last", "max_age_days", "dry_run")
MAX_BACKUPS_PER_INSTANCE = 24
_FINAL = frozenset({"succeed", "failed"})
_GONE = frozenset({"deleted", "expired"})


class RetentionRule(NamedTuple):
    """Keep the newest ``keep_last`` succeeded backups and none older than ``max_age_days`` (either or both)."""

    keep_last: int | None = None
    max_age_days: int | None = None
    dry_run: bool = False

    def expendable(self, records: Sequence[BackupRecord], now: datetime) -> list[BackupRecord]:
        """The function's own finished backups these rules delete, oldest first.

        A record listed twice counts once; one whose time cannot be read is never deleted (its age
        and its rank are unknown), and it does not push a dated one out of ``keep_last``.
        """
        unique = {
            r.backup_id: r
            for r in records
            if made_by_function(r.remark) and not is_baseline_backup(r.remark) and r.status in _FINAL
        }
        own = sorted(
            (r for r in unique.values() if r.created is not None), key=lambda r: r.created_or_oldest, reverse=True
        )
        succeeded = [r.backup_id for r in own if r.status == "succeed"]
        newest_success = next((r.created for r in own if r.status == "succeed"), None)
        doomed = [r for r in own if self._deletes(r, succeeded, newest_success, now)]
        return sorted(doomed, key=lambda r: r.created_or_oldest)

    def _deletes(
        self, record: BackupRecord, succeeded: list[str], newest_success: datetime | None, now: datetime
    ) -> bool:
        created = record.created_or_oldest
        if record.status == "failed":
            # Worth nothing once a newer backup succeeded, or once too old.
            superseded = newest_success is not None and created < newest_success
            return superseded or self._too_old(created, now)
        rank = succeeded.index(record.backup_id)
        if rank == 0:
            return False  # always one good copy, whatever its age
        beyond_count = self.keep_last is not None and rank >= self.keep_last
        return beyond_count or self._too_old(created, now)

    def _too_old(self, created: datetime, now: datetime) -> bool:
        return self.max_age_days is not None and created < now - timedelta(days=self.max_age_days)


def ring_victim(records: Sequence[BackupRecord]) -> BackupRecord | None:
    """The backup DCS deletes when one more is created, or None while the instance holds fewer than 24."""
    held = list({r.backup_id: r for r in records if r.status not in _GONE}.values())
    if len(held) < MAX_BACKUPS_PER_INSTANCE:
        return None
    return min(held, key=lambda r: r.created_by_dcs_clock)


def owner_of(record: BackupRecord) -> str:
    """Whose backup it is, in words for a warning."""
    if made_by_function(record.remark):
        return "this function's"
    if record.backup_type == "auto":
        return "an automatic"
    return "another manual"


def retention_problems(raw: Any) -> tuple[RetentionRule | None, list[FieldProblem]]:
    """Validate a ``retention`` object: the rule, or (sub-field, problem) pairs."""
    if not isinstance(raw, Mapping):
        return None, [FieldProblem("retention", "must be an object with keep_last and/or max_age_days, and dry_run")]
    problems = unknown_field_problems(raw, RETENTION_FIELDS, "retention")
    keep_last = _whole(raw.get("keep_last"), "retention.keep_last", KEEP_LAST_RANGE, problems)
    max_age_days = _whole(raw.get("max_age_days"), "retention.max_age_days", MAX_AGE_DAYS_RANGE, problems)
    dry_run = raw.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append(FieldProblem("retention.dry_run", f"must be true or false (got {show_value(dry_run)})"))
    if keep_last is None and max_age_days is None and not problems:
        problems.append(FieldProblem("retention", "needs keep_last, max_age_days or both"))
    if problems:
        return None, problems
    return RetentionRule(keep_last, max_age_days, dry_run is True), []


def whole_number_problem(value: Any, bounds: tuple[int, int]) -> str | None:
    """The rule for a count or a number of days: a whole number within ``bounds``."""
    low, high = bounds
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return None
    return f"must be a whole number from {low} to {high} (got {show_value(value)})"


def _whole(value: Any, field: str, bounds: tuple[int, int], problems: list[FieldProblem]) -> int | None:
    if value is None:
        return None
    problem = whole_number_problem(value, bounds)
    if problem is not None:
        problems.append(FieldProblem(field, problem))
        return None
    return int(value)
