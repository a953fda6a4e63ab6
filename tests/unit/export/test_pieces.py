"""The export engine's small rules: object keys, metadata, pacing, and how failures are classified."""

from __future__ import annotations

import pytest
import requests

from dcs_backup.export.base import BackupSource, object_key
from dcs_backup.export.engine import Pace
from dcs_backup.export.errors import BrokenDownloadError, IntegrityError, ServiceAnswerError, classify
from dcs_backup.export.pipeline import NoTimeLeftError
from dcs_backup.platform.calls import ErrorKind
from dcs_backup.platform.retry import Deadline


class TestLayout:
    def test_the_key_is_prefix_instance_backup_file(self) -> None:
        assert object_key("dcs-backup/", "i-1", "b-2", "f.rdb") == "dcs-backup/i-1/b-2/f.rdb"

    def test_metadata_is_percent_encoded_and_skips_what_is_unknown(self) -> None:
        # GIVEN an instance named in Chinese and no creation time, THEN headers stay ASCII and nothing is empty
        source = BackupSource("i-1", "订单 cache", "b-2", "rdb", None, 42)
        assert source.metadata() == {
            "dcs-instance-name": "%E8%AE%A2%E5%8D%95%20cache",
            "dcs-backup-id": "b-2",
            "dcs-backup-format": "rdb",
            "dcs-source-size": "42",
        }


class TestPace:
    def test_a_part_that_fits_at_the_measured_rate_may_start(self) -> None:
        # GIVEN 10 MB done in 1 s and 2 s left, THEN a 10 MB part (1 s + 0.5 s reserve) may start
        now = [0.0]
        pace = Pace(reserve_s=0.5)
        pace.record(10_000_000, 1.0)
        pace.require(10_000_000, Deadline(2.0, clock=lambda: now[0]))

    def test_a_part_that_would_overrun_the_deadline_is_refused(self) -> None:
        # GIVEN 10 MB done in 1 s and 1.2 s left, THEN a 10 MB part is not started
        pace = Pace(reserve_s=0.5)
        pace.record(10_000_000, 1.0)
        with pytest.raises(NoTimeLeftError):
            pace.require(10_000_000, Deadline(1.2, clock=lambda: 0.0))

    def test_a_whole_file_is_judged_only_once_a_rate_was_measured(self) -> None:
        # GIVEN nothing measured yet, THEN a huge file is not refused up front on the assumed rate
        Pace(reserve_s=0.5).require(10**12, Deadline(1.0, clock=lambda: 0.0), measured_only=True)


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "code", "kind"),
        [
            (503, "SlowDown", ErrorKind.THROTTLED),
            (500, "InternalError", ErrorKind.SERVER),
            (400, "BadDigest", ErrorKind.SERVER),
            (403, "AccessDenied", ErrorKind.REJECTED),
        ],
    )
    def test_answers_by_status_and_code(self, status: int, code: str, kind: ErrorKind) -> None:
        error = classify(ServiceAnswerError(status, code, "m", retry_after="2"), "UploadPart")
        assert (error.kind, error.status_code, error.error_code, error.retry_after_s) == (kind, status, code, 2.0)

    @pytest.mark.parametrize("retry_after", ["٣", "²", "1e3", "nan", "-1", "2.5"])
    def test_a_retry_after_that_is_not_ascii_digits_is_ignored(self, retry_after: str) -> None:
        # GIVEN a Retry-After in Arabic-Indic digits (float() reads them), or any other non-integer, THEN it is not used
        error = classify(ServiceAnswerError(503, "SlowDown", "m", retry_after=retry_after), "UploadPart")
        assert error.retry_after_s is None

    def test_a_retry_after_in_ascii_digits_is_used(self) -> None:
        assert classify(ServiceAnswerError(503, "SlowDown", "m", retry_after="7"), "UploadPart").retry_after_s == 7.0

    def test_a_broken_download_is_resumed_and_a_mismatch_is_not(self) -> None:
        assert classify(BrokenDownloadError("cut"), "Download").kind is ErrorKind.UNREACHABLE
        assert classify(IntegrityError("etag"), "UploadPart").kind is ErrorKind.REJECTED

    def test_transport_messages_never_quote_the_url(self) -> None:
        # GIVEN requests' error text, which names the signed link, THEN only the type is kept
        error = classify(requests.ConnectionError("https://x/?Signature=abc"), "DownloadBackupFile")
        assert error.kind is ErrorKind.UNREACHABLE and "Signature" not in error.message

    def test_anything_else_is_not_a_call_failure(self) -> None:
        with pytest.raises(KeyError):
            classify(KeyError("bug"), "UploadPart")
