"""DCS's data types and limits, without the SDK, so that any module can use them cheaply."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

MAX_REMARK_LENGTH = 128
MAX_INSTANCE_IDS = 100
INSTANCE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
INSTANCE_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-'"
BACKUP_FORMATS = ("rdb", "aof")
CLUSTER_MODE = "cluster"  # Redis Cluster: database 0 only
BACKUPABLE_MODES = frozenset({"ha", "ha_rw_split", "proxy", CLUSTER_MODE})
READY_STATUS = "RUNNING"
_SLASHED_TIME = re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}")
# Spec codes of Redis 3.0 instances name the mode in words.
_LEGACY_SPEC_MODES = {"master_standby": "ha", "single_node": "single", "cluster": "cluster"}


class InstanceInfo(NamedTuple):
    """What the function needs to know of an instance, from ShowInstance or a ListInstances item."""

    instance_id: str
    name: str | None
    status: str | None
    cache_mode: str | None
    tags: dict[str, str] | None = None
    engine_version: str | None = None
    password_free: bool | None = None  # ShowInstance's no_password_access; None when DCS did not say


FINAL_BACKUP_STATUSES = frozenset({"succeed", "failed"})
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
# DCS's clock and this function's may differ a little; a record dated further ahead is not believed.
MAX_CLOCK_SKEW = timedelta(minutes=15)


class BackupRecord(NamedTuple):
    backup_id: str
    remark: str
    status: str | None
    backup_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    size_bytes: int | None = None
    error_code: str | None = None
    is_support_restore: str | None = None  # DCS's string "TRUE" / "FALSE"

    @property
    def restorable(self) -> bool:
        """DCS says the backup succeeded and can be restored (any other value is not restorable)."""
        return self.status == "succeed" and self.is_support_restore == "TRUE"

    @property
    def created(self) -> datetime | None:
        """When DCS created it (the recovery point), or None when its time cannot be read.

        A time further in the future than a clock's skew is unknown too: such a record would
        otherwise be the newest for ever, outranking every real backup in retention and the audit.
        """
        moment = _utc(self.created_at)
        if moment is None or moment > datetime.now(timezone.utc) + MAX_CLOCK_SKEW:
            return None
        return moment

    @property
    def created_by_dcs_clock(self) -> datetime:
        """When DCS says it created it, believed even if in the future (DCS orders its own ring by it);
        an unreadable time sorts first, as the oldest."""
        return _utc(self.created_at) or _EARLIEST

    @property
    def created_or_oldest(self) -> datetime:
        """For ordering: a record whose time cannot be read sorts first, as the oldest."""
        return self.created or _EARLIEST

    @property
    def finished_at(self) -> str | None:
        """When DCS finished it (its last update, once final), in ISO 8601 UTC."""
        return iso_utc(self.updated_at) if self.status in FINAL_BACKUP_STATUSES else None


class CreatedBackup(NamedTuple):
    """A backup this request started, or found already started by an earlier delivery (``reused``)."""

    backup_id: str
    reused: bool = False


def is_instance_id(value: object) -> bool:
    return isinstance(value, str) and INSTANCE_ID_PATTERN.fullmatch(value) is not None


def mode_from_spec_code(spec_code: str | None) -> str | None:
    """``redis.single.xu1.large.2`` → ``single``, ``dcs.master_standby`` → ``ha``; None when it does not say."""
    parts = (spec_code or "").split(".")
    if len(parts) < 2:
        return None
    if parts[0] == "dcs":
        return _LEGACY_SPEC_MODES.get(parts[1])
    return parts[1] if len(parts) > 2 and parts[1] in BACKUPABLE_MODES | {"single"} else None


def iso_utc(text: str | None) -> str | None:
    """A DCS time (``2019-05-10T08:31:16.166Z``, or with an offset) as ISO 8601 UTC; None when unreadable."""
    moment = _utc(text)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def iso_seconds(moment: datetime) -> str:
    """An aware time as ISO 8601 UTC to the second (``2026-12-01T15:00:00Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_time(text: str | None) -> datetime | None:
    """A DCS time (ISO 8601, or a migration task's ``yyyy/MM/dd HH:mm:ss``) as UTC; None when unreadable."""
    return _utc(text)


def _utc(text: str | None) -> datetime | None:
    """A DCS time as an aware UTC datetime (no offset means UTC); None when unreadable.

    Migration tasks write ``2019/10/22 14:44:30`` (UTC, as documented); everything else ISO 8601.
    """
    if not text:
        return None
    try:
        if _SLASHED_TIME.fullmatch(text):
            return datetime.strptime(text, "%Y/%m/%d %H:%M:%S").replace(tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # unparsable, or out of range once in UTC (year 1 at +08:00)
        return None


def dcs_text(value: object) -> str | None:
    """DCS sends some empty fields as ``{}``, which the SDK turns into the string "{}": all mean none."""
    text = str(value) if value is not None else ""
    return None if text in ("", "{}", "None") else text


class BackupFile(NamedTuple):
    """One file of a backup (one per shard for clusters) and its pre-signed download link.

    The link's query string carries a signature: never log it or put it in a result.
    """

    file_name: str
    link: str

    def __repr__(self) -> str:
        return f"BackupFile(file_name={self.file_name!r})"


FINAL_RESTORE_STATUSES = frozenset({"succeed", "failed"})
FINAL_TASK_STATUSES = frozenset({"SUCCESS", "FAILED", "TERMINATED", "MIGRATION_FAILED", "RELEASED", "DELETED"})


class RestoreRecord(NamedTuple):
    """One ListRestoreRecords entry: a RestoreInstance and how far DCS got with it."""

    restore_id: str
    backup_id: str | None
    remark: str
    status: str | None
    created_at: str | None = None
    updated_at: str | None = None
    error_code: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINAL_RESTORE_STATUSES


class MigrationTask(NamedTuple):
    """A backup import (ShowMigrationTask, or a ListMigrationTask item)."""

    task_id: str
    name: str | None
    description: str
    status: str | None
    target_instance_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    error_message: str | None = None
    bucket: str | None = None  # an import from OBS (ShowMigrationTask only): the bucket and the objects
    object_keys: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINAL_TASK_STATUSES


class BackupImport(NamedTuple):
    """What CreateMigrationTask imports: a DCS backup record, or files in an OBS bucket (all shards)."""

    backup_id: str | None = None
    bucket: str | None = None
    object_keys: tuple[str, ...] = ()


class InstanceStatistics(NamedTuple):
    """One ListStatisticsOfRunningInstances entry: keys and memory (MB); None where DCS gave no whole number."""

    keys: int | None
    used_memory_mb: int | None
    max_memory_mb: int | None
