"""The Terraform template, checked structurally (no provider download or cloud access here)."""

from __future__ import annotations

import ast
import re

import pytest

from dcs_backup.config import ENCRYPTED_VARIABLES
from tests.unit.template.template_hcl import REPO, TEMPLATE, load, one, resources, variables

# DCS operation the function calls → the IAM action that permits it.
ACTION_FOR_OPERATION = {
    "ListInstances": "dcs:instance:list",
    "ShowInstance": "dcs:instance:get",
    "ShowTags": "dcs:tag:get",
    "ListBackupRecords": "dcs:instance:getDataBackupLog",
    "CreateBackup": "dcs:instance:backupData",
    "DeleteBackup": "dcs:instance:deleteDataBackupFile",
    "ListBackupFileLinks": "dcs:instance:downloadBackupData",
    "RestartOrFlushInstances": "dcs:instance:modifyStatus",
    "RestoreInstance": "dcs:instance:restoreData",
    "ListRestoreRecords": "dcs:instance:getDataRestoreLog",
    "CreateMigrationTask": "dcs:migrationTask:create",
    "ShowMigrationTask": "dcs:migrationTask:get",
    "ListMigrationTask": "dcs:migrationTask:list",
    "ListStatisticsOfRunningInstances": "dcs:instance:list",
}


RESOURCES = resources()
FUNCTION = RESOURCES["huaweicloud_fgs_function.dcs_backup"]


class TestFunction:
    def test_handler_string_names_the_entry_point_in_handler_py(self) -> None:
        module, function = FUNCTION["handler"].split(".")
        tree = ast.parse((REPO / f"{module}.py").read_text(encoding="utf-8"))
        assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}

    def test_runs_the_zip_on_python_312_v2_with_the_agency(self) -> None:
        assert (FUNCTION["runtime"], FUNCTION["code_type"], FUNCTION["functiongraph_version"]) == (
            "Python3.12",
            "zip",
            "v2",
        )
        assert FUNCTION["agency"] == "${huaweicloud_identity_agency.function.name}"
        assert "filebase64(var.package_path)" in FUNCTION["func_code"]

    def test_every_configuration_variable_the_code_reads_is_in_user_data(self) -> None:
        config_source = (REPO / "dcs_backup" / "config.py").read_text(encoding="utf-8")
        read_by_code = set(re.findall(r'\(env, "([A-Z_]+)"', config_source))
        assert read_by_code
        locals_ = load("main.tf")["locals"][0]
        passed, encrypted = set(locals_["function_env"]), set(locals_["function_secret_env"])
        assert FUNCTION["user_data"] == "${jsonencode(local.function_env)}"
        assert passed | encrypted == read_by_code

    def test_passwords_are_passed_only_as_encrypted_user_data(self) -> None:
        locals_ = load("main.tf")["locals"][0]
        assert set(locals_["function_secret_env"]) == set(ENCRYPTED_VARIABLES)
        assert not set(locals_["function_env"]) & set(ENCRYPTED_VARIABLES)
        assert FUNCTION["encrypted_user_data"] == "${jsonencode(local.function_secret_env)}"
        assert variables()["target_passwords"]["sensitive"] is True

    def test_logs_go_to_a_log_group_and_stream_created_here(self) -> None:
        assert FUNCTION["enable_lts_log"] is True
        assert FUNCTION["log_group_id"] == "${huaweicloud_lts_group.function.id}"
        assert FUNCTION["log_stream_id"] == "${huaweicloud_lts_stream.function.id}"

    def test_memory_and_timeout_are_variables_with_defaults(self) -> None:
        declared = variables()
        assert FUNCTION["memory_size"] == "${var.memory_size}" and declared["memory_size"]["default"] == 256
        assert FUNCTION["timeout"] == "${var.timeout}" and declared["timeout"]["default"] == 300


