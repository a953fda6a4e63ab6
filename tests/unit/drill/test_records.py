"""Drill records: what a record's key says, and what of its body is believed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.drill.outcome import DrillOutcome, DrillStatus
from dcs_backup.drill.records import DrillRecord, newest_records, record_body, record_name

AT = datetime(2026, 12, 1, 15, 4, 5, 678_000, tzinfo=timezone.utc)


def _record(status: DrillStatus = DrillStatus.PASSED, request_id: str = "req-1", at: datetime = AT) -> DrillRecord:
    outcome = DrillOutcome("i-1", status, backup_id="b-1", restore_seconds=3.25, keys_expected=5, keys_restored=5)
    return DrillRecord.of(outcome, at, "backup", "scratch", request_id, request_id.encode().hex()[:8].ljust(8, "0"))


def test_the_key_names_the_instance_the_time_and_the_result() -> None:
    key = _record().key("dcs-drills/")
    assert key.startswith("dcs-drills/i-1/20261201T150405Z-passed-") and key.endswith(".json")
    assert record_name(key) == (key, AT.replace(microsecond=0), "passed", _record().drill_id)


def test_the_key_carries_the_drill_id_its_import_task_is_named_by() -> None:
    assert _record(request_id="ab").key("p/").endswith("-passed-61620000.json")


def test_the_body_is_json_with_what_the_audit_reports() -> None:
    body = json.loads(_record().to_json(str))
    assert body["at"] == "2026-12-01T15:04:05Z" and body["from"] == "backup" and "source_kind" not in body
    assert record_body(_record().to_json(str)) == {"restore_seconds": 3.25, "backup_id": "b-1"}


def test_the_newest_record_and_the_newest_passed_one_are_found_by_their_keys() -> None:
    older = _record(at=datetime(2026, 11, 1, tzinfo=timezone.utc)).key("p")
    failed = _record(DrillStatus.FAILED, at=datetime(2026, 11, 20, tzinfo=timezone.utc)).key("p")
    newest, passed, _ = newest_records(["p/i-1/notes.txt", failed, older], AT)
    assert newest is not None and newest.key == failed and passed is not None and passed.key == older


def test_no_record_at_all_is_none_twice() -> None:
    assert newest_records(["p/i-1/export-progress.json"], AT) == (None, None, 0)


def test_a_record_dated_in_the_future_is_not_counted_only_counted_as_such() -> None:
    past = _record(at=datetime(2026, 11, 1, tzinfo=timezone.utc)).key("p")
    skewed = _record(at=datetime(2099, 1, 1, tzinfo=timezone.utc)).key("p")
    soon = _record(at=AT.replace(minute=14)).key("p")  # within the clock skew allowed
    newest, passed, future = newest_records([past, skewed, soon], AT)
    assert newest is not None and newest.key == soon and passed is not None and passed.key == soon
    assert future == 1


def test_the_reason_a_record_keeps_is_redacted_as_the_answer_is() -> None:
    body = json.loads(
        _record()._replace(reason="auth with s3cret failed").to_json(lambda s: s.replace("s3cret", "***"))
    )
    assert body["reason"] == "auth with *** failed"


@given(st.text(max_size=80))
def test_any_other_object_name_is_no_record(name: str) -> None:
    found = record_name(f"p/i-1/{name}")
    assert found is None or (found.result in ("passed", "failed", "inconclusive") and name.endswith(".json"))


def test_digits_that_are_no_date_are_no_record() -> None:
    assert record_name("p/i-1/20261399T256161Z-passed-0123456789ab.json") is None


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_a_body_that_is_not_a_record_gives_nothing_and_never_raises(data: bytes) -> None:
    found = record_body(data)
    assert set(found) <= {"restore_seconds", "backup_id"}


@given(st.one_of(st.booleans(), st.integers(max_value=-1), st.text(), st.none(), st.lists(st.integers())))
def test_a_restore_time_that_is_not_a_positive_number_is_not_believed(seconds: object) -> None:
    assert "restore_seconds" not in record_body(json.dumps({"restore_seconds": seconds}).encode())


def test_an_infinite_restore_time_is_not_believed() -> None:
    assert record_body(b'{"restore_seconds": Infinity}') == {}
