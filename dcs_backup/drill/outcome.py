"""A drill's verdict per source, the rule that gives it, and the report a drill run answers with."""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Any, NamedTuple

from dcs_backup.outcome import outcome_dict, told_for_the_run


class DrillStatus(str, Enum):
    PASSED = "passed"  # the import succeeded and the restored key count matches what the backup declares
    FAILED = "failed"  # the import failed, or the key counts differ beyond the tolerance, or a call failed
    INCONCLUSIVE = "inconclusive"  # the import succeeded, but a key count is unknown: nothing is proven
    PENDING = "pending"  # the deadline came first: the next run continues (resuming a running import)
    SKIPPED = "skipped"  # not drilled: the scratch instance itself, too big for it, not backed up at all


_HEADLINES = {
    DrillStatus.PASSED: "drill passed: the backup restores",
    DrillStatus.FAILED: "drill failed: the backup did not restore as it should",
    DrillStatus.INCONCLUSIVE: "drill inconclusive: restorability not proven",
    DrillStatus.PENDING: "drill pending",
    DrillStatus.SKIPPED: "drill skipped",
}
_OPTIONAL_FIELDS = (
    "instance_name",
    "backup_id",
    "backup_created_at",
    "backup_age_hours",
    "migration_task_id",
    "restore_seconds",
    "keys_expected",
    "keys_restored",
    "reason",
    "scratch",
    "error_code",
    "dcs_request_id",
    "export",
    "record",
    "record_problem",
)
_PROVES_NOTHING = frozenset({DrillStatus.FAILED, DrillStatus.INCONCLUSIVE})


class DrillOutcome(NamedTuple):
    """How one source's drill ended; ``scratch`` says what the scratch instance holds afterwards."""

    instance_id: str
    status: DrillStatus
    instance_name: str | None = None
    backup_id: str | None = None
    backup_created_at: str | None = None
    backup_age_hours: float | None = None
    migration_task_id: str | None = None
    restore_seconds: float | None = None
    keys_expected: int | None = None
    keys_restored: int | None = None
    reason: str | None = None
    scratch: str | None = None
    error_code: str | None = None
    dcs_request_id: str | None = None
    reused: bool = False  # the import was started by an earlier run (or delivery) and followed by this one
    export: dict[str, Any] | None = None  # the export drilled ("from": "export"): bucket and objects
    record: str | None = None  # the key of the drill's record in the export bucket
    record_problem: str | None = None  # why the drill that ran has no record: the audit will not see it

    @property
    def verdict(self) -> str:
        return self.status.value

    @property
    def headline(self) -> str:
        return _HEADLINES[self.status]

    @property
    def attention(self) -> str | None:
        """Only a passed drill proves a backup restores: failed and inconclusive page someone, and so does a
        drill whose record was not kept."""
        name = self.instance_name or self.instance_id
        if self.record_problem is not None:
            return f"the drill of instance {name} ({self.status.value}) has no record: {self.record_problem}"
        if self.status not in _PROVES_NOTHING or told_for_the_run(self.reason):
            return None
        return f"restorability of instance {name} not proven ({self.status.value}): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return outcome_dict(self, _OPTIONAL_FIELDS)


def key_verdict(
    expected: int | None, restored: int | None, tolerance_pct: float, first_database_only: bool = False
) -> tuple[DrillStatus, str | None]:
    """passed within ``tolerance_pct`` of what the backup declares (keys that expired since may be missing);
    a count unknown on either side is inconclusive, never passed.

    ``first_database_only``: the files declare their first database's count only (the others' lie further in,
    after its keys), so more keys restored than declared may be other databases': inconclusive, not failed.
    """
    if expected is None:
        return DrillStatus.INCONCLUSIVE, "the key count the backup declares is unknown"
    if restored is None:
        return DrillStatus.INCONCLUSIVE, "the scratch instance's key count is unknown (not in the statistics)"
    allowed = expected * tolerance_pct / 100
    if abs(expected - restored) <= allowed:
        return DrillStatus.PASSED, None
    if first_database_only and restored > expected:
        return (
            DrillStatus.INCONCLUSIVE,
            f"the scratch instance holds {restored} keys, more than the {expected} the backup's files declare for"
            " their first database: the other databases' counts are not read, so nothing is proven",
        )
    return (
        DrillStatus.FAILED,
        f"the scratch instance holds {restored} keys, the backup declares {expected} (tolerance {tolerance_pct:g} %)",
    )


class DrillReport(NamedTuple):
    """The answer: ``failed`` when any drill failed or was inconclusive, ``pending`` when one has to continue."""

    trigger: str
    request_id: str
    scratch_instance_id: str
    tolerance_pct: float
    results: tuple[DrillOutcome, ...]
    reason: str | None = None
    records: dict[str, Any] | None = None  # where the drill records are kept, or why they are not

    @property
    def status(self) -> str:
        statuses = {o.status for o in self.results}
        unrecorded = any(o.record_problem is not None for o in self.results)
        if self.reason is not None or statuses & _PROVES_NOTHING or unrecorded:
            return "failed"
        return "pending" if DrillStatus.PENDING in statuses else "succeeded"

    @property
    def succeeded(self) -> bool:
        return self.status != "failed"

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(o.status for o in self.results)
        return {status.value: tally[status] for status in DrillStatus} | {"total": len(self.results)}

    def to_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "action": "drill",
            "status": self.status,
            "trigger": self.trigger,
            "request_id": self.request_id,
            "scratch_instance_id": self.scratch_instance_id,
            "tolerance_pct": self.tolerance_pct,
            "results": [o.to_dict() for o in self.results],
            "counts": self.counts,
        }
        if self.records is not None:
            report["records"] = self.records
        if self.reason is not None:
            report["reason"] = self.reason
        return report
