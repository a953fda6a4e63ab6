"""Starting a backup: a CreateBackup answer that is lost, late or unreadable never makes a second backup."""

from __future__ import annotations

import time

import pytest

from dcs_emulator import Fault, FaultKind
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness
from tests.support import hostile_answers, raw_answer


class TestLostCreateAnswer:
    def test_a_create_answered_after_the_client_stopped_waiting_is_found_not_repeated(
        self, function: FunctionHarness
    ) -> None:
        # GIVEN backups finish at once (DCS's one-at-a-time rule cannot hide a second POST),
        # and DCS creates the backup but answers only after the client stopped waiting
        function.emulator.state.waiting_s = function.emulator.state.backuping_s = 0.0
        function.runtime.dcs_timeouts = (1.0, 0.3)
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.SLOW_ANSWER, delay_s=0.8))
        # WHEN one instance is backed up
        result = function.invoke({"instance_ids": [HA_ID]})
        time.sleep(0.6)  # let the slow answer drain
        # THEN the function found the backup its lost POST made, and made no other
        (outcome,) = result.answer["results"]
        assert outcome["status"] == "created"
        (backup,) = function.emulator.state.backups(HA_ID)
        assert outcome["backup_id"] == backup.backup_id
        assert len(function.emulator.requests_for("CreateBackup")) == 1

    def test_a_lost_create_answer_with_a_failing_look_up_does_not_duplicate(self, function: FunctionHarness) -> None:
        """After a lost CreateBackup answer the function finds its backup before it would POST again.

        A look-up that could not be done after an ambiguous failure (5xx on ListBackupRecords) is not
        "no backup": the function retries the look-up, or ends the instance without a second POST
        (saying the backup may exist), and never creates a duplicate.
        """
        state = function.emulator.state
        state.waiting_s = state.backuping_s = 0.0  # DCS's one-at-a-time rule cannot hide the second POST
        function.emulator.faults.script("CreateBackup", Fault(FaultKind.LOST_RESPONSE))
        # the pre-check answers normally, then every look-up after the lost answer fails
        function.emulator.faults.script(
            "ListBackupRecords", Fault(FaultKind.LATENCY, delay_s=0), *[Fault(FaultKind.SERVER_ERROR)] * 5
        )
        function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False})
        assert len(state.backups(HA_ID)) == 1, "one request made two backups"


class TestUnreadableCreateAnswer:
    def test_a_create_answer_without_a_backup_id_is_not_reported_as_created(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A CreateBackup answer that names no backup does not count as a started backup.

        A 200 answer without ``backup_id`` (``{}``, or an HTML page from a proxy) is unreadable and
        treated like a lost one: the function looks for its tagged backup (DCS did create it here) and
        reports that one, never ``"backup_id": "None"``, and never makes a second.
        """
        hostile_answers(monkeypatch, "POST", lambda handler, status, payload: raw_answer(handler, 200, b"{}"))
        result = function.invoke({"instance_ids": [CLUSTER_ID], "raise_on_failure": False})
        (outcome,) = result.answer["results"]
        (backup,) = function.emulator.state.backups(CLUSTER_ID)
        assert (outcome["status"], outcome["backup_id"]) == ("created", backup.backup_id)
