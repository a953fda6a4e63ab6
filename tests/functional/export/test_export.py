"""Exports through the handler: which backup, the object layout, idempotency, failures, configuration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError, ConfigurationError, InvalidRequestError
from dcs_emulator import Fault, FaultKind
from dcs_emulator.obs_store import Encryption
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, Invocation
from tests.support import (
    BUCKET,
    DAY,
    EXPORT_TOKEN,
    KMS_KEY_ID,
    MIB,
    ExportHarness,
    RequestCounter,
    override_record,
    own_backup,
    yesterdays_backup,
)


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
        assert again["export"]["objects"] == first["export"]["objects"]  # as its metadata says it was verified
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
        export_harness.storage.faults.script("PresignedGetObject", odd)
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
        export_harness.storage.faults.script("PresignedGetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=MIB))
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

    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({"RUNTIME_MEMORY": "128", "DCS_EXPORT_PART_MB": "64"}, "DCS_EXPORT_PART_MB"),
            ({"RUNTIME_MEMORY": "256", "DCS_EXPORT_PART_MB": "64", "DCS_EXPORT_FILES_AT_ONCE": "2"}, "FILES_AT_ONCE"),
        ],
    )
    def test_an_export_the_memory_cannot_hold_is_a_configuration_error_before_any_call(
        self, export_harness: ExportHarness, env: dict[str, str], named: str
    ) -> None:
        # GIVEN a function whose memory cannot hold the parts the export would keep in flight
        # WHEN a request exports, THEN it is refused naming the settings and the memory, and nothing is called
        result = export_harness.export({}, env=env)
        assert isinstance(result.error, ConfigurationError)
        assert named in str(result.error) and f"({env['RUNTIME_MEMORY']} MB" in str(result.error)
        assert export_harness.emulator.requests == []

    def test_a_memory_too_small_to_export_does_not_stop_plain_backups(self, export_harness: ExportHarness) -> None:
        context = LocalContext.seeded(security_token=EXPORT_TOKEN)
        small = {"RUNTIME_MEMORY": "128", "DCS_EXPORT_PART_MB": "64"}
        result = export_harness.invoke({"instance_ids": [HA_ID]}, context, **small)
        assert result.error is None and result.answer is not None

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

    def test_an_export_bucket_without_an_obs_endpoint_is_a_configuration_error_first(
        self, function: FunctionHarness
    ) -> None:
        """The environment alone shows the export cannot work: that is said first, naming what to set.

        GIVEN DCS_EXPORT_BUCKET set while neither OBS_ENDPOINT nor DCS_REGION is, THEN, as docs/configuration.md
        says, every variable is checked before the request is judged: even a request with a mistake
        of its own gets a ConfigurationError naming DCS_EXPORT_BUCKET / OBS_ENDPOINT, not
        InvalidRequestError (HTTP 400, the caller's fault).
        """
        result = function.invoke({"instance_ids": [HA_ID], "colour": "blue"}, DCS_EXPORT_BUCKET="team-dcs-backups")
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert "DCS_EXPORT_BUCKET" in str(result.error)


class TestWithWaitAndRetention:
    def test_a_backup_that_failed_in_dcs_still_exports_the_newest_good_one(self, export_harness: ExportHarness) -> None:
        """On every run the newest succeeded backup of this function not yet in the bucket is exported.

        GIVEN tonight's backup (waited for) fails in DCS, THEN yesterday's good backup, not yet in the
        bucket, is exported all the same: the outcome is ``failed`` and carries that ``export``.
        """
        yesterday = own_backup(export_harness.emulator.state, 1, size=MIB)
        export_harness.emulator.state.fail_next_backup(HA_ID)
        outcome = export_harness.export({"wait": True}).answer["results"][0]
        assert outcome["status"] == "failed"  # tonight's backup failed in DCS
        assert outcome.get("export", {}).get("backup_id") == yesterday.backup_id, outcome

    def test_export_and_retention_agree_on_which_backup_is_newest(self, export_harness: ExportHarness) -> None:
        """Export orders backups by their parsed time, as retention and the audit do.

        GIVEN the newest backup's time is shown with an offset (which DCS may send), THEN that backup
        is the one exported, and retention (keep_last 1) in the same run does not delete what was just
        exported while the truly newest one goes unexported, as comparing ``created_at`` as text would.
        """
        state = export_harness.emulator.state
        older = own_backup(state, 3 / DAY, size=MIB)  # 3 hours ago, shown in UTC
        newer = own_backup(state, 1 / DAY, n=1, size=MIB)  # 1 hour ago, shown at UTC-05:00
        shown = datetime.fromtimestamp(newer.created_at, timezone(timedelta(hours=-5)))
        override_record(state, newer.backup_id, created_at=shown.isoformat(timespec="milliseconds"))
        outcome = export_harness.export({"retention": {"keep_last": 1}}).answer["results"][0]
        assert outcome["export"]["backup_id"] == newer.backup_id, (
            f"exported {outcome['export']['backup_id']} (older: {older.backup_id}), "
            f"then deleted {outcome.get('deleted_backup_ids')}"
        )


def _rename_files(monkeypatch: pytest.MonkeyPatch, rename: Any, resize: Any = None) -> None:
    """Make ListBackupFileLinks name (and size) the backup's files as a test chooses."""
    import dcs_emulator.links as links
    from dcs_emulator.backup_files import GeneratedFile

    original = links.backup_files  # type: ignore[attr-defined]

    def files(*args: Any, **kwargs: Any) -> list[GeneratedFile]:
        made = original(*args, **kwargs)
        return [GeneratedFile(rename(f.file_name), resize(f.size) if resize else f.size, f.seed) for f in made]

    monkeypatch.setattr(links, "backup_files", files)


def _rename_links(monkeypatch: pytest.MonkeyPatch, rename: Any) -> None:
    """Make ListBackupFileLinks report other file names (the links themselves still work)."""
    import dcs_emulator.server as server

    original = server.backup_links  # type: ignore[attr-defined]

    def links(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = original(*args, **kwargs)
        named = [{**item, "file_name": rename(n, item["file_name"])} for n, item in enumerate(answer["links"])]
        return {**answer, "links": named}

    monkeypatch.setattr(server, "backup_links", links)


class TestFilesAsDcsNamesThem:
    def test_file_names_from_dcs_cannot_climb_out_of_the_backups_folder(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every object key stays under ``{prefix}{instance_id}/{backup_id}/``, whatever file_name DCS sends.

        The key is ``{prefix}{instance_id}/{backup_id}/{file_name}`` with DCS's file_name reduced to a
        safe base name (no "/", "..", control characters) or refused: a name such as
        "../../../escaped.rdb" never gives a key that every path-aware consumer (obsutil/s3 sync to
        disk, a restore script, a prefix-scoped policy check after normalisation) resolves outside the
        prefix.
        """
        import posixpath

        backup = yesterdays_backup(export_harness)
        _rename_links(monkeypatch, lambda n, _: "../../../escaped.rdb")
        export_harness.export()
        inside = f"dcs-backup/{HA_ID}/{backup.backup_id}/"
        keys = list(export_harness.storage.store.objects(BUCKET))
        assert all(posixpath.normpath(k).startswith(inside) for k in keys), keys

    def test_two_shards_with_the_same_file_name_are_both_copied(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two of a cluster's links carrying the same file_name are two objects, or a failed export.

        Each link gets its own key (e.g. the shard index as suffix), or a name clash fails the export:
        the second shard is never found "already present with the same size" and skipped while the
        export says done with one object listed twice.
        """
        state = export_harness.emulator.state
        state.add_backup(CLUSTER_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=12 * MIB)
        _rename_links(monkeypatch, lambda n, _: "shard.rdb")
        outcome = export_harness.export({"instance_ids": [CLUSTER_ID]}).answer["results"][0]
        stored = export_harness.storage.store.objects(BUCKET)
        copied = sum(o.size for o in stored.values())
        assert outcome["export"]["status"] != "done" or copied == 12 * MIB, (outcome["export"], list(stored))

    def test_an_empty_download_of_a_nonempty_backup_is_not_done(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A download whose total differs from the size DCS recorded (or is empty) fails the export.

        GIVEN DCS lists the backup at 6 MiB but its link serves 0 bytes (Content-Length: 0), THEN the
        export is not done: nobody is told they have an off-instance copy that is an empty object.
        """
        yesterdays_backup(export_harness)
        _rename_files(monkeypatch, lambda name: name, resize=lambda size: 0)
        outcome = export_harness.export().answer["results"][0]
        assert outcome["export"]["status"] != "done", outcome["export"]

    def test_a_control_character_in_a_file_name_is_made_safe_not_an_internal_error(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A file_name with a control character (NUL) is exported under a key without it.

        Such a key would come back in OBS's XML answer where the OBS SDK cannot parse it (status 200,
        body None); names are made safe before any call, and a 2xx OBS answer without its expected body
        is a classified failure naming the file and the operation, never "failed: internal error; see
        the function log".
        """
        yesterdays_backup(export_harness)
        _rename_links(monkeypatch, lambda n, _: "a\x00b.rdb")
        outcome = export_harness.export().answer["results"][0]
        assert "internal error" not in str(outcome.get("reason")), outcome
        # Names are made safe: the file is exported under a key without the control character.
        (exported,) = outcome["export"]["objects"]
        assert outcome["export"]["status"] == "done" and exported["key"].endswith("/a_b.rdb"), outcome
