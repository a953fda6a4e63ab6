"""A remark cannot claim another request's backup: the function's marker is its own, and only at the end counts."""

from __future__ import annotations

from dcs_backup.idempotency import idempotency_tag
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import problem_fields


class TestRemarks:
    def test_a_remark_with_the_function_marker_is_refused(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID], "remark": "hello [dcsb:0123456789ab]"})
        assert problem_fields(result.error) == {"remark"}

    def test_a_tag_elsewhere_in_a_remark_does_not_match(self, function: FunctionHarness) -> None:
        # GIVEN someone made a finished backup whose remark starts with the timer firing's tag
        event = load_event("timer.json")
        tag = idempotency_tag(f"timer:{event['trigger_name']}@{event['time']}", None)
        foreign = function.emulator.state.add_backup(HA_ID, remark=f"{tag} claimed by hand", age_hours=1)
        # WHEN the timer fires
        result = function.invoke(event)
        # THEN the foreign backup is not taken for the timer's own: a new one is made
        outcome = result.answer["results"][0]
        assert outcome["status"] == "created" and "reused" not in outcome
        assert outcome["backup_id"] != foreign.backup_id
        assert function.emulator.state.backup_count(HA_ID) == 2
