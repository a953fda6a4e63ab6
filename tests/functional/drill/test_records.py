"""Drill records: each drill that ran leaves one JSON object in the export bucket, and the audit reads them back as
each instance's ``last_drill``, holding it to ``max_drill_age_days``."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dcs_backup.platform.errors import RpoViolatedError
from dcs_emulator.faults import Fault, FaultKind
from devkit.context import LocalContext
from tests.conftest import Invocation, load_event
from tests.functional.drill.conftest import (
    BACKUP_KEYS,
    BIG_ID,
    CLUSTER_ID,
    HA_ID,
    SCRATCH_ID,
    WRITES,
    by_source,
    good_backup,
    run_drill,
)
from tests.support import BUCKET, EXPORT_TOKEN, MIB, ExportHarness

RECORDS = "dcs-drills/"
FROM_BACKUP: dict[str, Any] = {"from": "backup"}


@pytest.fixture
def recording(drilling: ExportHarness) -> ExportHarness:
    """Drills with an export bucket configured: their records are kept there."""
    drilling.env["DCS_EXPORT_BUCKET"] = BUCKET
    drilling.storage.store.create_bucket(BUCKET)
    return drilling


def _records(harness: ExportHarness, instance_id: str) -> dict[str, dict[str, Any]]:
    folder = f"{RECORDS}{instance_id}/"
    stored = harness.storage.store.objects(BUCKET)
    return {key: json.loads(bytes(o.data or b"")) for key, o in stored.items() if key.startswith(folder)}


def _audit(harness: ExportHarness, *instance_ids: str, raise_on_failure: bool = False, **fields: Any) -> Invocation:
    body = {"action": "audit", "instance_ids": list(instance_ids), "raise_on_failure": raise_on_failure, **fields}
    return harness.invoke(body, LocalContext.seeded(security_token=EXPORT_TOKEN))


def _old_record(harness: ExportHarness, instance_id: str, days: float, result: str = "passed") -> datetime:
    """A record an earlier drill left ``days`` ago."""
    at = (datetime.now(timezone.utc) - timedelta(days=days)).replace(microsecond=0)
    key = f"{RECORDS}{instance_id}/{at:%Y%m%dT%H%M%SZ}-{result}-{'ab' * 4}.json"
    body = {"instance_id": instance_id, "result": result, "restore_seconds": 42.5, "backup_id": "old-backup"}
    harness.storage.store.put(BUCKET, key, json.dumps(body).encode())
    return at


class TestWritten:
    def test_a_drill_that_ran_is_kept_as_one_json_object_in_the_export_bucket(self, recording: ExportHarness) -> None:
        backup = good_backup(recording)
        answer = run_drill(recording, **FROM_BACKUP).answer
        result = by_source(answer)[HA_ID]
        ((key, record),) = _records(recording, HA_ID).items()
        assert result["status"] == "passed" and result["record"] == key and key.endswith(".json")
        assert "-passed-" in key
        assert answer["records"] == {"bucket": BUCKET, "prefix": RECORDS}
        assert record["result"] == "passed" and record["from"] == "backup" and record["backup_id"] == backup.backup_id
        assert record["keys_expected"] == record["keys_restored"] == BACKUP_KEYS
        assert record["restore_seconds"] == result["restore_seconds"] and record["scratch_instance_id"] == SCRATCH_ID

    def test_a_record_is_encrypted_as_the_exports_are_with_the_export_kms_key(self, recording: ExportHarness) -> None:
        key_id = "0d0466b0-e727-4d9c-b35d-f84bb474a37f"
        recording.env["DCS_EXPORT_KMS_KEY_ID"] = key_id
        good_backup(recording)
        run_drill(recording, **FROM_BACKUP)
        (stored,) = [o for k, o in recording.storage.store.objects(BUCKET).items() if k.startswith(RECORDS)]
        assert stored.encryption is not None
        assert (stored.encryption.algorithm, stored.encryption.kms_key_id) == ("kms", key_id)

    def test_a_failed_drill_is_kept_too_and_a_skipped_source_is_not(self, recording: ExportHarness) -> None:
        good_backup(recording).file_damage = "flipped_byte"
        good_backup(recording, BIG_ID)
        run_drill(recording, instance_ids=[HA_ID, BIG_ID], **FROM_BACKUP)
        (record,) = _records(recording, HA_ID).values()
        assert record["result"] == "failed" and "the import failed in DCS" in record["reason"]
        assert _records(recording, BIG_ID) == {}

    def test_without_an_export_bucket_drills_run_and_say_that_no_record_is_kept(self, drilling: ExportHarness) -> None:
        good_backup(drilling)
        result = run_drill(drilling)
        assert by_source(result.answer)[HA_ID]["status"] == "passed"
        assert result.answer["records"]["kept"] is False
        assert "DCS_EXPORT_BUCKET" in result.answer["records"]["reason"]
        assert any(line["level"] == "warning" and "not kept" in line["message"] for line in result.logs)

    def test_a_record_that_cannot_be_written_fails_the_run_with_an_error_line(self, recording: ExportHarness) -> None:
        good_backup(recording)
        recording.storage.faults.script("PutObject", *[Fault(FaultKind.FORBIDDEN)] * 3)
        result = run_drill(recording, **FROM_BACKUP)
        outcome = by_source(result.answer)[HA_ID]
        assert outcome["status"] == "passed" and "record" not in outcome
        assert "writing it to bucket" in outcome["record_problem"]
        assert result.answer["status"] == "failed"
        errors = [line for line in result.logs if line["level"] == "error"]
        assert any("has no record" in line.get("detail", "") for line in errors)


class TestRetriedDelivery:
    def _deliver_twice(self, harness: ExportHarness) -> tuple[Invocation, Invocation, int]:
        """The same request delivered twice; and how many DCS calls that write the second one sent."""
        context = LocalContext.seeded(security_token=EXPORT_TOKEN)
        body = {"action": "drill", "instance_ids": [HA_ID], "raise_on_failure": False, **FROM_BACKUP}
        first = harness.invoke(body, context)
        writes = len([r for r in harness.emulator.requests if r.route in WRITES])
        again = harness.invoke(body, context)
        return first, again, len([r for r in harness.emulator.requests if r.route in WRITES]) - writes

    def test_a_retried_delivery_answers_from_the_record_and_never_imports_again(self, recording: ExportHarness) -> None:
        good_backup(recording).file_damage = "flipped_byte"
        first, again, written = self._deliver_twice(recording)
        done, retried = by_source(first.answer)[HA_ID], by_source(again.answer)[HA_ID]
        assert done["status"] == retried["status"] == "failed" and retried["reused"] is True
        assert retried["record"] == done["record"] and retried["migration_task_id"] == done["migration_task_id"]
        assert retried["reason"] == done["reason"]
        assert written == 0  # no flush, no import
        assert len(_records(recording, HA_ID)) == 1

    def test_a_drill_that_failed_before_its_import_is_drilled_again_on_a_retry(self, recording: ExportHarness) -> None:
        good_backup(recording)
        # Emptying the (Redis 7.0) scratch instance fails: its baseline restore is refused.
        recording.emulator.faults.script("RestoreInstance", *[Fault(FaultKind.SERVER_ERROR)] * 5)
        first, again, _ = self._deliver_twice(recording)
        failed = by_source(first.answer)[HA_ID]
        assert failed["status"] == "failed" and failed["backup_id"] and "RestoreInstance" in failed["reason"]
        assert by_source(again.answer)[HA_ID]["status"] == "passed"
        assert len(_records(recording, HA_ID)) == 2


def _not_running_after_the_import(harness: ExportHarness, until: threading.Event) -> threading.Thread:
    """Once an import into the scratch instance is created, the scratch instance shows another status than
    RUNNING (as while it reloads) until ``until``: a run waiting for it to run again meets its deadline."""
    state = harness.emulator.state

    def watch() -> None:
        while not until.is_set():
            if harness.emulator.requests_for("CreateMigrationTask"):
                state.instances[SCRATCH_ID].status = "RESTARTING"
                until.wait()
                state.instances[SCRATCH_ID].status = "RUNNING"
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


class TestImportsNeverJudged:
    """An import that ended but was never judged is judged by the next run, not imported again."""

    def test_an_import_cut_off_before_its_count_is_judged_by_the_next_run(self, recording: ExportHarness) -> None:
        good_backup(recording)
        until = threading.Event()
        watcher = _not_running_after_the_import(recording, until)
        first = by_source(run_drill(recording, remaining_ms=4_000, **FROM_BACKUP).answer)[HA_ID]
        until.set()
        watcher.join()
        assert first["status"] == "pending" and "record" not in first
        writes = len([r for r in recording.emulator.requests if r.route in WRITES])
        second = by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]
        assert second["status"] == "passed" and second["reused"] is True
        assert second["migration_task_id"] == first["migration_task_id"]
        assert len([r for r in recording.emulator.requests if r.route in WRITES]) == writes  # no emptying, no import

    def _cut_before_the_count(self, harness: ExportHarness) -> dict[str, Any]:
        until = threading.Event()
        watcher = _not_running_after_the_import(harness, until)
        first = by_source(run_drill(harness, remaining_ms=4_000, **FROM_BACKUP).answer)[HA_ID]
        until.set()
        watcher.join()
        assert first["status"] == "pending"
        return first

    def test_an_import_once_judged_is_never_judged_again_the_next_run_drills_the_newer_backup(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        self._cut_before_the_count(recording)
        assert by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]["reused"] is True
        newer = good_backup(recording)
        newer.created_at += 3600  # taken an hour after the first
        third = by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]
        assert third["backup_id"] == newer.backup_id and third["status"] == "passed" and not third.get("reused")
        assert len(recording.emulator.requests_for("CreateMigrationTask")) == 2
        assert len(_records(recording, HA_ID)) == 2

    def test_an_import_never_judged_is_imported_again_once_the_scratch_instance_was_restored_since(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        self._cut_before_the_count(recording)
        other = recording.emulator.state.add_backup(SCRATCH_ID, age_hours=48, keys=BACKUP_KEYS, remark="other data")
        body = {
            "action": "restore",
            "instance_id": SCRATCH_ID,
            "confirm_instance_name": "drill-scratch",
            "source": {"backup_id": other.backup_id},
            "raise_on_failure": False,
        }
        restored = recording.invoke(body, LocalContext.seeded(security_token=EXPORT_TOKEN)).answer
        assert restored["status"] == "succeeded", restored
        second = by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]
        assert second["status"] == "passed" and not second.get("reused")
        assert len(recording.emulator.requests_for("CreateMigrationTask")) == 2

    def test_a_resumed_backup_import_is_recorded_as_a_drill_of_the_backup_whatever_the_request_asks(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        self._cut_before_the_count(recording)
        assert by_source(run_drill(recording, 60_000, **{"from": "export"}).answer)[HA_ID]["reused"] is True
        (record,) = _records(recording, HA_ID).values()
        assert record["from"] == "backup" and record["result"] == "passed"

    def test_an_import_into_the_scratch_instance_whose_time_dcs_leaves_out_may_be_newer_so_it_is_drilled_afresh(
        self, recording: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        good_backup(recording)
        self._cut_before_the_count(recording)
        desk = recording.emulator.state.restores
        desk.create_task(
            {
                "task_name": "import-from-console",
                "migration_type": "backupfile_import",
                "backup_files": {"file_source": "backup_record", "backup_id": good_backup(recording).backup_id},
                "target_instance": {"id": SCRATCH_ID},
            }
        )
        listed = type(desk).task_list_item

        def without_its_time(self: Any, task: Any) -> dict[str, Any]:
            item = listed(self, task)
            if task.name == "import-from-console":
                item.pop("created_at")
            return item

        monkeypatch.setattr(type(desk), "task_list_item", without_its_time)
        time.sleep(desk.import_s)  # the console's import ends
        second = by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]
        assert second["status"] == "passed" and not second.get("reused")

    def test_a_retry_after_the_record_could_not_be_written_judges_the_import_again_without_importing(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        recording.storage.faults.script("PutObject", *[Fault(FaultKind.FORBIDDEN)] * 3)
        context = LocalContext.seeded(security_token=EXPORT_TOKEN)
        body = {"action": "drill", "instance_ids": [HA_ID], "raise_on_failure": False, **FROM_BACKUP}
        assert "record_problem" in by_source(recording.invoke(body, context).answer)[HA_ID]
        recording.storage.faults.clear()  # the permission is mended; the platform delivers the request again
        again = by_source(recording.invoke(body, context).answer)[HA_ID]
        assert again["status"] == "passed" and again["record"] and again["reused"] is True
        assert len(recording.emulator.requests_for("CreateMigrationTask")) == 1

    def test_an_export_drill_resumed_by_the_next_run_is_judged_by_the_exports_labels(
        self, recording: ExportHarness
    ) -> None:
        backup = recording.emulator.state.add_backup(
            HA_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=6 * MIB, keys=BACKUP_KEYS
        )
        assert recording.export().answer["results"][0]["export"]["status"] == "done"
        recording.emulator.state.restores.import_s = 4.0
        first = by_source(run_drill(recording, 3_500, **{"from": "export"}).answer)[HA_ID]
        assert first["status"] == "pending" and first["export"]
        recording.emulator.state.delete_backup(HA_ID, backup.backup_id)  # DCS's ring of 24 dropped it
        recording.emulator.state.restores.import_s = 0.2
        second = by_source(run_drill(recording, 60_000, **{"from": "export"}).answer)[HA_ID]
        assert second["status"] == "passed" and second["reused"] is True
        assert second["keys_expected"] == BACKUP_KEYS and second["export"]["bucket"] == BUCKET


class TestAudited:
    def test_the_audit_shows_each_instances_last_drill(self, recording: ExportHarness) -> None:
        backup = good_backup(recording)
        drilled = by_source(run_drill(recording, **FROM_BACKUP).answer)[HA_ID]
        (verdict,) = _audit(recording, HA_ID).answer["results"]
        last = verdict["last_drill"]
        assert (last["result"], last["backup_id"]) == ("passed", backup.backup_id)
        assert last["restore_seconds"] == drilled["restore_seconds"]
        assert last["at"] == last["last_passed_at"] and last["at"].endswith("Z")
        assert verdict["status"] == "ok"

    def test_an_instance_never_drilled_is_unproven_under_max_drill_age_days(self, recording: ExportHarness) -> None:
        good_backup(recording)
        result = _audit(recording, HA_ID, raise_on_failure=True, max_drill_age_days=7)
        assert isinstance(result.error, RpoViolatedError)
        assert "drill age of 7 days not met for 1 instance(s)" in str(result.error)
        (verdict,) = json.loads(str(result.error).split(": ", 1)[1])["results"]
        assert verdict["status"] == "unproven" and verdict["last_drill"] is None
        assert "no drill of it has passed" in verdict["drill_problem"]
        errors = [line for line in result.logs if line["level"] == "error"]
        assert any(line.get("instance_id") == HA_ID and "restorability" in line["detail"] for line in errors)

    def test_a_passed_drill_older_than_max_drill_age_days_is_unproven(self, recording: ExportHarness) -> None:
        good_backup(recording)
        _old_record(recording, HA_ID, days=10.2)
        (verdict,) = _audit(recording, HA_ID, max_drill_age_days=7).answer["results"]
        assert verdict["status"] == "unproven"
        assert verdict["drill_problem"].startswith("not proven for 10 days")
        (within,) = _audit(recording, HA_ID, max_drill_age_days=11).answer["results"]
        assert within["status"] == "ok" and within["last_drill"]["restore_seconds"] == 42.5

    def test_a_failed_drill_after_a_passed_one_is_the_last_drill_and_says_when_one_last_passed(
        self, recording: ExportHarness
    ) -> None:
        passed_at = _old_record(recording, HA_ID, days=2)
        good_backup(recording).file_damage = "flipped_byte"
        run_drill(recording, **FROM_BACKUP)
        (verdict,) = _audit(recording, HA_ID, max_drill_age_days=7).answer["results"]
        last = verdict["last_drill"]
        assert last["result"] == "failed" and last["last_passed_at"] == f"{passed_at:%Y-%m-%dT%H:%M:%SZ}"
        assert verdict["status"] == "ok"

    def test_the_scratch_instance_is_never_held_to_the_drill_age(self, recording: ExportHarness) -> None:
        good_backup(recording, SCRATCH_ID)
        (verdict,) = _audit(recording, SCRATCH_ID, max_drill_age_days=7).answer["results"]
        assert verdict["status"] == "ok" and "last_drill" not in verdict

    def test_an_audit_where_drills_are_not_configured_reads_no_records(self, export_harness: ExportHarness) -> None:
        export_harness.env["DCS_EXPORT_BUCKET"] = BUCKET
        good_backup(export_harness)
        (verdict,) = _audit(export_harness, HA_ID).answer["results"]
        assert "last_drill" not in verdict
        assert export_harness.storage.requests_for("ListObjects") == []

    def test_unreadable_drill_records_fail_the_instance_under_max_drill_age_days(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        recording.storage.faults.script("ListObjects", *[Fault(FaultKind.FORBIDDEN)] * 3)
        (verdict,) = _audit(recording, HA_ID, max_drill_age_days=7).answer["results"]
        assert verdict["status"] == "failed" and "drill records could not be read" in verdict["reason"]


class TestUntrustedRecords:
    """Anyone who can write the bucket can write records: a forged or odd one never proves anything."""

    def _put(self, harness: ExportHarness, at: datetime, result: str, data: bytes) -> None:
        key = f"{RECORDS}{HA_ID}/{at:%Y%m%dT%H%M%SZ}-{result}-{'cd' * 4}.json"
        harness.storage.store.put(BUCKET, key, data)

    def test_a_passed_record_dated_in_the_future_proves_nothing_and_is_said_to_be_left_out(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        self._put(recording, datetime(2099, 1, 1, tzinfo=timezone.utc), "passed", b"{}")
        failed_at = _old_record(recording, HA_ID, days=0.01, result="failed")
        (verdict,) = _audit(recording, HA_ID, max_drill_age_days=7).answer["results"]
        assert verdict["status"] == "unproven" and "1 drill record(s) not counted" in verdict["reason"]
        last = verdict["last_drill"]
        assert last["result"] == "failed" and last["at"] == f"{failed_at:%Y-%m-%dT%H:%M:%SZ}"
        assert last["future_records_ignored"] == 1

    def test_a_huge_object_under_a_records_name_is_read_no_further_than_a_record_can_be(
        self, recording: ExportHarness
    ) -> None:
        good_backup(recording)
        self._put(recording, datetime.now(timezone.utc), "passed", b" " * (8 * 1024 * 1024))
        (verdict,) = _audit(recording, HA_ID, max_drill_age_days=7).answer["results"]
        assert verdict["status"] == "ok" and verdict["last_drill"]["restore_seconds"] is None
        (read,) = recording.storage.requests_for("GetObject")
        assert read.headers["range"] == f"bytes=0-{64 * 1024 - 1}"

    def test_the_scratch_password_echoed_by_a_failed_import_never_reaches_the_record(
        self, recording: ExportHarness
    ) -> None:
        password = "Scr4tch-Passw0rd!"
        recording.emulator.state.instances[SCRATCH_ID].password = password
        recording.env["DCS_TARGET_PASSWORDS"] = json.dumps({SCRATCH_ID: password})
        good_backup(recording)
        recording.emulator.state.restores.fail_next_import(SCRATCH_ID, f"auth with password {password} failed")
        result = run_drill(recording, **FROM_BACKUP)
        (record,) = _records(recording, HA_ID).values()
        assert record["result"] == "failed" and "***" in record["reason"]
        assert password not in json.dumps(record) and password not in result.log_text


class TestOtherImports:
    def test_an_import_into_the_scratch_instance_under_any_name_holds_every_drill_back(
        self, drilling: ExportHarness
    ) -> None:
        other = good_backup(drilling)
        desk = drilling.emulator.state.restores
        desk.import_s = 30.0
        desk.create_task(
            {
                "task_name": "import-from-console",
                "migration_type": "backupfile_import",
                "backup_files": {"file_source": "backup_record", "backup_id": other.backup_id},
                "target_instance": {"id": SCRATCH_ID},
            }
        )
        result = by_source(run_drill(drilling, **FROM_BACKUP).answer)[HA_ID]
        assert result["status"] == "pending" and "import-from-console" in result["reason"]
        assert [r for r in drilling.emulator.requests if r.route in WRITES] == []


def test_a_scheduled_drill_of_three_sources_and_the_audit_that_follows(recording: ExportHarness) -> None:
    """The timer's drill: a fine backup passes, a corrupt one fails, one too big for the scratch instance is skipped;
    the audit then finds the passed drill, and holds the other two as unproven."""
    fine = good_backup(recording)
    good_backup(recording, CLUSTER_ID).file_damage = "flipped_byte"
    good_backup(recording, BIG_ID)
    timer = load_event("timer.json")
    timer["user_event"] = json.dumps({"action": "drill", "from": "backup", "instance_ids": [HA_ID, CLUSTER_ID, BIG_ID]})
    drill = recording.invoke(timer, LocalContext.seeded(security_token=EXPORT_TOKEN))
    assert drill.error is not None and "restorability not proven for 1 instance(s)" in str(drill.error)
    assert drill.answer is None
    statuses = {HA_ID: "passed", CLUSTER_ID: "failed", BIG_ID: "skipped"}
    document = json.loads(str(drill.error).split(": ", 1)[1])
    assert {r["instance_id"]: r["status"] for r in document["results"]} == statuses
    assert document["trigger"] == "timer"
    verdicts = {
        v["instance_id"]: v
        for v in _audit(recording, HA_ID, CLUSTER_ID, BIG_ID, max_drill_age_days=7).answer["results"]
    }
    assert verdicts[HA_ID]["status"] == "ok" and verdicts[HA_ID]["last_drill"]["backup_id"] == fine.backup_id
    assert verdicts[CLUSTER_ID]["status"] == "unproven" and verdicts[CLUSTER_ID]["last_drill"]["result"] == "failed"
    assert verdicts[BIG_ID]["status"] == "unproven" and verdicts[BIG_ID]["last_drill"] is None
