"""The idempotency tag and how backups are matched to it."""

from __future__ import annotations

import re

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import (
    carries_tag,
    find_tagged,
    idempotency_tag,
    made_for_another_request,
    request_fingerprint,
    tagged_remark,
)

REQUEST = {"backup_format": "rdb", "remark": "nightly"}


def test_tag_is_short_stable_and_key_specific() -> None:
    tag = idempotency_tag("timer:nightly@2026-01-05T02:00:00+08:00", REQUEST)
    assert re.fullmatch(r"\[dcsb:[0-9a-f]{12}-[0-9a-f]{8}\]", tag)
    assert tag == idempotency_tag("timer:nightly@2026-01-05T02:00:00+08:00", REQUEST)
    assert tag != idempotency_tag("timer:nightly@2026-01-06T02:00:00+08:00", REQUEST)


def test_the_tag_of_a_different_request_with_the_same_key_tells_the_reuse() -> None:
    tag = idempotency_tag("direct:k1", REQUEST)
    other = idempotency_tag("direct:k1", {**REQUEST, "backup_format": "aof"})
    record = BackupRecord("b", f"nightly {other}", "succeed")
    assert carries_tag(record.remark, tag)
    assert made_for_another_request(record, tag)
    assert not made_for_another_request(record, other)


def test_a_marker_without_a_fingerprint_is_never_taken_for_a_reuse() -> None:
    tag = idempotency_tag("direct:k1", REQUEST)
    earlier = BackupRecord("b", f"nightly {tag.split('-')[0]}]", "succeed")
    assert carries_tag(earlier.remark, tag) and not made_for_another_request(earlier, tag)


def test_a_request_fingerprint_ignores_the_order_of_fields_and_sets() -> None:
    assert request_fingerprint({"a": 1, "b": frozenset({"x", "y"})}) == request_fingerprint(
        {"b": frozenset({"y", "x"}), "a": 1}
    )


def test_tagged_remark_keeps_short_remarks_whole() -> None:
    assert tagged_remark("nightly", "[dcsb:0123456789ab]") == "nightly [dcsb:0123456789ab]"


def test_tagged_remark_never_exceeds_128_characters() -> None:
    remark = tagged_remark("r" * 128, "[dcsb:0123456789ab]")
    assert len(remark) == 128
    assert remark.endswith(" [dcsb:0123456789ab]")


def test_live_backups_with_the_tag_match() -> None:
    tag = "[dcsb:0123456789ab]"
    records = [
        BackupRecord("failed-one", f"x {tag}", "failed"),
        BackupRecord("other", "x [dcsb:ffffffffffff]", "succeed"),
        BackupRecord("ours", f"x {tag}", "backuping"),
    ]
    found = find_tagged(records, tag)
    assert found is not None and found.backup_id == "ours"


def test_failed_or_deleted_backups_do_not_match() -> None:
    tag = "[dcsb:0123456789ab]"
    records = [BackupRecord("a", tag, "failed"), BackupRecord("b", tag, "deleted"), BackupRecord("c", tag, "expired")]
    assert find_tagged(records, tag) is None
