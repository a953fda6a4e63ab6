"""The export engine end to end: DCS links → the real OBS SDK → an object-storage emulator, over loopback HTTP."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from obs import CompleteMultipartUploadRequest, CompletePart, SseKmsHeader

from dcs_backup.export.obs import ObsAccess, build_obs_client
from dcs_backup.export.verify.base import LABEL
from dcs_backup.platform.logs import configure_logging
from dcs_backup.platform.retry import Deadline
from dcs_emulator import Fault, FaultKind
from dcs_emulator.backup_files import GeneratedFile
from dcs_emulator.obs_store import Encryption
from devkit.export_rig import BUCKET, PREFIX, SECURITY_TOKEN, ExportRig, export_rig
from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, SECRET_KEY
from tests.conftest import EVENTS_DIR
from tests.support import KMS_KEY_ID, override_record

MIB = 1 << 20
REPO = EVENTS_DIR.parent


@pytest.fixture
def rig() -> Iterator[ExportRig]:
    with export_rig() as running:
        yield running


def _backup(rig: ExportRig, instance_id: str = HA_ID, size: int = 3 * MIB + 12_345) -> str:
    return rig.state.add_backup(instance_id, size_bytes=size).backup_id


def _stored_md5(rig: ExportRig, key: str) -> str:
    return hashlib.md5(rig.storage.store.get(BUCKET, key).data or b"").hexdigest()


def _source_md5(rig: ExportRig, key: str) -> str:
    generated = rig.storage.store.get("dcs-backup-files", key.removeprefix(PREFIX)).generated
    assert isinstance(generated, GeneratedFile)
    return generated.md5()


class TestCopying:
    def test_a_single_file_backup_lands_byte_identical_with_its_metadata(self, rig: ExportRig) -> None:
        # GIVEN a succeeded 3 MB backup of a master/standby instance
        backup_id = _backup(rig)
        # WHEN it is exported in 1 MiB parts
        result = rig.export(HA_ID, backup_id)
        # THEN one object holds exactly the linked bytes, under prefix/instance/backup/file, described by metadata
        assert result.status == "done", result.reason
        (exported,) = result.objects
        assert exported.key.startswith(f"{PREFIX}{HA_ID}/{backup_id}/") and exported.size_bytes == 3 * MIB + 12_345
        assert _stored_md5(rig, exported.key) == _source_md5(rig, exported.key)
        metadata = rig.storage.store.get(BUCKET, exported.key).metadata
        assert metadata["dcs-backup-id"] == backup_id and metadata["dcs-instance-name"] == "orders-cache"
        assert metadata["dcs-source-size"] == str(3 * MIB + 12_345) and metadata["dcs-backup-format"] == "rdb"

    def test_every_part_carries_its_md5_and_a_valid_signature_with_the_token(self, rig: ExportRig) -> None:
        # GIVEN a backup of four parts, WHEN it is exported
        assert rig.export(HA_ID, _backup(rig)).status == "done"
        # THEN each part was sent with Content-MD5, signed, with the agency's security token
        parts = rig.storage.requests_for("UploadPart")
        assert len(parts) == 4
        assert all("content-md5" in p.headers and p.signature_valid for p in parts)
        assert all(
            SECURITY_TOKEN in (p.headers.get("x-amz-security-token"), p.headers.get("x-obs-security-token"))
            for p in parts
        )

    def test_a_cluster_exports_one_object_per_shard(self, rig: ExportRig) -> None:
        # GIVEN a succeeded backup of a cluster (one file per shard)
        backup_id = _backup(rig, CLUSTER_ID, size=3 * MIB)
        # WHEN it is exported
        result = rig.export(CLUSTER_ID, backup_id)
        # THEN every shard's file is an object of its own, byte-identical, together the record's size
        assert result.status == "done", result.reason
        assert [o.key.rsplit("_", 2)[1] for o in result.objects] == ["0-5460", "5461-10922", "10923-16383"]
        assert sum(o.size_bytes for o in result.objects) == 3 * MIB
        assert all(_stored_md5(rig, o.key) == _source_md5(rig, o.key) for o in result.objects)


class TestParallel:
    def test_a_clusters_shards_are_copied_at_the_same_time(self, rig: ExportRig) -> None:
        # GIVEN a cluster backup whose three shard downloads are slow (2 MiB/s, 1 MiB each), three file slots
        rig.storage.download_bytes_per_s = 2 * MIB
        backup_id = _backup(rig, CLUSTER_ID, size=3 * MIB)
        # WHEN it is exported
        result = rig.export(CLUSTER_ID, backup_id, file_slots=threading.BoundedSemaphore(3))
        # THEN every shard's download began before any shard's upload was completed, and all are byte-identical
        assert result.status == "done", result.reason
        downloads = [r.received_at for r in rig.storage.requests_for("PresignedGetObject") if "range" not in r.headers]
        completed = [r.received_at for r in rig.storage.requests_for("CompleteMultipartUpload")]
        assert len(downloads) == 3 and max(downloads) < min(completed)
        assert all(_stored_md5(rig, o.key) == _source_md5(rig, o.key) for o in result.objects)

    def test_without_a_free_slot_the_shards_go_one_after_another(self, rig: ExportRig) -> None:
        # GIVEN one file slot, WHEN a cluster backup is exported
        result = rig.export(
            CLUSTER_ID, _backup(rig, CLUSTER_ID, size=3 * MIB), file_slots=threading.BoundedSemaphore(1)
        )
        # THEN each shard's download began only once the one before it was completed
        assert result.status == "done", result.reason
        downloads = [r.received_at for r in rig.storage.requests_for("PresignedGetObject") if "range" not in r.headers]
        completed = [r.received_at for r in rig.storage.requests_for("CompleteMultipartUpload")]
        assert downloads[1] > completed[0] and downloads[2] > completed[1]

    def test_a_shard_that_fails_leaves_no_object_while_the_others_are_kept(self, rig: ExportRig) -> None:
        # GIVEN a cluster backup whose second upload is refused
        rig.storage.faults.script(
            "InitiateMultipartUpload", Fault(FaultKind.LATENCY, delay_s=0.2), Fault(FaultKind.FORBIDDEN)
        )
        # WHEN it is exported three at a time
        result = rig.export(
            CLUSTER_ID, _backup(rig, CLUSTER_ID, size=3 * MIB), file_slots=threading.BoundedSemaphore(3)
        )
        # THEN the export failed naming that shard, no upload is left open, and only the finished shards are objects
        assert result.status == "failed" and "AccessDenied" in (result.reason or "")
        assert rig.open_uploads() == []
        assert sorted(rig.storage.store.objects(BUCKET)) == sorted(o.key for o in result.objects)
        assert len(result.objects) == 2
        assert not [t for t in threading.enumerate() if t.name.startswith(("upload ", "export"))]


class TestFailures:
    def test_a_cut_download_resumes_with_a_range_request(self, rig: ExportRig) -> None:
        # GIVEN a download that breaks after 1.5 MiB
        rig.storage.faults.script("PresignedGetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=3 * MIB // 2))
        backup_id = _backup(rig)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id)
        # THEN it asked for the rest from where it stopped, and the object is still byte-identical
        assert result.status == "done", result.reason
        ranges = [r.headers.get("range") for r in rig.storage.requests_for("PresignedGetObject")]
        assert ranges == [None, f"bytes={3 * MIB // 2}-"]
        assert _stored_md5(rig, result.objects[0].key) == _source_md5(rig, result.objects[0].key)

    def test_a_refused_part_fails_the_export_and_aborts_the_upload(self, rig: ExportRig) -> None:
        # GIVEN a bucket that refuses the second part
        rig.storage.faults.script("UploadPart", Fault(FaultKind.LATENCY, delay_s=0), Fault(FaultKind.FORBIDDEN))
        backup_id = _backup(rig)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id)
        # THEN the export failed saying why, the upload was aborted and no part is left billed
        assert result.status == "failed" and "AccessDenied" in (result.reason or "")
        assert rig.storage.requests_for("AbortMultipartUpload")
        assert rig.open_uploads() == [] and not rig.storage.store.objects(BUCKET)

    def test_a_refused_label_fails_the_export_and_leaves_the_object_unlabelled(self, rig: ExportRig) -> None:
        # GIVEN a bucket that refuses the metadata change (a template without ModifyObjectMetadata)
        rig.storage.faults.script("SetObjectMetadata", Fault(FaultKind.FORBIDDEN))
        backup_id = _backup(rig)
        # WHEN the backup is exported, THEN it failed saying why, and the object never claims to be verified
        result = rig.export(HA_ID, backup_id)
        assert result.status == "failed" and "obs:object:ModifyObjectMetadata" in (result.reason or "")
        (stored,) = rig.storage.store.objects(BUCKET).values()
        assert LABEL not in stored.metadata

    def test_a_download_that_fails_midway_aborts_the_upload_and_leaves_no_thread(self, rig: ExportRig) -> None:
        # GIVEN a download that breaks after 1.5 MiB (two parts already on their way) and is then refused
        rig.storage.faults.script(
            "PresignedGetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=3 * MIB // 2), Fault(FaultKind.FORBIDDEN)
        )
        # WHEN the backup is exported
        result = rig.export(HA_ID, _backup(rig))
        # THEN it failed, the upload was aborted, no object exists and no thread of the copy is still running
        assert result.status == "failed" and "DownloadBackupFile: HTTP 403" in (result.reason or "")
        assert rig.open_uploads() == [] and not rig.storage.store.objects(BUCKET)
        assert not [t for t in threading.enumerate() if t.name.startswith(("upload ", "export"))]

    def test_a_corrupted_part_is_caught_by_its_md5_and_sent_again(self, rig: ExportRig) -> None:
        # GIVEN a part altered in transit
        rig.storage.faults.script("UploadPart", Fault(FaultKind.CORRUPT_BODY))
        backup_id = _backup(rig)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id)
        # THEN the storage refused it (BadDigest), the part was sent again, and the object is intact
        assert result.status == "done", result.reason
        assert len(rig.storage.requests_for("UploadPart")) == 5
        assert _stored_md5(rig, result.objects[0].key) == _source_md5(rig, result.objects[0].key)

    def test_a_part_always_corrupted_fails_with_bad_digest(self, rig: ExportRig) -> None:
        # GIVEN a path that alters every part
        rig.storage.faults.script("UploadPart", *[Fault(FaultKind.CORRUPT_BODY)] * 10)
        # WHEN the backup is exported
        result = rig.export(HA_ID, _backup(rig))
        # THEN the export failed naming the MD5 mismatch, with no upload left open
        assert result.status == "failed" and "BadDigest" in (result.reason or "")
        assert rig.open_uploads() == []


class TestRecordedSize:
    def test_a_download_shorter_than_the_recorded_backup_fails_and_keeps_nothing(self, rig: ExportRig) -> None:
        # GIVEN DCS records a 6 MiB backup whose link consistently serves 2 MiB (announced and sent)
        backup = rig.state.add_backup(HA_ID, size_bytes=6 * MIB)
        backup.file_bytes = 2 * MIB
        # WHEN it is exported
        result = rig.export(HA_ID, backup.backup_id)
        # THEN the export failed naming the file and both sizes, and no upload was even started
        (file,) = rig.links(HA_ID, backup.backup_id)
        assert result.status == "failed" and result.objects == ()
        assert f"{file.file_name}: " in (result.reason or "")
        assert f"{2 * MIB} bytes" in (result.reason or "") and str(6 * MIB) in (result.reason or "")
        assert not rig.storage.requests_for("InitiateMultipartUpload") and not rig.storage.store.objects(BUCKET)

    def test_shards_that_do_not_add_up_to_the_record_fail_before_any_is_copied(self, rig: ExportRig) -> None:
        # GIVEN a cluster backup recorded as 3 MiB whose three shards hold 2 MiB in all
        backup = rig.state.add_backup(CLUSTER_ID, size_bytes=3 * MIB)
        backup.file_bytes = 2 * MIB
        # WHEN it is exported
        result = rig.export(CLUSTER_ID, backup.backup_id)
        # THEN it failed saying so, and no object or upload exists for any shard
        assert result.status == "failed" and result.objects == ()
        assert f"hold {2 * MIB} bytes in all" in (result.reason or "") and str(3 * MIB) in (result.reason or "")
        assert not rig.storage.requests_for("InitiateMultipartUpload") and not rig.storage.store.objects(BUCKET)

    def test_shards_that_add_up_are_copied_after_one_byte_of_each_told_its_size(self, rig: ExportRig) -> None:
        # GIVEN a cluster backup whose shards add up to the record, WHEN it is exported
        result = rig.export(CLUSTER_ID, _backup(rig, CLUSTER_ID, size=3 * MIB))
        # THEN it is done, each shard's size having been asked with a one-byte range first
        assert result.status == "done", result.reason
        ranges = [r.headers.get("range") for r in rig.storage.requests_for("PresignedGetObject")]
        assert ranges == ["bytes=0-0"] * 3 + [None] * 3

    @pytest.mark.parametrize("recorded", [None, 0])
    def test_without_a_recorded_size_the_download_is_checked_against_itself(
        self, rig: ExportRig, recorded: int | None
    ) -> None:
        # GIVEN a record that gives no size, and a 2 MiB file
        backup = rig.state.add_backup(HA_ID, size_bytes=6 * MIB)
        backup.file_bytes = 2 * MIB
        override_record(rig.state, backup.backup_id, size=recorded)
        # WHEN it is exported, THEN the file is copied as the link announced it
        result = rig.export(HA_ID, backup.backup_id)
        assert result.status == "done", result.reason
        assert [o.size_bytes for o in result.objects] == [2 * MIB]


class TestHttpNumbers:
    @pytest.mark.parametrize("length", ["²", "1²", "+5", "0x10"])
    def test_a_download_length_that_is_not_ascii_digits_fails_the_export(self, rig: ExportRig, length: str) -> None:
        # GIVEN a download link whose answer announces its length in something other than ASCII digits
        rig.storage.faults.script("PresignedGetObject", Fault(FaultKind.ODD_HEADER, header=("Content-Length", length)))
        # WHEN the backup is exported
        result = rig.export(HA_ID, _backup(rig))
        # THEN the export failed saying so, and nothing was uploaded
        assert result.status == "failed" and "Content-Length" in (result.reason or "")
        assert not rig.storage.requests_for("InitiateMultipartUpload") and rig.open_uploads() == []

    def test_an_object_size_that_is_not_ascii_digits_fails_the_export(self, rig: ExportRig) -> None:
        # GIVEN a bucket whose HEAD answer, once the object is there, gives its length as "²"
        odd = Fault(FaultKind.ODD_HEADER, header=("Content-Length", "²"))
        rig.storage.faults.script("HeadObject", Fault(FaultKind.LATENCY, delay_s=0), odd)
        # WHEN the backup is exported
        result = rig.export(HA_ID, _backup(rig))
        # THEN the export failed naming the unusable length (the copy cannot be confirmed)
        assert result.status == "failed" and "Content-Length" in (result.reason or "")

    def test_a_resumed_download_whose_content_range_is_not_ascii_digits_fails(self, rig: ExportRig) -> None:
        # GIVEN a download that breaks, then answers the Range request with a Content-Range in superscript digits
        rig.storage.faults.script(
            "PresignedGetObject",
            Fault(FaultKind.CUT_BODY, cut_after_bytes=MIB),
            Fault(FaultKind.ODD_HEADER, header=("Content-Range", f"bytes {MIB}-²/3158073")),
        )
        # WHEN the backup is exported
        result = rig.export(HA_ID, _backup(rig))
        # THEN the export failed naming the unusable Content-Range, with no upload left open
        assert result.status == "failed" and "Content-Range" in (result.reason or "")
        assert rig.open_uploads() == [] and not rig.storage.store.objects(BUCKET)


class TestProgress:
    def test_a_watcher_is_told_each_objects_bytes_after_each_part(self, rig: ExportRig) -> None:
        told: list[tuple[str, int, int]] = []
        result = rig.export(HA_ID, _backup(rig), copied=lambda key, done, total: told.append((key, done, total)))
        ((key, size),) = {(o.key, o.size_bytes) for o in result.objects}
        assert result.status == "done" and [t[2] for t in told] == [size] * len(told) and len(told) > 1
        assert [t[1] for t in told] == sorted(t[1] for t in told) and told[-1] == (key, size, size)


class TestIdempotency:
    def test_an_object_already_there_with_the_same_size_is_not_copied_again(self, rig: ExportRig) -> None:
        # GIVEN a backup already exported once
        backup_id = _backup(rig)
        first = rig.export(HA_ID, backup_id)
        uploads_before = len(rig.storage.requests_for("InitiateMultipartUpload", "UploadPart"))
        # WHEN it is exported again
        again = rig.export(HA_ID, backup_id)
        # THEN it is done, lists the object with the verification its metadata kept, and nothing was uploaded
        assert again.status == "done" and again.objects == first.objects
        assert again.objects[0].verification is not None
        assert len(rig.storage.requests_for("InitiateMultipartUpload", "UploadPart")) == uploads_before

    def test_an_object_of_the_same_size_not_labelled_as_verified_is_copied_again(self, rig: ExportRig) -> None:
        # GIVEN an object of the right size that does not say it was verified (its labelling failed)
        backup_id = _backup(rig)
        rig.export(HA_ID, backup_id)
        (key,) = rig.storage.store.objects(BUCKET)
        stored = rig.storage.store.objects(BUCKET)[key]
        stored.metadata = {k: v for k, v in stored.metadata.items() if k != LABEL}
        # WHEN it is exported again, THEN it is copied (and verified) again, and labelled this time
        again = rig.export(HA_ID, backup_id)
        assert again.status == "done" and again.objects[0].verification is not None
        assert rig.storage.store.objects(BUCKET)[key].metadata[LABEL] == "rdb"

    def test_the_label_is_sent_with_the_source_metadata(self, rig: ExportRig) -> None:
        # OBS may read REPLACE_NEW as replacing every custom name: the label never drops what the upload began with
        rig.export(HA_ID, _backup(rig))
        (labelling,) = rig.storage.requests_for("SetObjectMetadata")
        sent = {name.split("meta-", 1)[1] for name in labelling.headers if "-meta-" in name}
        assert {"dcs-backup-id", "dcs-verified-format"} <= sent

    def test_an_object_of_another_size_is_replaced(self, rig: ExportRig) -> None:
        # GIVEN a truncated object where the export goes
        backup_id = _backup(rig)
        key = f"{PREFIX}{HA_ID}/{backup_id}/{rig.links(HA_ID, backup_id)[0].file_name}"
        rig.storage.store.put(BUCKET, key, b"partial")
        # WHEN the backup is exported, THEN the object is copied in full
        result = rig.export(HA_ID, backup_id)
        assert result.status == "done" and _stored_md5(rig, key) == _source_md5(rig, key)


def _progress_record(rig: ExportRig, instance_id: str = HA_ID) -> dict[str, Any] | None:
    key = f"{PREFIX}{instance_id}/export-progress.json"
    found = rig.storage.store.objects(BUCKET).get(key)
    return None if found is None else json.loads(found.data or b"")


def _short_deadline(seconds: float) -> Deadline:
    return Deadline(expires_at=time.monotonic() + seconds)


class TestDeadline:
    def test_no_part_is_started_that_cannot_finish_before_the_deadline(self, rig: ExportRig) -> None:
        # GIVEN downloads at 4 MiB/s, 1 MiB parts, and 0.9 s left: two or three parts fit, not four
        rig.storage.download_bytes_per_s = 4 * MIB
        backup_id = _backup(rig, size=4 * MIB)
        deadline = _short_deadline(0.9)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id, deadline=deadline)
        # THEN it stops before the deadline, pending, saying how far it got; the upload stays open with its parts
        assert time.monotonic() < deadline.expires_at
        assert result.status == "pending" and result.objects == ()
        assert "not enough time left" in (result.reason or "") and result.progress is not None
        sent = len(rig.storage.requests_for("UploadPart"))
        assert 1 <= sent < 4
        assert result.progress == (sent * MIB, 4 * MIB, sent, 4)
        (upload,) = rig.open_uploads()
        record = _progress_record(rig)
        assert record is not None and record["backup_id"] == backup_id
        ((key, entry),) = record["files"].items()
        assert key == upload.key and entry["upload_id"] == upload.uploadId
        assert [n for n, _ in entry["parts"]] == list(range(1, sent + 1)) and entry["bytes_done"] == sent * MIB

    def test_an_export_cut_short_before_any_part_leaves_no_upload_open(self, rig: ExportRig) -> None:
        # GIVEN a download far slower than assumed: the first part is started, and still being read at the deadline
        rig.storage.download_bytes_per_s = 2 * MIB
        backup_id = _backup(rig, size=2 * MIB)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id, deadline=_short_deadline(0.3), assumed_bytes_per_s=64 * MIB)
        # THEN it is pending, and the upload (no part in it) was aborted after the deadline all the same
        assert result.status == "pending" and "deadline reached" in (result.reason or "")
        assert rig.storage.requests_for("AbortMultipartUpload")
        assert rig.open_uploads() == [] and _progress_record(rig) is None


class TestResume:
    def test_a_backup_copied_over_three_runs_is_byte_identical_and_verified(self, rig: ExportRig) -> None:
        # GIVEN a 6 MiB backup whose link serves 4 MiB/s, and runs of 0.9 s each: one run cannot copy it
        rig.storage.download_bytes_per_s = 4 * MIB
        backup_id = _backup(rig, size=6 * MIB)
        # WHEN three runs export it, the last with time enough
        first = rig.export(HA_ID, backup_id, deadline=_short_deadline(0.9))
        second = rig.export(HA_ID, backup_id, deadline=_short_deadline(0.9))
        third = rig.export(HA_ID, backup_id)
        # THEN the first two moved it forward, each continuing where the last stopped, and the third finished it
        assert (first.status, second.status, third.status) == ("pending", "pending", "done"), third.reason
        assert first.progress is not None and second.progress is not None
        assert 0 < first.progress.bytes_done < second.progress.bytes_done < 6 * MIB
        (exported,) = third.objects
        assert _stored_md5(rig, exported.key) == _source_md5(rig, exported.key)
        assert exported.verification is not None and exported.verification.checksum == "verified"
        # no part was uploaded twice, each later run asked the link for the rest only, and nothing is left behind
        numbers = [int(r.query["partNumber"] or 0) for r in rig.storage.requests_for("UploadPart")]
        assert sorted(numbers) == list(range(1, 7))
        ranges = [r.headers.get("range") for r in rig.storage.requests_for("PresignedGetObject")]
        assert ranges == [None, f"bytes={first.progress.bytes_done}-", f"bytes={second.progress.bytes_done}-"]
        assert len(rig.storage.requests_for("InitiateMultipartUpload")) == 1 and rig.open_uploads() == []
        assert _progress_record(rig) is None

    def test_a_file_damaged_past_the_first_run_fails_in_a_later_run_and_leaves_no_object(self, rig: ExportRig) -> None:
        # GIVEN a backup whose file has a flipped byte, and a first run that stops before reaching the end
        rig.storage.download_bytes_per_s = 4 * MIB
        backup = rig.state.add_backup(HA_ID, size_bytes=6 * MIB)
        backup.file_damage = "flipped_byte"  # at 3 MiB, past what the first run reads
        first = rig.export(HA_ID, backup.backup_id, deadline=_short_deadline(0.9))
        # WHEN the next run continues it
        second = rig.export(HA_ID, backup.backup_id)
        # THEN the CRC, carried over from the first run, fails it: no object, no upload, no record
        assert first.status == "pending" and second.status == "failed", second.reason
        assert "CRC mismatch" in (second.reason or "")
        assert not [k for k in rig.storage.store.objects(BUCKET) if not k.endswith("export-progress.json")]
        assert rig.open_uploads() == [] and _progress_record(rig) is None

    def test_an_upload_of_a_superseded_backup_is_aborted_and_its_record_removed(self, rig: ExportRig) -> None:
        # GIVEN an export of one backup cut short, its upload open
        rig.storage.download_bytes_per_s = 4 * MIB
        older = _backup(rig, size=4 * MIB)
        assert rig.export(HA_ID, older, deadline=_short_deadline(0.9)).status == "pending"
        (stale,) = rig.open_uploads()
        # WHEN a newer backup is exported
        rig.storage.download_bytes_per_s = None
        newer = _backup(rig, size=2 * MIB)
        result = rig.export(HA_ID, newer)
        # THEN the older upload was aborted, the newer backup exported, and no progress record is left
        assert result.status == "done", result.reason
        aborted = [r.query.get("uploadId") for r in rig.storage.requests_for("AbortMultipartUpload")]
        assert stale.uploadId in aborted and rig.open_uploads() == []
        assert _progress_record(rig) is None
        assert [k for k in rig.storage.store.objects(BUCKET) if older in k] == []

    def test_an_upload_missing_a_recorded_part_is_started_again(self, rig: ExportRig) -> None:
        # GIVEN an export cut short whose upload then lost its first part
        rig.storage.download_bytes_per_s = 4 * MIB
        backup_id = _backup(rig, size=4 * MIB)
        assert rig.export(HA_ID, backup_id, deadline=_short_deadline(0.9)).status == "pending"
        (upload,) = rig.storage.store.uploads(BUCKET)
        upload.parts.pop(1)
        # WHEN the next run exports it, THEN that upload is aborted and the file copied from its start, whole
        rig.storage.download_bytes_per_s = None
        result = rig.export(HA_ID, backup_id)
        assert result.status == "done", result.reason
        assert upload.upload_id in [r.query.get("uploadId") for r in rig.storage.requests_for("AbortMultipartUpload")]
        assert _stored_md5(rig, result.objects[0].key) == _source_md5(rig, result.objects[0].key)
        assert rig.storage.requests_for("PresignedGetObject")[-1].headers.get("range") is None

    def test_an_upload_obs_no_longer_holds_is_started_again(self, rig: ExportRig) -> None:
        # GIVEN an export cut short whose upload was then removed from the bucket (a lifecycle rule)
        rig.storage.download_bytes_per_s = 4 * MIB
        backup_id = _backup(rig, size=4 * MIB)
        assert rig.export(HA_ID, backup_id, deadline=_short_deadline(0.9)).status == "pending"
        (upload,) = rig.storage.store.uploads(BUCKET)
        rig.storage.store.abort(upload)
        # WHEN the next run exports it, THEN the file is copied from its start, whole and verified
        rig.storage.download_bytes_per_s = None
        result = rig.export(HA_ID, backup_id)
        assert result.status == "done", result.reason
        assert _stored_md5(rig, result.objects[0].key) == _source_md5(rig, result.objects[0].key)
        assert rig.storage.requests_for("PresignedGetObject")[-1].headers.get("range") is None


class TestSecrets:
    def test_no_credential_or_link_signature_reaches_a_log_line_or_the_result(self, rig: ExportRig) -> None:
        # GIVEN logs at DEBUG, a cut download, a throttled part and a refused completion
        stream = io.StringIO()
        configure_logging("DEBUG", stream)
        rig.storage.faults.script("PresignedGetObject", Fault(FaultKind.CUT_BODY, cut_after_bytes=MIB))
        rig.storage.faults.script("UploadPart", Fault(FaultKind.THROTTLE, retry_after_s=1))
        rig.storage.faults.script("CompleteMultipartUpload", Fault(FaultKind.FORBIDDEN))
        backup_id = _backup(rig)
        links = rig.links(HA_ID, backup_id)
        # WHEN the backup is exported
        result = rig.export(HA_ID, backup_id)
        # THEN neither the logs nor the result hold a key, the token, or a link's signed query
        everything = stream.getvalue() + json.dumps(result._asdict(), default=str)
        assert result.status == "failed" and "call retrying" in everything
        for secret in (
            ACCESS_KEY,
            SECRET_KEY,
            SECURITY_TOKEN,
            "Signature=",
            "AWSAccessKeyId",
            *(f.link for f in links),
        ):
            assert secret not in everything


def _uploaded_with(rig: ExportRig, sse: Any, key: str = "sse/object") -> Any:
    """One single-part upload through the SDK, initiated with ``sse``; the answer to a HEAD of the object."""
    client = build_obs_client(ObsAccess(rig.storage.endpoint, ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN))
    started = client.initiateMultipartUpload(BUCKET, key, sseHeader=sse)
    assert started.status == 200, started.errorMessage
    upload_id = started.body.uploadId
    part = client.uploadPart(BUCKET, key, 1, upload_id, content=io.BytesIO(b"encrypted"), partSize=9)
    done = CompleteMultipartUploadRequest(parts=[CompletePart(1, part.body.etag)])
    assert client.completeMultipartUpload(BUCKET, key, upload_id, done).status == 200
    return client.getObjectMetadata(BUCKET, key)


class TestEmulatedEncryption:
    def test_the_storage_keeps_the_kms_encryption_asked_for_at_initiate_and_heads_it(self, rig: ExportRig) -> None:
        head = _uploaded_with(rig, SseKmsHeader.getInstance(key=KMS_KEY_ID))
        # On loopback (an IP address) the SDK signs path-style v2: OBS's "kms" reads "aws:kms" there
        assert (head.body.sseKms, head.body.sseKmsKey) == ("aws:kms", KMS_KEY_ID)
        encryption = rig.storage.store.get(BUCKET, "sse/object").encryption
        assert encryption == Encryption("kms", KMS_KEY_ID)

    def test_the_storage_keeps_sse_obs_asked_for_at_initiate_and_heads_it(self, rig: ExportRig) -> None:
        head = _uploaded_with(rig, SseKmsHeader.getInstance(encryption="AES256"))
        assert (head.body.sseKms, head.body.sseKmsKey) == ("AES256", None)
        encryption = rig.storage.store.get(BUCKET, "sse/object").encryption
        assert encryption == Encryption("AES256")

    def test_an_object_uploaded_without_encryption_heads_none(self, rig: ExportRig) -> None:
        head = _uploaded_with(rig, None)
        assert (head.body.sseKms, head.body.sseKmsKey) == (None, None)
        assert rig.storage.store.get(BUCKET, "sse/object").encryption is None

    def test_a_bucket_that_requires_encryption_refuses_an_upload_without_it(self, rig: ExportRig) -> None:
        rig.storage.store.require_encryption(BUCKET)
        client = build_obs_client(ObsAccess(rig.storage.endpoint, ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN))
        refused = client.initiateMultipartUpload(BUCKET, "plain")
        assert (refused.status, refused.errorCode) == (403, "AccessDenied")
        assert _uploaded_with(rig, SseKmsHeader.getInstance(encryption="AES256")).status == 200


class TestEncryption:
    def test_without_a_kms_key_every_upload_is_encrypted_by_obs(self, rig: ExportRig) -> None:
        result = rig.export(CLUSTER_ID, _backup(rig, CLUSTER_ID, size=3 * MIB))
        assert result.status == "done", result.reason
        stored = [rig.storage.store.get(BUCKET, o.key).encryption for o in result.objects]
        assert stored == [Encryption("AES256")] * 3

    def test_with_a_kms_key_every_upload_is_encrypted_with_that_key(self, rig: ExportRig) -> None:
        result = rig.export(HA_ID, _backup(rig), kms_key_id=KMS_KEY_ID)
        assert result.status == "done", result.reason
        encryption = rig.storage.store.get(BUCKET, result.objects[0].key).encryption
        assert encryption == Encryption("kms", KMS_KEY_ID)

    def test_only_the_initiate_carries_encryption_headers(self, rig: ExportRig) -> None:
        assert rig.export(HA_ID, _backup(rig), kms_key_id=KMS_KEY_ID).status == "done"
        (initiate,) = rig.storage.requests_for("InitiateMultipartUpload")
        assert initiate.headers["x-amz-server-side-encryption"] == "aws:kms"
        others = rig.storage.requests_for("UploadPart", "CompleteMultipartUpload")
        assert others and not any("server-side-encryption" in h for r in others for h in r.headers)

    def test_an_export_to_a_bucket_that_requires_encryption_is_done(self, rig: ExportRig) -> None:
        rig.storage.store.require_encryption(BUCKET)
        assert rig.export(HA_ID, _backup(rig)).status == "done"


class TestColdStart:
    def test_a_plain_backup_never_imports_the_obs_sdk(self) -> None:
        # GIVEN a fresh interpreter, WHEN the function backs up an instance without export
        script = (
            "import sys\n"
            "from dcs_emulator import DcsEmulator, EmulatorState\n"
            "from dcs_backup.app import Runtime, handle\n"
            "from devkit.context import LocalContext\n"
            "from devkit.seed import HA_ID, PROJECT_ID\n"
            "with DcsEmulator(EmulatorState.from_seed()) as e:\n"
            "    env = {'DCS_ENDPOINT': e.endpoint, 'DCS_PROJECT_ID': PROJECT_ID}\n"
            "    answer = handle({'instance_ids': [HA_ID]}, LocalContext.seeded(), Runtime(env=env))\n"
            "print(answer['status'], 'obs' in sys.modules, 'Crypto' in sys.modules)\n"
        )
        run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
        # THEN neither the OBS SDK nor pycryptodome was loaded
        assert run.stdout.split() == ["succeeded", "False", "False"]
