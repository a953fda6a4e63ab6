"""ListBackupFileLinks: publish a succeeded backup's files in object storage and sign a link to each.

The files' sizes add up to the record's ``size`` in ListBackupRecords (a cluster's is split across
its three shards), so a client can check what it downloaded against what DCS listed; a backup's
``file_bytes`` makes them add up to something else (files cut short in storage).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dcs_emulator.backup_files import backup_files
from dcs_emulator.model import DcsApiError, malformed_request
from dcs_emulator.state import BACKUPABLE_MODES, EmulatorState

if TYPE_CHECKING:
    from dcs_emulator.obs_server import ObsEmulator

BACKUP_BUCKET = "dcs-backup-files"
MIN_EXPIRATION_S = 300
MAX_EXPIRATION_S = 86_400


def backup_links(
    state: EmulatorState, storage: ObsEmulator | None, params: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """DCS's answer: ``file_path``, ``bucket_name`` and ``links`` [{file_name, link}]."""
    expiration = body.get("expiration")
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        raise malformed_request()
    if not MIN_EXPIRATION_S <= expiration <= MAX_EXPIRATION_S:
        raise malformed_request("Invalid expiration: 300 to 86400 seconds.")
    instance = state.instance(params["instance"])
    if instance.cache_mode not in BACKUPABLE_MODES:
        raise DcsApiError(400, "DCS.4086", "only master standby instance is support this action")
    backup = next((b for b in state.backups(instance.instance_id) if b.backup_id == params["backup"]), None)
    if backup is None or state.backup_status(backup) != "succeed":
        # Emulator's choice: DCS documents no code for a backup that has no files.
        raise DcsApiError(400, "DCS.4133", "The backup does not exist or has not succeeded.")
    if storage is None:
        raise DcsApiError(500, "DCS.5000", "Internal service error.")
    created = datetime.fromtimestamp(backup.created_at, timezone.utc).strftime("%Y%m%d%H%M%S")
    files = backup_files(
        instance.instance_id,
        backup.backup_id,
        cluster=instance.cache_mode == "cluster",
        size=backup.file_bytes if backup.file_bytes is not None else int(state.backup_json(backup)["size"]),
        created=created,
        backup_format=backup.backup_format,
        damage=backup.file_damage,
        keys=backup.keys,
    )
    path = f"{instance.instance_id}/{backup.backup_id}"
    links = []
    for generated in files:
        key = f"{path}/{generated.file_name}"
        storage.store.publish(BACKUP_BUCKET, key, generated)
        links.append({"file_name": generated.file_name, "link": storage.presign(BACKUP_BUCKET, key, expiration)})
    return {"file_path": path, "bucket_name": BACKUP_BUCKET, "links": links}
