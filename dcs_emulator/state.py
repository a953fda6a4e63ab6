"""Instances and their backups, with DCS's rules for creating, listing and deleting backups."""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dcs_emulator.fleet import fleet_instances
from dcs_emulator.model import (
    BACKUP_STATUSES,
    GONE_BACKUP_STATUSES,
    MAX_BACKUPS_PER_INSTANCE,
    RUNNING_BACKUP_STATUSES,
    Backup,
    DcsApiError,
    Instance,
    instance_not_found,
    iso_time,
    malformed_request,
)
from dcs_emulator.restores import RestoreDesk

__all__ = ["DEFAULT_SEED", "Backup", "DcsApiError", "EmulatorState", "Instance", "iso_time", "malformed_request"]

MAX_REMARK_LENGTH = 128
BACKUPABLE_MODES = frozenset({"ha", "ha_rw_split", "proxy", "cluster"})
SEEDED_BACKUP_DURATION_S = 60.0
DEFAULT_SEED = Path(__file__).with_name("seed.json")


class EmulatorState:
    """Thread-safe store; each backup follows its own clock: waiting → backuping → succeed or failed."""

    def __init__(
        self,
        project_id: str,
        credentials: Mapping[str, str],
        *,
        security_tokens: Mapping[str, str] | None = None,
        waiting_s: float = 1.0,
        backuping_s: float = 2.0,
        keep_deleted_records: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.project_id = project_id
        self.credentials = dict(credentials)
        self.security_tokens = dict(security_tokens or {})
        self.waiting_s = waiting_s
        self.backuping_s = backuping_s
        # DCS may go on listing deleted and evicted backups as "deleted"; off, they vanish.
        self.keep_deleted_records = keep_deleted_records
        self.clock = clock
        self.instances: dict[str, Instance] = {}
        self._backups: dict[str, list[Backup]] = {}
        self._scripted_failures: defaultdict[str, deque[str]] = defaultdict(deque)
        self._evicted: defaultdict[str, list[str]] = defaultdict(list)
        self._deleted: defaultdict[str, list[str]] = defaultdict(list)
        self._lock = threading.RLock()
        self.restores = RestoreDesk(self)

    @classmethod
    def from_seed(cls, path: Path = DEFAULT_SEED, **overrides: Any) -> EmulatorState:
        """Build from a seed file: ``project_id``, ``credentials`` {ak: sk}, ``instances`` [...].

        An instance entry may carry ``backups``: a list of :meth:`add_backup` keyword arguments.
        """
        seed = json.loads(Path(path).read_text(encoding="utf-8"))
        state = cls(seed["project_id"], seed["credentials"], security_tokens=seed.get("security_tokens"), **overrides)
        for item in seed["instances"]:
            backups = item.pop("backups", [])
            state.add_instance(Instance(**item))
            for backup in backups:
                state.add_backup(item["instance_id"], **backup)
        return state

    @classmethod
    def fleet(cls, count: int, *, seed: int = 0, path: Path = DEFAULT_SEED, **overrides: Any) -> EmulatorState:
        """The seed file's instances plus ``count`` generated ones, the same for the same ``seed``."""
        state = cls.from_seed(path, **overrides)
        for instance in fleet_instances(count, seed=seed):
            state.add_instance(instance)
        return state

    @property
    def lock(self) -> threading.RLock:
        """Held while a change spans several records (the restores' too)."""
        return self._lock

    def add_instance(self, instance: Instance) -> None:
        with self._lock:
            self.instances[instance.instance_id] = instance
            self._backups.setdefault(instance.instance_id, [])

    def instance(self, instance_id: str) -> Instance:
        """An instance DCS knows; deleted ones are unknown (DCS.3022) to every call but the listing."""
        found = self.instances.get(instance_id)
        if found is None or found.deleted:
            raise instance_not_found()
        return found

    def fail_next_backup(self, instance_id: str, error_code: str = "dcs.08.0002") -> None:
        """Make the instance's next backup (one per call, in order) end ``failed`` with ``error_code``."""
        with self._lock:
            self._scripted_failures[instance_id].append(error_code)

    def backup_status(self, backup: Backup) -> str:
        if backup.pinned_status is not None:
            return backup.pinned_status
        if backup.failed:
            return "failed"
        now = self.clock()
        if now < backup.started_at:
            return "waiting"
        if now < backup.finished_at:
            return "backuping"
        return "failed" if backup.error_code else "succeed"

    def create_backup(self, instance_id: str, remark: str, backup_format: str) -> Backup:
        """DCS's rules: backupable mode, RUNNING, one backup at a time, at most 24 kept."""
        _check_backup_body(remark, backup_format)
        with self._lock:
            instance = self.instance(instance_id)
            _check_backupable(instance)
            if any(self.backup_status(b) in RUNNING_BACKUP_STATUSES for b in self._backups[instance_id]):
                raise DcsApiError(400, "DCS.4096", "the instance is backuping.")
            scripted = self._scripted_failures[instance_id]
            backup = Backup(
                str(uuid.uuid4()),
                instance_id,
                remark,
                backup_format,
                self.clock(),
                waiting_s=_first_set(instance.backup_waiting_s, self.waiting_s),
                backuping_s=_first_set(instance.backup_backuping_s, self.backuping_s),
                error_code=scripted.popleft() if scripted else instance.backup_error_code,
                keys=instance.keys,
            )
            self._backups[instance_id].append(backup)
            self._evict_beyond_ring(instance_id)
            return backup

    def add_backup(
        self,
        instance_id: str,
        *,
        remark: str = "",
        backup_type: str = "manual",
        age_hours: float = 0.0,
        status: str = "succeed",
        error_code: str | None = None,
        backup_format: str = "rdb",
        size_bytes: int | None = None,
        keys: int | None = None,
    ) -> Backup:
        """Pre-seed a record DCS already holds (automatic, someone else's, old, failed); its status never changes."""
        if status not in BACKUP_STATUSES or backup_type not in ("manual", "auto"):
            raise ValueError(f"no such backup status or type: {status!r}, {backup_type!r}")
        with self._lock:
            self.instance(instance_id)
            if status not in GONE_BACKUP_STATUSES and self.backup_count(instance_id) >= MAX_BACKUPS_PER_INSTANCE:
                raise ValueError(f"{instance_id} already holds {MAX_BACKUPS_PER_INSTANCE} backups")
            backup = Backup(
                str(uuid.uuid4()),
                instance_id,
                remark,
                backup_format,
                self.clock() - age_hours * 3600,
                backup_type=backup_type,
                backuping_s=SEEDED_BACKUP_DURATION_S,
                error_code=error_code,
                pinned_status=status,
                size_bytes=size_bytes,
                keys=self.instance(instance_id).keys if keys is None else keys,
            )
            self._backups[instance_id].append(backup)
            return backup

    def backups(self, instance_id: str) -> list[Backup]:
        """Every record ListBackupRecords shows for the instance, newest first."""
        with self._lock:
            self.instance(instance_id)
            return sorted(self._backups[instance_id], key=lambda b: b.created_at, reverse=True)

    def backup_count(self, instance_id: str) -> int:
        """The backups that hold one of the instance's 24 slots (not deleted or expired ones)."""
        return sum(1 for b in self.backups(instance_id) if self.backup_status(b) not in GONE_BACKUP_STATUSES)

    def evicted(self, instance_id: str) -> list[str]:
        """Ids DCS deleted because a 25th backup was created, oldest eviction first."""
        with self._lock:
            return list(self._evicted[instance_id])

    def deleted(self, instance_id: str) -> list[str]:
        """Ids deleted through DeleteBackupFile, in order."""
        with self._lock:
            return list(self._deleted[instance_id])

    def delete_backup(self, instance_id: str, backup_id: str) -> None:
        with self._lock:
            self.instance(instance_id)
            backup = next((b for b in self._backups[instance_id] if b.backup_id == backup_id), None)
            if backup is None or self.backup_status(backup) in GONE_BACKUP_STATUSES:
                raise DcsApiError(500, "DCS.4101", "Delete instance backup file failed.")
            if self.backup_status(backup) in RUNNING_BACKUP_STATUSES:
                # DCS does not document this case. DCS.4096 ("the instance is backuping", 400, "try again
                # later") describes exactly why it cannot work now, and a 400 is not retried blindly;
                # DCS.4017 ("job task still running") or DCS.4026 (instance state) fit less precisely.
                raise DcsApiError(400, "DCS.4096", "the instance is backuping.")
            self._remove(backup)
            self._deleted[instance_id].append(backup_id)

    def backup_json(self, backup: Backup) -> dict[str, Any]:
        status = self.backup_status(backup)
        return {
            "backup_id": backup.backup_id,
            "backup_name": f"backup_{datetime.fromtimestamp(backup.created_at, timezone.utc):%Y%m%d%H%M%S}",
            "instance_id": backup.instance_id,
            "remark": backup.remark,
            "backup_format": backup.backup_format,
            "backup_type": backup.backup_type,
            "status": status,
            "progress": "100.00" if status == "succeed" else "0.00",
            "size": _backup_size(backup) if status == "succeed" else 0,
            "created_at": iso_time(backup.created_at),
            "updated_at": iso_time(self._updated_at(backup, status)),
            "execution_at": iso_time(backup.started_at),
            "period": {},
            "error_code": backup.error_code if status == "failed" and backup.error_code else {},
            "is_support_restore": "TRUE" if status == "succeed" else "FALSE",
        }

    def _updated_at(self, backup: Backup, status: str) -> float:
        """When the record last changed: created, started, or finished (not later than now)."""
        if status == "waiting":
            return backup.created_at
        if status == "backuping":
            return backup.started_at
        return min(backup.finished_at, self.clock())

    def instance_json(self, instance: Instance) -> dict[str, Any]:
        """ShowInstance's answer."""
        busy = any(self.backup_status(b) in RUNNING_BACKUP_STATUSES for b in self._backups[instance.instance_id])
        shown: dict[str, Any] = {
            "instance_id": instance.instance_id,
            "name": instance.name,
            "engine": "Redis",
            "engine_version": instance.engine_version,
            "status": instance.status,
            "cache_mode": instance.cache_mode,
            "spec_code": instance.spec_code,
            "capacity": instance.capacity,
            "tags": tags_json(instance),
            "instance_backup_policy": None,
            "task": "BACKUPING" if busy else "",
            "no_password_access": "true" if instance.password is None else "false",
        }
        if instance.omit_cache_mode:
            del shown["cache_mode"]
        return shown

    def _evict_beyond_ring(self, instance_id: str) -> None:
        """Creating the 25th backup deletes the oldest one, whoever made it."""
        held = [b for b in self._backups[instance_id] if self.backup_status(b) not in GONE_BACKUP_STATUSES]
        held.sort(key=lambda b: b.created_at)
        for backup in held[:-MAX_BACKUPS_PER_INSTANCE]:
            self._remove(backup)
            self._evicted[instance_id].append(backup.backup_id)

    def _remove(self, backup: Backup) -> None:
        if self.keep_deleted_records:
            backup.pinned_status = "deleted"
        else:
            self._backups[backup.instance_id].remove(backup)


def tags_json(instance: Instance) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in instance.tags.items()]


def _check_backup_body(remark: str, backup_format: str) -> None:
    if len(remark) > MAX_REMARK_LENGTH:
        raise DcsApiError(400, "DCS.4098", "The value of the remark parameter must be 0 to 128 characters in length.")
    if backup_format not in ("aof", "rdb"):
        raise malformed_request()


def _check_backupable(instance: Instance) -> None:
    if instance.cache_mode not in BACKUPABLE_MODES:
        raise DcsApiError(400, "DCS.4086", "only master standby instance is support this action")
    if instance.status != "RUNNING":
        raise DcsApiError(400, "DCS.4049", "The instance status is not running.")


def _first_set(override: float | None, default: float) -> float:
    return default if override is None else override


def _backup_size(backup: Backup) -> int:
    """The size a test chose, else a plausible, stable, nonzero one (1 MiB to 65 MiB) derived from the id."""
    if backup.size_bytes is not None:
        return backup.size_bytes
    return (1 << 20) + zlib.crc32(backup.backup_id.encode("utf-8")) % (64 << 20)
