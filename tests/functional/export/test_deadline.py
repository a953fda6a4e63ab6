"""An export the deadline cuts short is pending: its upload aborted when no part was sent, else continued."""

from __future__ import annotations

from devkit.seed import HA_ID
from tests.support import BUCKET, MIB, ExportHarness, own_backup, yesterdays_backup


class TestSlowDownloadAtTheDeadline:
    def test_the_upload_is_aborted_before_the_function_answers(self, export_harness: ExportHarness) -> None:
        # GIVEN a 12 MiB backup whose download runs at 256 KiB/s: not even its 1 MiB first part fits in 4 s
        yesterdays_backup(export_harness, size=12 * MIB)
        export_harness.storage.download_bytes_per_s = MIB // 4
        # WHEN it is exported
        result = export_harness.export({"instance_ids": [HA_ID]}, remaining_ms=4000)
        # THEN the export is pending, and no upload was left open when the function answered
        assert result.answer["results"][0]["export"]["status"] == "pending"
        assert export_harness.storage.store.uploads(BUCKET) == []
        assert export_harness.storage.requests_for("AbortMultipartUpload")

    def test_an_export_still_running_at_the_deadline_is_reported_pending(self, export_harness: ExportHarness) -> None:
        """An export still copying when the invocation must answer stays in the document, as pending.

        The outcome carries ``export: {"status": "pending", ...}`` and is ``pending`` (as docs/export.md's
        "what is not done is pending" says), so the next run or a retry finishes it; it does not come
        back as it was before the export (``created``, no ``export`` field, document ``succeeded``,
        nothing to retry) while a multipart upload is left open behind the answer.
        """
        own_backup(export_harness.emulator.state, 1, size=6 * MIB)
        # Downloads at 1 MiB/s: the first 5 MiB part takes 5 s, well past a 2.7 s deadline.
        export_harness.storage.download_bytes_per_s = 1 * MIB
        result = export_harness.export({}, remaining_ms=3000)
        outcome = result.answer["results"][0]
        assert "export" in outcome, f"the export vanished from the outcome: {outcome}"
        assert outcome["export"]["status"] == "pending"
        assert result.answer["status"] == "pending"


class TestBackupLargerThanAnInvocation:
    def test_the_pending_outcome_says_how_far_it_got_and_the_next_run_finishes_it(
        self, export_harness: ExportHarness
    ) -> None:
        # GIVEN a 12 MiB backup (parts of 1, 5, 5 and 1 MiB) whose link serves 4 MiB/s, and a 4 s invocation
        yesterdays_backup(export_harness, size=12 * MIB)
        export_harness.storage.download_bytes_per_s = 4 * MIB
        export_harness.emulator.state.backuping_s = 3600  # tonight's backups stay running: yesterday's is exported
        # WHEN it is exported, THEN it is pending, saying the bytes and parts done of the whole
        tonight = export_harness.export({"instance_ids": [HA_ID]}, remaining_ms=4000).answer["results"][0]
        first = tonight["export"]
        assert first["status"] == "pending"
        assert first["bytes_total"] == 12 * MIB and first["parts_total"] == 4
        assert 0 < first["parts_done"] < 4 and first["bytes_done"] == MIB + (first["parts_done"] - 1) * 5 * MIB
        # WHEN tonight's backup then fails in DCS and the next run exports, THEN it finishes yesterday's from
        # where the first run stopped: no part was sent twice
        state = export_harness.emulator.state
        next(b for b in state.backups(HA_ID) if b.backup_id == tonight["backup_id"]).pinned_status = "failed"
        second = export_harness.export({"instance_ids": [HA_ID]}).answer["results"][0]["export"]
        assert second["status"] == "done", second
        assert second["objects"][0]["verification"]["checksum"] == "verified"
        assert len(export_harness.storage.requests_for("UploadPart")) == 4
        assert export_harness.storage.store.uploads(BUCKET) == []
