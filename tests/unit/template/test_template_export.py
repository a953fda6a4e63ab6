"""The template's export to OBS: function settings, OBS permission and the optional bucket, structurally."""

from __future__ import annotations

import re
from typing import Any

from tests.unit.template.template_hcl import load, locals_, one, policy, resources, variables

RESOURCES = resources()
LOCALS = locals_()
VARIABLES = variables()
ROLE = RESOURCES["huaweicloud_identity_role.obs_export"]
BUCKET = RESOURCES["huaweicloud_obs_bucket.export"]
AGENCY = RESOURCES["huaweicloud_identity_agency.function"]
DRILL_RECORDS = RESOURCES["huaweicloud_identity_role.obs_drill_records"]

# The OBS calls the export makes (dcs_backup/export/obs.py; shared/reference/obs.md): PutObject covers
# initiate, upload part, complete and the progress record; abort; listing an upload's parts to continue
# it; HEAD of an object and reading the progress record need GetObject; removing the record, DeleteObject;
# the verification label set once the object is whole, ModifyObjectMetadata. Nothing on the bucket.
OBJECT_ACTIONS = {
    "obs:object:PutObject",
    "obs:object:AbortMultipartUpload",
    "obs:object:ListMultipartUploadParts",
    "obs:object:GetObject",
    "obs:object:ModifyObjectMetadata",
    "obs:object:DeleteObject",
}
EXPORT_ENABLED = "local.export_enabled"


def _when(expression: str, enabled: bool) -> str:
    """``${local.export_enabled ? A : B}`` → A or B (the branch taken when exporting or not)."""
    match = re.fullmatch(r"\$\{local\.export_enabled \? (.+) : (.+)\}", expression)
    assert match, expression
    return match.group(1) if enabled else match.group(2)


def _dynamic(block: dict[str, Any], name: str) -> dict[str, Any]:
    found = [d[name] for d in block.get("dynamic", []) if name in d]
    assert len(found) == 1, f"one dynamic {name!r} block"
    return found[0]  # type: ignore[no-any-return]


class TestFunctionSettings:
    def test_function_env_passes_the_export_settings(self) -> None:
        env = LOCALS["function_env"]
        assert env["DCS_EXPORT_BUCKET"] == "${var.export_bucket}"
        assert env["DCS_EXPORT_PREFIX"] == "${var.export_prefix}"
        assert env["DCS_EXPORT_PART_MB"] == "${tostring(var.export_part_mb)}"
        files = '${var.export_files_at_once == null ? "" : tostring(var.export_files_at_once)}'
        assert env["DCS_EXPORT_FILES_AT_ONCE"] == files
        assert env["OBS_ENDPOINT"] == "${var.obs_endpoint}"

    def test_defaults_export_nothing(self) -> None:
        defaults = {name: VARIABLES[name]["default"] for name in VARIABLES if name.startswith("export_")}
        assert defaults == {
            "export_bucket": "",
            "export_prefix": "dcs-backup/",
            "export_part_mb": 64,
            "export_files_at_once": None,
            "export_kms_key_id": "",
            "export_expire_days": None,
            "export_warm_after_days": None,
            "export_cold_after_days": None,
        }
        assert VARIABLES["obs_endpoint"]["default"] == ""
        assert VARIABLES["create_export_bucket"]["default"] is False
        assert LOCALS["export_enabled"] == '${var.export_bucket != ""}'

    def test_each_export_setting_is_validated(self) -> None:
        prefix = one(VARIABLES["export_prefix"]["validation"])["condition"]
        assert "length(var.export_prefix) <= 256" in prefix and 'substr(var.export_prefix, 0, 1) != "/"' in prefix
        part = one(VARIABLES["export_part_mb"]["validation"])["condition"]
        assert "var.export_part_mb >= 5 && var.export_part_mb <= 512" in part
        for name in ("export_expire_days", "export_warm_after_days", "export_cold_after_days"):
            condition = one(VARIABLES[name]["validation"])["condition"]
            assert condition.startswith(f"${{var.{name} == null || try(var.{name} >= 1 && "), name
        assert one(VARIABLES["export_bucket"]["validation"])["condition"].startswith('${var.export_bucket == "" || ')
        assert one(VARIABLES["obs_endpoint"]["validation"])["condition"].startswith('${var.obs_endpoint == "" || ')

    def test_memory_leaves_room_for_two_parts_when_exporting(self) -> None:
        conditions = [
            p["condition"] for p in one(RESOURCES["huaweicloud_fgs_function.dcs_backup"]["lifecycle"])["precondition"]
        ]
        assert "${!local.export_enabled || var.memory_size >= 2 * var.export_part_mb + 64}" in conditions
        # The defaults pass it: 256 MB for 64 MiB parts.
        assert VARIABLES["memory_size"]["default"] >= 2 * VARIABLES["export_part_mb"]["default"] + 64


