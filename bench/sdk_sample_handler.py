"""Baselines written the way the SDK's sample code is, for ``make bench`` to compare the function with.

``handler`` follows Huawei's samples: ``from huaweicloudsdkdcs.v2 import *`` (which loads all ~400
model modules), a client built per call, one instance after another. ``threaded_handler`` is the
raw SDK making the same three calls per instance as the function, ``DCS_MAX_CONCURRENCY`` instances
at once with a client per thread. Both are loaded by path into a CPython 3.12 that has only the
package on its path, and read the emulator's endpoint and project from the environment.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkdcs.v2 import *  # noqa: F403 - the samples' import, whose cost is being measured

_DCS_TIME_FORMAT = "%Y%m%d%H%M%S"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The samples' way: build a client, then back up one instance after another."""
    client = _client(context)
    return {"backup_ids": [_back_up(client, instance_id) for instance_id in event["instance_ids"]]}


def threaded_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The raw SDK with the function's concurrency: a client per worker thread, built per invocation."""
    local = threading.local()

    def back_up(instance_id: str) -> str:
        if not hasattr(local, "client"):
            local.client = _client(context)
        return _back_up(local.client, instance_id)

    with ThreadPoolExecutor(int(os.environ.get("DCS_MAX_CONCURRENCY", "1"))) as pool:
        return {"backup_ids": list(pool.map(back_up, event["instance_ids"]))}


def _client(context: Any) -> Any:
    credentials = BasicCredentials(
        context.getSecurityAccessKey(), context.getSecuritySecretKey(), os.environ["DCS_PROJECT_ID"]
    )
    return DcsClient.new_builder().with_credentials(credentials).with_endpoints([os.environ["DCS_ENDPOINT"]]).build()


def _back_up(client: Any, instance_id: str) -> str:
    """ShowInstance, ListBackupRecords of the last 48 hours, CopyInstance: the function's three calls."""
    client.show_instance(ShowInstanceRequest(instance_id=instance_id))
    now = datetime.now(timezone.utc)
    client.list_backup_records(
        ListBackupRecordsRequest(
            instance_id=instance_id,
            begin_time=(now - timedelta(hours=48)).strftime(_DCS_TIME_FORMAT),
            end_time=(now + timedelta(hours=1)).strftime(_DCS_TIME_FORMAT),
            offset=0,
            limit=200,
        )
    )
    body = BackupInstanceBody(remark="sdk-sample", backup_format="rdb")
    response = client.copy_instance(CopyInstanceRequest(instance_id=instance_id, body=body))
    return str(response.backup_id)