class TestPermissions:
    def test_role_allows_exactly_the_dcs_actions_the_gateway_calls(self) -> None:
        gateway = (REPO / "dcs_backup" / "dcs" / "gateway.py").read_text(encoding="utf-8")
        operations = set(re.findall(r'(?:self\._call|self\._loop\.run)\(\s*"(\w+)"', gateway))
        needed = {ACTION_FOR_OPERATION[op] for op in operations}
        actions = load("main.tf")["locals"][0]["dcs_actions"]
        assert set(re.findall(r'"(dcs:[A-Za-z:]+)"', actions)) == needed
        assert "local.dcs_actions" in RESOURCES["huaweicloud_identity_role.dcs_backup"]["policy"]
        assert RESOURCES["huaweicloud_identity_role.dcs_backup"]["type"] == "XA"

    def test_restoring_and_importing_are_granted_only_when_restore_targets_are_set(self) -> None:
        locals_ = load("main.tf")["locals"][0]
        granted = re.search(r"local\.restore_enabled \? \[(.*?)\] : \[\]", locals_["dcs_actions"], re.DOTALL)
        assert granted is not None
        assert set(re.findall(r'"(dcs:[A-Za-z:]+)"', granted.group(1))) == {
            "dcs:instance:restoreData",
            "dcs:instance:getDataRestoreLog",
            "dcs:migrationTask:create",
            "dcs:migrationTask:get",
            "dcs:migrationTask:list",
        }
        assert "length(var.restore_targets) > 0" in locals_["restore_enabled"]
        assert locals_["function_env"]["DCS_RESTORE_TARGETS"] == '${join(",", var.restore_targets)}'

    def test_a_drill_instance_grants_emptying_it_by_flush_or_by_its_baseline_backup_and_restore(self) -> None:
        locals_ = load("main.tf")["locals"][0]
        granted = re.search(r"local\.drill_enabled \? \[(.*?)\] : \[\]", locals_["dcs_actions"], re.DOTALL)
        assert granted is not None
        assert set(re.findall(r'"(dcs:[A-Za-z:]+)"', granted.group(1))) == {
            "dcs:instance:modifyStatus",  # the flush (Redis 4.0/5.0)
            "dcs:instance:downloadBackupData",  # the heads of the drilled backups' files
            "dcs:instance:backupData",  # the empty baseline backup (other versions)
            "dcs:instance:getDataBackupLog",
            "dcs:instance:restoreData",  # its in-place restore
            "dcs:instance:getDataRestoreLog",
        }
        assert locals_["drill_enabled"] == '${var.drill_instance != ""}'
        assert locals_["dcs_actions"].startswith("${distinct(concat(")  # each action granted once

    def test_deleting_backups_is_granted_only_when_retention_can_run(self) -> None:
        locals_ = load("main.tf")["locals"][0]
        assert re.search(
            r'local\.retention_enabled \? \["dcs:instance:deleteDataBackupFile"\] : \[\]', locals_["dcs_actions"]
        )
        assert "var.keep_last != null" in locals_["retention_enabled"]
        assert "var.max_age_days != null" in locals_["retention_enabled"]

    def test_agency_is_delegated_to_functiongraph_on_the_region(self) -> None:
        agency = RESOURCES["huaweicloud_identity_agency.function"]
        assert agency["delegated_service_name"] == "op_svc_cff"
        assert "delegated_domain_name" not in agency
        role = one(agency["project_role"])
        assert role["project"] == "${var.region}"
        # The DCS role, publishing to SMN for the asynchronous failure destination (alerts.tf), and
        # the export bucket's KMS key only when one is used (export.tf).
        assert role["roles"] == (
            "${concat([huaweicloud_identity_role.dcs_backup.name, huaweicloud_identity_role.smn_publish.name], "
            "local.export_kms_enabled ? [huaweicloud_identity_role.kms_export[0].name] : [])}"
        )

    def test_no_credentials_in_the_template(self) -> None:
        text = " ".join(p.read_text(encoding="utf-8") for p in TEMPLATE.glob("*.tf*"))
        assert not re.search(r"\b(access_key|secret_key|security_token)\s*=", text)


class TestTriggers:
    def test_timer_uses_the_cron_schedule_variable_and_a_json_user_event(self) -> None:
        timer = RESOURCES["huaweicloud_fgs_function_trigger.schedule"]
        assert timer["type"] == "TIMER"
        event = timer["event_data"]
        assert '"Cron"' in event and "var.schedule" in event and "user_event = jsonencode(" in event

    def test_async_invocation_retries_and_age_are_explicit(self) -> None:
        config = RESOURCES["huaweicloud_fgs_async_invoke_configuration.dcs_backup"]
        assert config["max_async_retry_attempts"] == "${var.async_retry_attempts}"
        assert config["max_async_event_age_in_seconds"] == "${var.async_event_age_seconds}"

    def test_http_api_is_post_only_synchronous_and_authenticated(self) -> None:
        api = RESOURCES["huaweicloud_apig_api.backup"]
        assert api["request_method"] == "POST"
        assert api["security_authentication"] == "${var.http_auth}"
        backend = one(api["func_graph"])
        assert backend["invocation_type"] == "sync"
        assert backend["timeout"] == "${var.http_backend_timeout_ms}"
        http_auth = variables()["http_auth"]
        assert http_auth["default"] == "IAM"
        assert "NONE" not in one(http_auth["validation"])["condition"]

    def test_http_resources_are_optional(self) -> None:
        for name in ("apig_group.http", "apig_environment.http", "apig_api.backup", "apig_api_publishment.backup"):
            assert RESOURCES[f"huaweicloud_{name}"]["count"] == "${var.enable_http ? 1 : 0}"


_PUBLISH_IDS = ["${huaweicloud_apig_api_publishment.backup[0].publish_id}"]


