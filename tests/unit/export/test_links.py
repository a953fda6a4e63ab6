"""Which download links an export follows, judged by name before anything is fetched."""

from __future__ import annotations

import pytest

from dcs_backup.export.links import LinkPolicy, parse_domains

REGION = LinkPolicy.for_export(None, "cn-north-4", "https://obs.cn-north-4.myhuaweicloud.com")
LOCAL = LinkPolicy.for_export(None, None, "http://127.0.0.1:9000")
QUERY = "?AccessKeyId=AK&Expires=1&Signature=SIGNATUREVALUE"


class TestRegionLinks:
    @pytest.mark.parametrize(
        "link",
        [
            f"https://dcs-backups.obs.cn-north-4.myhuaweicloud.com/i/b/f.rdb{QUERY}",
            f"https://obs.cn-north-4.myhuaweicloud.com/dcs-backups/i/f.rdb{QUERY}",  # path-style
            f"HTTPS://Dcs-Backups.OBS.cn-north-4.myhuaweicloud.com./f.rdb{QUERY}",  # case, a trailing dot
            f"https://dcs-backups.obs.cn-north-4.myhuaweicloud.com:443/f.rdb{QUERY}",
        ],
    )
    def test_https_to_the_regions_object_storage_is_followed(self, link: str) -> None:
        assert REGION.problem(link) is None

    @pytest.mark.parametrize(
        ("link", "why"),
        [
            (f"http://169.254.169.254/latest/meta-data/{QUERY}", "not https"),
            (f"https://169.254.169.254/f.rdb{QUERY}", "IP address"),
            (f"https://[fd00::1]/f.rdb{QUERY}", "IP address"),
            (f"http://dcs-backups.obs.cn-north-4.myhuaweicloud.com/f.rdb{QUERY}", "not https"),
            (f"ftp://dcs-backups.obs.cn-north-4.myhuaweicloud.com/f.rdb{QUERY}", "not https"),
            (f"https://obs.cn-north-4.myhuaweicloud.com.attacker.example/f.rdb{QUERY}", "not under"),
            (f"https://evilobs.cn-north-4.myhuaweicloud.com/f.rdb{QUERY}", "not under"),
            (f"https://b.obs.cn-east-3.myhuaweicloud.com/f.rdb{QUERY}", "not under"),
            (f"https://user@b.obs.cn-north-4.myhuaweicloud.com/f.rdb{QUERY}", "user information"),
            (f"https://b.obs.cn-north-4.myhuaweicloud.com@attacker.example/f.rdb{QUERY}", "user information"),
            (f"https://b.obs.cn-north-4.myhuaweicloud.com:8443/f.rdb{QUERY}", "port 8443"),
            (f"https://b.obs.cn-north-4.myhuaweicloud.com:99999/f.rdb{QUERY}", "not a URL"),
            (f"https://attacker.example\\@b.obs.cn-north-4.myhuaweicloud.com/{QUERY}", "characters"),
            (f"https://b.obs.cn-north-4.myhuaweicloud.com /f.rdb{QUERY}", "characters"),
            (f"https://b_b.obs.cn-north-4.myhuaweicloud.com/f.rdb{QUERY}", "not a valid name"),
            (f"https:///f.rdb{QUERY}", "no host"),
            (f"http://127.0.0.1:9000/b/f.rdb{QUERY}", "not https"),
            (f"https://localhost/b/f.rdb{QUERY}", "not under"),
        ],
    )
    def test_anything_else_is_refused_saying_why_without_the_query(self, link: str, why: str) -> None:
        problem = REGION.problem(link)
        assert problem is not None and why in problem
        assert "SIGNATUREVALUE" not in problem and "Expires" not in problem


class TestOtherClouds:
    def test_configured_domains_replace_the_regions(self) -> None:
        domains, problem = parse_domains(" obs.eu-de.otc.t-systems.com , .Example.COM")
        assert (domains, problem) == (("obs.eu-de.otc.t-systems.com", "example.com"), None)
        policy = LinkPolicy.for_export(domains, "cn-north-4", "https://obs.eu-de.otc.t-systems.com")
        assert policy.problem(f"https://b.obs.eu-de.otc.t-systems.com/f{QUERY}") is None
        assert policy.problem(f"https://b.obs.cn-north-4.myhuaweicloud.com/f{QUERY}") is not None

    def test_without_a_region_the_obs_endpoints_host_is_the_domain(self) -> None:
        policy = LinkPolicy.for_export(None, None, "https://obs.eu-de.otc.t-systems.com")
        assert policy.problem(f"https://b.obs.eu-de.otc.t-systems.com/f{QUERY}") is None

    @pytest.mark.parametrize("raw", [",", "com", "https://obs.example.com", "obs.example.com:443", "10.0.0.1", "a..b"])
    def test_a_bad_domain_list_is_a_problem(self, raw: str) -> None:
        assert parse_domains(raw)[1] is not None


class TestThisMachine:
    @pytest.mark.parametrize(
        "link",
        [f"http://127.0.0.1:9000/b/f{QUERY}", f"http://127.0.0.2:1/b/f{QUERY}", f"http://localhost:9000/f{QUERY}"],
    )
    def test_http_to_this_machine_is_followed_when_the_obs_endpoint_is_on_it(self, link: str) -> None:
        assert LOCAL.problem(link) is None
        assert REGION.problem(link) is not None

    @pytest.mark.parametrize(
        "link", [f"http://10.0.0.1/b/f{QUERY}", f"http://169.254.169.254/{QUERY}", f"http://user@127.0.0.1/{QUERY}"]
    )
    def test_nothing_else_is_followed_because_of_it(self, link: str) -> None:
        assert LOCAL.problem(link) is not None
