locals {
  # Deleting backups is granted only when retention can run (defaults set, or allowed for requests).
  retention_enabled = var.allow_retention || var.keep_last != null || var.max_age_days != null
  # Download links are granted only when exports can run (a default bucket, or allowed for requests).
  export_enabled = var.export_bucket != ""
  # Restores and imports are granted only when some instance may be restored into.
  restore_enabled = length(var.restore_targets) > 0
  # Emptying the scratch instance (DCS's flush on Redis 4.0/5.0; elsewhere its empty baseline backup, taken and
  # restored in place) and reading backup files' heads are granted only when drills have a scratch instance.
  drill_enabled = var.drill_instance != ""
  # Drill records live in the export bucket: written by drills, read by the audit.
  drill_records_enabled = local.export_enabled && (local.drill_enabled || var.max_drill_age_days != null)
  dcs_actions = distinct(concat(
    [
      "dcs:instance:list",
      "dcs:instance:get",
      "dcs:tag:get",
      "dcs:instance:backupData",
      "dcs:instance:getDataBackupLog",
    ],
    local.retention_enabled ? ["dcs:instance:deleteDataBackupFile"] : [],
    local.export_enabled ? ["dcs:instance:downloadBackupData"] : [],
    local.restore_enabled ? [
      "dcs:instance:restoreData",
      "dcs:instance:getDataRestoreLog",
      "dcs:migrationTask:create",
      "dcs:migrationTask:get",
      "dcs:migrationTask:list",
    ] : [],
    local.drill_enabled ? [
      "dcs:instance:modifyStatus",
      "dcs:instance:downloadBackupData",
      "dcs:instance:backupData",
      "dcs:instance:getDataBackupLog",
      "dcs:instance:restoreData",
      "dcs:instance:getDataRestoreLog",
    ] : [],
  ))

  http_path = "/dcs-backup/backups"
  # API Gateway checks that an IAM token is valid, not whose it is: an IAM API permits only the
  # owner's account; an APP API only the application created here.
  http_iam = var.enable_http && var.http_auth == "IAM"
  http_app = var.enable_http && var.http_auth == "APP"
  # ACL policy names: 3-64 letters, digits and underscores, starting with a letter.
  http_acl_prefix = substr(replace(var.function_name, "-", "_"), 0, 50)

  # Every variable the function reads (see docs/configuration.md).
  function_env = {
    DCS_REGION               = var.region
    DCS_ENDPOINT             = var.dcs_endpoint
    DCS_PROJECT_ID           = var.project_id
    DCS_INSTANCE_IDS         = join(",", var.instance_ids)
    DCS_ALLOWED_INSTANCE_IDS = join(",", var.allowed_instance_ids)
    DCS_RESTORE_TARGETS      = join(",", var.restore_targets)
    DCS_DRILL_INSTANCE       = var.drill_instance
    DCS_SELECT_TAGS          = var.select_tags
    DCS_SELECT_NAME          = var.select_name
    DCS_BACKUP_FORMAT        = var.backup_format
    DCS_MAX_CONCURRENCY      = tostring(var.max_concurrency)
    DCS_HTTP_TIMEOUT_MS      = tostring(var.http_backend_timeout_ms)
    DCS_WAIT                 = tostring(var.wait_for_completion)
    DCS_KEEP_LAST            = var.keep_last == null ? "" : tostring(var.keep_last)
    DCS_MAX_AGE_DAYS         = var.max_age_days == null ? "" : tostring(var.max_age_days)
    DCS_RPO_HOURS            = var.rpo_hours == null ? "" : tostring(var.rpo_hours)
    DCS_MAX_DRILL_AGE_DAYS   = var.max_drill_age_days == null ? "" : tostring(var.max_drill_age_days)
    DCS_DRILL_RECORD_PREFIX  = var.drill_record_prefix
    DCS_EXPORT_BUCKET        = var.export_bucket
    DCS_EXPORT_PREFIX        = var.export_prefix
    DCS_EXPORT_PART_MB       = tostring(var.export_part_mb)
    DCS_EXPORT_FILES_AT_ONCE = var.export_files_at_once == null ? "" : tostring(var.export_files_at_once)
    DCS_EXPORT_KMS_KEY_ID    = var.export_kms_key_id
    OBS_ENDPOINT             = var.obs_endpoint
    DCS_LINK_DOMAINS         = join(",", var.link_domains)
    LOG_LEVEL                = var.log_level
  }
  # Passwords go as encrypted user data, never in the plain user data above.
  function_secret_env = {
    DCS_TARGET_PASSWORDS = length(var.target_passwords) > 0 ? jsonencode(var.target_passwords) : ""
  }
}

