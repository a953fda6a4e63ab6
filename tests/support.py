"""Helpers the functional tests share: the function wired to both emulators, and seeded backups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dcs_backup.platform.retry import PollPolicy
from dcs_emulator import DcsEmulator, EmulatorState
from dcs_emulator.loopback import LoopbackHandler, LoopbackServer
from dcs_emulator.model import Backup
from dcs_emulator.obs_server import ObsEmulator
from devkit.context import LocalContext
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, Invocation

DAY = 24.0
MIB = 1 << 20
PAGE = 100
BUCKET = "team-dcs-backups"
EXPORT_TOKEN = "agency-security-token-for-the-export-tests"
KMS_KEY_ID = "0d0466b0-e727-4d9c-b35d-f84bb474a37f"  # a KMS key id: a UUID
FAST_POLLS = PollPolicy(first_delay_s=0.05, max_delay_s=0.2)


class ExportHarness(FunctionHarness):
    """The function wired to the DCS and object-storage emulators, with the agency's security token."""

    def __init__(self, emulator: DcsEmulator, storage: ObsEmulator) -> None:
        super().__init__(emulator)
        self.storage = storage
        self.env.update({"OBS_ENDPOINT": storage.endpoint, "DCS_EXPORT_PART_MB": "5"})
        self.runtime.poll_policy = FAST_POLLS

    def export(
        self, request: dict[str, Any] | None = None, *, remaining_ms: int = 60_000, env: Mapping[str, str] = {}
    ) -> Invocation:
        """One instance exported to BUCKET, the document returned rather than raised; ``env`` adds variables."""
        body = {"instance_ids": [HA_ID], "export": {"bucket": BUCKET}, "raise_on_failure": False, **(request or {})}
        return self.invoke(body, LocalContext.seeded(security_token=EXPORT_TOKEN, remaining_ms=remaining_ms), **env)


def own_backup(
    state: EmulatorState, age_days: float, *, status: str = "succeed", n: int = 0, size: int | None = None
) -> Backup:
    """A backup an earlier run of the function made on HA_ID (its marker at the end of the remark)."""
    tag = f"[dcsb:{int(age_days * 1000) + n:012x}]"
    return state.add_backup(HA_ID, remark=f"nightly {tag}", age_hours=age_days * DAY, status=status, size_bytes=size)


def yesterdays_backup(harness: ExportHarness, instance_id: str = HA_ID, size: int = 6 * MIB) -> Backup:
    """Yesterday's succeeded backup of the function, not yet exported."""
    return harness.emulator.state.add_backup(
        instance_id, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=size
    )


def override_record(state: EmulatorState, backup_id: str, **fields: Any) -> None:
    """Make ListBackupRecords show ``fields`` for one record (odd or missing values DCS may send)."""
    original = state.backup_json

    def shown(backup: Backup) -> dict[str, Any]:
        data = original(backup)
        if backup.backup_id == backup_id:
            data.update(fields)
        return data

    state.backup_json = shown  # type: ignore[method-assign]


class RequestCounter(LoopbackServer):
    """A loopback HTTP server that answers 200 to anything and counts what reached it."""

    def __init__(self) -> None:
        self.count = 0
        super().__init__(0, _CountingHandler, "request-counter")


class _CountingHandler(LoopbackHandler):
    def _serve(self) -> None:
        self.server.emulator.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
