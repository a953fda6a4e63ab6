"""The person-facing rendering: secrets masked, the summary table, the waiting line, sizes."""

from __future__ import annotations

import io
import json

import structlog

from dcs_backup.platform.logs import REDACTED, configure_logging, redactor
from devkit.console import Durations, HumanRenderer, StatusStream, WaitingLine, human_size, summary_table

SECRET = "sk-of-this-invocation-0001"


def test_secrets_are_masked_in_the_human_rendering() -> None:
    # GIVEN the console renderer, and a secret the invocation registered
    stream = io.StringIO()
    configure_logging("INFO", stream, HumanRenderer(colours=False, durations=Durations()))
    redactor.remember([SECRET])
    # WHEN a line quotes it in its message and a field, names a credential key and quotes a signed link
    structlog.get_logger("t").warning(
        f"call failed with {SECRET}",
        detail=f"key {SECRET}",
        secret_key="plain-secret-value",
        link="https://b.obs.example.com/f?AccessKeyId=AKLINKEXAMPLE&Signature=SIGEXAMPLE",
    )
    configure_logging("INFO")
    text = stream.getvalue()
    # THEN none of them is on the screen
    for secret in (SECRET, "plain-secret-value", "AKLINKEXAMPLE", "SIGEXAMPLE"):
        assert secret not in text, text
    assert text.count(REDACTED) == 5


def test_a_human_line_has_time_level_message_then_fields_without_the_invocation_context() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream, HumanRenderer(colours=False, durations=Durations()))
    structlog.contextvars.bind_contextvars(service="dcs-backup", request_id="r-1")
    structlog.get_logger("t").info("backup started", instance_id="i-1")
    structlog.contextvars.clear_contextvars()
    configure_logging("INFO")
    line = stream.getvalue().strip()
    assert line.endswith("instance_id=i-1") and "] backup started" in line
    assert "service" not in line and "r-1" not in line and "location" not in line


def _document(**result: object) -> dict[str, object]:
    return {"status": "succeeded", "request_id": "r-1", "counts": {"completed": 1, "total": 1}, "results": [result]}


def test_the_summary_names_each_instance_with_its_backup_size_duration_and_reason() -> None:
    durations = Durations()
    durations.note({"outcome": "created", "instance_id": "i-1", "duration_ms": 1200})
    durations.note({"outcome": "completed", "instance_id": "i-1", "duration_ms": 300})
    table = summary_table(
        _document(instance_id="i-1", instance_name="orders", status="completed", backup_id="b-1", size_bytes=3 << 20),
        durations,
    ).splitlines()
    assert table[0].split() == ["instance", "status", "backup", "id", "size", "duration", "reason"]
    assert table[1].split() == ["orders", "completed", "b-1", "3.0", "MiB", "1.5", "s"]
    assert table[2] == "succeeded (1 completed) · request r-1"


def test_the_summary_reads_an_api_gateway_body_and_an_audits_last_backup() -> None:
    body = _document(instance_id="i-2", status="violation", last_backup={"backup_id": "b-9", "size_bytes": 10})
    answer = {"statusCode": 200, "body": json.dumps({**body, "status": "failed"})}
    table = summary_table(answer, Durations()).splitlines()
    assert table[1].split() == ["i-2", "violation", "b-9", "10", "B", "-"]


def test_no_summary_for_an_answer_without_results() -> None:
    assert summary_table({"errorMessage": "boom", "errorType": "X"}, Durations()) == ""


def test_the_waiting_line_counts_the_backups_still_running() -> None:
    line = WaitingLine()
    line.waiting("a", running=True)
    line.waiting("b", running=True)
    line.waiting("a", running=False)
    assert line.text == "waiting for backups: 1 of 2 still running"
    line.waiting("b", running=False)
    assert line.text == ""


def test_the_status_line_shows_the_bytes_exported_and_the_rate_until_every_object_is_whole() -> None:
    now = [100.0]
    line = WaitingLine(clock=lambda: now[0])
    line.copied("a.rdb", 0, 4 << 20)
    line.copied("b.rdb", 1 << 20, 4 << 20)
    now[0] = 102.0
    line.copied("a.rdb", 3 << 20, 4 << 20)
    assert line.text == "exporting: 4.0 MiB of 8.0 MiB (2.0 MiB/s)"
    line.copied("a.rdb", 4 << 20, 4 << 20)
    line.copied("b.rdb", 4 << 20, 4 << 20)
    assert line.text == ""


def test_a_log_line_clears_the_waiting_line_and_it_comes_back_below() -> None:
    terminal = io.StringIO()
    line = WaitingLine()
    stream = StatusStream(terminal, line)
    line.waiting("a", running=True)
    stream.refresh()
    stream.write("backup started\n")
    assert terminal.getvalue() == (
        "\r\x1b[Kwaiting for backups: 1 of 1 still running"
        "\r\x1b[Kbackup started\n"
        "\r\x1b[Kwaiting for backups: 1 of 1 still running"
    )


def test_sizes_are_shown_in_binary_units() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 5 << 20, 3 << 30, 2 << 40)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
        "2.0 TiB",
    ]


def test_the_summary_reads_the_document_a_raised_error_carries() -> None:
    document = _document(instance_id="i-3", status="failed", reason="ShowInstance failed after 1 attempt(s)")
    answer = {"errorMessage": f"backup failed for 1 of 1 instance(s): {json.dumps(document)}", "errorType": "X"}
    table = summary_table(answer, Durations()).splitlines()
    assert table[1].split()[:3] == ["i-3", "failed", "-"] and table[1].endswith(
        "ShowInstance failed after 1 attempt(s)"
    )
