"""Choosing instances by tag, by name or all of them, through the real SDK against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from dcs_backup.platform.errors import BackupFailedError, ConfigurationError, InvalidRequestError
from dcs_emulator import DcsEmulator, EmulatorState, Fault, FaultKind
from dcs_emulator.model import Instance
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID, SINGLE_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import PAGE, apig_event


def _listed(state: EmulatorState, wanted: Callable[[Instance], bool]) -> list[Instance]:
    """What ListInstances shows by default (no deleted or failed-to-create instances), by name."""
    shown = [i for i in state.instances.values() if not i.deleted and i.status != "CREATEFAILED" and wanted(i)]
    return sorted(shown, key=lambda i: (i.name, i.instance_id))


def _expected_status(instance: Instance) -> str:
    return "skipped" if instance.cache_mode == "single" or instance.status != "RUNNING" else "created"


def _ids(result: Any) -> list[str]:
    return [outcome["instance_id"] for outcome in result.answer["results"]]


class TestFleet:
    def test_every_instance_with_a_tag_pair_is_backed_up_once_in_name_order(
        self, fleet_function: FunctionHarness
    ) -> None:
        # GIVEN a fleet where every third instance carries backup=daily
        expected = _listed(fleet_function.emulator.state, lambda i: i.tags.get("backup") == "daily")
        # WHEN the schedule selects backup=daily
        result = fleet_function.invoke({"select": {"tags": {"backup": "daily"}}, "raise_on_failure": False})
        # THEN each of them has one outcome, in name order, with its name and the right status
        assert _ids(result) == [i.instance_id for i in expected]
        assert [o["instance_name"] for o in result.answer["results"]] == [i.name for i in expected]
        assert [o["status"] for o in result.answer["results"]] == [_expected_status(i) for i in expected]
        # AND DCS did the tag filtering
        assert {r.query.get("tags") for r in fleet_function.emulator.requests_for("ListInstances")} == {"backup=daily"}

    def test_every_page_of_the_listing_is_read(self, fleet_function: FunctionHarness) -> None:
        expected = _listed(fleet_function.emulator.state, lambda i: True)
        result = fleet_function.invoke({"select": {"all": True}, "raise_on_failure": False})
        assert _ids(result) == [i.instance_id for i in expected]
        offsets = [r.query["offset"] for r in fleet_function.emulator.requests_for("ListInstances")]
        assert offsets == ["0", "100", "200"]

    def test_selected_instances_are_not_read_again(self, fleet_function: FunctionHarness) -> None:
        # GIVEN the listing's spec codes say each instance's mode
        result = fleet_function.invoke({"select": {"tags": {"backup": "weekly"}}, "raise_on_failure": False})
        # THEN no ShowInstance was needed, and single-node ones were skipped without any call for them
        assert fleet_function.emulator.requests_for("ShowInstance") == []
        skipped_single = [o for o in result.answer["results"] if o.get("reason", "").startswith("single-node")]
        assert skipped_single
        touched = {r.path.split("/")[4] for r in fleet_function.emulator.requests if r.route == "CreateBackup"}
        assert not touched & {o["instance_id"] for o in skipped_single}

    def test_key_only_tags_are_matched_here_asking_for_tags_the_listing_left_out(
        self, fleet_function: FunctionHarness
    ) -> None:
        # GIVEN some listed instances show "tags": null
        state = fleet_function.emulator.state
        expected = _listed(state, lambda i: "owner" in i.tags)
        # WHEN selecting on the key alone
        result = fleet_function.invoke({"select": {"tags": {"owner": None}}, "raise_on_failure": False})
        # THEN exactly the owners are targets, and only the instances listed without tags were asked
        assert _ids(result) == [i.instance_id for i in expected]
        asked = {r.path.split("/")[4] for r in fleet_function.emulator.requests_for("ShowTags")}
        assert asked == {i.instance_id for i in _listed(state, lambda i: i.list_tags_null)}
        assert {r.query.get("tags") for r in fleet_function.emulator.requests_for("ListInstances")} == {None}

    def test_tags_and_name_must_all_match(self, fleet_function: FunctionHarness) -> None:
        state = fleet_function.emulator.state
        expected = _listed(state, lambda i: i.tags.get("env") == "prod" and i.name.startswith("orders-"))
        result = fleet_function.invoke(
            {"select": {"tags": {"env": "prod"}, "name": "orders-*"}, "raise_on_failure": False}
        )
        assert expected and _ids(result) == [i.instance_id for i in expected]

    def test_more_than_1000_targets_is_an_invalid_request_saying_how_many(self) -> None:
        with DcsEmulator(EmulatorState.fleet(1100, seed=3)) as emulator:
            harness = FunctionHarness(emulator)
            result = harness.invoke({"select": {"all": True}})
            assert isinstance(result.error, InvalidRequestError)
            assert "at most 1000" in str(result.error) and "narrow" in str(result.error)
            assert emulator.requests_for("CreateBackup") == []


class TestSeededInstances:
    def test_named_ids_come_first_then_selected_ones_each_once(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [CLUSTER_ID], "select": {"tags": {"env": "prod"}}})
        assert _ids(result) == [CLUSTER_ID, HA_ID]
        assert function.emulator.state.backup_count(CLUSTER_ID) == 1

    def test_a_name_glob_is_case_sensitive_and_whole(self, function: FunctionHarness) -> None:
        assert _ids(function.invoke({"select": {"name": "*-cache"}})) == [HA_ID]
        empty = function.invoke({"select": {"name": "ORDERS-*", "allow_empty": True}})
        assert empty.answer["results"] == []

    def test_selected_not_running_instance_is_skipped_with_its_status(self, function: FunctionHarness) -> None:
        result = function.invoke({"select": {"tags": {"env": "staging"}}})
        (outcome,) = result.answer["results"]
        assert (outcome["instance_id"], outcome["status"]) == (FROZEN_ID, "skipped")
        assert "FROZEN" in outcome["reason"]

    def test_configured_tag_defaults_apply_when_the_request_names_nothing(self, function: FunctionHarness) -> None:
        result = function.invoke(load_event("timer-defaults.json"), DCS_SELECT_TAGS="env=prod,team")
        assert _ids(result) == [HA_ID]

    def test_configured_ids_and_selection_are_combined(self, function: FunctionHarness) -> None:
        result = function.invoke(load_event("timer-defaults.json"), DCS_INSTANCE_IDS=SINGLE_ID, DCS_SELECT_NAME="o*")
        assert _ids(result) == [SINGLE_ID, HA_ID]

    @pytest.mark.parametrize(("name", "value"), [("DCS_SELECT_TAGS", "=prod"), ("DCS_SELECT_NAME", "x" * 129)])
    def test_bad_selection_defaults_are_configuration_errors(
        self, function: FunctionHarness, name: str, value: str
    ) -> None:
        result = function.invoke(load_event("timer-defaults.json"), **{name: value})
        assert isinstance(result.error, ConfigurationError) and name in str(result.error)


NOTHING: dict[str, Any] = {"tags": {"team": "nobody"}}


class TestEmptySelection:
    def test_raises_naming_the_criteria(self, function: FunctionHarness) -> None:
        result = function.invoke({"select": NOTHING})
        assert isinstance(result.error, BackupFailedError)
        assert "no instance matched the selection: tags team=nobody" in str(result.error)

    def test_document_says_failed_with_the_reason(self, function: FunctionHarness) -> None:
        answer = function.invoke({"select": NOTHING, "raise_on_failure": False}).answer
        assert (answer["status"], answer["results"]) == ("failed", [])
        assert answer["reason"].startswith("no instance matched the selection")

    def test_is_404_over_http(self, function: FunctionHarness) -> None:
        event = load_event("apig-plain.json")
        event["body"] = json.dumps({"select": NOTHING})
        result = function.invoke(event)
        assert result.answer["statusCode"] == 404
        assert result.body["status"] == "failed"

    def test_allowed_when_asked_for(self, function: FunctionHarness) -> None:
        answer = function.invoke({"select": {**NOTHING, "allow_empty": True}}).answer
        assert (answer["status"], answer["results"]) == ("succeeded", [])


class TestAllowlist:
    def test_selected_instances_outside_it_are_skipped_untouched(self, function: FunctionHarness) -> None:
        result = function.invoke({"select": {"tags": {"env": "prod"}}}, DCS_ALLOWED_INSTANCE_IDS=HA_ID)
        by_id = {o["instance_id"]: o for o in result.answer["results"]}
        assert by_id[HA_ID]["status"] == "created"
        assert by_id[CLUSTER_ID] == {
            "instance_id": CLUSTER_ID,
            "instance_name": "sessions-cluster",
            "status": "skipped",
            "reason": "not in DCS_ALLOWED_INSTANCE_IDS",
        }
        assert not any(CLUSTER_ID in r.path for r in function.emulator.requests if r.route != "ListInstances")

    def test_named_ids_outside_it_still_refuse_the_request(self, function: FunctionHarness) -> None:
        result = function.invoke(
            {"instance_ids": [CLUSTER_ID], "select": {"all": True}}, DCS_ALLOWED_INSTANCE_IDS=HA_ID
        )
        assert isinstance(result.error, InvalidRequestError) and result.error.http_status == 403


class TestListingFailure:
    def test_named_instances_are_still_backed_up_and_the_run_is_not_a_success(self, function: FunctionHarness) -> None:
        # GIVEN ListInstances keeps failing
        function.emulator.faults.script("ListInstances", *[Fault(FaultKind.SERVER_ERROR)] * 10)
        # WHEN a request names one instance and selects others
        result = function.invoke(
            {"instance_ids": [HA_ID], "select": {"tags": {"env": "prod"}}, "raise_on_failure": False}
        )
        # THEN the named one is backed up, and the document says the selection failed
        answer = result.answer
        assert [(o["instance_id"], o["status"]) for o in answer["results"]] == [(HA_ID, "created")]
        assert answer["status"] == "partial"
        assert answer["reason"] == "instance selection failed: ListInstances failed after 5 attempt(s) (DCS.5000)"

    def test_it_raises_by_default(self, function: FunctionHarness) -> None:
        function.emulator.faults.script("ListInstances", *[Fault(FaultKind.SERVER_ERROR)] * 10)
        result = function.invoke({"select": {"all": True}})
        assert isinstance(result.error, BackupFailedError)
        assert "instance selection failed" in str(result.error)

    def test_an_unreadable_listing_is_answered_502_not_404(self, function: FunctionHarness) -> None:
        """A listing DCS refuses is the DCS side failing, not a selection that matched nothing.

        GIVEN ListInstances is refused (403 DCS.2003) for a request that only selects, THEN API Gateway
        answers 502 with the "instance selection failed" reason, not 404, the code docs/triggers.md keeps for
        "a selection matched nothing".
        """
        function.emulator.faults.script("ListInstances", Fault(FaultKind.FORBIDDEN))
        result = function.invoke(apig_event({"select": {"tags": {"backup": "daily"}}}))
        assert "instance selection failed" in result.body["reason"]
        assert result.answer["statusCode"] == 502


def _listed_ids(state: EmulatorState) -> set[str]:
    return {i.instance_id for i in state.instances.values() if not i.deleted and i.status != "CREATEFAILED"}


class TestListingPaging:
    def test_an_instance_num_that_undercounts_does_not_lose_instances(
        self, fleet_function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full page means there may be more: the listing is read on until a short or empty page.

        GIVEN instance_num undercounts (here it counts the page, 100) while every page comes back
        full, THEN every listed instance is selected (or the run reports the inconsistency as a
        failure): the remaining ~160 instances are never dropped silently under a "succeeded".
        """
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
        """Every instance that exists throughout the run is selected, even when the listing changes under it.

        Pages are read by offset over a newest-first listing: GIVEN an instance of page 1 disappears
        before page 2 is read (every later instance moves up one place), THEN the change is noticed
        (instance_num differs between pages) and the listing read again, so the first instance of page
        2 is not skipped.
        """
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


class TestConfiguredTags:
    def test_select_tags_naming_a_key_twice_is_a_configuration_error(self, function: FunctionHarness) -> None:
        """DCS_SELECT_TAGS naming a key twice is refused, not reinterpreted.

        ``DCS_SELECT_TAGS="backup=daily,backup=weekly"`` is a ConfigurationError naming DCS_SELECT_TAGS
        and the repeated key, before any call; it never silently becomes "backup=weekly", which would
        stop backing up the instances tagged backup=daily.
        """
        result = function.invoke({}, DCS_SELECT_TAGS="backup=daily,backup=weekly")
        assert isinstance(result.error, ConfigurationError), repr(result.error)[:300]
        assert "DCS_SELECT_TAGS" in str(result.error)
        assert function.emulator.requests_for("ListInstances") == []