class TestObsPermission:
    def test_role_exists_only_when_exporting(self) -> None:
        assert ROLE["count"] == "${local.export_enabled ? 1 : 0}"
        assert _when(ROLE["count"], enabled=False) == "0"

    def test_role_is_domain_level_because_obs_is_global(self) -> None:
        assert ROLE["type"] == "AX"

    def test_role_holds_exactly_the_upload_actions_and_listing_the_prefix(self) -> None:
        statements = policy(ROLE)["Statement"]
        actions = [a for s in statements for a in s["Action"]]
        assert sorted(actions) == sorted([*OBJECT_ACTIONS, "obs:bucket:ListBucket"])
        assert all(s["Effect"] == "Allow" for s in statements)
        assert not any("*" in a for a in actions)

    def test_every_action_is_scoped_to_the_export_prefix(self) -> None:
        objects, listing = policy(ROLE)["Statement"]
        assert objects["Resource"] == ["obs:*:*:object:${var.export_bucket}/${var.export_prefix}*"]
        assert listing["Resource"] == ["obs:*:*:bucket:${var.export_bucket}"]
        assert listing["Condition"] == {"StringLike": {"obs:prefix": ["${var.export_prefix}*"]}}

    def test_agency_holds_it_on_the_domain_only_when_exporting(self) -> None:
        held = re.fullmatch(r"\$\{concat\((.*)\)\}", AGENCY["domain_roles"])
        assert held, AGENCY["domain_roles"]
        assert held.group(1).split(", local.") == [
            "local.export_enabled ? [huaweicloud_identity_role.obs_export[0].name] : []",
            "drill_records_enabled ? [huaweicloud_identity_role.obs_drill_records[0].name] : []",
        ]
        # Not on the region's project, not on all resources.
        assert not any("obs_export" in r for r in one(AGENCY["project_role"])["roles"])
        assert "all_resources_roles" not in AGENCY and "enterprise_project_roles" not in AGENCY

    def test_the_kms_key_is_usable_only_when_one_is_given_and_only_that_key(self) -> None:
        kms = RESOURCES["huaweicloud_identity_role.kms_export"]
        assert kms["count"] == "${local.export_kms_enabled ? 1 : 0}"
        assert kms["type"] == "XA"  # KMS is a regional, project-level service
        statements = policy(kms)["Statement"]
        assert all(s["Effect"] == "Allow" for s in statements)
        scoped = {a for s in statements if "Resource" in s for a in s["Action"]}
        assert scoped == {"kms:cmk:get", "kms:dek:create", "kms:dek:crypto"}
        assert [s["Resource"] for s in statements if "Resource" in s] == [["KMS:*:*:KeyId:${var.export_kms_key_id}"]]
        # Listing keys names no key; creating one (OBS's default key) is never granted.
        assert {a for s in statements if "Resource" not in s for a in s["Action"]} == {"kms:cmk:list"}
        assert not any("create" in a and a != "kms:dek:create" for s in statements for a in s["Action"])
        roles = one(AGENCY["project_role"])["roles"]
        assert "local.export_kms_enabled ? [huaweicloud_identity_role.kms_export[0].name] : []" in roles
        conditions = [
            p["condition"] for p in one(RESOURCES["huaweicloud_fgs_function.dcs_backup"]["lifecycle"])["precondition"]
        ]
        assert '${var.export_kms_key_id == "" || local.export_enabled}' in conditions

    def test_nothing_obs_is_granted_without_an_export_bucket(self) -> None:
        roles = {k: v for k, v in RESOURCES.items() if k.startswith("huaweicloud_identity_role.")}
        granting_obs = {k for k, v in roles.items() if re.search(r'"obs:', v["policy"])}
        assert granting_obs == {"huaweicloud_identity_role.obs_export", "huaweicloud_identity_role.obs_drill_records"}
        assert _when(roles["huaweicloud_identity_role.obs_export"]["count"], enabled=False) == "0"
        assert DRILL_RECORDS["count"] == "${local.drill_records_enabled ? 1 : 0}"
        assert LOCALS["drill_records_enabled"].startswith("${local.export_enabled && (")
        # The download links DCS hands out for the export are likewise granted only then.
        assert re.search(
            r'local\.export_enabled \? \["dcs:instance:downloadBackupData"\] : \[\]', LOCALS["dcs_actions"]
        )


