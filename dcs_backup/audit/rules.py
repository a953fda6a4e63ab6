"""Backup coverage against a recovery point objective: each instance's newest good backup of any origin.

Pure verdicts over backup records, and the report an audit answers with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from dcs_backup.config import DEFAULT_RPO_HOURS
from dcs_backup.dcs.models import BackupRecord, iso_seconds
from dcs_backup.idempotency import made_by_function
from dcs_backup.outcome import told_for_the_run


class AuditStatus(str, Enum):
    OK = "ok"  # a good backup newer than the RPO
    STALE = "stale"  # the newest good backup is older than the RPO
    NONE = "none"  # no good backup at all
    UNPROVEN = "unproven"  # the RPO is met, but no drill has passed within max_drill_age_days
    SKIPPED = "skipped"  # single-node or not running: nothing to hold to the RPO
    FAILED = "failed"  # the instance or its backups (or its drill records) could not be read


UNDATED_TIME = "their time cannot be read or lies in the future"
_HEADLINES = {
    AuditStatus.OK: "RPO met",
    AuditStatus.STALE: "RPO violated: the newest good backup is too old",
    AuditStatus.NONE: "RPO violated: no good backup",
    AuditStatus.UNPROVEN: "restorability not proven: no recent passed drill",
    AuditStatus.SKIPPED: "instance skipped",
    AuditStatus.FAILED: "RPO unknown: the instance's backups could not be judged",
}
_VIOLATIONS = frozenset({AuditStatus.STALE, AuditStatus.NONE, AuditStatus.UNPROVEN, AuditStatus.FAILED})


class LastBackup(NamedTuple):
    backup_id: str
    backup_type: str | None
    made_by_this_function: bool
    finished_at: str | None
    age_hours: float | None
    size_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "backup_type": self.backup_type,
            "made_by_this_function": self.made_by_this_function,
            "finished_at": self.finished_at,
            "age_hours": self.age_hours,
            "size_bytes": self.size_bytes,
        }


class LastDrill(NamedTuple):
    """An instance's newest drill on record and when one last passed (None: never, on record)."""

    at: datetime | None  # None: only records dated in the future, which are not counted
    result: str | None
    restore_seconds: float | None = None
    backup_id: str | None = None
    last_passed_at: datetime | None = None
    future_records: int = 0  # records dated later than now: a skewed clock or a forged name, never believed

    def to_dict(self) -> dict[str, Any]:
        drill = {
            "at": iso_seconds(self.at) if self.at is not None else None,
            "result": self.result,
            "restore_seconds": self.restore_seconds,
            "backup_id": self.backup_id,
            "last_passed_at": iso_seconds(self.last_passed_at) if self.last_passed_at is not None else None,
        }
        return drill | ({"future_records_ignored": self.future_records} if self.future_records else {})


