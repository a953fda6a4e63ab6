"""Operator-given endpoints: accepted forms, refusals, and plain http only to this machine."""

from __future__ import annotations

import pytest

from dcs_backup.platform.endpoints import check_endpoint


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("https://dcs.cn-north-4.myhuaweicloud.com", "https://dcs.cn-north-4.myhuaweicloud.com"),
        ("HTTPS://dcs.example.com:8443/", "https://dcs.example.com:8443"),
        ("HTTP://127.0.0.1:1", "http://127.0.0.1:1"),
        ("http://127.9.9.9:8089", "http://127.9.9.9:8089"),
        ("http://localhost:8089", "http://localhost:8089"),
        ("http://[::1]:8089", "http://[::1]:8089"),
    ],
)
def test_good_endpoints_are_normalised(given: str, normalised: str) -> None:
    assert check_endpoint("DCS_ENDPOINT", given) == (normalised, None)


@pytest.mark.parametrize(
    "given",
    [
        "http://",
        "https://host:99999",
        "https://exa mple.com",
        "http://[::1",
        "ftp://dcs.example.com",
        "dcs.example.com",
        "https://user:pw@dcs.example.com",
        "https://dcs.example.com/v2",
        "https://dcs.example.com?x=1",
        "https://-bad-.example.com",
    ],
)
def test_malformed_endpoints_name_the_variable(given: str) -> None:
    endpoint, problem = check_endpoint("DCS_ENDPOINT", given)
    assert endpoint is None
    assert problem is not None and problem.startswith("DCS_ENDPOINT")


@pytest.mark.parametrize("given", ["http://dcs.example.com", "http://10.0.0.5:80", "http://localhost.example.com"])
def test_plain_http_elsewhere_says_use_https(given: str) -> None:
    _, problem = check_endpoint("DCS_ENDPOINT", given)
    assert problem is not None and "use https" in problem
