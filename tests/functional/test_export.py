"""Exports through the handler: which backup, the object layout, idempotency, failures, configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dcs_backup.errors import BackupFailedError, ConfigurationError, InvalidRequestError
from dcs_backup.retry import PollPolicy
from dcs_emulator import DcsEmulator, EmulatorState, Fault, FaultKind
from dcs_emulator.model import Backup
from dcs_emulator.obs_server import ObsEmulator
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, SECRET_KEY
from tests.conftest import FunctionHarness, Invocation

BUCKET = "team-dcs-backups"
TOKEN = "agency-security-token-for-the-export-tests"
MIB = 1 << 20


class ExportHarness(FunctionHarness):
    """The function wired to the DCS and object-storage emulators, with the agency's security token."""

    def __init__(self, emulator: DcsEmulator, storage: ObsEmulator) -> None:
        super().__init__(emulator)
        self.storage = storage
        self.env.update({"OBS_ENDPOINT": storage.endpoint, "DCS_EXPORT_PART_MB": "5"})
        self.runtime.poll_policy = PollPolicy(first_delay_s=0.05, max_delay_s=0.2)

    def export(self, request: dict[str, Any], **env: str) -> Invocation:
        request = {"instance_ids": [HA_ID], "export": {"bucket": BUCKET}, "raise_on_failure": False, **request}
        return self.invoke(request, LocalContext.seeded(security_token=TOKEN, remaining_ms=60_000), **env)


@pytest.fixture
def rig() -> Iterator[ExportHarness]:
    state = EmulatorState.from_seed(waiting_s=0.1, backuping_s=0.2)
    state.security_tokens[ACCESS_KEY] = TOKEN
    with ObsEmulator({ACCESS_KEY: SECRET_KEY}, {ACCESS_KEY: TOKEN}) as storage:
        storage.store.create_bucket(BUCKET)
        with DcsEmulator(state, object_storage=storage) as emulator:
            harness = ExportHarness(emulator, storage)
            yield harness
            everything = "".join(harness.all_logs)
            for secret in (ACCESS_KEY, SECRET_KEY, TOKEN, "Signature="):
                assert secret not in everything or f"{secret}***" in everything


def _yesterday(rig: ExportHarness, instance_id: str = HA_ID, size: int = 6 * MIB) -> Backup:
    return rig.emulator.state.add_backup(
        instance_id, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=size
    )


def _outcome(result: Invocation) -> dict[str, Any]:
    outcome: dict[str, Any] = result.answer["results"][0]
    return outcome


class TestWhatIsExported:
    def test_a_nightly_run_exports_yesterdays_backup(self, rig: ExportHarness) -> None:
        # GIVEN yesterday's backup of this function is not yet in the bucket
        backup = _yesterday(rig)
        # WHEN tonight's run starts a backup (without waiting)
        outcome = _outcome(rig.export({}))
        # THEN tonight's backup is created, and yesterday's is copied whole under its key
        assert outcome["status"] == "created"
        export = outcome["export"]
        assert (export["status"], export["backup_id"]) == ("done", backup.backup_id)
        (exported,) = export["objects"]
        assert exported["key"].startswith(f"dcs-backup/{HA_ID}/{backup.backup_id}/")
        assert exported["size_bytes"] == 6 * MIB
        assert rig.storage.store.objects(BUCKET)[exported["key"]].size == 6 * MIB

    def test_with_wait_this_runs_backup_is_exported_once_it_succeeded(self, rig: ExportHarness) -> None:
        rig.emulator.state.instance(HA_ID).capacity = 1
        outcome = _outcome(rig.export({"wait": True}))
        assert outcome["status"] == "completed"
        assert (outcome["export"]["status"], outcome["export"]["backup_id"]) == ("done", outcome["backup_id"])

    def test_every_shard_of_a_cluster_is_exported(self, rig: ExportHarness) -> None:
        backup = _yesterday(rig, CLUSTER_ID, size=12 * MIB)
        outcome = _outcome(rig.export({"instance_ids": [CLUSTER_ID]}))
        keys = [o["key"] for o in outcome["export"]["objects"]]
        assert len(keys) == 3 and all(f"/{backup.backup_id}/" in key for key in keys)
        assert sum(o["size_bytes"] for o in outcome["export"]["objects"]) == 12 * MIB

    def test_an_exported_backup_is_not_copied_again(self, rig: ExportHarness) -> None:
        _yesterday(rig)
        first = _outcome(rig.export({"idempotency_key": "nightly-2026-11-27"}))
        uploads = len(rig.storage.requests_for("UploadPart"))
        # WHEN the platform delivers the same run again
        again = _outcome(rig.export({"idempotency_key": "nightly-2026-11-27"}))
        assert again["export"]["status"] == "done"
        assert again["export"]["objects"] == first["export"]["objects"]
        assert len(rig.storage.requests_for("UploadPart")) == uploads

    def test_nothing_of_the_functions_own_to_export_yet_is_skipped(self, rig: ExportHarness) -> None:
        # GIVEN only an automatic and someone else's manual backup have succeeded
        rig.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=5, size_bytes=MIB)
        rig.emulator.state.add_backup(HA_ID, remark="before the migration", age_hours=3, size_bytes=MIB)
        outcome = _outcome(rig.export({}))
        assert outcome["status"] == "created"
        assert outcome["export"]["status"] == "skipped"


