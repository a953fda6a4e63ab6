"""Review 2: findings reproduced against the emulators, each test red before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_emulator import EmulatorState
from dcs_emulator.model import Backup
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, Invocation
from tests.support import BUCKET, MIB, PAGE, ExportHarness, override_record, own_backup, yesterdays_backup


def _list_twice(state: EmulatorState, backup_id: str) -> None:
    """Make ListBackupRecords list one record twice (as a listing that shifts between pages does)."""
    original = state.backups

    def listed(instance_id: str) -> list[Backup]:
        records = original(instance_id)
        return records + [b for b in records if b.backup_id == backup_id]

    state.backups = listed  # type: ignore[method-assign]


def _run(function: FunctionHarness, **fields: Any) -> Invocation:
    return function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False, **fields})


# ---------------------------------------------------------------- retention


class TestRetention:
    def test_newest_good_backup_listed_twice_is_not_deleted_for_age(self, function: FunctionHarness) -> None:
        """A record DCS lists twice (pages that shift) is compared by identity (``record is succeeded[0]``):
        the second copy of the newest succeeded backup is not recognised as it and is deleted by
        max_age_days -- the only good copy is gone. Right: records de-duplicated by backup_id (or compared
        by id), and the newest succeeded backup kept whatever its age."""
        state = function.emulator.state
        only_good = own_backup(state, 30)
        _list_twice(state, only_good.backup_id)
        outcome = _run(function, retention={"max_age_days": 7}).answer["results"][0]
        assert state.deleted(HA_ID) == [], outcome

    def test_backup_with_unreadable_time_is_not_deleted_for_age(self, function: FunctionHarness) -> None:
        """A record whose created_at is missing or unreadable counts as infinitely old (datetime.min), so
        max_age_days deletes it although its age is unknown -- here it is in fact the newest succeeded backup
        but one. keep_last 14 would keep it. Right: a backup whose age is unknown is never deleted for age
        (and never ranked as the oldest)."""
        state = function.emulator.state
        own_backup(state, 0.5)
        recent = own_backup(state, 1)
        override_record(state, recent.backup_id, created_at={})
        outcome = _run(function, retention={"keep_last": 14, "max_age_days": 7}).answer["results"][0]
        assert recent.backup_id not in state.deleted(HA_ID), outcome


# ---------------------------------------------------------------- odd records that crash a job

ODD_TIME = "0001-01-01T00:00:00.000+08:00"  # parses, but overflows when turned into UTC


class TestOddTimes:
    def test_audit_survives_a_record_with_an_out_of_range_time(self, function: FunctionHarness) -> None:
        """iso_utc catches ValueError only: a time that parses but overflows in astimezone (OverflowError)
        crashes the audit job, and the instance is reported failed with "internal error" although it has a
        good backup from an hour ago. Right: an unreadable time is treated as unknown, the verdict is ok."""
        state = function.emulator.state
        odd = state.add_backup(HA_ID, backup_type="auto", age_hours=48)
        override_record(state, odd.backup_id, created_at=ODD_TIME)
        state.add_backup(HA_ID, remark="manual", age_hours=1)
        outcome = function.invoke({"action": "audit", "instance_ids": [HA_ID], "raise_on_failure": False})
        assert outcome.answer["results"][0]["status"] == "ok", outcome.answer

    def test_ring_guard_survives_a_record_with_an_out_of_range_time(self, function: FunctionHarness) -> None:
        """At 24 backups the ring guard computes min(created) over every record; one automatic record with an
        overflowing time crashes the job before the backup is started: the instance is failed with "internal
        error" and no backup is made. Right: the backup is started (the odd record treated as of unknown age)."""
        state = function.emulator.state
        for n in range(24):
            record = state.add_backup(HA_ID, backup_type="auto", age_hours=100 - n)
        override_record(state, record.backup_id, created_at=ODD_TIME)
        outcome = _run(function).answer["results"][0]
        assert outcome["status"] == "created", outcome


# ---------------------------------------------------------------- selection


def _listed_ids(state: EmulatorState) -> set[str]:
    return {i.instance_id for i in state.instances.values() if not i.deleted and i.status != "CREATEFAILED"}


