"""Restores and backup imports, with DCS's rules: RestoreInstance, ListRestoreRecords, the migration tasks,
and the per-instance statistics a test reads to tell that a restore happened."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dcs_emulator.model import RUNNING_BACKUP_STATUSES, DcsApiError, iso_time, malformed_request

if TYPE_CHECKING:
    from dcs_emulator.state import EmulatorState

MAX_REMARK_LENGTH = 128
RESTORABLE_MODES = frozenset({"ha", "ha_rw_split", "proxy", "cluster"})
TASK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{3,63}")
# What an import of an OBS file adds to the target, per file (the emulator does not parse the file).
KEYS_PER_IMPORTED_FILE = 1000
# The SDK documents flush for "only Redis 4.0 and Redis 5.0 instances" (ChangeInstanceStatusBody.action).
FLUSHABLE_VERSIONS = frozenset({"4.0", "5.0"})


@dataclass
class Restore:
    """One RestoreInstance: waiting → restoring → succeed or failed, on its own clock."""

    restore_id: str
    instance_id: str
    backup_id: str
    backup_name: str
    backup_remark: str
    remark: str
    created_at: float
    waiting_s: float
    restoring_s: float
    keys: int
    error_code: str | None = None
    settled: bool = False

    @property
    def finished_at(self) -> float:
        return self.created_at + self.waiting_s + self.restoring_s


@dataclass
class MigrationTask:
    """One backup import: MIGRATING → SUCCESS or FAILED."""

    task_id: str
    name: str
    description: str
    target_id: str
    backup_files: dict[str, Any]
    created_at: float
    running_s: float
    keys: int
    error: str | None = None
    settled: bool = False

    @property
    def finished_at(self) -> float:
        return self.created_at + self.running_s


class RestoreDesk:
    """The restores and imports of one emulator state; ``settle()`` applies what finished (keys, status)."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.waiting_s = 0.1
        self.restoring_s = 0.3
        self.import_s = 0.3
        self.flush_s = 0.1
        self._flushes: dict[str, float] = {}  # instance id → when its flush empties it
        self._restores: defaultdict[str, list[Restore]] = defaultdict(list)
        self._tasks: dict[str, MigrationTask] = {}
        self._failing_restores: defaultdict[str, deque[str]] = defaultdict(deque)
        self._failing_imports: defaultdict[str, deque[str]] = defaultdict(deque)
        self._failing_flushes: set[str] = set()
        # How many keys an object in the bucket declares (None: not a loadable RDB); set when object storage runs.
        self.object_keys: Callable[[str, str], int | None] | None = None

    def fail_next_restore(self, instance_id: str, error_code: str = "dcs.08.0007") -> None:
        """The instance's next restore ends ``failed`` with ``error_code`` (and its data stays as it was)."""
        self._failing_restores[instance_id].append(error_code)

    def fail_next_import(self, target_id: str, message: str = "import backup file failed") -> None:
        """The next import into the target ends FAILED with ``message``."""
        self._failing_imports[target_id].append(message)

    def fail_next_flush(self, instance_id: str) -> None:
        """The instance's next flush is answered ``failed`` for it (and its data stays as it was)."""
        self._failing_flushes.add(instance_id)

    def restore_status(self, restore: Restore) -> str:
        now = self._state.clock()
        if now < restore.created_at + restore.waiting_s:
            return "waiting"
        if now < restore.finished_at:
            return "restoring"
        return "failed" if restore.error_code else "succeed"

    def task_status(self, task: MigrationTask) -> str:
        if self._state.clock() < task.finished_at:
            return "MIGRATING"
        return "FAILED" if task.error else "SUCCESS"

    def settle(self) -> None:
        """What finished takes effect: the instance runs again and holds the restored or imported keys."""
        with self._state.lock:
            for restores in self._restores.values():
                for restore in restores:
                    status = self.restore_status(restore)
                    if restore.settled or status in ("waiting", "restoring"):
                        continue
                    restore.settled = True
                    instance = self._state.instances[restore.instance_id]
                    instance.status = "RUNNING"
                    if status == "succeed":
                        instance.keys = restore.keys
            for task in self._tasks.values():
                if not task.settled and self.task_status(task) != "MIGRATING":
                    task.settled = True
                    if task.error is None:
                        self._state.instances[task.target_id].keys += task.keys
            self._settle_flushes()

    def _refuse_beside_an_import(self, instance_id: str) -> None:
        """DCS runs one job on an instance at a time: a restore or an import beside an unfinished import into
        it is refused (under the state's lock)."""
        if any(t.target_id == instance_id and self.task_status(t) == "MIGRATING" for t in self._tasks.values()):
            raise DcsApiError(400, "DCS.4017", "This DCS instance job task is still running.")

    def end_flushes(self) -> None:
        """Every flush under way ends now (a test's shortcut past ``flush_s``)."""
        with self._state.lock:
            self._flushes = dict.fromkeys(self._flushes, 0.0)

    def _settle_flushes(self) -> None:
        """A flush whose time is up has emptied its instance, which runs again (under the state's lock)."""
        now = self._state.clock()
        for instance_id, empties_at in list(self._flushes.items()):
            if now >= empties_at:
                del self._flushes[instance_id]
                flushed = self._state.instances[instance_id]
                flushed.keys = 0
                if flushed.status == "FLUSHING":
                    flushed.status = "RUNNING"

    def flush(self, body: dict[str, Any]) -> list[dict[str, str]]:
        """RestartOrFlushInstances with ``action: flush``: each RUNNING Redis 4.0 or 5.0 instance is FLUSHING for
        ``flush_s``, then empty and RUNNING; any other is answered ``failed`` in the results per instance, as DCS
        answers a batch."""
        ids, action = body.get("instances"), body.get("action")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise malformed_request("Invalid instances.")
        if action not in ("flush", "restart", "soft_restart"):
            raise malformed_request("Invalid action.")
        if action != "flush":
            raise DcsApiError(400, "DCS.4999", "the emulator only flushes instances")
        results = []
        with self._state.lock:
            for instance_id in ids:
                instance = self._state.instances.get(instance_id)
                ok = (
                    instance is not None
                    and not instance.deleted
                    and instance.status == "RUNNING"
                    and instance.engine_version in FLUSHABLE_VERSIONS
                    and instance_id not in self._failing_flushes
                )
                self._failing_flushes.discard(instance_id)
                if ok:
                    assert instance is not None
                    self._flushes[instance_id] = self._state.clock() + self.flush_s
                    instance.status = "FLUSHING"  # as DCS shows it until the data is gone
                results.append({"instance": instance_id, "result": "success" if ok else "failed"})
        return results

    def restore(self, instance_id: str, body: dict[str, Any]) -> Restore:
        """RestoreInstance: a RUNNING master/standby or cluster instance, from one of its succeeded backups."""
        backup_id, remark = body.get("backup_id"), body.get("remark") or ""
        if not isinstance(backup_id, str) or not backup_id or not isinstance(remark, str):
            raise malformed_request()
        if len(remark) > MAX_REMARK_LENGTH:
            raise DcsApiError(400, "DCS.4098", "The value of the remark parameter must be 0 to 128 characters.")
        state = self._state
        with state.lock:
            instance = state.instance(instance_id)
            if instance.cache_mode not in RESTORABLE_MODES:
                raise DcsApiError(400, "DCS.4086", "only master standby instance is support this action")
            if instance.status == "RESTORING":
                raise DcsApiError(400, "DCS.4097", "the instance is restoring.")
            self._refuse_beside_an_import(instance_id)
            backups = state.backups(instance_id)
            if any(state.backup_status(b) in RUNNING_BACKUP_STATUSES for b in backups):
                raise DcsApiError(400, "DCS.4096", "the instance is backuping.")
            if instance.status != "RUNNING":
                raise DcsApiError(400, "DCS.4049", "The instance status is not running.")
            backup = next((b for b in backups if b.backup_id == backup_id), None)
            # Another instance's backup, or one that did not succeed: DCS answers the same (undocumented case).
            if backup is None or state.backup_status(backup) != "succeed":
                raise DcsApiError(400, "DCS.4087", "the backup record status is err when restore this instance")
            failing = self._failing_restores[instance_id]
            restore = Restore(
                restore_id=str(uuid.uuid4()),
                instance_id=instance_id,
                backup_id=backup_id,
                backup_name=f"backup_{_stamp(backup.created_at)}",
                backup_remark=backup.remark,
                remark=remark,
                created_at=state.clock(),
                waiting_s=self.waiting_s,
                restoring_s=self.restoring_s,
                keys=backup.restored_keys,
                error_code=failing.popleft() if failing else None,
            )
            self._restores[instance_id].append(restore)
            instance.status = "RESTORING"
            return restore

    def restores(self, instance_id: str) -> list[Restore]:
        """The instance's restore records, newest first."""
        with self._state.lock:
            self._state.instance(instance_id)
            return sorted(self._restores[instance_id], key=lambda r: r.created_at, reverse=True)

    def restore_json(self, restore: Restore) -> dict[str, Any]:
        status = self.restore_status(restore)
        finished = status in ("succeed", "failed")
        return {
            "restore_id": restore.restore_id,
            "restore_name": f"restore_{_stamp(restore.created_at)}",
            "backup_id": restore.backup_id,
            "backup_name": restore.backup_name,
            "backup_remark": restore.backup_remark or {},
            "restore_remark": restore.remark,
            "created_at": iso_time(restore.created_at),
            "updated_at": iso_time(restore.finished_at if finished else restore.created_at),
            "progress": "100.00" if finished else "0.00",
            "status": status,
            "error_code": restore.error_code if status == "failed" else {},
        }

    def create_task(self, body: dict[str, Any]) -> MigrationTask:
        """CreateMigrationTask for ``backupfile_import``: a backup record or OBS files into a RUNNING target."""
        name, files, target = body.get("task_name"), body.get("backup_files"), body.get("target_instance")
        if not isinstance(name, str) or not TASK_NAME.fullmatch(name):
            raise malformed_request("Invalid task_name.")
        if body.get("migration_type") != "backupfile_import" or not isinstance(files, dict):
            raise malformed_request("Invalid migration_type or backup_files.")
        if not isinstance(target, dict) or not isinstance(target.get("id"), str):
            raise malformed_request("Invalid target_instance.")
        state = self._state
        with state.lock:
            instance = state.instance(target["id"])
            if instance.status == "RESTORING":
                raise DcsApiError(400, "DCS.4097", "the instance is restoring.")
            self._refuse_beside_an_import(instance.instance_id)
            if instance.status != "RUNNING":
                raise DcsApiError(400, "DCS.4049", "The instance status is not running.")
            if instance.password is not None and target.get("password") != instance.password:
                raise DcsApiError(400, "DCS.4080", "Instance password verify failed.")
            keys = self._imported_keys(files)
            failing = self._failing_imports[instance.instance_id]
            if failing or not (damaged := self._damaged_record(files)):
                error = failing.popleft() if failing else None
            else:
                error = f"the backup file cannot be loaded: {damaged}"
            task = MigrationTask(
                task_id=str(uuid.uuid4()),
                name=name,
                description=str(body.get("description") or ""),
                target_id=instance.instance_id,
                backup_files=files,
                created_at=state.clock(),
                running_s=self.import_s,
                keys=keys,
                error=error,
            )
            self._tasks[task.task_id] = task
            return task

    def _damaged_record(self, files: dict[str, Any]) -> str | None:
        """The damage of the backup record an import reads (the engine refuses such a file), if any."""
        if files.get("file_source") == "self_build_obs" and self.object_keys is not None:
            listed = [f.get("file_name") for f in files.get("files") or [] if isinstance(f, dict)]
            unloadable = [n for n in listed if self.object_keys(str(files.get("bucket_name")), str(n)) is None]
            return f"not a loadable RDB: {unloadable[0]}" if unloadable else None
        if files.get("file_source") != "backup_record":
            return None
        for instance_id in self._state.instances:
            for backup in self._state.backups(instance_id):
                if backup.backup_id == files.get("backup_id"):
                    return backup.file_damage
        return None

    def _imported_keys(self, files: dict[str, Any]) -> int:
        """What the import brings: the backup record's keys, or a fixed count per OBS file."""
        source = files.get("file_source")
        if source == "backup_record":
            backup_id = files.get("backup_id")
            for instance_id in self._state.instances:
                for backup in self._state.backups(instance_id):
                    if backup.backup_id == backup_id and self._state.backup_status(backup) == "succeed":
                        return backup.restored_keys
            raise DcsApiError(400, "DCS.4087", "the backup record status is err when restore this instance")
        listed = files.get("files")
        names = [f.get("file_name") for f in listed if isinstance(f, dict)] if isinstance(listed, list) else []
        named = bool(names) and len(names) == len(listed or []) and all(isinstance(n, str) for n in names)
        if source == "self_build_obs" and isinstance(files.get("bucket_name"), str) and named:
            if self.object_keys is None:
                return KEYS_PER_IMPORTED_FILE * len(names)
            declared = [self.object_keys(files["bucket_name"], str(n)) for n in names]
            return sum(d or 0 for d in declared)
        raise malformed_request("Invalid backup_files.")

    def task(self, task_id: str) -> MigrationTask:
        with self._state.lock:
            found = self._tasks.get(task_id)
        if found is None:
            raise DcsApiError(400, "DCS.4133", "The migration task does not exist.")
        return found

    def tasks(self, name: str | None) -> list[MigrationTask]:
        """ListMigrationTask, newest first; ``name`` filters by a part of the task name."""
        with self._state.lock:
            found = [t for t in self._tasks.values() if not name or name in t.name]
        return sorted(found, key=lambda t: t.created_at, reverse=True)

    def task_json(self, task: MigrationTask) -> dict[str, Any]:
        """ShowMigrationTask's answer; times as DCS writes them for tasks (``yyyy/MM/dd HH:mm:ss``)."""
        status = self.task_status(task)
        return {
            "task_id": task.task_id,
            "task_name": task.name,
            "description": task.description,
            "status": status,
            "migration_type": "backupfile_import",
            "migration_method": "full_amount_migration",
            "backup_files": task.backup_files,
            "target_instance": {"id": task.target_id, "name": self._state.instances[task.target_id].name},
            "created_at": _slashed(task.created_at),
            "updated_at": _slashed(task.finished_at if status != "MIGRATING" else task.created_at),
        }

    def task_list_item(self, task: MigrationTask) -> dict[str, Any]:
        shown = self.task_json(task)
        return {
            "task_id": task.task_id,
            "task_name": task.name,
            "description": task.description,
            "status": shown["status"],
            "migration_type": "backupfile_import",
            "migration_method": "full_amount_migration",
            "data_source": task.backup_files.get("file_source"),
            "target_instance_id": task.target_id,
            "created_at": shown["created_at"],
            "error_message": task.error if shown["status"] == "FAILED" else "",
        }

    def statistics(self) -> list[dict[str, Any]]:
        """ListStatisticsOfRunningInstances: every RUNNING instance's key count and memory."""
        with self._state.lock:
            running = [i for i in self._state.instances.values() if i.status == "RUNNING" and not i.deleted]
            return [
                {
                    "instance_id": i.instance_id,
                    "keys": i.keys,
                    "used_memory": i.used_memory_mb if i.used_memory_mb is not None else i.keys // 1000,
                    "max_memory": i.capacity * 1024,
                    "cmd_get_count": 0,
                    "cmd_set_count": 0,
                    "used_cpu": "0",
                    "input_kbps": "0",
                    "output_kbps": "0",
                }
                for i in running
            ]


def _stamp(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, timezone.utc):%Y%m%d%H%M%S}"


def _slashed(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, timezone.utc):%Y/%m/%d %H:%M:%S}"