class TestFailures:
    def test_an_upload_that_keeps_failing_fails_the_instance_and_leaves_no_parts(self, rig: ExportHarness) -> None:
        _yesterday(rig)
        rig.storage.faults.script("UploadPart", *[Fault(FaultKind.FORBIDDEN)] * 10)
        result = rig.export({"raise_on_failure": True})
        assert isinstance(result.error, BackupFailedError)
        assert "export failed" in str(result.error)
        assert rig.storage.store.uploads(BUCKET) == []
        (line,) = [line for line in result.logs if line["message"] == "export failed"]
        assert line["level"] == "error"

    def test_a_cut_download_is_resumed(self, rig: ExportHarness) -> None:
        _yesterday(rig)
        rig.storage.faults.script("GetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=MIB))
        outcome = _outcome(rig.export({}))
        assert outcome["export"]["status"] == "done"


class TestConfiguration:
    @pytest.mark.parametrize("bucket", ["UPPER", "ab", "a..b", "192.168.1.10", "-start", 7])
    def test_a_bad_bucket_name_is_an_invalid_request(self, rig: ExportHarness, bucket: Any) -> None:
        result = rig.export({"export": {"bucket": bucket}})
        assert isinstance(result.error, InvalidRequestError)
        assert "export.bucket" in {p.field for p in result.error.problems}

    @pytest.mark.parametrize("prefix", ["/root/", "x" * 257])
    def test_a_bad_prefix_is_an_invalid_request(self, rig: ExportHarness, prefix: str) -> None:
        result = rig.export({"export": {"bucket": BUCKET, "prefix": prefix}})
        assert isinstance(result.error, InvalidRequestError)

    @pytest.mark.parametrize(
        ("name", "value"),
        [("DCS_EXPORT_PART_MB", "4"), ("DCS_EXPORT_PART_MB", "513"), ("OBS_ENDPOINT", "http://obs.example.com")],
    )
    def test_bad_export_variables_are_configuration_errors(self, rig: ExportHarness, name: str, value: str) -> None:
        result = rig.export({}, **{name: value})
        assert isinstance(result.error, ConfigurationError) and name in str(result.error)

    def test_without_an_obs_endpoint_or_region_nothing_is_called(self, rig: ExportHarness) -> None:
        result = rig.export({}, OBS_ENDPOINT="")
        assert isinstance(result.error, ConfigurationError) and "OBS_ENDPOINT" in str(result.error)
        assert rig.emulator.requests == []

    def test_configured_bucket_is_the_default(self, rig: ExportHarness) -> None:
        _yesterday(rig)
        result = rig.invoke(
            {"instance_ids": [HA_ID]},
            LocalContext.seeded(security_token=TOKEN),
            DCS_EXPORT_BUCKET=BUCKET,
            DCS_EXPORT_PREFIX="nightly/",
        )
        (key,) = [o["key"] for o in _outcome(result)["export"]["objects"]]
        assert key.startswith(f"nightly/{HA_ID}/")
