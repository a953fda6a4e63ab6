"""Request validation: each rule, defaults, and the allowlist."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.config import Settings
from dcs_backup.export.spec import ExportSpec
from dcs_backup.platform.errors import InvalidRequestError
from dcs_backup.request import DEFAULT_REMARK, parse_backup_request

SETTINGS = Settings(default_instance_ids=("default-1",), default_backup_format="aof")


def _problems(payload: Any, settings: Settings = SETTINGS) -> dict[str, str]:
    with pytest.raises(InvalidRequestError) as caught:
        parse_backup_request(payload, settings)
    return {p.field: p.problem for p in caught.value.problems}


class TestDefaults:
    def test_empty_request_uses_configured_defaults(self) -> None:
        request = parse_backup_request({}, SETTINGS)
        assert request.instance_ids == ("default-1",)
        assert request.backup_format == "aof"
        assert request.remark == DEFAULT_REMARK
        assert request.raise_on_failure is True

    def test_backup_format_falls_back_to_rdb(self) -> None:
        assert parse_backup_request({"instance_ids": ["a"]}, Settings()).backup_format == "rdb"


class TestRules:
    def test_unknown_fields_are_named_with_the_allowed_ones(self) -> None:
        assert (
            "allowed fields are action, rpo_hours, max_drill_age_days, instance_ids"
            in _problems({"instances": ["a"]})["instances"]
        )

    @pytest.mark.parametrize("ids", [[], "a", [""], [1], ["a b"], ["x" * 65], [f"i{n}" for n in range(101)]])
    def test_instance_ids_shape_is_enforced(self, ids: Any) -> None:
        assert "instance_ids" in _problems({"instance_ids": ids})

    def test_duplicate_ids_are_named(self) -> None:
        assert "repeated: a" in _problems({"instance_ids": ["a", "b", "a"]})["instance_ids"]

    def test_missing_ids_without_defaults_say_how_to_configure(self) -> None:
        assert "DCS_INSTANCE_IDS" in _problems({}, Settings())["instance_ids"]

    def test_backup_format_lists_allowed_values(self) -> None:
        assert "'rdb', 'aof'" in _problems({"backup_format": "RDB"})["backup_format"]

    def test_remark_over_128_characters_is_rejected(self) -> None:
        assert "128" in _problems({"remark": "r" * 129})["remark"]

    def test_remark_of_128_characters_is_accepted(self) -> None:
        assert len(parse_backup_request({"remark": "r" * 128}, SETTINGS).remark) == 128

    def test_raise_on_failure_must_be_boolean(self) -> None:
        assert "raise_on_failure" in _problems({"raise_on_failure": "false"})

    def test_every_offending_field_is_reported_at_once(self) -> None:
        problems = _problems({"instance_ids": [], "backup_format": 1, "remark": 2, "raise_on_failure": None, "x": 0})
        assert set(problems) == {"instance_ids", "backup_format", "remark", "raise_on_failure", "x"}

    def test_non_object_request_is_rejected(self) -> None:
        assert "request" in _problems(["a"])


class TestMessagesForCommonSlips:
    @pytest.mark.parametrize(("typed", "meant"), [("instance_id", "instance_ids"), ("Backup_Format", "backup_format")])
    def test_an_unknown_field_suggests_the_closest_known_one(self, typed: str, meant: str) -> None:
        assert f"did you mean {meant}?" in _problems({typed: 1})[typed]

    def test_an_unknown_field_like_none_suggests_nothing(self) -> None:
        assert "did you mean" not in _problems({"zzz": 1})["zzz"]

    def test_one_id_given_as_a_string_says_so_and_how_to_write_it(self) -> None:
        assert "a string was given: write ['dcs-1']" in _problems({"instance_ids": "dcs-1"})["instance_ids"]

    @pytest.mark.parametrize("export", [{}, {"bucket": None}, {"prefix": "x/"}])
    def test_an_export_without_a_bucket_says_it_is_required(self, export: dict[str, Any]) -> None:
        assert _problems({"export": export})["export.bucket"].startswith("required")


class TestAllowlist:
    ALLOWED = Settings(allowed_instance_ids=frozenset({"a", "b"}))

    def test_listed_instances_pass(self) -> None:
        assert parse_backup_request({"instance_ids": ["a"]}, self.ALLOWED).instance_ids == ("a",)

    def test_any_unlisted_instance_refuses_the_whole_request_with_403(self) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            parse_backup_request({"instance_ids": ["a", "c", "d"]}, self.ALLOWED)
        assert caught.value.http_status == 403
        assert "c, d" in str(caught.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(["instance_ids", "backup_format", "remark", "raise_on_failure", "idempotency_key", "other"])


@given(st.dictionaries(FIELDS, JSON | st.lists(st.text(max_size=70), max_size=5)))
def test_any_payload_is_accepted_or_rejected_with_named_fields(payload: dict[str, Any]) -> None:
    try:
        request = parse_backup_request(payload, SETTINGS)
    except InvalidRequestError as error:
        assert error.problems
        assert all(problem.field and problem.problem for problem in error.problems)
    else:
        assert 1 <= len(request.instance_ids) <= 100
        assert request.backup_format in ("rdb", "aof")
        assert len(request.remark) <= 128


class TestDrillAge:
    """``max_drill_age_days``: audit only, a whole number of days, judged from records in the export bucket."""

    EXPORTING = SETTINGS._replace(default_export=ExportSpec("team-dcs-backups"))

    def test_an_audit_takes_it(self) -> None:
        request = parse_backup_request({"action": "audit", "max_drill_age_days": 7}, self.EXPORTING)
        assert request.max_drill_age_days == 7

    def test_an_audit_without_it_takes_the_configured_default(self) -> None:
        settings = self.EXPORTING._replace(default_max_drill_age_days=30)
        assert parse_backup_request({"action": "audit"}, settings).max_drill_age_days == 30
        assert parse_backup_request({}, settings).max_drill_age_days is None

    def test_a_backup_refuses_it(self) -> None:
        problem = _problems({"max_drill_age_days": 7}, self.EXPORTING)["max_drill_age_days"]
        assert problem == "applies to action 'audit' only"

    def test_without_an_export_bucket_it_says_where_the_records_would_be(self) -> None:
        problem = _problems({"action": "audit", "max_drill_age_days": 7})["max_drill_age_days"]
        assert "DCS_EXPORT_BUCKET" in problem

    @given(st.one_of(st.integers(max_value=0), st.integers(min_value=3651), st.floats(), st.text(), st.booleans()))
    def test_anything_but_a_whole_number_of_days_from_1_to_3650_is_refused(self, days: Any) -> None:
        problem = _problems({"action": "audit", "max_drill_age_days": days}, self.EXPORTING)["max_drill_age_days"]
        assert "from 1 to 3650" in problem
