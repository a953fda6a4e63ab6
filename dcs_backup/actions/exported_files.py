"""What OBS says of the exported files a restore would import: read here, judged by the restore's guards.

Imported only for a restore of exported files: the OBS SDK stays out of every other run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from dcs_backup.actions.backup import required_obs_endpoint
from dcs_backup.config import Settings
from dcs_backup.dcs.access import DcsAccess
from dcs_backup.export.verify.base import Verification
from dcs_backup.platform.calls import CallLoop
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import ascii_whole_number
from dcs_backup.restore.guards import ExportedObject, export_refusal
from dcs_backup.restore.spec import ExportSource

if TYPE_CHECKING:
    from dcs_backup.export.obs import ObsTarget

MAX_EXPORTS_LOOKED_AT = 5  # the newest exports tried, newest first, for one that is complete and verified
_LIST_PAGES = 100  # 100,000 objects under one instance's folder at most


def newest_export(
    export: ExportSource,
    source_instance_id: str,
    settings: Settings,
    access: DcsAccess,
    deadline: Deadline,
    policy: RetryPolicy,
) -> tuple[ExportSource, list[ExportedObject]] | None:
    """The newest export of the instance in the bucket (``{prefix}{instance_id}/{backup_id}/`` folders, by
    their objects' LastModified) that is complete and verified, with what OBS says of its objects; None
    when none of the newest few is."""
    prefix = export.prefix if export.prefix is not None else settings.export_prefix
    base = f"{prefix.rstrip('/')}/" if prefix else ""
    bucket = obs_target(settings, access, export.bucket, deadline, policy)
    folders: dict[str, list[str]] = {}
    newest: dict[str, str] = {}
    for key, modified in bucket.listed(f"{base}{source_instance_id}/", _LIST_PAGES):
        folder, _, name = key.rpartition("/")
        if folder.count("/") != base.count("/") + 1 or not name:
            continue  # not a file of one backup's folder (the progress record of an export under way)
        folders.setdefault(folder, []).append(key)
        newest[folder] = max(newest.get(folder, ""), modified)
    for folder in sorted(folders, key=lambda f: newest[f], reverse=True)[:MAX_EXPORTS_LOOKED_AT]:
        found = export._replace(objects=tuple(sorted(folders[folder])))
        objects = exported_objects(found, settings, access, deadline, policy, bucket)
        if export_refusal(objects) is None:
            return found, objects
    return None


def obs_target(
    settings: Settings, access: DcsAccess, bucket: str, deadline: Deadline, policy: RetryPolicy
) -> ObsTarget:
    """One bucket through the OBS SDK, with the function's agency keys and the call loop's retries; what it
    writes is encrypted as the exports are (DCS_EXPORT_KMS_KEY_ID, else SSE-OBS)."""
    from dcs_backup.export.errors import classify
    from dcs_backup.export.obs import ObsAccess, ObsTarget, build_obs_client

    endpoint = required_obs_endpoint(settings)
    client = build_obs_client(ObsAccess(endpoint, access.access_key, access.secret_key, access.security_token or ""))
    return ObsTarget(client, bucket, CallLoop(deadline, policy, classify), kms_key_id=settings.export_kms_key_id)


def exported_objects(
    export: ExportSource,
    settings: Settings,
    access: DcsAccess,
    deadline: Deadline,
    policy: RetryPolicy,
    bucket: ObsTarget | None = None,
) -> list[ExportedObject]:
    """Each object's size (None when it is not there), storage class and export metadata, from a HEAD
    through the call loop, with the function's agency keys (through ``bucket`` when one is open)."""
    bucket = bucket or obs_target(settings, access, export.bucket, deadline, policy)
    return [_exported_object(key, bucket.headers(key)) for key in export.objects]


def _exported_object(key: str, headers: dict[str, str] | None) -> ExportedObject:
    if headers is None:
        return ExportedObject(key, None)
    verified = Verification.from_metadata(headers)  # the label the export wrote, read as it reads it
    keys = verified.keys_by_db if verified is not None else None
    return ExportedObject(
        key,
        ascii_whole_number(headers.get("content-length")),
        storage_class=headers.get("storage-class"),
        backup_id=unquote(headers["dcs-backup-id"]) if "dcs-backup-id" in headers else None,
        source_size=ascii_whole_number(headers.get("dcs-source-size")),
        verified_format=verified.format if verified is not None else None,
        rdb_version=verified.rdb_version if verified is not None else None,
        declared_keys=sum(keys.values()) if keys is not None else None,
    )
