"""Plan mode: what a restore would do, in words, from what the guards already read (nothing is written)."""

from __future__ import annotations

from typing import Any

from dcs_backup.dcs.models import InstanceInfo

_CALLS = {
    "in_place": "RestoreInstance: the instance's data is overwritten; it serves nothing for 1 to 30 minutes",
    "backup_record": "CreateMigrationTask (backupfile_import, backup_record): the backup is imported into it",
    "self_build_obs": "CreateMigrationTask (backupfile_import, self_build_obs): the files are imported into it",
}


def restore_plan(
    target: InstanceInfo, source: dict[str, Any] | None, kind: str, *, safety: bool, overwrites: bool
) -> dict[str, Any]:
    """The target, the source, the safety backup (or none), whether data is overwritten, and the DCS call."""
    return {
        "target": {"instance_id": target.instance_id, "name": target.name, "status": target.status},
        "source": source,
        "safety_backup": f"a new backup of {target.instance_id} is taken and waited for first" if safety else None,
        "overwrites_data": overwrites,
        "dcs_call": _CALLS[kind],
    }
