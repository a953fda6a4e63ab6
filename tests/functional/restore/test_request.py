"""Malformed restore requests are refused before any DCS call, as every request is."""

from __future__ import annotations

from dcs_backup.platform.errors import ConfigurationError, InvalidRequestError
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.functional.restore.conftest import restore_request
from tests.support import apig_event, problem_fields


class TestMalformed:
    def test_a_restore_without_confirmation_is_a_400_naming_the_field(self, restoring: FunctionHarness) -> None:
        body = restore_request()
        del body["confirm_instance_name"]
        result = restoring.invoke(apig_event(body))
        assert result.answer["statusCode"] == 400
        assert [p["field"] for p in result.body["problems"]] == ["confirm_instance_name"]
        assert restoring.emulator.requests == []

    def test_a_restore_naming_several_instances_is_invalid_request(self, restoring: FunctionHarness) -> None:
        body = {**restore_request(), "instance_ids": [HA_ID]}
        result = restoring.invoke(body)
        assert isinstance(result.error, InvalidRequestError)
        assert problem_fields(result.error) == {"instance_ids"}


class TestConfiguration:
    def test_restore_targets_with_a_malformed_id_are_a_configuration_error(self, restoring: FunctionHarness) -> None:
        result = restoring.invoke(restore_request(), DCS_RESTORE_TARGETS="not an id")
        assert isinstance(result.error, ConfigurationError) and "DCS_RESTORE_TARGETS" in str(result.error)