# Least privilege: only the DCS actions the function calls.
resource "huaweicloud_identity_role" "dcs_backup" {
  name        = "${var.function_name}-dcs-backup"
  description = "List and read DCS instances, their tags and backup records, and start backups."
  type        = "XA"
  policy = jsonencode({
    Version = "1.1"
    Statement = [{
      Effect = "Allow"
      Action = local.dcs_actions
    }]
  })
}

resource "huaweicloud_identity_agency" "function" {
  name                   = "${var.function_name}-agency"
  description            = "Lets the dcs-backup function back up DCS instances."
  delegated_service_name = "op_svc_cff"

  # DCS for the backups; SMN publishing for the asynchronous failure destination (alerts.tf); the
  # export bucket's KMS key only when exports are encrypted with one (export.tf).
  project_role {
    project = var.region
    roles = concat(
      [huaweicloud_identity_role.dcs_backup.name, huaweicloud_identity_role.smn_publish.name],
      local.export_kms_enabled ? [huaweicloud_identity_role.kms_export[0].name] : [],
    )
  }

  # OBS is a global service: its role is held on the domain (global service project), not on
  # the region's project, and only when exports (or drill records) can run (export.tf).
  domain_roles = concat(
    local.export_enabled ? [huaweicloud_identity_role.obs_export[0].name] : [],
    local.drill_records_enabled ? [huaweicloud_identity_role.obs_drill_records[0].name] : [],
  )
}

resource "huaweicloud_lts_group" "function" {
  group_name  = "${var.function_name}-logs"
  ttl_in_days = var.log_ttl_days
}

resource "huaweicloud_lts_stream" "function" {
  group_id    = huaweicloud_lts_group.function.id
  stream_name = var.function_name
}

resource "huaweicloud_fgs_function" "dcs_backup" {
  name                  = var.function_name
  app                   = "default"
  description           = "Backs up DCS (Redis) instances on a schedule, over HTTP and from workflows."
  runtime               = "Python3.12"
  handler               = "handler.handler"
  memory_size           = var.memory_size
  timeout               = var.timeout
  code_type             = "zip"
  code_filename         = basename(var.package_path)
  func_code             = filebase64(var.package_path)
  agency                = huaweicloud_identity_agency.function.name
  functiongraph_version = "v2"
  user_data             = jsonencode(local.function_env)
  encrypted_user_data   = jsonencode(local.function_secret_env)

  enable_lts_log  = true
  log_group_id    = huaweicloud_lts_group.function.id
  log_group_name  = huaweicloud_lts_group.function.group_name
  log_stream_id   = huaweicloud_lts_stream.function.id
  log_stream_name = huaweicloud_lts_stream.function.stream_name

  lifecycle {
    precondition {
      condition     = length(var.instance_ids) > 0 || var.select_tags != "" || var.select_name != "" || var.timer_select != null
      error_message = "The schedule needs targets: set instance_ids, select_tags, select_name or timer_select."
    }
    precondition {
      condition     = length(var.allowed_instance_ids) == 0 || alltrue([for id in var.restore_targets : contains(var.allowed_instance_ids, id)])
      error_message = "Every restore target must also be in allowed_instance_ids when that list is set."
    }
    precondition {
      condition     = var.drill_instance == "" || contains(var.restore_targets, var.drill_instance)
      error_message = "drill_instance must also be in restore_targets: drills empty it and import into it."
    }
    precondition {
      condition     = var.drill_schedule == "" || var.drill_instance != ""
      error_message = "drill_schedule needs a scratch instance in drill_instance."
    }
    precondition {
      condition     = var.max_drill_age_days == null || var.export_bucket != ""
      error_message = "max_drill_age_days needs export_bucket: drill records are kept there."
    }
    precondition {
      condition     = trimsuffix(var.export_prefix, "/") == "" || !startswith(var.drill_record_prefix, trimsuffix(var.export_prefix, "/"))
      error_message = "drill_record_prefix must not start with export_prefix: the export's lifecycle rule would age the drill records."
    }
    precondition {
      condition     = !var.create_export_bucket || var.export_bucket != ""
      error_message = "create_export_bucket needs the bucket's name in export_bucket."
    }
    precondition {
      condition     = var.export_kms_key_id == "" || local.export_enabled
      error_message = "export_kms_key_id needs an export bucket (export_bucket)."
    }
    # The lifecycle variables shape only a bucket created here; an existing bucket keeps its own rules.
    precondition {
      condition     = var.create_export_bucket || (var.export_expire_days == null && var.export_warm_after_days == null && var.export_cold_after_days == null)
      error_message = "export_expire_days, export_warm_after_days and export_cold_after_days apply only to a bucket created here (create_export_bucket = true)."
    }
    # An export holds about two parts in memory, plus the runtime and SDKs (issue 12: peak RSS
    # within two parts + 64 MiB).
    precondition {
      condition     = !local.export_enabled || var.memory_size >= 2 * var.export_part_mb + 64
      error_message = "memory_size must be at least 2 * export_part_mb + 64 MB when exporting: lower export_part_mb or raise memory_size."
    }
    # Each file copied at once holds two parts: the number asked for must fit too (the function
    # refuses it otherwise, as a configuration error, on every request that exports).
    precondition {
      condition     = !local.export_enabled || var.export_files_at_once == null || var.memory_size >= 2 * var.export_part_mb * coalesce(var.export_files_at_once, 1) + 64
      error_message = "memory_size must be at least 2 * export_part_mb * export_files_at_once + 64 MB: lower export_files_at_once or export_part_mb, or raise memory_size."
    }
  }
}

