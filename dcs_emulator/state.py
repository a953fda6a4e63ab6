"""Instances and their backups, with DCS's rules for creating, listing and deleting backups."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MAX_BACKUPS_PER_INSTANCE = 24
MAX_REMARK_LENGTH = 128
BACKUPABLE_MODES = frozenset({"ha", "ha_rw_split", "proxy", "cluster"})
DEFAULT_SEED = Path(__file__).with_name("seed.json")


class DcsApiError(Exception):
    """An answer DCS gives as ``{"error_code", "error_msg"}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def malformed_request(
    message: str = "The message body contains invalid characters or is not in JSON format.",
) -> DcsApiError:
    """DCS's answer to a request it cannot parse (111400005)."""
    return DcsApiError(400, "111400005", message)


def instance_not_found() -> DcsApiError:
    return DcsApiError(404, "DCS.3022", "This DCS instance does not exist.")


@dataclass
class Instance:
    instance_id: str
    name: str
    cache_mode: str = "ha"
    status: str = "RUNNING"
    engine_version: str = "6.0"
    capacity: int = 1
    tags: dict[str, str] = field(default_factory=dict)
    omit_cache_mode: bool = False  # answer like DCS versions whose ShowInstance lacks cache_mode

    @property
    def spec_code(self) -> str:
        mode = {"ha_rw_split": "ha", "proxy": "proxy", "cluster": "cluster", "single": "single"}.get(
            self.cache_mode, "ha"
        )
        return f"redis.{mode}.xu1.large.r2.{self.capacity}"


@dataclass
class Backup:
    backup_id: str
    instance_id: str
    remark: str
    backup_format: str
    created_at: float  # epoch seconds
    failed: bool = False


class EmulatorState:
    """Thread-safe store; backup status follows the clock: waiting → backuping → succeed."""

    def __init__(
        self,
        project_id: str,
        credentials: Mapping[str, str],
        *,
        security_tokens: Mapping[str, str] | None = None,
        waiting_s: float = 1.0,
        backuping_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.project_id = project_id
        self.credentials = dict(credentials)
        self.security_tokens = dict(security_tokens or {})
        self.waiting_s = waiting_s
        self.backuping_s = backuping_s
        self.clock = clock
        self.instances: dict[str, Instance] = {}
        self._backups: dict[str, list[Backup]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_seed(cls, path: Path = DEFAULT_SEED, **overrides: Any) -> EmulatorState:
        """Build from a seed file: ``project_id``, ``credentials`` {ak: sk}, ``instances`` [...]."""
        seed = json.loads(Path(path).read_text(encoding="utf-8"))
        state = cls(seed["project_id"], seed["credentials"], security_tokens=seed.get("security_tokens"), **overrides)
        for item in seed["instances"]:
            state.add_instance(Instance(**item))
        return state

    def add_instance(self, instance: Instance) -> None:
        with self._lock:
            self.instances[instance.instance_id] = instance
            self._backups.setdefault(instance.instance_id, [])

    def instance(self, instance_id: str) -> Instance:
        found = self.instances.get(instance_id)
        if found is None:
            raise instance_not_found()
        return found

    def backup_status(self, backup: Backup) -> str:
        if backup.failed:
            return "failed"
        age = self.clock() - backup.created_at
        if age < self.waiting_s:
            return "waiting"
        if age < self.waiting_s + self.backuping_s:
            return "backuping"
        return "succeed"

    def create_backup(self, instance_id: str, remark: str, backup_format: str) -> Backup:
        """DCS's rules: backupable mode, RUNNING, one backup at a time, at most 24 kept."""
        if len(remark) > MAX_REMARK_LENGTH:
            raise DcsApiError(
                400, "DCS.4098", "The value of the remark parameter must be 0 to 128 characters in length."
            )
        if backup_format not in ("aof", "rdb"):
            raise malformed_request()
        with self._lock:
            instance = self.instance(instance_id)
            if instance.cache_mode not in BACKUPABLE_MODES:
                raise DcsApiError(400, "DCS.4086", "only master standby instance is support this action")
            if instance.status != "RUNNING":
                raise DcsApiError(400, "DCS.4049", "The instance status is not running.")
            backups = self._backups[instance_id]
            if any(self.backup_status(b) in ("waiting", "backuping") for b in backups):
                raise DcsApiError(400, "DCS.4096", "the instance is backuping.")
            backup = Backup(str(uuid.uuid4()), instance_id, remark, backup_format, self.clock())
            backups.append(backup)
            del backups[:-MAX_BACKUPS_PER_INSTANCE]
            return backup

    def backups(self, instance_id: str) -> list[Backup]:
        """The instance's backups, newest first."""
        with self._lock:
            self.instance(instance_id)
            return sorted(self._backups[instance_id], key=lambda b: b.created_at, reverse=True)

    def delete_backup(self, instance_id: str, backup_id: str) -> None:
        with self._lock:
            self.instance(instance_id)
            kept = [b for b in self._backups[instance_id] if b.backup_id != backup_id]
            if len(kept) == len(self._backups[instance_id]):
                raise DcsApiError(404, "DCS.4101", "Failed to delete the backup file.")
            self._backups[instance_id] = kept

    def backup_count(self, instance_id: str) -> int:
        return len(self.backups(instance_id))

    def backup_json(self, backup: Backup) -> dict[str, Any]:
        status = self.backup_status(backup)
        created = _iso(backup.created_at)
        return {
            "backup_id": backup.backup_id,
            "backup_name": f"backup_{datetime.fromtimestamp(backup.created_at, timezone.utc):%Y%m%d%H%M%S}",
            "instance_id": backup.instance_id,
            "remark": backup.remark,
            "backup_format": backup.backup_format,
            "backup_type": "manual",
            "status": status,
            "progress": "100.00" if status == "succeed" else "0.00",
            "size": 1024 if status == "succeed" else 0,
            "created_at": created,
            "updated_at": created,
            "execution_at": created,
            "period": {},
            "error_code": {},
            "is_support_restore": "TRUE",
        }

    def instance_json(self, instance: Instance) -> dict[str, Any]:
        busy = any(self.backup_status(b) in ("waiting", "backuping") for b in self._backups[instance.instance_id])
        shown: dict[str, Any] = {
            "instance_id": instance.instance_id,
            "name": instance.name,
            "engine": "Redis",
            "engine_version": instance.engine_version,
            "status": instance.status,
            "cache_mode": instance.cache_mode,
            "spec_code": instance.spec_code,
            "capacity": instance.capacity,
            "tags": [{"key": k, "value": v} for k, v in instance.tags.items()],
            "instance_backup_policy": None,
            "task": "BACKUPING" if busy else "",
        }
        if instance.omit_cache_mode:
            del shown["cache_mode"]
        return shown


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )
