"""The FunctionGraph-like context that tests, benchmarks and the local runner share."""

from __future__ import annotations

from dcs_backup.platform.function_context import DEFAULT_TIMEOUT_S
from devkit.context import LocalContext


class TestFromEnv:
    def test_credentials_and_project_come_from_the_sdk_variables(self) -> None:
        # GIVEN the SDK's usual variables, WHEN a context is read from them
        env = {"HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk", "HUAWEICLOUD_SDK_PROJECT_ID": "p"}
        context = LocalContext.from_env(env)
        # THEN they stand in for the agency keys and the project
        assert (context.getSecurityAccessKey(), context.getSecuritySecretKey(), context.getProjectID()) == (
            "ak",
            "sk",
            "p",
        )

    def test_an_unusable_runtime_timeout_falls_back_to_the_default(self) -> None:
        # GIVEN a timeout that is not a positive number of seconds, WHEN a context is read
        context = LocalContext.from_env({"RUNTIME_TIMEOUT": "soon"})
        # THEN the remaining time counts down from the default
        assert context.timeout_s == DEFAULT_TIMEOUT_S
        assert 0 < context.getRemainingTimeInMilliSeconds() <= DEFAULT_TIMEOUT_S * 1000


def test_a_pinned_remaining_time_does_not_count_down() -> None:
    # GIVEN a context whose remaining time a test pins, THEN it answers exactly that
    assert LocalContext.seeded(remaining_ms=1234).getRemainingTimeInMilliSeconds() == 1234
