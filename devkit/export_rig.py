"""An export rig for tests and the benchmark: DCS and object-storage emulators, the OBS SDK, a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from dcs_backup.dcs.access import DcsAccess
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.base import BackupSource, ExportResult
from dcs_backup.export.engine import export_backup
from dcs_backup.export.errors import classify
from dcs_backup.export.links import LinkPolicy
from dcs_backup.export.obs import ObsAccess, ObsTarget, build_obs_client
from dcs_backup.platform.calls import CallLoop
from dcs_backup.platform.retry import Deadline, RetryPolicy
from dcs_emulator import DcsEmulator, EmulatorState
from dcs_emulator.obs_server import ObsEmulator
from devkit.seed import ACCESS_KEY, PROJECT_ID, SECRET_KEY

BUCKET = "user-backups"
PREFIX = "dcs-backup/"
SECURITY_TOKEN = "demo-security-token-for-the-object-storage-emulator"


@dataclass
class ExportRig:
    """Both emulators running; ``export`` runs the engine on one backup as a pipeline step would."""

    state: EmulatorState
    dcs: DcsEmulator
    storage: ObsEmulator
    sleeps: list[float] = field(default_factory=list)

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleeps.append, min_attempt_s=0.05)

    def links(self, instance_id: str, backup_id: str) -> list[BackupFile]:
        access = DcsAccess(ACCESS_KEY, SECRET_KEY, None, PROJECT_ID, self.dcs.endpoint)
        gateway = DcsGateway(access, Deadline.from_remaining_ms(30_000), self.policy)
        return gateway.list_backup_file_links(instance_id, backup_id, 300)

    def export(
        self,
        instance_id: str,
        backup_id: str,
        *,
        part_size: int = 1 << 20,
        deadline: Deadline | None = None,
        kms_key_id: str | None = None,
        **options: Any,
    ) -> ExportResult:
        files = self.links(instance_id, backup_id)
        deadline = deadline or Deadline.from_remaining_ms(60_000)
        record = next(b for b in self.state.backups(instance_id) if b.backup_id == backup_id)
        shown = self.state.backup_json(record)
        source = BackupSource(
            instance_id,
            self.state.instance(instance_id).name,
            backup_id,
            record.backup_format,
            shown["created_at"],
            shown["size"],
        )
        access = ObsAccess(self.storage.endpoint, ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN)
        options.setdefault("link_policy", LinkPolicy.for_export(None, None, self.storage.endpoint))
        loop = CallLoop(deadline, self.policy, classify)
        target = ObsTarget(build_obs_client(access), BUCKET, loop, kms_key_id=kms_key_id)
        with requests.Session() as session:
            return export_backup(
                files,
                source,
                target,
                prefix=PREFIX,
                deadline=deadline,
                policy=self.policy,
                part_size=part_size,
                http_session=session,
                **options,
            )

    def open_uploads(self) -> list[Any]:
        """Multipart uploads left in the bucket, as the OBS SDK lists them."""
        client = build_obs_client(ObsAccess(self.storage.endpoint, ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN))
        response = client.listMultipartUploads(BUCKET)
        assert response.status == 200
        return list(response.body.upload or [])


@contextmanager
def export_rig(state: EmulatorState | None = None, *, keep_data: bool = True) -> Iterator[ExportRig]:
    state = state or EmulatorState.from_seed()
    with ObsEmulator({ACCESS_KEY: SECRET_KEY}, {ACCESS_KEY: SECURITY_TOKEN}, keep_data=keep_data) as storage:
        storage.store.create_bucket(BUCKET)
        with DcsEmulator(state, object_storage=storage) as dcs:
            yield ExportRig(state, dcs, storage)
