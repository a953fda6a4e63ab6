"""An export the deadline cuts short ends with its multipart upload aborted, before the answer."""

from __future__ import annotations

from devkit.seed import HA_ID
from tests.support import BUCKET, MIB, ExportHarness, yesterdays_backup


class TestSlowDownloadAtTheDeadline:
    def test_the_upload_is_aborted_before_the_function_answers(self, export_harness: ExportHarness) -> None:
        # GIVEN a 12 MiB backup whose download runs at 512 KiB/s, far too slow for a 4 s invocation
        yesterdays_backup(export_harness, size=12 * MIB)
        export_harness.storage.download_bytes_per_s = MIB // 2
        # WHEN it is exported
        result = export_harness.export({"instance_ids": [HA_ID]}, remaining_ms=4000)
        # THEN the export is pending, and no upload was left open when the function answered
        assert result.answer["results"][0]["export"]["status"] == "pending"
        assert export_harness.storage.store.uploads(BUCKET) == []
        assert export_harness.storage.requests_for("AbortMultipartUpload")
