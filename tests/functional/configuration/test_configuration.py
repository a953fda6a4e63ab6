"""The function's environment variables: checked before any DCS call and before the request is judged,
refused naming the variable, and never echoed whole or with a secret."""

from __future__ import annotations

import pytest

from dcs_backup.platform.errors import ConfigurationError
from devkit.context import LocalContext
from devkit.seed import CLUSTER_ID, HA_ID
from tests.conftest import FunctionHarness, load_event
from tests.support import MAX_ANSWER, apig_event


class TestLocation:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DCS_REGION", "mars-north-1"),
            ("DCS_ENDPOINT", "http://"),
            ("DCS_ENDPOINT", "https://host:99999"),
            ("DCS_ENDPOINT", "https://exa mple.com"),
            ("DCS_ENDPOINT", "http://[::1"),
        ],
    )
    def test_bad_location_is_a_configuration_error_before_any_call(
        self, function: FunctionHarness, name: str, value: str
    ) -> None:
        # GIVEN a region or endpoint that cannot work
        env = {"DCS_ENDPOINT": "", name: value}
        # WHEN the function runs
        result = function.invoke({"instance_ids": [HA_ID]}, **env)
        # THEN it fails as a configuration error naming the variable, and DCS was never called
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert name in str(result.error)
        assert function.emulator.requests == []

    def test_bad_region_over_http_is_500_naming_the_variable(self, function: FunctionHarness) -> None:
        result = function.invoke(apig_event({"instance_ids": [HA_ID]}), DCS_ENDPOINT="", DCS_REGION="mars-north-1")
        assert result.answer["statusCode"] == 500
        assert result.body["error"] == "configuration error"
        assert "DCS_REGION" in result.body["message"]

    def test_endpoint_scheme_is_matched_case_insensitively(self, function: FunctionHarness) -> None:
        endpoint = function.emulator.endpoint.replace("http://", "HTTP://")
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=endpoint)
        assert result.answer["results"][0]["status"] == "created"

    @pytest.mark.parametrize("endpoint", ["https://dcs.example.com:0", "https://" + ".".join(["a" * 63] * 5)])
    def test_an_endpoint_that_can_never_be_reached_is_a_configuration_error(
        self, function: FunctionHarness, endpoint: str
    ) -> None:
        """Port 0, or a host name longer than DNS's 253 characters, can never work.

        Such a DCS_ENDPOINT is a ConfigurationError naming DCS_ENDPOINT, not five failed attempts per
        instance ending "connection to DCS failed (HostUnreachableException)", which would point at the
        network instead of the variable.
        """
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_ENDPOINT=endpoint)
        assert isinstance(result.error, ConfigurationError), repr(result.answer)
        assert "DCS_ENDPOINT" in str(result.error)

    def test_an_unknown_region_is_reported_before_the_request_is_judged(self, function: FunctionHarness) -> None:
        """Every variable is checked before any DCS call, and before the request is judged.

        With an unknown DCS_REGION, a request with a mistake of its own still gets the
        ConfigurationError (HTTP 500: the function is misconfigured), not InvalidRequestError (HTTP 400)
        first and the ConfigurationError only once the caller fixed the request.
        """
        result = function.invoke({"instance_ids": [HA_ID], "colour": 1}, DCS_ENDPOINT="", DCS_REGION="mars-north-1")
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert "DCS_REGION" in str(result.error)


class TestPlainHttpOnlyToThisMachine:
    def test_plain_http_to_a_remote_host_is_refused(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT="http://dcs.example.com")
        assert isinstance(result.error, ConfigurationError)
        assert "use https" in str(result.error)
        assert function.emulator.requests == []

    def test_plain_http_to_localhost_is_allowed(self, function: FunctionHarness) -> None:
        endpoint = function.emulator.endpoint.replace("127.0.0.1", "localhost")
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=endpoint)
        assert result.answer["results"][0]["status"] == "created"


