"""Configuration from the environment and credential resolution."""

from __future__ import annotations

import pytest

from dcs_backup.config import Settings
from dcs_backup.dcs.access import resolve_access
from dcs_backup.platform.errors import ConfigurationError
from devkit.context import LocalContext


class TestSettings:
    def test_defaults(self) -> None:
        settings = Settings.from_env({})
        assert (settings.default_backup_format, settings.max_concurrency) == ("rdb", 4)
        assert settings.default_instance_ids == ()

    def test_instance_ids_are_split_trimmed_and_deduplicated(self) -> None:
        assert Settings.from_env({"DCS_INSTANCE_IDS": " a, b,,a "}).default_instance_ids == ("a", "b")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DCS_BACKUP_FORMAT", "zip"),
            ("DCS_MAX_CONCURRENCY", "0"),
            ("DCS_MAX_CONCURRENCY", "many"),
            ("LOG_LEVEL", "LOUD"),
            ("DCS_ENDPOINT", "ftp://x"),
            ("DCS_LINK_DOMAINS", "https://obs.example.com"),
            ("DCS_LINK_DOMAINS", "obs.example.com, 10.0.0.1"),
            ("DCS_LINK_DOMAINS", " , "),
        ],
    )
    def test_bad_values_name_the_variable(self, name: str, value: str) -> None:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value})

    def test_link_domains_are_lower_cased_and_deduplicated(self) -> None:
        settings = Settings.from_env({"DCS_LINK_DOMAINS": "OBS.eu-de.otc.t-systems.com,obs.eu-de.otc.t-systems.com"})
        assert settings.link_domains == ("obs.eu-de.otc.t-systems.com",)

    def test_a_bad_link_domain_list_says_what_it_accepts(self) -> None:
        with pytest.raises(ConfigurationError, match="DCS_LINK_DOMAINS must list domain names"):
            Settings.from_env({"DCS_LINK_DOMAINS": "obs.example.com:443"})

    def test_the_export_kms_key_id_is_read_and_unset_means_none(self) -> None:
        key_id = "0d0466b0-e727-4d9c-b35d-f84bb474a37f"
        assert Settings.from_env({"DCS_EXPORT_KMS_KEY_ID": f" {key_id} "}).export_kms_key_id == key_id
        assert Settings.from_env({"DCS_EXPORT_KMS_KEY_ID": ""}).export_kms_key_id is None

    @pytest.mark.parametrize("value", ["alias/backups", "0D0466B0-E727-4D9C-B35D-F84BB474A37F", "0d0466b0e7274d9c"])
    def test_a_bad_export_kms_key_id_says_what_it_accepts(self, value: str) -> None:
        with pytest.raises(ConfigurationError, match="DCS_EXPORT_KMS_KEY_ID must be a KMS key id") as raised:
            Settings.from_env({"DCS_EXPORT_KMS_KEY_ID": value})
        assert "0d0466b0-e727-4d9c-b35d-f84bb474a37f" in str(raised.value)


EXPORTING = {"DCS_EXPORT_BUCKET": "team-dcs-backups", "DCS_REGION": "eu-west-101"}


class TestDrillRecords:
    def test_records_go_beside_the_exports_by_default(self) -> None:
        settings = Settings.from_env(EXPORTING)
        assert (settings.drill_record_prefix, settings.export_prefix) == ("dcs-drills/", "dcs-backup/")

    @pytest.mark.parametrize("prefix", ["/drills/", "/", "dcs-backup/drills/", "dcs-backup-drills/"])
    def test_a_record_prefix_at_the_root_or_under_the_export_prefix_is_refused(self, prefix: str) -> None:
        with pytest.raises(ConfigurationError, match="DCS_DRILL_RECORD_PREFIX"):
            Settings.from_env({**EXPORTING, "DCS_DRILL_RECORD_PREFIX": prefix})

    def test_a_drill_age_needs_the_bucket_the_records_are_in(self) -> None:
        assert Settings.from_env({**EXPORTING, "DCS_MAX_DRILL_AGE_DAYS": "7"}).default_max_drill_age_days == 7
        with pytest.raises(ConfigurationError, match="DCS_MAX_DRILL_AGE_DAYS needs DCS_EXPORT_BUCKET"):
            Settings.from_env({"DCS_MAX_DRILL_AGE_DAYS": "7"})

    @pytest.mark.parametrize("days", ["0", "3651", "7.5", "a week"])
    def test_a_drill_age_is_a_whole_number_of_days(self, days: str) -> None:
        with pytest.raises(ConfigurationError, match="DCS_MAX_DRILL_AGE_DAYS must be a whole number from 1 to 3650"):
            Settings.from_env({**EXPORTING, "DCS_MAX_DRILL_AGE_DAYS": days})


class TestAccess:
    def test_everything_missing_is_named_at_once(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            resolve_access(LocalContext.seeded(access_key="", secret_key=""), Settings().location, {})
        message = str(caught.value)
        assert "agency" in message and "DCS_PROJECT_ID" in message and "DCS_REGION" in message

    def test_project_falls_back_to_runtime_project_id(self) -> None:
        location = Settings(region="cn-north-4").location
        access = resolve_access(LocalContext.seeded(), location, {"RUNTIME_PROJECT_ID": "p1"})
        assert access.project_id == "p1"

    def test_configured_project_wins_over_context(self) -> None:
        settings = Settings(region="cn-north-4", project_id="pconfig")
        assert resolve_access(LocalContext.seeded(project_id="pctx"), settings.location, {}).project_id == "pconfig"

    def test_repr_hides_credentials(self) -> None:
        settings = Settings(region="cn-north-4", project_id="p")
        access = resolve_access(LocalContext.seeded(security_token="tok-123"), settings.location, {})
        assert access.secret_key not in repr(access)
        assert access.secrets == (access.access_key, access.secret_key, "tok-123")