class TestDrillRecordsPermission:
    def test_only_drills_or_an_audit_of_drill_age_with_an_export_bucket_get_it(self) -> None:
        expected = "${local.export_enabled && (local.drill_enabled || var.max_drill_age_days != null)}"
        assert LOCALS["drill_records_enabled"] == expected

    def test_it_writes_and_reads_objects_and_lists_keys_under_the_record_prefix_only(self) -> None:
        objects, listing = policy(DRILL_RECORDS)["Statement"]
        assert sorted(objects["Action"]) == ["obs:object:GetObject", "obs:object:PutObject"]
        assert objects["Resource"] == ["obs:*:*:object:${var.export_bucket}/${var.drill_record_prefix}*"]
        assert listing["Action"] == ["obs:bucket:ListBucket"]
        assert listing["Condition"] == {"StringLike": {"obs:prefix": ["${var.drill_record_prefix}*"]}}
        assert DRILL_RECORDS["type"] == "AX"

    def test_the_records_never_lie_under_the_export_prefix_its_lifecycle_ages(self) -> None:
        conditions = [
            p["condition"] for p in one(RESOURCES["huaweicloud_fgs_function.dcs_backup"]["lifecycle"])["precondition"]
        ]
        assert any("startswith(var.drill_record_prefix" in c for c in conditions)
        assert any("var.max_drill_age_days == null || var.export_bucket" in c for c in conditions)


class TestExportBucket:
    RULE = one(BUCKET["lifecycle_rule"])

    def test_is_created_only_when_asked_and_named(self) -> None:
        assert BUCKET["count"] == '${var.create_export_bucket && var.export_bucket != "" ? 1 : 0}'
        assert BUCKET["bucket"] == "${var.export_bucket}"
        conditions = [
            p["condition"] for p in one(RESOURCES["huaweicloud_fgs_function.dcs_backup"]["lifecycle"])["precondition"]
        ]
        assert '${!var.create_export_bucket || var.export_bucket != ""}' in conditions

    def test_is_private_and_never_emptied_by_destroy(self) -> None:
        assert BUCKET["acl"] == "private"
        assert BUCKET["force_destroy"] is False

    def test_one_enabled_rule_on_the_export_prefix(self) -> None:
        assert len(BUCKET["lifecycle_rule"]) == 1
        assert self.RULE["enabled"] is True
        assert self.RULE["prefix"] == "${local.export_lifecycle_prefix}"
        # A lifecycle prefix may not end with '/' (provider docs): "dcs-backup/" → "dcs-backup".
        assert LOCALS["export_lifecycle_prefix"] == '${trimsuffix(var.export_prefix, "/")}'

    def test_always_aborts_incomplete_multipart_uploads_after_a_week(self) -> None:
        assert one(self.RULE["abort_incomplete_multipart_upload"]) == {"days": 7}
        assert not any("abort_incomplete_multipart_upload" in d for d in self.RULE.get("dynamic", []))

    def test_expires_only_when_export_expire_days_is_set(self) -> None:
        assert "expiration" not in self.RULE
        expiration = _dynamic(self.RULE, "expiration")
        assert expiration["for_each"] == "${var.export_expire_days == null ? [] : [var.export_expire_days]}"
        assert one(expiration["content"]) == {"days": "${expiration.value}"}

    def test_moves_to_colder_classes_only_when_their_days_are_set(self) -> None:
        assert "transition" not in self.RULE
        transition = _dynamic(self.RULE, "transition")
        assert transition["for_each"] == "${local.export_transitions}"
        assert one(transition["content"]) == {
            "days": "${transition.value.days}",
            "storage_class": "${transition.value.storage_class}",
        }
        transitions = LOCALS["export_transitions"]
        assert '{days = var.export_warm_after_days, storage_class = "WARM"}' in transitions
        assert '{days = var.export_cold_after_days, storage_class = "COLD"}' in transitions
        assert transitions.index('"WARM"') < transitions.index('"COLD"')
        assert transitions.endswith(" : t if t.days != null]}")

    def test_days_are_checked_in_order_before_apply(self) -> None:
        conditions = " ".join(p["condition"] for p in one(BUCKET["lifecycle"])["precondition"])
        assert "try(var.export_expire_days > var.export_cold_after_days, true)" in conditions
        assert "try(var.export_expire_days > var.export_warm_after_days, true)" in conditions
        assert "try(var.export_cold_after_days > var.export_warm_after_days, true)" in conditions

    def test_is_encrypted_with_the_kms_key_when_one_is_given_else_by_obs(self) -> None:
        assert BUCKET["encryption"] is True
        assert BUCKET["sse_algorithm"] == '${local.export_kms_enabled ? "kms" : "AES256"}'
        assert BUCKET["kms_key_id"] == "${local.export_kms_enabled ? var.export_kms_key_id : null}"
        assert LOCALS["export_kms_enabled"] == '${local.export_enabled && var.export_kms_key_id != ""}'
        assert VARIABLES["export_kms_key_id"]["default"] == ""
        assert one(VARIABLES["export_kms_key_id"]["validation"])["condition"].startswith(
            '${var.export_kms_key_id == "" || '
        )

    def test_denies_every_request_that_is_not_made_over_tls(self) -> None:
        assert BUCKET.get("policy_format", "obs") == "obs"
        (statement,) = policy(BUCKET)["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == {"ID": ["*"]}
        assert statement["Action"] == ["*"]
        # The bucket itself and every object in it.
        assert statement["Resource"] == ["${var.export_bucket}", "${var.export_bucket}/*"]
        # OBS's general condition key for TLS (bucket policy parameters, obs_40_0041).
        assert statement["Condition"] == {"Bool": {"SecureTransport": ["false"]}}

    def test_lifecycle_days_without_a_created_bucket_are_refused(self) -> None:
        conditions = [
            p["condition"] for p in one(RESOURCES["huaweicloud_fgs_function.dcs_backup"]["lifecycle"])["precondition"]
        ]
        assert any(
            c.startswith("${var.create_export_bucket || (var.export_expire_days == null && ")
            and "var.export_warm_after_days == null" in c
            and "var.export_cold_after_days == null" in c
            for c in conditions
        )


def test_export_resources_live_in_export_tf() -> None:
    resources = {kind for block in load("export.tf")["resource"] for kind in block}
    assert resources == {"huaweicloud_identity_role", "huaweicloud_obs_bucket"}
