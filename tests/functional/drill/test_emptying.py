"""How the scratch instance is emptied per engine: DCS's flush on Redis 4.0/5.0, its empty baseline restored on every
other version; the baseline taken once, never pruned, and every step resumed across runs by the deadline."""

from __future__ import annotations

from typing import Any

from dcs_backup.drill.baseline import BASELINE_RESTORE_REMARK
from dcs_backup.idempotency import BASELINE_REMARK
from devkit.context import LocalContext
from tests.functional.drill.conftest import (
    BACKUP_KEYS,
    CLUSTER_ID,
    HA_ID,
    SCRATCH_ID,
    by_source,
    clearings,
    good_backup,
    run_drill,
    scratch_version,
    seed_baseline,
    written_instances,
)
from tests.support import DAY, EXPORT_TOKEN, ExportHarness

BOTH = [HA_ID, CLUSTER_ID]


def _routes(harness: ExportHarness, route: str) -> list[Any]:
    return harness.emulator.requests_for(route)


def _statuses(answer: dict[str, Any]) -> dict[str, str]:
    return {result["instance_id"]: result["status"] for result in answer["results"]}


def _cut_short(harness: ExportHarness, why: str) -> dict[str, Any]:
    """A drill of two sources whose deadline comes while the scratch instance is emptied: both pending, the later
    one waiting for the same; the first source's result."""
    good_backup(harness)
    good_backup(harness, CLUSTER_ID)
    answer = run_drill(harness, remaining_ms=5_000, instance_ids=BOTH).answer
    assert answer["status"] == "pending" and _statuses(answer) == {HA_ID: "pending", CLUSTER_ID: "pending"}
    first, later = by_source(answer)[HA_ID], by_source(answer)[CLUSTER_ID]
    assert why in first["reason"] and later["reason"] == first["reason"]
    assert not _routes(harness, "CreateMigrationTask")
    return first


class TestFlushOnRedis4And5:
    def test_a_redis_5_scratch_instance_is_flushed_never_restored_or_backed_up(self, flushing: ExportHarness) -> None:
        good_backup(flushing)
        result = by_source(run_drill(flushing).answer)[HA_ID]
        assert result["status"] == "passed" and result["keys_restored"] == BACKUP_KEYS
        assert [r.json()["action"] for r in _routes(flushing, "RestartOrFlushInstances")] == ["flush"]
        assert not _routes(flushing, "RestoreInstance") and not _routes(flushing, "CreateBackup")

    def test_a_flush_dcs_answers_failed_fails_the_source_and_nothing_is_imported(self, flushing: ExportHarness) -> None:
        flushing.emulator.state.restores.fail_next_flush(SCRATCH_ID)
        good_backup(flushing)
        result = by_source(run_drill(flushing).answer)[HA_ID]
        assert result["status"] == "failed"
        assert "answered the flush of the scratch instance" in result["reason"] and "with failed" in result["reason"]
        assert not _routes(flushing, "CreateMigrationTask")
        assert not _routes(flushing, "RestoreInstance") and not _routes(flushing, "CreateBackup")  # no fallback

    def test_the_deadline_during_the_flush_leaves_every_source_pending_and_the_next_run_finishes(
        self, flushing: ExportHarness
    ) -> None:
        desk = flushing.emulator.state.restores
        desk.flush_s = 60.0
        first = _cut_short(flushing, "waiting for the flush")
        assert first["scratch"] == "being flushed (not yet seen empty)"
        assert len(clearings(flushing)) == 1
        still = run_drill(flushing, instance_ids=BOTH).answer  # DCS still shows it FLUSHING: nothing is written
        assert _statuses(still) == {HA_ID: "pending", CLUSTER_ID: "pending"} and still["status"] == "pending"
        assert "still being flushed" in by_source(still)[HA_ID]["reason"] and len(clearings(flushing)) == 1
        desk.flush_s = 0.1
        desk.end_flushes()
        second = run_drill(flushing, instance_ids=BOTH).answer
        assert _statuses(second) == {HA_ID: "passed", CLUSTER_ID: "passed"}


