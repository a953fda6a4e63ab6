"""The select field and DCS_SELECT_* defaults: rules, matching and the DCS filter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.config import Settings
from dcs_backup.dcs.models import InstanceInfo
from dcs_backup.platform.errors import InvalidRequestError
from dcs_backup.request import parse_backup_request
from dcs_backup.selection.spec import Selection, parse_tag_list, selection_problems


def _problems(select: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequestError) as caught:
        parse_backup_request({"select": select}, Settings())
    return {p.field: p.problem for p in caught.value.problems}


class TestRules:
    @pytest.mark.parametrize(
        ("select", "field"),
        [
            ({}, "select"),
            ({"allow_empty": True}, "select"),
            ("env=prod", "select"),
            ({"all": True, "tags": {"a": "b"}}, "select.all"),
            ({"all": True, "name": "x*"}, "select.all"),
            ({"all": "yes"}, "select.all"),
            ({"all": 1}, "select.all"),
            ({"tags": {}}, "select.tags"),
            ({"tags": {f"k{n}": "v" for n in range(21)}}, "select.tags"),
            ({"tags": {"k" * 129: "v"}}, "select.tags"),
            ({"tags": {"": "v"}}, "select.tags"),
            ({"tags": {"k": "v" * 256}}, "select.tags"),
            ({"tags": {"k": 3}}, "select.tags"),
            ({"tags": ["env=prod"]}, "select.tags"),
            ({"name": ""}, "select.name"),
            ({"name": "x" * 129}, "select.name"),
            ({"name": "^orders.*$", "regex": True}, "select.regex"),
            ({"all": True, "allow_empty": "no"}, "select.allow_empty"),
        ],
    )
    def test_each_rule_names_its_field(self, select: Any, field: str) -> None:
        assert field in _problems(select)

    def test_limits_are_inclusive(self) -> None:
        tags = {f"{n:0128d}": "v" * 255 for n in range(20)}
        request = parse_backup_request({"select": {"tags": tags, "name": "n" * 128}}, Settings())
        assert request.selection is not None and len(request.selection.tags) == 20

    def test_null_optional_fields_count_as_absent(self) -> None:
        selection, problems = selection_problems({"tags": {"env": "prod"}, "name": None, "all": None})
        assert problems == [] and selection == Selection(tags={"env": "prod"})

    def test_named_ids_and_select_combine(self) -> None:
        request = parse_backup_request({"instance_ids": ["a"], "select": {"all": True}}, Settings())
        assert request.instance_ids == ("a",) and request.selection == Selection(all=True)

    def test_select_alone_needs_no_configured_ids(self) -> None:
        assert parse_backup_request({"select": {"name": "x"}}, Settings()).instance_ids == ()

    def test_configured_selection_is_the_default(self) -> None:
        settings = Settings.from_env({"DCS_SELECT_TAGS": "env=prod, backup", "DCS_SELECT_NAME": "o*"})
        request = parse_backup_request({}, settings)
        assert request.selection == Selection(tags={"env": "prod", "backup": None}, name="o*")

    def test_a_request_with_instance_ids_ignores_the_configured_selection(self) -> None:
        settings = Settings.from_env({"DCS_SELECT_TAGS": "env=prod"})
        assert parse_backup_request({"instance_ids": ["a"]}, settings).selection is None


class TestMatching:
    INSTANCE = InstanceInfo("i-1", "orders-prod-001", "RUNNING", "ha")

    def test_every_pair_and_the_name_must_match(self) -> None:
        selection = Selection(tags={"env": "prod", "owner": None}, name="orders-*")
        assert selection.matches_name(self.INSTANCE)
        assert selection.matches_tags({"env": "prod", "owner": "bob"})
        assert not selection.matches_tags({"env": "prod"})
        assert not selection.matches_tags({"env": "dev", "owner": "bob"})

    def test_name_glob_is_case_sensitive_and_anchored(self) -> None:
        assert not Selection(name="Orders-*").matches_name(self.INSTANCE)
        assert not Selection(name="orders").matches_name(self.INSTANCE)
        assert Selection(name="orders-[a-z]*-00?").matches_name(self.INSTANCE)

    def test_dcs_filters_only_plain_pairs(self) -> None:
        selection = Selection(tags={"env": "prod", "owner": None, "odd": "a,b", "app": "x"})
        assert selection.dcs_tag_filter() == "app=x,env=prod"
        assert Selection(tags={"owner": None}).dcs_tag_filter() is None

    def test_tag_list_form_of_the_variable(self) -> None:
        assert parse_tag_list("env=prod, backup ,team=a=b") == {"env": "prod", "backup": None, "team": "a=b"}

    def test_describe_names_the_criteria(self) -> None:
        assert (
            Selection(tags={"env": "prod", "owner": None}, name="o*").describe() == "tags env=prod, owner and name 'o*'"
        )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
SELECT = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.dictionaries(st.text(max_size=5), st.none() | st.text(max_size=5), max_size=3) | JSON,
        "name": st.text(max_size=5) | JSON,
        "all": st.booleans() | JSON,
        "allow_empty": st.booleans() | JSON,
        "other": JSON,
    },
)


@given(SELECT | JSON)
def test_any_select_value_is_a_selection_or_named_problems(select: Any) -> None:
    selection, problems = selection_problems(select)
    if problems:
        assert selection is None
        assert all(p.field.startswith("select") and p.problem for p in problems)
    else:
        assert selection is not None
        assert selection.all or selection.tags or selection.name is not None
        assert not (selection.all and (selection.tags or selection.name is not None))
