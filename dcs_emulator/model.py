"""What the emulator stores: instances, backup records, and DCS's error answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

MAX_BACKUPS_PER_INSTANCE = 24
RUNNING_BACKUP_STATUSES = frozenset({"waiting", "backuping"})
# DCS may keep listing these, but they no longer hold a slot of the 24.
GONE_BACKUP_STATUSES = frozenset({"deleted", "expired"})
BACKUP_STATUSES = RUNNING_BACKUP_STATUSES | GONE_BACKUP_STATUSES | {"succeed", "failed"}
SEED_INSTANCE_CREATED_AT = 1_735_689_600.0  # 2025-01-01T00:00:00Z, for instances that name no creation time


def iso_time(epoch: float) -> str:
    """DCS's timestamp format, e.g. ``2019-05-10T08:31:16.166Z``."""
    return (
        datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


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
    """One DCS instance, plus knobs that make the emulator answer for it the way a test needs."""

    instance_id: str
    name: str
    cache_mode: str = "ha"
    status: str = "RUNNING"
    engine_version: str = "6.0"
    capacity: int = 1
    tags: dict[str, str] = field(default_factory=dict)
    omit_cache_mode: bool = False  # answer like DCS versions whose ShowInstance lacks cache_mode
    created_at: float = SEED_INSTANCE_CREATED_AT  # epoch seconds; ListInstances lists newest first
    list_tags_null: bool = False  # ListInstances shows "tags": null, so clients must ask ShowTags
    deleted: bool = False  # listed only with include_delete=true; every other call answers DCS.3022
    backup_waiting_s: float | None = None  # this instance's new backups wait this long (else the state's)
    backup_backuping_s: float | None = None  # ... and run this long (else the state's)
    backup_error_code: str | None = None  # every new backup of this instance ends "failed" with this code
    keys: int = 0  # what ListStatisticsOfRunningInstances reports; a restore or an import changes it
    password: str | None = None  # None: password-free access (no_password_access "true")
    used_memory_mb: int | None = None  # what the statistics report as used (else derived from the keys)

    @property
    def spec_code(self) -> str:
        mode = {"ha_rw_split": "ha", "proxy": "proxy", "cluster": "cluster", "single": "single"}.get(
            self.cache_mode, "ha"
        )
        return f"redis.{mode}.xu1.large.r2.{self.capacity}"


@dataclass
class Backup:
    """A backup record; without a pinned status it follows the clock: waiting → backuping → final."""

    backup_id: str
    instance_id: str
    remark: str
    backup_format: str
    created_at: float  # epoch seconds
    backup_type: str = "manual"
    waiting_s: float = 0.0
    backuping_s: float = 0.0
    error_code: str | None = None  # the code it ends "failed" with; None ends "succeed"
    failed: bool = False  # failed right now, whatever the clock says
    pinned_status: str | None = None  # a status that never changes (seeded records, deleted ones kept listed)
    size_bytes: int | None = None  # its size once succeeded (else one derived from the id)
    file_bytes: int | None = None  # what its linked files hold in all, when not its recorded size (files cut short)
    file_damage: str | None = None  # damage its stored file took (backup_files.DAMAGES), checked by verification
    keys: int = 0  # the instance's key count when it was taken (its first database's): what its files declare
    other_database_keys: int = 0  # keys in databases after the first: restored too, declared only further in

    @property
    def restored_keys(self) -> int:
        """What restoring or importing it brings back: every database's keys."""
        return self.keys + self.other_database_keys

    @property
    def started_at(self) -> float:
        return self.created_at + self.waiting_s

    @property
    def finished_at(self) -> float:
        return self.started_at + self.backuping_s
