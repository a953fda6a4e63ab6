"""What OBS says of the exported files a restore would import: read here, judged by the restore's guards.

Imported only for a restore of exported files: the OBS SDK stays out of every other run.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import unquote

from dcs_backup.actions.backup import required_obs_endpoint
from dcs_backup.config import Settings
from dcs_backup.dcs.access import DcsAccess
from dcs_backup.platform.calls import CallLoop
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import ascii_whole_number
from dcs_backup.restore.guards import ExportedObject
from dcs_backup.restore.spec import ExportSource

OBS_TIMEOUT_S = 30


def exported_objects(
    export: ExportSource, settings: Settings, access: DcsAccess, deadline: Deadline, policy: RetryPolicy
) -> list[ExportedObject]:
    """Each object's size (None when it is not there), storage class and export metadata, from a HEAD
    through the call loop, with the function's agency keys."""
    from dcs_backup.export.errors import ServiceAnswerError, classify
    from dcs_backup.export.obs import ObsAccess, build_obs_client

    endpoint = required_obs_endpoint(settings)
    client = build_obs_client(ObsAccess(endpoint, access.access_key, access.secret_key, access.security_token or ""))
    loop = CallLoop(deadline, policy, classify)

    def head(key: str) -> ExportedObject:
        client.timeout = max(1, min(OBS_TIMEOUT_S, int(deadline.remaining())))
        response = client.getObjectMetadata(export.bucket, key)
        if response.status == 404:
            return ExportedObject(key, None)
        if response.status >= 300:
            raise ServiceAnswerError(
                response.status, response.errorCode, response.errorMessage, request_id=response.requestId
            )
        # The SDK gives user metadata under its own name, without the x-obs-meta- prefix.
        headers = {str(k).lower(): str(v) for k, v in response.header or []}
        return ExportedObject(
            key,
            ascii_whole_number(headers.get("content-length")),
            storage_class=headers.get("storage-class"),
            backup_id=unquote(headers["dcs-backup-id"]) if "dcs-backup-id" in headers else None,
            source_size=ascii_whole_number(headers.get("dcs-source-size")),
            verified_format=headers.get("dcs-verified-format"),
            rdb_version=ascii_whole_number(headers.get("dcs-rdb-version")),
        )

    return [loop.run("HeadObject", partial(head, key)) for key in export.objects]