class TestWhatARefusalQuotes:
    def test_an_endpoint_password_reaches_no_error_or_log_line(self, function: FunctionHarness) -> None:
        """A credential in DCS_ENDPOINT's userinfo is never echoed.

        ``DCS_ENDPOINT=https://svc:<password>@host`` is refused; the ConfigurationError, the
        "configuration error" log line and an HTTP caller's 500 body name DCS_ENDPOINT and the rule
        (e.g. "must not contain user:password@") without quoting the userinfo.
        """
        password = "S3cr3tPassw0rd-for-the-proxy"
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT=f"https://svc:{password}@dcs.example.com")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_ENDPOINT" in str(result.error)
        assert password not in str(result.error)
        assert password not in result.log_text

    def test_endpoint_host_and_port_reach_no_http_answer(self, function: FunctionHarness) -> None:
        """docs/result.md: no answer carries the DCS endpoint, host or port — HTTP 500 included.

        A refused DCS_ENDPOINT such as ``http://dcs-vpcep.internal.corp:8443`` is not quoted in the 500
        body an API caller gets (the internal host and port would reach whoever can call the API): the
        body names DCS_ENDPOINT and the rule; the value goes to the log only.
        """
        result = function.invoke(
            apig_event({"instance_ids": [HA_ID]}), DCS_ENDPOINT="http://dcs-vpcep.internal.corp:8443"
        )
        assert result.answer["statusCode"] == 500
        assert "DCS_ENDPOINT" in result.body["message"]
        assert "internal.corp" not in result.answer["body"]
        assert "8443" not in result.answer["body"]

    @pytest.mark.parametrize(
        ("name", "value", "env"),
        [
            ("DCS_ENDPOINT", "https://" + "a" * 100_000, {}),
            ("DCS_BACKUP_FORMAT", "x" * 100_000, {}),
            ("DCS_REGION", "x" * 100_000, {"DCS_ENDPOINT": ""}),
        ],
    )
    def test_a_bad_value_is_quoted_cut_short(
        self, function: FunctionHarness, name: str, value: str, env: dict[str, str]
    ) -> None:
        """Every echoed value is cut, whichever variable it came from.

        A 100 KB DCS_ENDPOINT, DCS_BACKUP_FORMAT or DCS_REGION gives a ConfigurationError and a log line
        of at most 8 KB that still name the variable, as LOG_LEVEL and the numbers do.
        """
        result = function.invoke({"instance_ids": [HA_ID]}, **{**env, name: value})
        assert isinstance(result.error, ConfigurationError)
        assert name in str(result.error)
        assert len(str(result.error)) <= MAX_ANSWER
        assert max(len(line) for line in result.log_text.splitlines()) <= MAX_ANSWER


class TestProjectId:
    def test_an_undecodable_project_id_is_a_configuration_error_not_an_internal_error(
        self, function: FunctionHarness
    ) -> None:
        """DCS_PROJECT_ID is checked with the other variables, before any DCS call.

        On Linux a non-UTF-8 byte in a variable reaches Python as a lone surrogate (``"\\udcff"``);
        such a project id is a ConfigurationError naming DCS_PROJECT_ID, not a URL the SDK cannot
        encode, which would end every instance "internal error; see the function log".
        """
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_PROJECT_ID="0123\udcff")
        assert isinstance(result.error, ConfigurationError), repr(result.answer)
        assert "DCS_PROJECT_ID" in str(result.error)

    @pytest.mark.parametrize("project_id", ["abc def", "0123/../abcd", "é" * 32])
    def test_a_malformed_project_id_is_a_configuration_error(self, function: FunctionHarness, project_id: str) -> None:
        """A project id is 32 hex digits (or at least letters and digits).

        Anything else ("abc def", "0123/../abcd", non-ASCII letters) is a ConfigurationError naming
        DCS_PROJECT_ID before any DCS call, not a request DCS refuses with DCS.1004 or APIG.0301
        "Incorrect IAM authentication", which would point at DCS or the agency.
        """
        result = function.invoke({"instance_ids": [HA_ID], "raise_on_failure": False}, DCS_PROJECT_ID=project_id)
        assert isinstance(result.error, ConfigurationError), repr(result.answer)
        assert "DCS_PROJECT_ID" in str(result.error)
        assert function.emulator.requests == []


