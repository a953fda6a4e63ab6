"""Typed DCS operations, each through the one deadline-aware call loop."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import huaweicloudsdkdcs.v2 as sdk  # lazy: a model module loads when its class is first used
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdcs.v2.dcs_client import DcsClient

from dcs_backup.dcs.access import DcsAccess
from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, build_dcs_client
from dcs_backup.dcs.credentials_gate import CredentialsGate
from dcs_backup.dcs.errors import UnreadableAnswerError, classify
from dcs_backup.dcs.models import (
    BackupFile,
    BackupImport,
    BackupRecord,
    CreatedBackup,
    InstanceInfo,
    InstanceStatistics,
    MigrationTask,
    RestoreRecord,
    dcs_text,
    mode_from_spec_code,
)
from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_backup.platform.text import ascii_whole_number, foreign_text

T = TypeVar("T")

BACKUP_PAGE_SIZE = 100
RESTORE_PAGE_SIZE = 100
MAX_RESTORE_PAGES = 100
TASK_PAGE_SIZE = 100
MAX_TASK_PAGES = 20  # 2,000 migration tasks in the project at most
MAX_BACKUP_PAGES = 1000  # 100,000 records: far beyond what DCS keeps for an instance
INSTANCE_PAGE_SIZE = 1000


class InstancePage(NamedTuple):
    total: int
    instances: tuple[InstanceInfo, ...]


class DcsGateway:
    """The only place that calls the SDK; the rest of the function sees typed results and CallError.

    Each worker thread gets its own client so that every attempt's timeout can be cut to
    the time left before the deadline.
    """

    def __init__(
        self,
        access: DcsAccess,
        deadline: Deadline,
        policy: RetryPolicy,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        client_factory: Callable[[DcsAccess], tuple[DcsClient, HttpConfig]] = build_dcs_client,
        page_sizes: tuple[int, int] = (INSTANCE_PAGE_SIZE, BACKUP_PAGE_SIZE),
    ) -> None:
        self._access = access
        self._instance_page_size, self._backup_page_size = page_sizes
        self._loop = CallLoop(deadline, policy, classify)
        self._gate = CredentialsGate(deadline, classify)
        self._connect_timeout_s, self._read_timeout_s = timeouts
        self._client_factory = client_factory
        self._local = threading.local()

    @property
    def instance_page_size(self) -> int:
        return self._instance_page_size

    @property
    def credentials_rejection(self) -> CallError | None:
        """DCS's refusal of the keys, when it refused them: every later call of this gateway failed at once."""
        return self._gate.rejection

    def show_instance(self, instance_id: str) -> InstanceInfo:
        request = sdk.ShowInstanceRequest(instance_id=instance_id)
        response = self._call("ShowInstance", lambda c: _readable(c.show_instance(request), "status"))
        return InstanceInfo(
            instance_id=instance_id,
            name=response.name,
            status=response.status,
            cache_mode=response.cache_mode or mode_from_spec_code(response.spec_code),
            tags=_tags(response.tags),
            engine_version=dcs_text(response.engine_version),
            password_free=_password_free(response.no_password_access),
        )

    def list_instances(self, *, tags: str | None, offset: int) -> InstancePage:
        """One page of ListInstances; ``tags`` is DCS's ``key=value,key2=value2`` filter."""
        request = sdk.ListInstancesRequest(tags=tags, offset=offset, limit=self._instance_page_size)
        response = self._call("ListInstances", lambda c: _readable(c.list_instances(request), "instance_num"))
        items = tuple(
            InstanceInfo(
                instance_id=item.instance_id,
                name=item.name,
                status=item.status,
                cache_mode=mode_from_spec_code(item.spec_code),
                tags=_tags(item.tags),
            )
            for item in response.instances or []
        )
        return InstancePage(total=_count(response.instance_num), instances=items)

    def show_tags(self, instance_id: str) -> dict[str, str]:
        response = self._call("ShowTags", lambda c: c.show_tags(sdk.ShowTagsRequest(instance_id=instance_id)))
        return _tags(response.tags) or {}

    def list_backups(self, instance_id: str) -> list[BackupRecord]:
        """Every backup record of the instance, all pages, newest first as DCS lists them.

        A server that ignores ``offset`` (and overstates ``total_num``) repeats its page: a page
        that brings no record not already read ends the listing, as for ListInstances.
        """
        records: list[BackupRecord] = []
        seen: set[str] = set()
        for _ in range(MAX_BACKUP_PAGES):
            page_request = sdk.ListBackupRecordsRequest(
                instance_id=instance_id, offset=len(records), limit=self._backup_page_size
            )
            response = self._call("ListBackupRecords", _list_backups_page(page_request))
            page = [_record(r) for r in response.backup_record_response or []]
            fresh = [record for record in page if record.backup_id not in seen]
            records.extend(fresh)
            seen.update(record.backup_id for record in fresh)
            if not fresh or len(records) >= _count(response.total_num):
                break
        return records

    def delete_backup(self, instance_id: str, backup_id: str) -> None:
        """DeleteBackupFile: 204 and no body."""
        request = sdk.DeleteBackupFileRequest(instance_id=instance_id, backup_id=backup_id)
        self._call("DeleteBackup", lambda c: c.delete_backup_file(request))

    def create_backup(
        self,
        instance_id: str,
        remark: str,
        backup_format: str,
        recover: Callable[[CallError], CreatedBackup | None],
    ) -> CreatedBackup:
        """Start a backup; after a failure, ``recover`` is asked before any retry.

        After an ambiguous failure (the POST may have landed) or DCS.4096 (a backup is running)
        the caller looks for the backup it may already have, so a retry never makes a second one.
        """
        body = sdk.BackupInstanceBody(remark=remark, backup_format=backup_format)

        def create(client: DcsClient) -> CreatedBackup:
            response = client.copy_instance(sdk.CopyInstanceRequest(instance_id=instance_id, body=body))
            return CreatedBackup(str(_readable(response, "backup_id").backup_id))

        return self._call("CreateBackup", create, recover=recover, retry_busy=True)

    def _call(
        self,
        operation: str,
        send: Callable[[DcsClient], T],
        *,
        recover: Callable[[CallError], T | None] | None = None,
        retry_busy: bool = False,
    ) -> T:
        """One DCS call: its attempts through the call loop, the loop behind the credentials gate."""
        attempt = self._gate.attempt(operation, lambda: send(self._client_for_attempt()))
        return self._gate.call(
            operation, lambda: self._loop.run(operation, attempt, recover=recover, retry_busy=retry_busy)
        )

    def _client_for_attempt(self) -> DcsClient:
        """This thread's client, with timeouts cut to the time left."""
        if getattr(self._local, "client", None) is None:
            self._local.client, self._local.config = self._client_factory(self._access)
        remaining = self._loop.deadline.remaining()
        self._local.config.timeout = (min(self._connect_timeout_s, remaining), min(self._read_timeout_s, remaining))
        client: DcsClient = self._local.client
        return client

    def list_backup_file_links(self, instance_id: str, backup_id: str, expiration_s: int) -> list[BackupFile]:
        """Pre-signed download links of a succeeded backup's files (one per shard for clusters)."""
        request = sdk.ListBackupFileLinksRequest(
            instance_id=instance_id, backup_id=backup_id, body=sdk.DownloadBackupFilesReq(expiration=expiration_s)
        )
        response = self._call("ListBackupFileLinks", lambda c: _readable(c.list_backup_file_links(request), "links"))
        return [BackupFile(file_name=str(item.file_name), link=str(item.link)) for item in response.links]

    def restore_instance(
        self, instance_id: str, backup_id: str, remark: str, recover: Callable[[CallError], str | None]
    ) -> str:
        """RestoreInstance: overwrite the instance's data with its backup; DCS's restore id.

        After an ambiguous failure ``recover`` looks for the restore this POST may have started.
        """
        request = sdk.RestoreInstanceRequest(
            instance_id=instance_id, body=sdk.RestoreInstanceBody(backup_id=backup_id, remark=remark)
        )

        def restore(client: DcsClient) -> str:
            return str(_readable(client.restore_instance(request), "restore_id").restore_id)

        return self._call("RestoreInstance", restore, recover=recover)

    def list_restores(self, instance_id: str) -> list[RestoreRecord]:
        """Every restore record of the instance, all pages (a page with nothing new ends the listing)."""
        records: list[RestoreRecord] = []
        seen: set[str] = set()
        for _ in range(MAX_RESTORE_PAGES):
            request = sdk.ListRestoreRecordsRequest(
                instance_id=instance_id, offset=len(records), limit=RESTORE_PAGE_SIZE
            )
            response = self._call("ListRestoreRecords", _list_restores_page(request))
            fresh = [_restore(r) for r in response.restore_record_response or [] if r.restore_id not in seen]
            records.extend(fresh)
            seen.update(r.restore_id for r in fresh)
            if not fresh or len(records) >= _count(response.total_num):
                break
        return records

    def key_counts(self) -> dict[str, int]:
        """The key count of every RUNNING instance of the project that reports one."""
        return {i: stats.keys for i, stats in self.statistics().items() if stats.keys is not None}

    def statistics(self) -> dict[str, InstanceStatistics]:
        """ListStatisticsOfRunningInstances: keys and memory of every RUNNING instance of the project."""
        request = sdk.ListStatisticsOfRunningInstancesRequest()
        response = self._call(
            "ListStatisticsOfRunningInstances",
            lambda c: _readable(c.list_statistics_of_running_instances(request), "statistics"),
        )
        return {
            str(item.instance_id): InstanceStatistics(
                _whole(item.keys), _whole(item.used_memory), _whole(item.max_memory)
            )
            for item in response.statistics or []
        }

    def flush_instance(self, instance_id: str) -> str | None:
        """RestartOrFlushInstances with ``action: flush``: DCS empties the instance (FLUSHALL), which cannot be
        undone. DCS's result for it (``success``; ``failed`` is its refusal, as for a Redis 6.0 instance), or None
        when the batch's results do not name it."""
        body = sdk.ChangeInstanceStatusBody(instances=[instance_id], action="flush")

        def flush(client: DcsClient) -> str | None:
            response = client.restart_or_flush_instances(sdk.RestartOrFlushInstancesRequest(body=body))
            results = {dcs_text(r.instance): dcs_text(r.result) for r in response.results or []}
            return results.get(instance_id)

        return self._call("RestartOrFlushInstances", flush)

    def create_migration_task(
        self,
        task_name: str,
        description: str,
        target: tuple[str, str | None],
        source: BackupImport,
        recover: Callable[[CallError], str | None],
    ) -> str:
        """CreateMigrationTask (backupfile_import) into ``target`` (id, password); the task id.

        The SDK's response model drops the documented ``error`` field: a 200 that carries one is a refusal.
        """
        target_id, password = target
        if source.backup_id is not None:
            files = sdk.BackupFilesBody(file_source="backup_record", backup_id=source.backup_id)
        else:
            files = sdk.BackupFilesBody(
                file_source="self_build_obs",
                bucket_name=source.bucket,
                files=[sdk.Files(file_name=key) for key in source.object_keys],
            )
        body = sdk.CreateMigrationTaskBody(
            task_name=task_name,
            description=description,
            migration_type="backupfile_import",
            migration_method="full_amount_migration",
            backup_files=files,
            target_instance=sdk.TargetInstanceBody(id=target_id, password=password),
        )

        def create(client: DcsClient) -> str:
            response = _readable(client.create_migration_task(sdk.CreateMigrationTaskRequest(body=body)), "id")
            error = _raw_field(response, "error")
            if error:
                raise CallError(ErrorKind.REJECTED, "CreateMigrationTask", foreign_text(error))
            return str(response.id)

        return self._call("CreateMigrationTask", create, recover=recover)

    def show_migration_task(self, task_id: str) -> MigrationTask:
        request = sdk.ShowMigrationTaskRequest(task_id=task_id)
        response = self._call("ShowMigrationTask", lambda c: _readable(c.show_migration_task(request), "status"))
        target, files = response.target_instance, response.backup_files
        return MigrationTask(
            task_id=task_id,
            name=dcs_text(response.task_name),
            description=response.description or "",
            status=response.status,
            target_instance_id=dcs_text(target.id) if target is not None else None,
            created_at=dcs_text(response.created_at),
            updated_at=dcs_text(response.updated_at),
            bucket=dcs_text(files.bucket_name) if files is not None else None,
            object_keys=tuple(str(f.file_name) for f in (files.files or []) if f.file_name) if files else (),
        )

    def find_migration_tasks(self, name: str | None) -> list[MigrationTask]:
        """ListMigrationTask filtered by ``name``, or the tasks of every name (None): every page, up to
        MAX_TASK_PAGES (DCS documents no order, so no page can be left out as older)."""
        tasks: list[MigrationTask] = []
        for page in range(MAX_TASK_PAGES):
            request = sdk.ListMigrationTaskRequest(name=name, offset=page * TASK_PAGE_SIZE, limit=TASK_PAGE_SIZE)
            response = self._call("ListMigrationTask", _list_tasks_page(request))
            items = response.migration_tasks or []
            tasks += [
                MigrationTask(
                    task_id=str(item.task_id),
                    name=dcs_text(item.task_name),
                    description=item.description or "",
                    status=item.status,
                    target_instance_id=dcs_text(item.target_instance_id),
                    created_at=dcs_text(item.created_at),
                    error_message=dcs_text(item.error_message),
                )
                for item in items
            ]
            if len(items) < TASK_PAGE_SIZE or len(tasks) >= _count(response.count):
                break
        return tasks