class AuditOutcome(NamedTuple):
    """One instance's verdict; every target gets exactly one."""

    instance_id: str
    status: AuditStatus
    instance_name: str | None = None
    last_backup: LastBackup | None = None
    rpo_hours: int = DEFAULT_RPO_HOURS
    reason: str | None = None
    error_code: str | None = None
    dcs_request_id: str | None = None
    drills_audited: bool = False  # the drill records were read: ``last_drill`` is in the answer (None: never)
    last_drill: LastDrill | None = None
    drill_problem: str | None = None  # restorability not proven within max_drill_age_days

    @property
    def verdict(self) -> str:
        return self.status.value

    @property
    def headline(self) -> str:
        return _HEADLINES[self.status]

    @property
    def attention(self) -> str | None:
        """An RPO violation, or restorability not proven, in words a person can act on."""
        found = self._rpo_attention()
        if self.drill_problem is None or self.status is AuditStatus.SKIPPED:
            return found
        drill = f"restorability of instance {self.instance_name or self.instance_id} {self.drill_problem}"
        return drill if found is None else f"{found}; {drill}"

    def _rpo_attention(self) -> str | None:
        name = self.instance_name or self.instance_id
        if self.status is AuditStatus.NONE:
            return f"RPO violated: instance {name} has no successful backup at all"
        if self.status is AuditStatus.STALE and self.last_backup is not None:
            age = self.last_backup.age_hours
            return (
                f"RPO violated: the newest successful backup of instance {name} is {age} h old (RPO {self.rpo_hours} h)"
            )
        if self.status is AuditStatus.FAILED and not told_for_the_run(self.reason):
            return f"RPO unknown: the backups of instance {name} could not be read: {self.reason}"
        return None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"instance_id": self.instance_id, "instance_name": self.instance_name}
        data["status"] = self.status.value
        data["last_backup"] = self.last_backup.to_dict() if self.last_backup is not None else None
        if self.drills_audited:
            data["last_drill"] = self.last_drill.to_dict() if self.last_drill is not None else None
        for name in ("drill_problem", "reason", "error_code", "dcs_request_id"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


class AuditReport(NamedTuple):
    """The audit's answer: ``succeeded`` when every target is ok or skipped, else ``failed``."""

    trigger: str
    request_id: str
    rpo_hours: int
    results: tuple[AuditOutcome, ...]
    reason: str | None = None
    max_drill_age_days: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.reason is None and not any(o.status in _VIOLATIONS for o in self.results)

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(o.status for o in self.results)
        return {status.value: tally[status] for status in AuditStatus} | {"total": len(self.results)}

    def to_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "action": "audit",
            "status": "succeeded" if self.succeeded else "failed",
            "trigger": self.trigger,
            "request_id": self.request_id,
            "rpo_hours": self.rpo_hours,
            **({"max_drill_age_days": self.max_drill_age_days} if self.max_drill_age_days is not None else {}),
            "results": [o.to_dict() for o in self.results],
            "counts": self.counts,
        }
        if self.reason is not None:
            report["reason"] = self.reason
        return report


def judge(
    instance_id: str, name: str | None, records: Sequence[BackupRecord], rpo_hours: int, now: datetime
) -> AuditOutcome:
    """ok, stale or none, from the newest ``succeed`` backup of any origin (automatic, manual, ours).

    A good backup whose time is unknown (unreadable, or in the future) proves nothing about the RPO:
    it is not counted, and the verdict says so; when it is the only kind there is, coverage is unknown.
    """
    good = [r for r in records if r.status == "succeed" and r.created is not None]
    undated = sum(1 for r in records if r.status == "succeed" and r.created is None)
    note = f"{undated} successful backup(s) not counted: {UNDATED_TIME}" if undated else None
    if not good:
        status = AuditStatus.FAILED if undated else AuditStatus.NONE
        return AuditOutcome(instance_id, status, name, rpo_hours=rpo_hours, reason=note)
    newest = max(good, key=lambda r: r.created_or_oldest)
    age_hours = round((now - newest.created_or_oldest).total_seconds() / 3600, 2)
    last = LastBackup(
        backup_id=newest.backup_id,
        backup_type=newest.backup_type,
        made_by_this_function=made_by_function(newest.remark),
        finished_at=newest.finished_at,
        age_hours=age_hours,
        size_bytes=newest.size_bytes,
    )
    status = AuditStatus.STALE if age_hours > rpo_hours else AuditStatus.OK
    return AuditOutcome(instance_id, status, name, last, rpo_hours, reason=note)


def judge_drills(
    outcome: AuditOutcome, last: LastDrill | None, max_age_days: int | None, now: datetime
) -> AuditOutcome:
    """The instance's drills beside its RPO verdict: with ``max_age_days``, a newest passed drill older than
    that, or none at all, means restorability is not proven (``unproven`` when the RPO itself is met)."""
    judged = outcome._replace(drills_audited=True, last_drill=last)
    if last is not None and last.future_records:
        note = f"{last.future_records} drill record(s) not counted: {UNDATED_TIME}"
        judged = judged._replace(reason="; ".join(filter(None, (outcome.reason, note))))
    if max_age_days is None or outcome.status is AuditStatus.SKIPPED:
        return judged
    passed = last.last_passed_at if last is not None else None
    if passed is None:
        problem = "not proven: no drill of it has passed (none on record)"
    else:
        age_days = (now - passed).total_seconds() / 86400
        if age_days <= max_age_days:
            return judged
        problem = f"not proven for {int(age_days)} days: its newest passed drill is older than {max_age_days} days"
    status = AuditStatus.UNPROVEN if outcome.status is AuditStatus.OK else outcome.status
    return judged._replace(status=status, drill_problem=problem)
