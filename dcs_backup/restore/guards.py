"""The guards of a restore: pure rules over what DCS said, each naming itself when it refuses.

Every guard runs before anything is written; each refusal says what to change. HTTP callers get 403
for who may be written to (targets, confirmation, passwords) and 409 for the state of things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from dcs_backup.config import Settings
from dcs_backup.dcs.models import (
    BACKUPABLE_MODES,
    READY_STATUS,
    BackupRecord,
    InstanceInfo,
    MigrationTask,
    RestoreRecord,
    is_instance_id,
)
from dcs_backup.idempotency import made_for_request
from dcs_backup.restore.source import is_safety_backup

RING_SIZE = 24  # DCS keeps 24 backups per instance; creating one more deletes the oldest
GONE_BACKUP_STATUSES = frozenset({"deleted", "expired"})
# OBS's archive classes: DCS fails an import from them until the objects are restored.
ARCHIVE_STORAGE_CLASSES = frozenset({"COLD", "DEEP_ARCHIVE", "GLACIER"})
RESTORES_DISABLED = "restores are disabled: set DCS_RESTORE_TARGETS"
RUNNING_RESTORE_STATUSES = frozenset({"waiting", "restoring"})


class ExportedObject(NamedTuple):
    """What OBS says of one object to import: its size (None: not there), class, and the export's metadata."""

    key: str
    size: int | None
    storage_class: str | None = None
    backup_id: str | None = None  # the export's dcs-backup-id
    source_size: int | None = None  # the export's dcs-source-size: the whole backup's bytes
    verified_format: str | None = None  # dcs-verified-format: set once the file passed its check in the stream
    rdb_version: int | None = None  # dcs-rdb-version: the RDB format the file declared
    declared_keys: int | None = None  # dcs-keys-by-db summed: the keys the file declared


class Refusal(NamedTuple):
    """Which guard refused, why, and the HTTP status an API caller gets."""

    guard: str
    reason: str
    http_status: int


def target_refusal(instance_id: str, settings: Settings) -> Refusal | None:
    """Only DCS_RESTORE_TARGETS may be written to (and DCS_ALLOWED_INSTANCE_IDS too, when set)."""
    if not settings.restore_targets:
        return Refusal("restore_targets", RESTORES_DISABLED, 403)
    if instance_id not in settings.restore_targets:
        return Refusal("restore_targets", f"instance {instance_id} is not in DCS_RESTORE_TARGETS", 403)
    allowed = settings.allowed_instance_ids
    if allowed is not None and instance_id not in allowed:
        return Refusal("allowed_instance_ids", f"instance {instance_id} is not in DCS_ALLOWED_INSTANCE_IDS", 403)
    return None


def confirmation_refusal(instance: InstanceInfo, confirm_name: str) -> Refusal | None:
    """The caller names the instance as DCS shows it now: a typo or a stale id refuses."""
    if instance.name == confirm_name:
        return None
    return Refusal(
        "confirm_instance_name",
        f"confirm_instance_name does not match the current name of instance {instance.instance_id}",
        403,
    )


def state_refusal(instance: InstanceInfo) -> Refusal | None:
    """A RUNNING master/standby or cluster instance; one being restored is reported as such."""
    if instance.status == "RESTORING":
        return Refusal("restore_running", f"instance {instance.instance_id} is being restored already", 409)
    if instance.cache_mode not in BACKUPABLE_MODES:
        return Refusal(
            "instance_state",
            f"instance {instance.instance_id} is {instance.cache_mode or 'of an unknown type'}; only master/standby "
            "and cluster instances can be restored",
            409,
        )
    if instance.status != READY_STATUS:
        return Refusal(
            "instance_state",
            f"instance {instance.instance_id} is {instance.status}; only {READY_STATUS} instances can be restored",
            409,
        )
    return None


