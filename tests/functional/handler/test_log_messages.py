"""Log lines say what happened: a found backup is not "created", an audit verdict is words, a run that
only started backups does not say they finished."""

from __future__ import annotations

from devkit.seed import CLUSTER_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness

REQUEST = {"instance_ids": [HA_ID], "idempotency_key": "deploy-7"}


def _messages(lines: list[dict[str, object]], instance_id: str) -> list[object]:
    return [line["message"] for line in lines if line.get("instance_id") == instance_id and "outcome" in line]


class TestBackupLines:
    def test_a_backup_found_again_is_not_said_to_be_started(self, function: FunctionHarness) -> None:
        function.invoke(REQUEST)
        again = function.invoke(REQUEST)
        assert _messages(again.logs, HA_ID) == ["backup found, started earlier for this request"]

    def test_a_new_backup_is_said_to_be_started(self, function: FunctionHarness) -> None:
        result = function.invoke(REQUEST)
        assert _messages(result.logs, HA_ID)[-1] == "backup started"

    def test_the_summary_of_a_run_that_only_started_backups_says_so(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID, CLUSTER_ID, SINGLE_ID]})
        summary = result.logs[-1]["message"]
        assert summary == "run ended: 2 backup(s) started or found started, 1 skipped"
        assert not any("finished" in str(line["message"]) for line in result.logs)


class TestAuditLines:
    def test_verdicts_are_said_in_words(self, function: FunctionHarness) -> None:
        function.emulator.state.add_backup(CLUSTER_ID, backup_type="auto", age_hours=1)
        result = function.invoke({"action": "audit", "instance_ids": [HA_ID, CLUSTER_ID], "raise_on_failure": False})
        assert _messages(result.logs, HA_ID) == ["RPO violated: no good backup"]
        assert _messages(result.logs, CLUSTER_ID) == ["RPO met"]
        assert not any(str(line["message"]).startswith("instance none") for line in result.logs)