class TestBaselineOnOtherVersions:
    def test_the_baseline_is_taken_once_and_restored_before_each_later_import(
        self, bare_scratch: ExportHarness
    ) -> None:
        bare_scratch.emulator.state.instances[SCRATCH_ID].keys = 0  # emptied once by the operator
        good_backup(bare_scratch)
        good_backup(bare_scratch, CLUSTER_ID)
        first = by_source(run_drill(bare_scratch).answer)[HA_ID]
        assert first["status"] == "passed" and first["keys_restored"] == BACKUP_KEYS
        (taken,) = _routes(bare_scratch, "CreateBackup")
        assert taken.json()["remark"].startswith(BASELINE_REMARK)
        (baseline,) = bare_scratch.emulator.state.backups(SCRATCH_ID)
        assert baseline.keys == 0
        second = run_drill(bare_scratch, instance_ids=BOTH).answer
        assert _statuses(second) == {HA_ID: "passed", CLUSTER_ID: "passed"}
        assert by_source(second)[HA_ID]["keys_restored"] == BACKUP_KEYS  # the first drill's keys were emptied
        assert len(_routes(bare_scratch, "CreateBackup")) == 1
        restores = _routes(bare_scratch, "RestoreInstance")
        assert [r.json()["backup_id"] for r in restores] == [baseline.backup_id] * 2
        assert all(r.json()["remark"].startswith(BASELINE_RESTORE_REMARK) for r in restores)
        assert not _routes(bare_scratch, "RestartOrFlushInstances")  # DCS cannot flush Redis 7.0

    def test_the_newest_succeeded_baseline_is_restored(self, bare_scratch: ExportHarness) -> None:
        seed_baseline(bare_scratch, age_hours=2000)
        newest = seed_baseline(bare_scratch, age_hours=1000)
        state = bare_scratch.emulator.state
        state.add_backup(SCRATCH_ID, remark=newest.remark, age_hours=10, status="failed")
        good_backup(bare_scratch)
        assert by_source(run_drill(bare_scratch).answer)[HA_ID]["status"] == "passed"
        (restore,) = _routes(bare_scratch, "RestoreInstance")
        assert restore.json()["backup_id"] == newest.backup_id

    def test_a_non_empty_scratch_instance_without_a_baseline_fails_with_what_to_do_and_nothing_is_written(
        self, bare_scratch: ExportHarness
    ) -> None:
        good_backup(bare_scratch)
        good_backup(bare_scratch, CLUSTER_ID)
        answer = run_drill(bare_scratch, instance_ids=BOTH).answer
        assert _statuses(answer) == {HA_ID: "failed", CLUSTER_ID: "failed"}
        reason = by_source(answer)[HA_ID]["reason"]
        assert "runs Redis 7.0, which DCS cannot flush" in reason and "holds 77 keys" in reason
        assert "empty it once (e.g. FLUSHALL through redis-cli), and the next drill takes its baseline" in reason
        assert written_instances(bare_scratch.emulator) == set()


class TestAfterAFailedImport:
    def test_the_scratch_instance_is_emptied_again_the_same_way(self, any_scratch: ExportHarness) -> None:
        good_backup(any_scratch).file_damage = "flipped_byte"
        result = by_source(run_drill(any_scratch).answer)[HA_ID]
        assert result["status"] == "failed" and "the import failed in DCS" in result["reason"]
        flushed = scratch_version(any_scratch) == "5.0"
        assert result["scratch"] == ("flushed (empty)" if flushed else "restored to its empty baseline (empty)")
        assert clearings(any_scratch) == ["RestartOrFlushInstances" if flushed else "RestoreInstance"] * 2
        assert any_scratch.emulator.state.instances[SCRATCH_ID].keys == 0


class TestBaselineAcrossDeadlines:
    def test_the_deadline_during_the_baseline_backup_is_pending_and_the_next_run_waits_for_it(
        self, bare_scratch: ExportHarness
    ) -> None:
        scratch = bare_scratch.emulator.state.instances[SCRATCH_ID]
        scratch.keys, scratch.backup_backuping_s = 0, 7.0
        first = _cut_short(bare_scratch, "baseline backup")
        assert "still being taken" in first["reason"]
        second = run_drill(bare_scratch, instance_ids=BOTH).answer
        assert _statuses(second) == {HA_ID: "passed", CLUSTER_ID: "passed"}
        assert len(_routes(bare_scratch, "CreateBackup")) == 1  # waited for, never a second one

    def test_the_deadline_during_the_baseline_restore_is_pending_and_the_next_run_follows_it(
        self, drilling: ExportHarness
    ) -> None:
        desk = drilling.emulator.state.restores
        desk.restoring_s = 7.0
        first = _cut_short(drilling, "empty baseline was still running")
        assert first["scratch"] == "being restored to its empty baseline"
        assert len(_routes(drilling, "RestoreInstance")) == 1
        desk.restoring_s = 0.3
        second = by_source(run_drill(drilling).answer)[HA_ID]  # while the scratch instance is still RESTORING
        assert second["status"] == "passed" and second["keys_restored"] == BACKUP_KEYS
        assert len(_routes(drilling, "RestoreInstance")) == 1  # followed, never a second one beside it


class TestBaselineIsNeverPruned:
    def test_retention_on_the_scratch_instance_keeps_its_baseline_however_old(self, drilling: ExportHarness) -> None:
        state = drilling.emulator.state
        (baseline,) = state.backups(SCRATCH_ID)
        older = [state.add_backup(SCRATCH_ID, remark=f"nightly [dcsb:{n:012x}]", age_hours=n * DAY) for n in (1, 2, 3)]
        request = {"instance_ids": [SCRATCH_ID], "retention": {"keep_last": 1, "max_age_days": 1}, "wait": True}
        context = LocalContext.seeded(security_token=EXPORT_TOKEN)
        outcome = drilling.invoke({**request, "raise_on_failure": False}, context).answer["results"][0]
        assert outcome["status"] == "completed"
        assert sorted(outcome["deleted_backup_ids"]) == sorted(b.backup_id for b in older)
        assert baseline.backup_id in {b.backup_id for b in state.backups(SCRATCH_ID)}
        good_backup(drilling)
        assert by_source(run_drill(drilling).answer)[HA_ID]["status"] == "passed"  # restored from it still
