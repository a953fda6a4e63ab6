"""The idempotency tag and how backups are matched to it."""

from __future__ import annotations

import re

from dcs_backup.dcs.models import BackupRecord
from dcs_backup.idempotency import find_tagged, idempotency_tag, tagged_remark


def test_tag_is_short_stable_and_key_specific() -> None:
    tag = idempotency_tag("timer:nightly@2026-01-05T02:00:00+08:00")
    assert re.fullmatch(r"\[dcsb:[0-9a-f]{12}\]", tag)
    assert tag == idempotency_tag("timer:nightly@2026-01-05T02:00:00+08:00")
    assert tag != idempotency_tag("timer:nightly@2026-01-06T02:00:00+08:00")


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
