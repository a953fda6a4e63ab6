"""The drill request: the backup's selection rules, a known source kind, a tolerance in range."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.config import Settings
from dcs_backup.drill.spec import DEFAULT_TOLERANCE_PCT, parse_drill_request
from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from devkit.seed import HA_ID

SETTINGS = Settings()


def _problems(payload: dict[str, Any], settings: Settings = SETTINGS) -> set[str]:
    with pytest.raises(InvalidRequestError) as raised:
        parse_drill_request(payload, settings)
    return {problem.field for problem in raised.value.problems}


class TestDrillRequest:
    def test_defaults(self) -> None:
        request = parse_drill_request({"action": "drill", "instance_ids": [HA_ID]}, SETTINGS)
        assert request.sources.instance_ids == (HA_ID,)
        assert request.source_kind == "backup" and request.tolerance_pct == DEFAULT_TOLERANCE_PCT
        assert request.raise_on_failure is True

    def test_the_sources_default_to_the_configured_backup_targets(self) -> None:
        request = parse_drill_request({"action": "drill"}, Settings(default_instance_ids=(HA_ID,)))
        assert request.sources.instance_ids == (HA_ID,)

    def test_every_problem_is_named_at_once(self) -> None:
        payload = {"action": "drill", "instance_ids": HA_ID, "from": "tape", "tolerance_pct": 80, "wait": True}
        assert _problems(payload) == {"instance_ids", "from", "tolerance_pct", "wait"}

    def test_without_any_source_the_request_names_instance_ids(self) -> None:
        assert _problems({"action": "drill"}) == {"instance_ids"}

    def test_a_source_outside_the_allowed_instances_is_refused_with_403(self) -> None:
        with pytest.raises(InvalidRequestError) as raised:
            parse_drill_request(
                {"action": "drill", "instance_ids": [HA_ID]}, Settings(allowed_instance_ids=frozenset({"other"}))
            )
        assert raised.value.http_status == 403

    @given(st.one_of(st.text(), st.booleans(), st.none(), st.floats(), st.integers(), st.lists(st.integers())))
    def test_a_tolerance_is_accepted_only_as_a_number_from_0_to_50(self, value: Any) -> None:
        payload = {"action": "drill", "instance_ids": [HA_ID], "tolerance_pct": value}
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 50
        if valid:
            assert parse_drill_request(payload, SETTINGS).tolerance_pct == float(value)
        else:
            assert _problems(payload) == {"tolerance_pct"}


class TestScratchConfiguration:
    def test_a_scratch_instance_outside_the_restore_targets_is_a_configuration_error_for_every_run(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            Settings.from_env({"DCS_DRILL_INSTANCE": HA_ID, "DCS_RESTORE_TARGETS": "other"})
        assert "DCS_DRILL_INSTANCE" in str(raised.value) and "DCS_RESTORE_TARGETS" in str(raised.value)

    def test_a_scratch_instance_among_the_restore_targets_is_configured(self) -> None:
        settings = Settings.from_env({"DCS_DRILL_INSTANCE": HA_ID, "DCS_RESTORE_TARGETS": f"other,{HA_ID}"})
        assert settings.drill_instance == HA_ID

    def test_one_scratch_instance_only(self) -> None:
        with pytest.raises(ConfigurationError, match="DCS_DRILL_INSTANCE may list at most 1"):
            Settings.from_env({"DCS_DRILL_INSTANCE": f"{HA_ID},other", "DCS_RESTORE_TARGETS": f"other,{HA_ID}"})


def test_a_drill_from_the_export_without_an_export_bucket_is_refused_naming_the_variable() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_drill_request({"from": "export", "instance_ids": ["a"]}, Settings())
    (problem,) = caught.value.problems
    assert problem.field == "from" and "DCS_EXPORT_BUCKET" in problem.problem