resource "huaweicloud_fgs_function_trigger" "schedule" {
  function_urn = huaweicloud_fgs_function.dcs_backup.urn
  type         = "TIMER"
  status       = "ACTIVE"
  event_data = jsonencode({
    name          = "${var.function_name}-schedule"
    schedule_type = "Cron"
    schedule      = var.schedule
    # Targets come from DCS_INSTANCE_IDS / DCS_SELECT_*, or from timer_select; the user event
    # carries the per-schedule choices.
    user_event = jsonencode(merge(
      { backup_format = var.backup_format, remark = var.timer_remark },
      var.timer_select == null ? {} : { select = var.timer_select },
    ))
  })
}

# Optional read-only audit: every target (chosen as for the backup schedule) must have a
# successful backup of any origin younger than the RPO, else the function logs ERROR lines and
# the LTS alarm (alerts.tf) tells a human.
resource "huaweicloud_fgs_function_trigger" "audit" {
  count = var.audit_schedule == "" ? 0 : 1

  function_urn = huaweicloud_fgs_function.dcs_backup.urn
  type         = "TIMER"
  status       = "ACTIVE"
  event_data = jsonencode({
    name          = "${var.function_name}-audit"
    schedule_type = "Cron"
    schedule      = var.audit_schedule
    user_event = jsonencode(merge(
      { action = "audit" },
      var.rpo_hours == null ? {} : { rpo_hours = var.rpo_hours },
      var.timer_select == null ? {} : { select = var.timer_select },
    ))
  })
}

# Timer runs are asynchronous. When one still fails after the retries (the platform's own
# errors: timeout, crash, out of memory, an event too old), FunctionGraph publishes it to the
# alerts topic. The provider documents on_failure for "a system error or an internal error";
# whether an unhandled exception from the handler counts is not confirmed, so the LTS alarm on
# ERROR lines (alerts.tf) stays the main path.
resource "huaweicloud_fgs_async_invoke_configuration" "dcs_backup" {
  function_urn                   = huaweicloud_fgs_function.dcs_backup.urn
  max_async_retry_attempts       = var.async_retry_attempts
  max_async_event_age_in_seconds = var.async_event_age_seconds

  on_failure {
    destination = "SMN"
    param = jsonencode({
      topic_urn = huaweicloud_smn_topic.alerts.topic_urn
    })
  }
}

resource "huaweicloud_apig_group" "http" {
  count = var.enable_http ? 1 : 0

  instance_id = var.apig_instance_id
  name        = "${var.function_name}-api"
  description = "On-demand DCS backups."
}

resource "huaweicloud_apig_environment" "http" {
  count = var.enable_http ? 1 : 0

  instance_id = var.apig_instance_id
  name        = "RELEASE_DCS_BACKUP"
}