def _list_tasks_page(request: sdk.ListMigrationTaskRequest) -> Callable[[DcsClient], Any]:
    return lambda client: _readable(client.list_migration_task(request), "count")


def _list_restores_page(request: sdk.ListRestoreRecordsRequest) -> Callable[[DcsClient], Any]:
    return lambda client: _readable(client.list_restore_records(request), "total_num")


def _list_backups_page(request: sdk.ListBackupRecordsRequest) -> Callable[[DcsClient], Any]:
    return lambda client: _readable(client.list_backup_records(request), "total_num")


def _count(value: object) -> int:
    """A total DCS announces; one that is not a whole number counts as 0 (paging then ends on a short page)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)
    number = ascii_whole_number(value) if isinstance(value, str) else None
    return number or 0


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _readable(response: Any, field: str) -> Any:
    """The response, if it carries ``field`` (DCS always sends it, except in a 204 without a body)."""
    if getattr(response, field, None) in (None, "") and getattr(response, "status_code", None) != 204:
        raise UnreadableAnswerError(f"no {field}")
    return response


def _password_free(value: object) -> bool | None:
    text = str(value).lower() if value is not None else ""
    return {"true": True, "false": False}.get(text)


def _raw_field(response: Any, field: str) -> str | None:
    """A field of the raw JSON answer that the SDK's model does not keep."""
    try:
        value = json.loads(getattr(response, "raw_content", None) or "{}").get(field)
    except (ValueError, AttributeError):
        return None
    return str(value) if value not in (None, "") else None


def _restore(raw: Any) -> RestoreRecord:
    return RestoreRecord(
        restore_id=str(raw.restore_id),
        backup_id=dcs_text(raw.backup_id),
        remark=dcs_text(raw.restore_remark) or "",
        status=raw.status,
        created_at=dcs_text(raw.created_at),
        updated_at=dcs_text(raw.updated_at),
        error_code=dcs_text(raw.error_code),
    )


def _tags(tags: Any) -> dict[str, str] | None:
    """DCS's ``[{key, value}]`` as a dict; None when DCS sent none (the list may omit them)."""
    if tags is None:
        return None
    return {str(tag.key): str(tag.value or "") for tag in tags}


def _record(raw: Any) -> BackupRecord:
    return BackupRecord(
        backup_id=raw.backup_id,
        remark=raw.remark or "",
        status=raw.status,
        backup_type=raw.backup_type,
        created_at=dcs_text(raw.created_at),
        updated_at=dcs_text(raw.updated_at),
        size_bytes=raw.size if isinstance(raw.size, int) else None,
        error_code=dcs_text(raw.error_code),
        is_support_restore=dcs_text(raw.is_support_restore),
    )