def running_restore_refusal(records: Iterable[RestoreRecord]) -> Refusal | None:
    """Another restore of the instance is queued or running."""
    running = next((r for r in records if r.status in RUNNING_RESTORE_STATUSES), None)
    if running is None:
        return None
    return Refusal("restore_running", f"restore {running.restore_id} of this instance is {running.status}", 409)


def running_import_refusal(tasks: Iterable[MigrationTask], instance_id: str) -> Refusal | None:
    """A backup import into the instance has not ended (whoever started it)."""
    running = next((t for t in tasks if t.target_instance_id == instance_id and not t.finished), None)
    if running is None:
        return None
    return Refusal("restore_running", f"import task {running.task_id} into this instance is {running.status}", 409)


def other_safety_backup_refusal(records: Iterable[BackupRecord], tag: str) -> Refusal | None:
    """Another restore request's safety backup of the instance is still being taken: that restore comes next."""
    running = next(
        (
            r
            for r in records
            if is_safety_backup(r) and not made_for_request(r, tag) and r.status in ("waiting", "backuping")
        ),
        None,
    )
    if running is None:
        return None
    return Refusal(
        "restore_running",
        f"another restore request's safety backup {running.backup_id} of this instance is {running.status}",
        409,
    )


def backup_refusal(record: BackupRecord | None, backup_id: str | None, source_instance_id: str) -> Refusal | None:
    """The backup belongs to the source instance, succeeded, and DCS says it can be restored."""
    if record is None:
        what = f"backup {backup_id} is not" if backup_id else "there is no restorable backup"
        return Refusal("backup_restorable", f"{what} among the backups of instance {source_instance_id}", 409)
    if not record.restorable:
        return Refusal(
            "backup_restorable",
            f"backup {record.backup_id} is {record.status} with is_support_restore {record.is_support_restore}; "
            'only a succeeded backup with is_support_restore "TRUE" can be restored',
            409,
        )
    return None


def eviction_refusal(records: Iterable[BackupRecord], chosen: BackupRecord) -> Refusal | None:
    """A safety backup of a full instance makes DCS delete its oldest backup: never the one to restore."""
    held = [r for r in records if r.status not in GONE_BACKUP_STATUSES]
    if len(held) < RING_SIZE or min(held, key=lambda r: r.created_by_dcs_clock).backup_id != chosen.backup_id:
        return None
    return Refusal(
        "safety_backup_evicts_source",
        f"the instance holds {len(held)} backups and {chosen.backup_id} is the oldest: the safety backup would make "
        "DCS delete it; delete another backup first (or set backup_before_restore to false)",
        409,
    )


def emptiness_refusal(instance_id: str, keys: int | None, allow_non_empty: bool) -> Refusal | None:
    """An import does not clear the target: one that holds keys is refused unless the caller allows it."""
    if keys is None:
        return Refusal(
            "target_not_empty",
            f"the key count of instance {instance_id} is unknown (not in ListStatisticsOfRunningInstances)",
            409,
        )
    if keys and not allow_non_empty:
        return Refusal(
            "target_not_empty",
            f"instance {instance_id} holds {keys} keys; an import keeps them and overwrites equal keys: "
            "empty it first, or set allow_non_empty_target",
            409,
        )
    return None


def password_refusal(instance: InstanceInfo, passwords: Mapping[str, str]) -> Refusal | None:
    """An import into an instance with a password needs it configured (DCS_TARGET_PASSWORDS)."""
    if instance.password_free is True or instance.instance_id in passwords:
        return None
    return Refusal(
        "target_password",
        f"instance {instance.instance_id} needs a password and DCS_TARGET_PASSWORDS has none for it",
        403,
    )


def version_refusal(source: InstanceInfo, target: InstanceInfo) -> Refusal | None:
    """DCS imports into the same or a later Redis version only; a later source's files may not load."""
    source_version, target_version = _version(source.engine_version), _version(target.engine_version)
    if source_version is None or target_version is None or source_version <= target_version:
        return None
    return Refusal(
        "engine_version",
        f"the backup comes from Redis {source.engine_version}, newer than the target's {target.engine_version}",
        409,
    )


# The first Redis release that loads each RDB format (a loader refuses a version above its own).
REDIS_FOR_RDB = {6: (2, 6), 7: (3, 2), 8: (4, 0), 9: (5, 0), 10: (7, 0), 11: (7, 2), 12: (7, 4)}


def rdb_version_refusal(objects: Iterable[ExportedObject], target: InstanceInfo) -> Refusal | None:
    """An exported RDB (or AOF preamble) of a format newer than the target's Redis loads is refused."""
    target_version = _version(target.engine_version)
    versions = [o.rdb_version for o in objects if o.rdb_version is not None]
    if target_version is None or not versions:
        return None
    newest = max(versions)
    needed = REDIS_FOR_RDB.get(newest, (99,))
    if needed <= target_version[: len(needed)]:
        return None
    shown = ".".join(map(str, needed)) if newest in REDIS_FOR_RDB else "a later Redis"
    return Refusal(
        "engine_version",
        f"the exported files are RDB version {newest} (Redis {shown} or later), newer than the target's "
        f"Redis {target.engine_version} loads",
        409,
    )


def _version(text: str | None) -> tuple[int, ...] | None:
    parts = (text or "").split(".")
    return tuple(int(p) for p in parts) if all(p.isascii() and p.isdigit() for p in parts) else None


def export_source_refusal(objects: Iterable[ExportedObject], source_instance_id: str) -> Refusal | None:
    """Files in the export layout (``…/{instance_id}/{backup_id}/{file}``) belong to the source instance."""
    for exported in objects:
        parts = exported.key.split("/")
        if len(parts) >= 3 and is_instance_id(parts[-3]) and parts[-3] != source_instance_id:
            return Refusal(
                "export_source",
                f"{exported.key} is an export of instance {parts[-3]}, not of the source instance "
                f"{source_instance_id}: set source_instance_id to restore another instance's export",
                409,
            )
    return None


def export_refusal(objects: list[ExportedObject]) -> Refusal | None:
    """The objects are there, in a class DCS can import, and are one whole export: the files of one backup
    (its dcs-backup-id on each) whose sizes add up to the backup's (dcs-source-size)."""
    missing = [o.key for o in objects if o.size is None]
    if missing:
        return Refusal("export_complete", f"not in the bucket: {', '.join(missing[:5])}", 409)
    unverified = [o.key for o in objects if o.verified_format is None]
    if unverified:
        return Refusal(
            "export_verified",
            "not verified when exported (no dcs-verified-format metadata: copied by an earlier version, or its "
            f"labelling failed; export the backup again): {', '.join(unverified[:5])}",
            409,
        )
    folders = {o.key.rpartition("/")[0] for o in objects}
    names = [o.key.rpartition("/")[2] for o in objects]
    if len(folders) != 1 or len(set(names)) != len(names):
        return Refusal(
            "export_complete",
            "the objects are not the files of one export: each file once, all in one {instance_id}/{backup_id}/ folder",
            409,
        )
    archived = [o.key for o in objects if (o.storage_class or "").upper() in ARCHIVE_STORAGE_CLASSES]
    if archived:
        return Refusal(
            "export_storage_class",
            f"in an archive storage class, which DCS cannot import (restore them first): {', '.join(archived[:5])}",
            409,
        )
    backups = {o.backup_id for o in objects}
    if len(backups) != 1 or None in backups:
        return Refusal(
            "export_complete",
            "the objects are not the files of one export (each carries its backup's dcs-backup-id metadata)",
            409,
        )
    held = sum(o.size or 0 for o in objects)
    expected = {o.source_size for o in objects}
    if len(expected) != 1 or None in expected or held != next(iter(expected)):
        return Refusal(
            "export_complete",
            f"the objects hold {held} bytes, not the backup's size (dcs-source-size): list every file of the export",
            409,
        )
    return None
