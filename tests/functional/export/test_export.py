"""Exports through the handler: which backup, the object layout, idempotency, failures, configuration."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError, ConfigurationError, InvalidRequestError
from dcs_emulator import Fault, FaultKind
from dcs_emulator.obs_store import Encryption
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import Invocation
from tests.support import BUCKET, EXPORT_TOKEN, KMS_KEY_ID, MIB, ExportHarness, RequestCounter, yesterdays_backup


def _outcome(result: Invocation) -> dict[str, Any]:
    outcome: dict[str, Any] = result.answer["results"][0]
    return outcome


class TestWhatIsExported:
    def test_a_nightly_run_exports_yesterdays_backup(self, export_harness: ExportHarness) -> None:
        # GIVEN yesterday's backup of this function is not yet in the bucket
        backup = yesterdays_backup(export_harness)
        # WHEN tonight's run starts a backup (without waiting)
        outcome = _outcome(export_harness.export({}))
        # THEN tonight's backup is created, and yesterday's is copied whole under its key
        assert outcome["status"] == "created"
        export = outcome["export"]
        assert (export["status"], export["backup_id"]) == ("done", backup.backup_id)
        (exported,) = export["objects"]
        assert exported["key"].startswith(f"dcs-backup/{HA_ID}/{backup.backup_id}/")
        assert exported["size_bytes"] == 6 * MIB
        assert export_harness.storage.store.objects(BUCKET)[exported["key"]].size == 6 * MIB

    def test_with_wait_this_runs_backup_is_exported_once_it_succeeded(self, export_harness: ExportHarness) -> None:
        export_harness.emulator.state.instance(HA_ID).capacity = 1
        outcome = _outcome(export_harness.export({"wait": True}))
        assert outcome["status"] == "completed"
        assert (outcome["export"]["status"], outcome["export"]["backup_id"]) == ("done", outcome["backup_id"])

    def test_every_shard_of_a_cluster_is_exported(self, export_harness: ExportHarness) -> None:
        backup = yesterdays_backup(export_harness, CLUSTER_ID, size=12 * MIB)
        outcome = _outcome(export_harness.export({"instance_ids": [CLUSTER_ID]}))
        keys = [o["key"] for o in outcome["export"]["objects"]]
        assert len(keys) == 3 and all(f"/{backup.backup_id}/" in key for key in keys)
        assert sum(o["size_bytes"] for o in outcome["export"]["objects"]) == 12 * MIB

    def test_an_exported_backup_is_not_copied_again(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness)
        first = _outcome(export_harness.export({"idempotency_key": "nightly-2026-11-27"}))
        uploads = len(export_harness.storage.requests_for("UploadPart"))
        # WHEN the platform delivers the same run again
        again = _outcome(export_harness.export({"idempotency_key": "nightly-2026-11-27"}))
        assert again["export"]["status"] == "done"
        assert again["export"]["objects"] == first["export"]["objects"]
        assert len(export_harness.storage.requests_for("UploadPart")) == uploads

    def test_nothing_of_the_functions_own_to_export_yet_is_skipped(self, export_harness: ExportHarness) -> None:
        # GIVEN only an automatic and someone else's manual backup have succeeded
        export_harness.emulator.state.add_backup(HA_ID, backup_type="auto", age_hours=5, size_bytes=MIB)
        export_harness.emulator.state.add_backup(HA_ID, remark="before the migration", age_hours=3, size_bytes=MIB)
        outcome = _outcome(export_harness.export({}))
        assert outcome["status"] == "created"
        assert outcome["export"]["status"] == "skipped"


class TestEncryption:
    def test_an_export_is_encrypted_with_the_configured_kms_key(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness)
        outcome = _outcome(export_harness.export({}, env={"DCS_EXPORT_KMS_KEY_ID": KMS_KEY_ID}))
        (exported,) = outcome["export"]["objects"]
        encryption = export_harness.storage.store.objects(BUCKET)[exported["key"]].encryption
        assert encryption == Encryption("kms", KMS_KEY_ID)

    def test_an_export_without_a_kms_key_is_encrypted_by_obs(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness)
        (exported,) = _outcome(export_harness.export({}))["export"]["objects"]
        encryption = export_harness.storage.store.objects(BUCKET)[exported["key"]].encryption
        assert encryption == Encryption("AES256")

    def test_an_export_to_a_bucket_that_requires_encryption_is_done(self, export_harness: ExportHarness) -> None:
        export_harness.storage.store.require_encryption(BUCKET)
        yesterdays_backup(export_harness)
        assert _outcome(export_harness.export({}))["export"]["status"] == "done"


class TestFailures:
    def test_an_upload_that_keeps_failing_fails_the_instance_and_leaves_no_parts(
        self, export_harness: ExportHarness
    ) -> None:
        yesterdays_backup(export_harness)
        export_harness.storage.faults.script("UploadPart", *[Fault(FaultKind.FORBIDDEN)] * 10)
        result = export_harness.export({"raise_on_failure": True})
        assert isinstance(result.error, BackupFailedError)
        assert "export failed" in str(result.error)
        assert export_harness.storage.store.uploads(BUCKET) == []
        (line,) = [line for line in result.logs if line["message"] == "export failed"]
        assert line["level"] == "error"

    def test_a_download_length_in_superscript_digits_fails_the_instance_not_the_run(
        self, export_harness: ExportHarness
    ) -> None:
        # GIVEN a download link answering with "Content-Length: ²"
        yesterdays_backup(export_harness)
        odd = Fault(FaultKind.ODD_HEADER, header=("Content-Length", "²"))
        export_harness.storage.faults.script("GetObject", odd)
        # WHEN the nightly run exports
        result = export_harness.export({})
        # THEN the instance's export failed with a clear reason, and the run still answered with its document
        outcome = _outcome(result)
        assert outcome["status"] == "failed" and outcome["export"]["status"] == "failed"
        assert "Content-Length" in outcome["export"]["reason"]
        assert export_harness.storage.store.uploads(BUCKET) == []

    def test_a_download_shorter_than_the_recorded_backup_fails_the_instance(
        self, export_harness: ExportHarness
    ) -> None:
        # GIVEN yesterday's backup is recorded as 6 MiB, and its link consistently serves 2 MiB
        yesterdays_backup(export_harness).file_bytes = 2 * MIB
        # WHEN the nightly run exports
        outcome = _outcome(export_harness.export({}))
        # THEN the instance failed because of the export, and the bucket holds nothing of it
        assert (outcome["status"], outcome["export"]["status"]) == ("failed", "failed")
        assert f"but DCS records the backup as {6 * MIB} bytes" in outcome["reason"]
        assert export_harness.storage.store.objects(BUCKET) == {} and export_harness.storage.store.uploads(BUCKET) == []

    def test_a_cut_download_is_resumed(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness)
        export_harness.storage.faults.script("GetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=MIB))
        outcome = _outcome(export_harness.export({}))
        assert outcome["export"]["status"] == "done"


class TestDownloadLinks:
    def test_a_plain_http_link_is_not_followed_when_the_object_storage_is_remote(
        self, export_harness: ExportHarness
    ) -> None:
        # GIVEN the region's real OBS endpoint, and DCS handing out a plain-http link to another host
        yesterdays_backup(export_harness)
        with RequestCounter() as elsewhere:
            export_harness.storage.link_endpoint = elsewhere.endpoint
            # WHEN the nightly run exports
            outcome = _outcome(export_harness.export({}, env={"OBS_ENDPOINT": "", "DCS_REGION": "cn-north-4"}))
        # THEN the export failed saying why, without quoting the link's signed query, and nothing was fetched
        reason = outcome["export"]["reason"]
        assert (outcome["status"], outcome["export"]["status"]) == ("failed", "failed")
        assert "download link was not followed: it is not https" in reason
        assert "Signature" not in reason and "Expires" not in reason
        assert elsewhere.count == 0

    def test_a_link_off_the_allowed_domains_is_not_followed(self, export_harness: ExportHarness) -> None:
        # GIVEN an OBS endpoint of another cloud, and a link under a domain DCS_LINK_DOMAINS does not list
        yesterdays_backup(export_harness)
        export_harness.storage.link_endpoint = "https://b.obs.attacker.example"
        env = {"OBS_ENDPOINT": "https://obs.eu-de.otc.t-systems.com", "DCS_LINK_DOMAINS": "obs.eu-de.otc.t-systems.com"}
        # WHEN the nightly run exports
        outcome = _outcome(export_harness.export({}, env=env))
        # THEN the export failed naming the host and the allowed domains
        reason = outcome["export"]["reason"]
        assert "b.obs.attacker.example is not under the allowed domains (obs.eu-de.otc.t-systems.com" in reason

    def test_links_to_this_machine_are_followed_when_the_object_storage_is_on_it(
        self, export_harness: ExportHarness
    ) -> None:
        # GIVEN the emulator's loopback OBS endpoint, reached as localhost by the links
        yesterdays_backup(export_harness)
        export_harness.storage.link_endpoint = export_harness.storage.endpoint.replace("127.0.0.1", "localhost")
        # WHEN the nightly run exports, THEN the backup is copied
        assert _outcome(export_harness.export({}))["export"]["status"] == "done"


class TestConfiguration:
    @pytest.mark.parametrize("bucket", ["UPPER", "ab", "a..b", "192.168.1.10", "-start", 7])
    def test_a_bad_bucket_name_is_an_invalid_request(self, export_harness: ExportHarness, bucket: Any) -> None:
        result = export_harness.export({"export": {"bucket": bucket}})
        assert isinstance(result.error, InvalidRequestError)
        assert "export.bucket" in {p.field for p in result.error.problems}

    @pytest.mark.parametrize("prefix", ["/root/", "x" * 257])
    def test_a_bad_prefix_is_an_invalid_request(self, export_harness: ExportHarness, prefix: str) -> None:
        result = export_harness.export({"export": {"bucket": BUCKET, "prefix": prefix}})
        assert isinstance(result.error, InvalidRequestError)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DCS_EXPORT_PART_MB", "4"),
            ("DCS_EXPORT_PART_MB", "513"),
            ("OBS_ENDPOINT", "http://obs.example.com"),
            ("DCS_EXPORT_KMS_KEY_ID", "alias/backups"),
        ],
    )
    def test_bad_export_variables_are_configuration_errors(
        self, export_harness: ExportHarness, name: str, value: str
    ) -> None:
        result = export_harness.export({}, env={name: value})
        assert isinstance(result.error, ConfigurationError) and name in str(result.error)

    def test_without_an_obs_endpoint_or_region_nothing_is_called(self, export_harness: ExportHarness) -> None:
        result = export_harness.export({}, env={"OBS_ENDPOINT": ""})
        assert isinstance(result.error, ConfigurationError) and "OBS_ENDPOINT" in str(result.error)
        assert export_harness.emulator.requests == []

    def test_configured_bucket_is_the_default(self, export_harness: ExportHarness) -> None:
        yesterdays_backup(export_harness)
        result = export_harness.invoke(
            {"instance_ids": [HA_ID]},
            LocalContext.seeded(security_token=EXPORT_TOKEN),
            DCS_EXPORT_BUCKET=BUCKET,
            DCS_EXPORT_PREFIX="nightly/",
        )
        (key,) = [o["key"] for o in _outcome(result)["export"]["objects"]]
        assert key.startswith(f"nightly/{HA_ID}/")