class TestHttpAccess:
    def test_iam_api_permits_only_the_owner_account(self) -> None:
        acl = RESOURCES["huaweicloud_apig_acl_policy.http_account"]
        assert acl["count"] == "${local.http_iam ? 1 : 0}"
        assert load("main.tf")["locals"][0]["http_iam"] == '${var.enable_http && var.http_auth == "IAM"}'
        assert (acl["type"], acl["entity_type"], acl["value"]) == ("PERMIT", "DOMAIN_ID", "${var.http_account_id}")
        bound = RESOURCES["huaweicloud_apig_acl_policy_associate.http_account"]
        assert bound["count"] == acl["count"]
        assert bound["policy_id"] == "${huaweicloud_apig_acl_policy.http_account[0].id}"
        assert bound["publish_ids"] == _PUBLISH_IDS
        # An IAM API is never deployed without the account to permit.
        api_lifecycle = one(RESOURCES["huaweicloud_apig_api.backup"]["lifecycle"])
        conditions = [p["condition"] for p in api_lifecycle["precondition"]]
        assert '${var.http_auth != "IAM" || var.http_account_id != ""}' in conditions
        account = variables()["http_account_id"]
        assert account["default"] == ""
        assert one(account["validation"])["condition"].startswith('${var.http_account_id == "" || ')

    def test_allowed_cidrs_bind_an_ip_acl_only_when_set(self) -> None:
        acl = RESOURCES["huaweicloud_apig_acl_policy.http_cidrs"]
        assert acl["count"] == "${var.enable_http && length(var.http_allowed_cidrs) > 0 ? 1 : 0}"
        assert (acl["type"], acl["entity_type"]) == ("PERMIT", "IP")
        assert acl["value"] == '${join(",", var.http_allowed_cidrs)}'
        bound = RESOURCES["huaweicloud_apig_acl_policy_associate.http_cidrs"]
        assert bound["count"] == acl["count"]
        assert bound["policy_id"] == "${huaweicloud_apig_acl_policy.http_cidrs[0].id}"
        assert bound["publish_ids"] == _PUBLISH_IDS
        cidrs = variables()["http_allowed_cidrs"]
        assert cidrs["default"] == []
        assert "cidrhost(" in one(cidrs["validation"])["condition"]

    def test_acl_names_fit_apig_rules(self) -> None:
        # 3-64 letters, digits and underscores, starting with a letter (function_name starts with one).
        prefix = load("main.tf")["locals"][0]["http_acl_prefix"]
        assert prefix == '${substr(replace(var.function_name, "-", "_"), 0, 50)}'
        for name in ("http_account", "http_cidrs"):
            suffix = RESOURCES[f"huaweicloud_apig_acl_policy.{name}"]["name"].removeprefix("${local.http_acl_prefix}")
            assert re.fullmatch(r"_[a-z]+", suffix) and 50 + len(suffix) <= 64

    def test_app_api_authorises_only_the_app_created_here(self) -> None:
        app = RESOURCES["huaweicloud_apig_application.http"]
        assert app["count"] == "${local.http_app ? 1 : 0}"
        assert load("main.tf")["locals"][0]["http_app"] == '${var.enable_http && var.http_auth == "APP"}'
        grant = RESOURCES["huaweicloud_apig_application_authorization.http"]
        assert grant["count"] == app["count"]
        assert grant["application_id"] == "${huaweicloud_apig_application.http[0].id}"
        assert grant["env_id"] == "${huaweicloud_apig_environment.http[0].id}"
        assert grant["api_ids"] == ["${huaweicloud_apig_api.backup[0].id}"]
        assert [k for k in RESOURCES if k.startswith("huaweicloud_apig_application")] == [
            "huaweicloud_apig_application.http",
            "huaweicloud_apig_application_authorization.http",
        ]


_CRON_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _valid_cron(expression: str) -> bool:
    """FunctionGraph's six-field cron: second minute hour day-of-month month day-of-week, '?' allowed."""
    fields = re.sub(r"^CRON_TZ=\S+ ", "", expression).split()
    if len(fields) != 6:
        return False
    for field, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        for part in field.split(","):
            base, _, step = part.partition("/")
            if step and not step.isdigit():
                return False
            if base in ("*", "?"):
                continue
            bounds = base.split("-")
            if not all(b.isdigit() and low <= int(b) <= high for b in bounds) or len(bounds) > 2:
                return False
    return True


class TestVariables:
    def test_every_variable_has_a_description_and_a_type(self) -> None:
        for name, body in variables().items():
            assert body.get("description") and body.get("type"), name

    def test_default_schedule_is_valid_functiongraph_cron(self) -> None:
        assert _valid_cron(variables()["schedule"]["default"])

    @pytest.mark.parametrize("expression", ["0 0 2 * *", "0 61 2 * * ?", "0 0 25 * * ?", "x 0 2 * * ?"])
    def test_cron_checker_rejects_malformed_schedules(self, expression: str) -> None:
        assert not _valid_cron(expression)

    def test_example_tfvars_sets_the_required_variables(self) -> None:
        required = {name for name, body in variables().items() if "default" not in body}
        example = load("terraform.tfvars.example")
        assert required <= set(example)