class TestInstanceIds:
    @pytest.mark.parametrize("value", [" , ", "bad id!", "ok-1,<script>"])
    def test_an_allowlist_without_valid_ids_is_a_configuration_error(
        self, function: FunctionHarness, value: str
    ) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ALLOWED_INSTANCE_IDS=value)
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_ALLOWED_INSTANCE_IDS" in str(result.error)
        assert function.emulator.requests == []

    @pytest.mark.parametrize("value", ["a b", "x" * 65, ",".join(f"i{n}" for n in range(101))])
    def test_default_instance_ids_obey_the_request_rules(self, function: FunctionHarness, value: str) -> None:
        result = function.invoke({}, DCS_INSTANCE_IDS=value)
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_INSTANCE_IDS" in str(result.error)

    def test_default_instance_ids_outside_the_allowlist_are_a_configuration_error(
        self, function: FunctionHarness
    ) -> None:
        """DCS_INSTANCE_IDS naming an instance DCS_ALLOWED_INSTANCE_IDS refuses is a contradiction.

        The two variables contradict each other: a ConfigurationError naming them, like any other bad
        variable, not InvalidRequestError / HTTP 403 "not allowed by DCS_ALLOWED_INSTANCE_IDS" for
        every request that relies on the defaults (each timer firing with an empty user_event), as if
        it were the caller's fault.
        """
        result = function.invoke(
            load_event("timer-defaults.json"), DCS_INSTANCE_IDS=HA_ID, DCS_ALLOWED_INSTANCE_IDS=CLUSTER_ID
        )
        assert isinstance(result.error, ConfigurationError), repr(result.error)
        assert "DCS_INSTANCE_IDS" in str(result.error)


class TestNumbers:
    def test_a_superscript_concurrency_is_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_MAX_CONCURRENCY="²")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_MAX_CONCURRENCY" in str(result.error)

    def test_a_superscript_runtime_timeout_falls_back_to_the_default(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, LocalContext.seeded(remaining_ms=0), RUNTIME_TIMEOUT="²")
        assert result.answer["results"][0]["status"] == "created"

    def test_a_bad_http_timeout_is_a_configuration_error(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_HTTP_TIMEOUT_MS="60s")
        assert isinstance(result.error, ConfigurationError)
        assert "DCS_HTTP_TIMEOUT_MS" in str(result.error)


class TestMessagesForCommonSlips:
    def test_a_mistyped_region_suggests_the_closest_and_lists_the_known_ones(self, function: FunctionHarness) -> None:
        result = function.invoke({"instance_ids": [HA_ID]}, DCS_ENDPOINT="", DCS_REGION="cn-north4")
        assert isinstance(result.error, ConfigurationError)
        assert "did you mean cn-north-4?" in str(result.error) and "ap-southeast-1" in str(result.error)

    @pytest.mark.parametrize(
        ("given", "missing"), [("access_key", "HUAWEICLOUD_SDK_SK"), ("secret_key", "HUAWEICLOUD_SDK_AK")]
    )
    def test_half_a_key_pair_names_the_missing_half(self, function: FunctionHarness, given: str, missing: str) -> None:
        half = "only-this-half-of-the-pair"
        context = LocalContext(access_key=half) if given == "access_key" else LocalContext(secret_key=half)
        result = function.invoke({"instance_ids": [HA_ID]}, context)
        assert isinstance(result.error, ConfigurationError)
        assert f"set {missing}" in str(result.error) and "only-this-half" not in str(result.error)
        assert function.emulator.requests == []
