"""Per-instance outcomes and the result document of one invocation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class OutcomeStatus(str, Enum):
    CREATED = "created"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunStatus(str, Enum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True)
class BackupOutcome:
    """How one targeted instance ended; every target gets exactly one."""

    instance_id: str
    status: OutcomeStatus
    backup_id: str | None = None
    reason: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    dcs_request_id: str | None = None
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: absent fields are left out, ``reused`` appears only when true."""
        data: dict[str, Any] = {"instance_id": self.instance_id, "status": self.status.value}
        for name in ("backup_id", "reason", "error_code", "error_msg", "dcs_request_id"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.reused:
            data["reused"] = True
        return data


@dataclass(frozen=True)
class ResultDocument:
    """What the invocation did, in the form returned to callers and logged as the summary."""

    status: RunStatus
    trigger: str
    request_id: str
    results: tuple[BackupOutcome, ...]

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(outcome.status for outcome in self.results)
        counts = {status.value: tally[status] for status in OutcomeStatus}
        counts["total"] = len(self.results)
        return counts

    @property
    def failed(self) -> tuple[BackupOutcome, ...]:
        return tuple(o for o in self.results if o.status is OutcomeStatus.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "trigger": self.trigger,
            "request_id": self.request_id,
            "results": [outcome.to_dict() for outcome in self.results],
            "counts": self.counts,
        }


def summarize(outcomes: Sequence[BackupOutcome], trigger: str, request_id: str) -> ResultDocument:
    """Succeeded when nothing failed (skipped is not a failure), failed when all failed, else partial."""
    failures = sum(1 for o in outcomes if o.status is OutcomeStatus.FAILED)
    if failures == 0:
        status = RunStatus.SUCCEEDED
    elif failures == len(outcomes):
        status = RunStatus.FAILED
    else:
        status = RunStatus.PARTIAL
    return ResultDocument(status=status, trigger=trigger, request_id=request_id, results=tuple(outcomes))