class TestSelectionPaging:
    def test_an_instance_num_that_undercounts_does_not_lose_instances(
        self, fleet_function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The listing is read only while offset < instance_num: when instance_num undercounts (here it
        counts the page, 100) while every page comes back full, the remaining ~160 instances are silently
        never backed up and the run says succeeded. Right: a full page means there may be more -- read on
        until a short or empty page (or report the inconsistency as a failure), never drop targets silently."""
        import dcs_emulator.server as server

        original = server._list_instances

        def undercounting(state: EmulatorState, args: dict[str, str]) -> dict[str, Any]:
            answer = original(state, args)
            return {**answer, "instance_num": min(answer["instance_num"], PAGE)}

        monkeypatch.setattr(server, "_list_instances", undercounting)
        result = fleet_function.invoke({"select": {"all": True}, "raise_on_failure": False})
        selected = {o["instance_id"] for o in result.answer["results"]}
        assert selected == _listed_ids(fleet_function.emulator.state) or result.answer["status"] == "failed", (
            len(selected),
            result.answer["status"],
        )

    def test_an_instance_deleted_while_paging_does_not_hide_another(
        self, fleet_function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Pages are read by offset over a newest-first listing: when an instance of page 1 disappears
        before page 2 is read, every later instance moves up one place and the first one of page 2 is
        never seen -- an existing instance is silently not backed up. Right: notice that the listing
        changed (instance_num differs between pages) and read it again, so every instance that exists
        throughout the run is selected."""
        import dcs_emulator.server as server

        state = fleet_function.emulator.state
        original = server._list_instances
        before = _listed_ids(state)
        gone: list[str] = []

        def shifting(st: EmulatorState, args: dict[str, str]) -> dict[str, Any]:
            answer = original(st, args)
            if not gone:  # after the first page, an instance on it is deleted
                victim = answer["instances"][0]["instance_id"]
                st.instances[victim].deleted = True
                gone.append(victim)
            return answer

        monkeypatch.setattr(server, "_list_instances", shifting)
        result = fleet_function.invoke({"select": {"all": True}, "raise_on_failure": False})
        selected = {o["instance_id"] for o in result.answer["results"]}
        missing = before - set(gone) - selected
        assert not missing, f"{len(missing)} existing instance(s) never selected: {sorted(missing)}"


# ---------------------------------------------------------------- export


def _rename_files(monkeypatch: pytest.MonkeyPatch, rename: Any, resize: Any = None) -> None:
    """Make ListBackupFileLinks name (and size) the backup's files as a test chooses."""
    import dcs_emulator.links as links
    from dcs_emulator.backup_files import GeneratedFile

    original = links.backup_files  # type: ignore[attr-defined]

    def files(*args: Any, **kwargs: Any) -> list[GeneratedFile]:
        made = original(*args, **kwargs)
        return [GeneratedFile(rename(f.file_name), resize(f.size) if resize else f.size, f.seed) for f in made]

    monkeypatch.setattr(links, "backup_files", files)


def _rename_links(monkeypatch: pytest.MonkeyPatch, rename: Any) -> None:
    """Make ListBackupFileLinks report other file names (the links themselves still work)."""
    import dcs_emulator.server as server

    original = server.backup_links  # type: ignore[attr-defined]

    def links(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = original(*args, **kwargs)
        named = [{**item, "file_name": rename(n, item["file_name"])} for n, item in enumerate(answer["links"])]
        return {**answer, "links": named}

    monkeypatch.setattr(server, "backup_links", links)


class TestExport:
    def test_file_names_from_dcs_cannot_climb_out_of_the_backups_folder(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The object key is ``{prefix}{instance_id}/{backup_id}/{file_name}`` with DCS's file_name used raw:
        a name with "../" is written as ".../<backup_id>/../../../escaped.rdb", which every path-aware
        consumer (obsutil/s3 sync to disk, a restore script, a prefix-scoped policy check after
        normalisation) resolves to "escaped.rdb" outside the prefix. Right: reduce the name to a safe
        base name (no "/", "..", control characters) or refuse it, so every key stays under
        {prefix}{instance_id}/{backup_id}/."""
        import posixpath

        backup = yesterdays_backup(export_harness)
        _rename_links(monkeypatch, lambda n, _: "../../../escaped.rdb")
        export_harness.export()
        inside = f"dcs-backup/{HA_ID}/{backup.backup_id}/"
        keys = list(export_harness.storage.store.objects(BUCKET))
        assert all(posixpath.normpath(k).startswith(inside) for k in keys), keys

    def test_two_shards_with_the_same_file_name_are_both_copied(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When two of a cluster's links carry the same file_name, both map to the same key; the second is
        found "already present with the same size" and never copied, yet the export says done with one
        object listed twice -- a shard is missing from the off-instance copy. Right: distinct keys per link
        (e.g. suffix the shard index), or fail the export on a name clash."""
        from devkit.seed import CLUSTER_ID

        state = export_harness.emulator.state
        state.add_backup(CLUSTER_ID, remark="nightly [dcsb:0123456789ab]", age_hours=24, size_bytes=12 * MIB)
        _rename_links(monkeypatch, lambda n, _: "shard.rdb")
        outcome = export_harness.export({"instance_ids": [CLUSTER_ID]}).answer["results"][0]
        stored = export_harness.storage.store.objects(BUCKET)
        copied = sum(o.size for o in stored.values())
        assert outcome["export"]["status"] != "done" or copied == 12 * MIB, (outcome["export"], list(stored))

    def test_an_empty_download_of_a_nonempty_backup_is_not_done(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """DCS lists the backup at 6 MiB, but its link serves 0 bytes (Content-Length: 0): the export copies
        an empty object and reports done -- the user believes they have an off-instance copy they do not.
        Right: a download whose total differs from the size DCS recorded (or is empty) fails the export."""
        yesterdays_backup(export_harness)
        _rename_files(monkeypatch, lambda name: name, resize=lambda size: 0)
        outcome = export_harness.export().answer["results"][0]
        assert outcome["export"]["status"] != "done", outcome["export"]

    def test_a_control_character_in_a_file_name_is_a_failed_export_not_an_internal_error(
        self, export_harness: ExportHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """DCS's file_name goes raw into the object key; with a control character (NUL) in it, the
        InitiateMultipartUpload answer echoes the key in XML the OBS SDK cannot parse, the SDK returns
        status 200 with body None, and ObsTarget.start_upload reads response.body.uploadId unguarded: the
        job crashes (AttributeError) and the instance is "failed: internal error; see the function log".
        Right: file names with control characters are refused (or escaped) before any call, and a 2xx OBS
        answer without its expected body is a classified CallError (like the DCS gateway's _readable), so the
        export is "failed" with a reason naming the file and the operation."""
        yesterdays_backup(export_harness)
        _rename_links(monkeypatch, lambda n, _: "a\x00b.rdb")
        outcome = export_harness.export().answer["results"][0]
        assert "internal error" not in str(outcome.get("reason")), outcome
        # Fixed by making names safe: the file is exported under a key without the control character.
        (exported,) = outcome["export"]["objects"]
        assert outcome["export"]["status"] == "done" and exported["key"].endswith("/a_b.rdb"), outcome


class TestRingGuard:
    def test_a_failed_ring_guard_deletion_is_reported_as_retention_error(self, function: FunctionHarness) -> None:
        """At 24 backups the ring guard tries to delete the function's oldest expendable backup; when DCS
        refuses (403 here), the error is logged but dropped from the outcome (no retention_error), and DCS
        then evicts someone else's backup. Right (issue 11): a deletion that fails is reported in the
        outcome as retention_error with DCS's error code."""
        from dcs_emulator import Fault, FaultKind

        state = function.emulator.state
        for n in range(22):
            state.add_backup(HA_ID, backup_type="auto", age_hours=200 - n)
        own_backup(state, 3)
        own_backup(state, 1)
        function.emulator.faults.script("DeleteBackup", Fault(FaultKind.FORBIDDEN))
        outcome = _run(function, retention={"keep_last": 1}).answer["results"][0]
        assert outcome.get("retention_error"), outcome
