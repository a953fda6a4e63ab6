"""Drill records: one small JSON object per finished drill, kept in the export bucket so that they outlive the run.

The object's key alone says when the drill ended, how and for which source
(``{prefix}{instance_id}/{20261201T150000Z}-{passed}-{hash}.json``), so finding an instance's newest drill
and its newest passed one takes a listing, not a read of every record; the body holds the rest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NamedTuple

from dcs_backup.dcs.models import MAX_CLOCK_SKEW, iso_seconds
from dcs_backup.drill.outcome import DrillOutcome, DrillStatus

RECORDED = frozenset({DrillStatus.PASSED, DrillStatus.FAILED, DrillStatus.INCONCLUSIVE})  # a drill that ran
_STAMP = "%Y%m%dT%H%M%SZ"
_KEY_NAME = re.compile(r"(\d{8}T\d{6}Z)-(passed|failed|inconclusive)-([0-9a-f]{8})\.json")
MAX_RECORD_BYTES = 64 * 1024  # a record is a few hundred bytes; anything bigger is not one


class DrillRecord(NamedTuple):
    """What one finished drill proved, as it is kept."""

    instance_id: str
    at: datetime  # when the drill ended
    result: str  # passed, failed or inconclusive
    source_kind: str  # "backup" or "export": what was imported
    scratch_instance_id: str
    request_id: str
    backup_id: str | None = None
    restore_seconds: float | None = None
    keys_expected: int | None = None
    keys_restored: int | None = None
    migration_task_id: str | None = None
    reason: str | None = None
    drill_id: str = ""  # the request and backup drilled, as the import task's name carries them

    @classmethod
    def of(
        cls,
        outcome: DrillOutcome,
        at: datetime,
        source_kind: str,
        scratch_instance_id: str,
        request_id: str,
        drill_id: str,
    ) -> DrillRecord:
        return cls(
            outcome.instance_id,
            at.astimezone(timezone.utc).replace(microsecond=0),
            outcome.status.value,
            source_kind,
            scratch_instance_id,
            request_id,
            outcome.backup_id,
            outcome.restore_seconds,
            outcome.keys_expected,
            outcome.keys_restored,
            outcome.migration_task_id,
            outcome.reason,
            drill_id,
        )

    def key(self, prefix: str) -> str:
        """Named by the request and backup drilled (the import task's fingerprint), so a retried delivery finds
        its earlier delivery's record, and a run finds whether a finished import was ever judged."""
        stamp = self.at.strftime(_STAMP)
        return f"{instance_folder(prefix, self.instance_id)}{stamp}-{self.result}-{self.drill_id}.json"

    def to_json(self, redact: Callable[[str], str]) -> bytes:
        """``redact``: what DCS's messages (in ``reason``) may echo is masked as in the answer."""
        body = self._asdict() | {"at": iso_seconds(self.at), "from": self.source_kind}
        del body["source_kind"]
        if self.reason is not None:
            body["reason"] = redact(self.reason)
        return json.dumps(body, sort_keys=True).encode()


def instance_folder(prefix: str, instance_id: str) -> str:
    base = f"{prefix.rstrip('/')}/" if prefix else ""
    return f"{base}{instance_id}/"


class RecordName(NamedTuple):
    """What a record's key says of it."""

    key: str
    at: datetime
    result: str
    drill_id: str


def record_name(key: str) -> RecordName | None:
    """The time and result a record's key carries; None for any other object."""
    found = _KEY_NAME.fullmatch(key.rpartition("/")[2])
    if found is None:
        return None
    try:
        at = datetime.strptime(found.group(1), _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:  # digits that are no date
        return None
    return RecordName(key, at, found.group(2), found.group(3))


class NewestRecords(NamedTuple):
    """The newest record of all, the newest passed one, and how many claim a time still to come."""

    newest: RecordName | None
    passed: RecordName | None
    future: int = 0


def newest_records(keys: Iterable[str], now: datetime) -> NewestRecords:
    """The newest record of all, and the newest passed one. A record dated later than now (beyond the clock
    skew DCS's own times are allowed) proves nothing: it is not counted, only counted as such."""
    names = [name for name in map(record_name, keys) if name is not None]
    future = [n for n in names if n.at > now + MAX_CLOCK_SKEW]
    names = [n for n in names if n.at <= now + MAX_CLOCK_SKEW]
    newest = max(names, key=lambda n: (n.at, n.key), default=None)
    passed = max((n for n in names if n.result == DrillStatus.PASSED.value), key=lambda n: (n.at, n.key), default=None)
    return NewestRecords(newest, passed, len(future))


def recorded_outcome(name: RecordName, data: bytes, known: DrillOutcome) -> DrillOutcome:
    """The outcome an earlier delivery recorded, over what this one already knows (the backup, its age)."""
    body = _json_object(data)
    task, reason = body.get("migration_task_id"), body.get("reason")
    return known._replace(
        status=DrillStatus(name.result),
        restore_seconds=_seconds(body.get("restore_seconds")),
        migration_task_id=task if isinstance(task, str) else None,
        reason=reason if isinstance(reason, str) else None,
        reused=True,
        record=name.key,
        keys_expected=_whole(body.get("keys_expected")),
        keys_restored=_whole(body.get("keys_restored")),
    )


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _seconds(value: Any) -> float | None:
    """A time taken, believed only as a finite number of seconds, 0 or more."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf:
        return float(value)
    return None


def _json_object(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_RECORD_BYTES:
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def record_body(data: bytes) -> dict[str, Any]:
    """The fields a record's body holds that its key does not; empty for a body that is not a record."""
    body = _json_object(data)
    seconds, backup_id = _seconds(body.get("restore_seconds")), body.get("backup_id")
    found: dict[str, Any] = {}
    if seconds is not None:
        found["restore_seconds"] = seconds
    if isinstance(backup_id, str) and backup_id:
        found["backup_id"] = backup_id
    return found
