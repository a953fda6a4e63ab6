"""The guards as pure rules: they fail closed on what they cannot tell."""

from __future__ import annotations

from dcs_backup.config import Settings, TargetPasswords
from dcs_backup.dcs.models import BackupRecord, InstanceInfo, utc_time
from dcs_backup.restore import guards

TARGET = "inst-1"


def _instance(**fields: object) -> InstanceInfo:
    values: dict[str, object] = {
        "instance_id": TARGET,
        "name": "orders",
        "status": "RUNNING",
        "cache_mode": "ha",
        "engine_version": "6.0",
        "password_free": False,
        **fields,
    }
    return InstanceInfo(**values)  # type: ignore[arg-type]


class TestTargets:
    def test_no_targets_configured_disables_every_restore(self) -> None:
        refusal = guards.target_refusal(TARGET, Settings())
        assert refusal is not None and refusal.reason == guards.RESTORES_DISABLED and refusal.http_status == 403

    def test_a_target_must_pass_both_lists(self) -> None:
        settings = Settings(restore_targets=frozenset({TARGET}), allowed_instance_ids=frozenset({"other"}))
        refusal = guards.target_refusal(TARGET, settings)
        assert refusal is not None and refusal.guard == "allowed_instance_ids"
        assert guards.target_refusal(TARGET, settings._replace(allowed_instance_ids=None)) is None


class TestRules:
    def test_an_unknown_key_count_refuses_an_import(self) -> None:
        refusal = guards.emptiness_refusal(TARGET, None, allow_non_empty=True)
        assert refusal is not None and refusal.guard == "target_not_empty"

    def test_an_unknown_password_need_asks_for_a_password(self) -> None:
        assert guards.password_refusal(_instance(password_free=None), TargetPasswords()) is not None
        assert guards.password_refusal(_instance(password_free=None), TargetPasswords({TARGET: "pw"})) is None
        assert guards.password_refusal(_instance(password_free=True), TargetPasswords()) is None

    def test_only_a_newer_known_source_version_is_refused(self) -> None:
        assert guards.version_refusal(_instance(engine_version="7.0"), _instance(engine_version="6.0")) is not None
        assert guards.version_refusal(_instance(engine_version="5.0"), _instance(engine_version="6.0")) is None
        assert guards.version_refusal(_instance(engine_version=None), _instance(engine_version="6.0")) is None

    def test_a_backup_must_say_true_to_be_restorable(self) -> None:
        record = BackupRecord("b-1", "", "succeed", is_support_restore=None)
        refusal = guards.backup_refusal(record, "b-1", TARGET)
        assert refusal is not None and refusal.http_status == 409

    def test_the_password_setting_never_shows_a_password(self) -> None:
        assert "secret-pw" not in repr(TargetPasswords({TARGET: "secret-pw"}))


def test_migration_task_times_are_read_as_utc() -> None:
    moment = utc_time("2019/10/22 14:44:30")
    assert moment is not None and moment.isoformat() == "2019-10-22T14:44:30+00:00"
