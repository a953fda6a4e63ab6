"""Review 3: findings at the edges between features, reproduced against the emulators (each red before its fix)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError, ConfigurationError
from dcs_emulator import Fault, FaultKind
from devkit.context import LocalContext
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import DAY, FAST_POLLS, MIB, ExportHarness, override_record, own_backup

# ---------------------------------------------------------------- helpers


def _trickle_backup_listings(monkeypatch: pytest.MonkeyPatch, skip: int, seconds: float = 3.0) -> None:
    """From the (skip+1)-th ListBackupRecords answer on, DCS trickles the body a byte per 0.2 s for ``seconds``.

    Each read gets a byte in time, so no read timeout fires: the peer the README names ("a peer that
    trickles its answer"), which only the runner's own deadline can cut short.
    """
    import dcs_emulator.server as server

    original = server._Handler._answer  # type: ignore[attr-defined]
    seen = {"calls": 0}

    def answer(self: Any, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        is_listing = self.command == "GET" and self.path.split("?")[0].endswith("/backups")
        if not is_listing or payload is None:
            return original(self, status, payload, extra_headers)
        seen["calls"] += 1
        if seen["calls"] <= skip:
            return original(self, status, payload, extra_headers)
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        end, sent = time.monotonic() + seconds, 0
        try:
            while sent < len(data) and time.monotonic() < end:
                self.wfile.write(data[sent : sent + 1])
                self.wfile.flush()
                sent += 1
                time.sleep(0.2)
            self.wfile.write(data[sent:])
        except OSError:
            pass
        return None

    monkeypatch.setattr(server._Handler, "_answer", answer)  # type: ignore[attr-defined]


def _apig(body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = load_event("apig-plain.json")
    event["body"] = json.dumps(body)
    return event


# ---------------------------------------------------------------- the deadline across phases


class TestDeadlineAcrossPhases:
    def test_an_export_still_running_at_the_deadline_is_reported_pending(self, export_harness: ExportHarness) -> None:
        """Wrong: an export still copying when the invocation must answer is dropped from the document.

        ``_FollowUp.run(..., late=lambda started: started)`` hands back the outcome as it was before the
        export: ``created``, no ``export`` field, document ``succeeded`` (HTTP 202, no BackupPendingError,
        so nothing retries), while a multipart upload is left open behind the answer.
        Right: the outcome carries ``export: {"status": "pending", ...}`` and is ``pending`` (as the
        README's "what is not done is pending" says), so the next run or a retry finishes it.
        """
        own_backup(export_harness.emulator.state, 1, size=6 * MIB)
        # Downloads at 1 MiB/s: the first 5 MiB part takes 5 s, well past a 2.7 s deadline.
        export_harness.storage.download_bytes_per_s = 1 * MIB
        result = export_harness.export({}, remaining_ms=3000)
        outcome = result.answer["results"][0]
        assert "export" in outcome, f"the export vanished from the outcome: {outcome}"
        assert outcome["export"]["status"] == "pending"
        assert result.answer["status"] == "pending"

    def test_a_prune_still_running_at_the_deadline_is_reported(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Wrong: retention still under way at the deadline leaves no trace in the document.

        The prune's ListBackupRecords trickles; the runner gives up at the deadline and returns the
        outcome as it was before pruning: no ``retention_error``, no ``deleted_backup_ids``, no ERROR
        line, document ``succeeded``, although deletions may be half done.
        Right: the outcome says retention did not finish (e.g. ``retention_error`` with a reason naming
        the deadline), as every other unfinished step does.
        """
        state = function.emulator.state
        for days in (1, 2, 3):
            own_backup(state, days)
        _trickle_backup_listings(monkeypatch, skip=1)  # the pipeline's read is prompt, the prune's trickles
        result = function.invoke(
            {"instance_ids": [HA_ID], "raise_on_failure": False, "retention": {"keep_last": 1}},
            LocalContext.seeded(remaining_ms=2000),
        )
        outcome = result.answer["results"][0]
        assert "retention_error" in outcome or "deleted_backup_ids" in outcome, (
            f"retention vanished from the outcome: {outcome}"
        )


# ---------------------------------------------------------------- wait


class TestWait:
    def test_a_rejected_status_read_fails_the_instance_instead_of_pending(self, function: FunctionHarness) -> None:
        """Wrong: while waiting, DCS refusing ListBackupRecords for good (403 DCS.2003, a missing
        ``dcs:instance:getDataBackupLog``) makes the instance ``pending`` ("retry the same request to
        wait on"), raises BackupPendingError and drops DCS's error code: the documented workflow
        ("retry on BackupPendingError") then retries forever, and no ERROR line pages anyone.
        Right: a rejection that is not the deadline fails the instance (BackupFailedError) with
        ``error_code`` DCS.2003, like any other call DCS refuses.
        """
        function.runtime.poll_policy = FAST_POLLS
        # The pipeline's own read of the records passes; every poll is refused.
        function.emulator.faults.script(
            "ListBackupRecords", Fault(FaultKind.LATENCY, delay_s=0), *[Fault(FaultKind.FORBIDDEN)] * 5
        )
        result = function.invoke({"instance_ids": [HA_ID], "wait": True}, LocalContext.seeded(remaining_ms=10_000))
        assert isinstance(result.error, BackupFailedError), repr(result.error)[:300]


# ---------------------------------------------------------------- export with wait and retention


class TestExportCombinations:
    def test_a_backup_that_failed_in_dcs_still_exports_the_newest_good_one(self, export_harness: ExportHarness) -> None:
        """Wrong: when tonight's backup (waited for) fails in DCS, nothing is exported at all: the
        outcome has no ``export`` and yesterday's good backup, not yet in the bucket, stays on the
        instance only (``_CAN_EXPORT`` leaves out failed outcomes).
        Right: as the spec says, "on every run the newest succeeded backup of this function ... that is
        not yet in the bucket" is exported, all the more when tonight's backup failed.
        """
        yesterday = own_backup(export_harness.emulator.state, 1, size=MIB)
        export_harness.emulator.state.fail_next_backup(HA_ID)
        outcome = export_harness.export({"wait": True}).answer["results"][0]
        assert outcome["status"] == "failed"  # tonight's backup failed in DCS
        assert outcome.get("export", {}).get("backup_id") == yesterday.backup_id, outcome

    def test_export_and_retention_agree_on_which_backup_is_newest(self, export_harness: ExportHarness) -> None:
        """Wrong: export picks "the newest" by comparing DCS's ``created_at`` text, retention by time.

        With a time carrying an offset (which ``iso_utc`` expects DCS to send), export copies the older
        backup and retention (keep_last 1) then deletes exactly that backup in the same run, while the
        truly newest one is not exported.
        Right: export orders by the parsed time (as retention and the audit do) and copies the newest.
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


# ---------------------------------------------------------------- HTTP answers


class TestHttpAnswers:
    def test_an_unreadable_listing_is_not_answered_404(self, function: FunctionHarness) -> None:
        """Wrong: when ListInstances is refused (403 DCS.2003) for a request that only selects, API
        Gateway answers 404, the code the README reserves for "a selection matched nothing": the
        caller is told its tag matched no instance when DCS could not be read at all.
        Right: 502 (the DCS side failed), with the "instance selection failed" reason.
        """
        function.emulator.faults.script("ListInstances", Fault(FaultKind.FORBIDDEN))
        result = function.invoke(_apig({"select": {"tags": {"backup": "daily"}}}))
        assert "instance selection failed" in result.body["reason"]
        assert result.answer["statusCode"] == 502


# ---------------------------------------------------------------- configuration


class TestConfiguration:
    def test_an_export_bucket_without_an_obs_endpoint_is_a_configuration_error_first(
        self, function: FunctionHarness
    ) -> None:
        """Wrong: DCS_EXPORT_BUCKET set while neither OBS_ENDPOINT nor DCS_REGION is (the environment
        alone shows the export cannot work) is noticed only after the request is judged: an invalid
        request gets InvalidRequestError (HTTP 400, the caller's fault), and the later error names
        neither DCS_EXPORT_BUCKET nor what to set. (A read-only audit, which never exports, also fails
        on it.)
        Right: as the README says, every variable is checked before the request is judged: a
        ConfigurationError naming DCS_EXPORT_BUCKET / OBS_ENDPOINT.
        """
        result = function.invoke({"instance_ids": [HA_ID], "colour": "blue"}, DCS_EXPORT_BUCKET="team-dcs-backups")
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert "DCS_EXPORT_BUCKET" in str(result.error)

    def test_select_tags_naming_a_key_twice_is_a_configuration_error(self, function: FunctionHarness) -> None:
        """Wrong: DCS_SELECT_TAGS="backup=daily,backup=weekly" silently becomes "backup=weekly" (the
        dict keeps the last pair): instances tagged backup=daily are no longer backed up, and nothing
        says the configuration was reinterpreted.
        Right: a ConfigurationError naming DCS_SELECT_TAGS and the repeated key, before any call.
        """
        result = function.invoke({}, DCS_SELECT_TAGS="backup=daily,backup=weekly")
        assert isinstance(result.error, ConfigurationError), repr(result.error)[:300]
        assert "DCS_SELECT_TAGS" in str(result.error)
        assert function.emulator.requests_for("ListInstances") == []


# ---------------------------------------------------------------- audit


class TestAudit:
    def test_an_audit_cut_short_does_not_say_a_backup_may_have_been_started(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Wrong: an audit target whose ListBackupRecords is still trickling at the deadline gets the
        backup runner's reason "... the backup may have been started: a retry of the same request
        finds it", and that text goes into an ERROR line that pages a person. An audit is read-only:
        it never starts a backup.
        Right: a reason fit for an audit (e.g. "deadline reached while reading the backups").
        """
        own_backup(function.emulator.state, 1)
        _trickle_backup_listings(monkeypatch, skip=0)
        result = function.invoke(
            {"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False},
            LocalContext.seeded(remaining_ms=2000),
        )
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "failed"
        assert "backup may have been started" not in outcome["reason"]