resource "huaweicloud_apig_api" "backup" {
  count = var.enable_http ? 1 : 0

  instance_id             = var.apig_instance_id
  group_id                = huaweicloud_apig_group.http[0].id
  type                    = "Public"
  name                    = "${var.function_name}-create-backups"
  request_protocol        = "HTTPS"
  request_method          = "POST"
  request_path            = local.http_path
  security_authentication = var.http_auth
  matching                = "Exact"
  content_type            = "application/json"

  func_graph {
    function_urn    = huaweicloud_fgs_function.dcs_backup.urn
    version         = "latest"
    invocation_type = "sync"
    timeout         = var.http_backend_timeout_ms
  }

  lifecycle {
    precondition {
      condition     = var.http_auth != "IAM" || var.http_account_id != ""
      error_message = "An IAM-authenticated HTTP API needs http_account_id: the only account whose identities may call it."
    }
  }
}

resource "huaweicloud_apig_api_publishment" "backup" {
  count = var.enable_http ? 1 : 0

  instance_id = var.apig_instance_id
  env_id      = huaweicloud_apig_environment.http[0].id
  api_id      = huaweicloud_apig_api.backup[0].id
}

# Access control (argument names checked against the huaweicloud provider's
# docs/resources/apig_acl_policy.md, apig_acl_policy_associate.md, apig_application.md and
# apig_application_authorization.md, v1.74.0 and master). Per API Gateway's user guide, "Access
# Control": an account ACL applies to IAM-authenticated calls and checks the caller's account,
# not its IAM user; an API takes one ACL of each type per environment.

# IAM: only identities of the owner's account may call, whatever token they present.
resource "huaweicloud_apig_acl_policy" "http_account" {
  count = local.http_iam ? 1 : 0

  instance_id = var.apig_instance_id
  name        = "${local.http_acl_prefix}_account"
  type        = "PERMIT"
  entity_type = "DOMAIN_ID"
  value       = var.http_account_id
}

resource "huaweicloud_apig_acl_policy_associate" "http_account" {
  count = local.http_iam ? 1 : 0

  instance_id = var.apig_instance_id
  policy_id   = huaweicloud_apig_acl_policy.http_account[0].id
  publish_ids = [huaweicloud_apig_api_publishment.backup[0].publish_id]
}

# Optionally, with either authentication: only callers from these CIDRs.
resource "huaweicloud_apig_acl_policy" "http_cidrs" {
  count = var.enable_http && length(var.http_allowed_cidrs) > 0 ? 1 : 0

  instance_id = var.apig_instance_id
  name        = "${local.http_acl_prefix}_cidrs"
  type        = "PERMIT"
  entity_type = "IP"
  value       = join(",", var.http_allowed_cidrs)
}

resource "huaweicloud_apig_acl_policy_associate" "http_cidrs" {
  count = var.enable_http && length(var.http_allowed_cidrs) > 0 ? 1 : 0

  instance_id = var.apig_instance_id
  policy_id   = huaweicloud_apig_acl_policy.http_cidrs[0].id
  publish_ids = [huaweicloud_apig_api_publishment.backup[0].publish_id]
}

# APP: an APP-authenticated API answers only the applications authorised for it; this one is the
# only one. Its key and secret are the outputs http_app_key and http_app_secret.
resource "huaweicloud_apig_application" "http" {
  count = local.http_app ? 1 : 0

  instance_id = var.apig_instance_id
  # Application names: letters, digits and hyphens only.
  name        = "${replace(var.function_name, "_", "-")}-caller"
  description = "The only application authorised to call the dcs-backup API."
}

resource "huaweicloud_apig_application_authorization" "http" {
  count = local.http_app ? 1 : 0

  instance_id    = var.apig_instance_id
  application_id = huaweicloud_apig_application.http[0].id
  env_id         = huaweicloud_apig_environment.http[0].id
  api_ids        = [huaweicloud_apig_api.backup[0].id]

  # Only a published API can be authorised in its environment.
  depends_on = [huaweicloud_apig_api_publishment.backup]
}

# Optional restore drill: each target's newest good backup is imported into the scratch instance
# (drill_instance) and its key count checked; a failed or inconclusive drill is an ERROR line, so an alarm.
resource "huaweicloud_fgs_function_trigger" "drill" {
  count = var.drill_schedule == "" ? 0 : 1

  function_urn = huaweicloud_fgs_function.dcs_backup.urn
  type         = "TIMER"
  status       = "ACTIVE"
  event_data = jsonencode({
    name          = "${var.function_name}-drill"
    schedule_type = "Cron"
    schedule      = var.drill_schedule
    user_event = jsonencode(merge(
      { action = "drill" },
      var.timer_select == null ? {} : { select = var.timer_select },
    ))
  })
}
