variable "region" {
  description = "Region of the DCS instances and the function, e.g. cn-north-4."
  type        = string
}

variable "function_name" {
  description = "Name of the FunctionGraph function (also prefixes the agency, role and log names)."
  type        = string
  default     = "dcs-backup"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,59}$", var.function_name))
    error_message = "function_name must start with a letter and hold at most 60 letters, digits, '_' or '-'."
  }
}

variable "package_path" {
  description = "Path of the zip built by `make package`."
  type        = string
  default     = "../dist/dcs-backup-0.1.0.zip"
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = contains([128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096], var.memory_size)
    error_message = "memory_size must be one of FunctionGraph's sizes: 128, 256, 512, 768, 1024 ... 4096."
  }
}

variable "timeout" {
  description = "Function timeout in seconds; backups of many instances under throttling need minutes, not seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900
    error_message = "timeout must be between 3 and 900 seconds (synchronous HTTP calls end at 900 s)."
  }
}

variable "instance_ids" {
  description = "DCS instance ids backed up by the schedule (and by requests that name none); may be empty when select_tags or select_name chooses the instances."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.instance_ids) <= 100
    error_message = "instance_ids may list at most 100 DCS instance ids."
  }
}

variable "select_tags" {
  description = "Default selection by tag (DCS_SELECT_TAGS): key=value pairs and bare keys, comma-separated, all must match, e.g. \"backup=daily,env=prod\"."
  type        = string
  default     = ""
}

variable "select_name" {
  description = "Default selection by instance name (DCS_SELECT_NAME): a glob with *, ? and [..], case-sensitive, ANDed with select_tags."
  type        = string
  default     = ""
}

variable "timer_select" {
  description = "A selection for the schedule's own request (the \"select\" field: tags, name, all, allow_empty); null uses the defaults above."
  type = object({
    tags        = optional(map(string))
    name        = optional(string)
    all         = optional(bool)
    allow_empty = optional(bool)
  })
  default = null
}

variable "allowed_instance_ids" {
  description = "When not empty, the only instances any request may name (HTTP callers get 403 for others)."
  type        = list(string)
  default     = []
}

variable "restore_targets" {
  description = "The only instances a restore may write to (DCS_RESTORE_TARGETS); empty refuses every restore and grants no restore or import action."
  type        = list(string)
  default     = []
}

variable "drill_instance" {
  description = "The scratch instance restore drills empty and import into (DCS_DRILL_INSTANCE): flushed on Redis 4.0/5.0, otherwise restored in place from its own empty baseline backup; it must be in restore_targets and should run the sources' Redis version or newer with capacity for the largest source. Empty refuses drills and grants nothing for them."
  type        = string
  default     = ""
}

variable "target_passwords" {
  description = "Redis passwords of restore targets that have one, instance id -> password; passed as encrypted user data (DCS_TARGET_PASSWORDS), needed by imports into those instances."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "project_id" {
  description = "Project id of the region; empty uses the function's own project."
  type        = string
  default     = ""
}

variable "dcs_endpoint" {
  description = "DCS endpoint override (http or https URL); empty uses the region's public endpoint."
  type        = string
  default     = ""
}

variable "backup_format" {
  description = "Default backup format: rdb, or aof (Redis 3.0 instances write AOF only)."
  type        = string
  default     = "rdb"

  validation {
    condition     = contains(["rdb", "aof"], var.backup_format)
    error_message = "backup_format must be rdb or aof."
  }
}

variable "max_concurrency" {
  description = "How many instances are backed up at once."
  type        = number
  default     = 4

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 32
    error_message = "max_concurrency must be between 1 and 32."
  }
}

variable "log_level" {
  description = "Log level of the function: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "schedule" {
  description = "FunctionGraph cron schedule (six fields: second minute hour day-of-month month day-of-week); default nightly at 02:00 in the region's time zone."
  type        = string
  default     = "0 0 2 * * ?"

  validation {
    condition     = can(regex("^(CRON_TZ=[A-Za-z_]+/[A-Za-z_]+ )?([0-9*,/?-]+ ){5}[0-9A-Za-z*,/?-]+$", var.schedule)) || can(regex("^@every ([0-9]+h)?([0-9]+m)?$", var.schedule))
    error_message = "schedule must be a six-field FunctionGraph cron expression or '@every <h>h<m>m'."
  }
}

variable "timer_remark" {
  description = "Remark written on scheduled backups (at most 108 characters leave room for the idempotency tag)."
  type        = string
  default     = "scheduled by dcs-backup"

  validation {
    condition     = length(var.timer_remark) <= 128
    error_message = "timer_remark must be at most 128 characters."
  }
}

variable "async_retry_attempts" {
  description = "How often the platform retries a failed scheduled (asynchronous) invocation."
  type        = number
  default     = 2

  validation {
    condition     = var.async_retry_attempts >= 0 && var.async_retry_attempts <= 3
    error_message = "async_retry_attempts must be between 0 and 3."
  }
}

variable "async_event_age_seconds" {
  description = "How long a scheduled invocation may wait (including retries) before it is dropped."
  type        = number
  default     = 3600

  validation {
    condition     = var.async_event_age_seconds >= 1 && var.async_event_age_seconds <= 86400
    error_message = "async_event_age_seconds must be between 1 and 86400."
  }
}

variable "enable_http" {
  description = "Create the authenticated HTTP trigger (needs a dedicated API Gateway instance)."
  type        = bool
  default     = false
}

variable "apig_instance_id" {
  description = "Dedicated API Gateway instance id, required when enable_http is true."
  type        = string
  default     = ""
}

variable "http_auth" {
  description = "Authentication of the HTTP API: IAM (signed with the caller's AK/SK or token) or APP."
  type        = string
  default     = "IAM"

  validation {
    condition     = contains(["IAM", "APP"], var.http_auth)
    error_message = "http_auth must be IAM or APP: an endpoint that creates backups is never open."
  }
}

variable "http_account_id" {
  description = "Your account (domain) ID, 32 letters and digits: with http_auth = IAM, the only account whose IAM identities may call the HTTP API (an access-control policy on the API); required then."
  type        = string
  default     = ""

  validation {
    condition     = var.http_account_id == "" || can(regex("^[0-9A-Za-z]{32}$", var.http_account_id))
    error_message = "http_account_id must be empty or an account ID of 32 letters and digits."
  }
}

variable "http_allowed_cidrs" {
  description = "When not empty, the only source addresses (IPs or CIDRs, at most 100) that may call the HTTP API, with either authentication."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.http_allowed_cidrs) <= 100 && alltrue([for cidr in var.http_allowed_cidrs : can(cidrhost(cidr, 0)) || can(cidrhost("${cidr}/32", 0))])
    error_message = "http_allowed_cidrs must hold at most 100 IPv4 addresses or CIDRs, e.g. 203.0.113.0/24."
  }
}

variable "http_backend_timeout_ms" {
  description = "How long API Gateway waits for the function, in milliseconds; passed to the function (DCS_HTTP_TIMEOUT_MS) so that it answers first."
  type        = number
  default     = 60000

  validation {
    condition     = var.http_backend_timeout_ms >= 1 && var.http_backend_timeout_ms <= 600000
    error_message = "http_backend_timeout_ms must be between 1 and 600000."
  }
}

variable "http_access_address" {
  description = "Address callers use for the API group (its debugging domain or a bound domain), used only to print the endpoint."
  type        = string
  default     = ""
}

variable "log_ttl_days" {
  description = "How long LTS keeps the function's logs."
  type        = number
  default     = 30
}

variable "wait_for_completion" {
  description = "Default of the request field \"wait\" (DCS_WAIT): wait until DCS reports each backup finished (completed, failed or, when time runs out, pending). Give the function a timeout long enough (backups take 5-30 minutes)."
  type        = bool
  default     = false
}

variable "alert_email" {
  description = "Email address subscribed to the alerts topic (SMN mails a confirmation link first); empty subscribes nobody."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be empty or one email address."
  }
}

variable "alarm_user_name" {
  description = "IAM user name the LTS alarm's notification rule is saved under (the LTS API requires one), e.g. the user that runs terraform."
  type        = string

  validation {
    condition     = length(trimspace(var.alarm_user_name)) > 0 && length(var.alarm_user_name) <= 64
    error_message = "alarm_user_name must be an IAM user name of 1 to 64 characters."
  }
}

variable "alarm_language" {
  description = "Language of the LTS alarm messages: en-us or zh-cn."
  type        = string
  default     = "en-us"

  validation {
    condition     = contains(["en-us", "zh-cn"], var.alarm_language)
    error_message = "alarm_language must be en-us or zh-cn."
  }
}

variable "audit_schedule" {
  description = "FunctionGraph cron schedule of the read-only RPO audit (same form as schedule), e.g. hourly \"0 15 * * * ?\"; empty creates no audit timer."
  type        = string
  default     = ""

  validation {
    condition     = var.audit_schedule == "" || can(regex("^(CRON_TZ=[A-Za-z_]+/[A-Za-z_]+ )?([0-9*,/?-]+ ){5}[0-9A-Za-z*,/?-]+$", var.audit_schedule)) || can(regex("^@every ([0-9]+h)?([0-9]+m)?$", var.audit_schedule))
    error_message = "audit_schedule must be empty, a six-field FunctionGraph cron expression or '@every <h>h<m>m'."
  }
}

variable "drill_schedule" {
  description = "FunctionGraph cron schedule of the restore drill (same form as schedule), e.g. weekly \"0 0 3 ? * SUN\"; needs drill_instance; empty creates no drill timer."
  type        = string
  default     = ""

  validation {
    condition     = var.drill_schedule == "" || can(regex("^(CRON_TZ=[A-Za-z_]+/[A-Za-z_]+ )?([0-9*,/?-]+ ){5}[0-9A-Za-z*,/?-]+$", var.drill_schedule)) || can(regex("^@every ([0-9]+h)?([0-9]+m)?$", var.drill_schedule))
    error_message = "drill_schedule must be empty, a six-field FunctionGraph cron expression or '@every <h>h<m>m'."
  }
}

variable "max_drill_age_days" {
  description = "The audit holds each instance's drills to this age, in whole days (DCS_MAX_DRILL_AGE_DAYS): an instance whose newest passed drill is older, or that never passed one, is a violation; needs export_bucket, where drill records are kept; null judges no drill age."
  type        = number
  default     = null

  validation {
    condition     = var.max_drill_age_days == null || try(var.max_drill_age_days >= 1 && var.max_drill_age_days <= 3650 && floor(var.max_drill_age_days) == var.max_drill_age_days, false)
    error_message = "max_drill_age_days must be null or a whole number of days from 1 to 3650."
  }
}

variable "drill_record_prefix" {
  description = "Key prefix in export_bucket under which each drill's record is kept, {prefix}{instance_id}/{time}-{result}-{id}.json (DCS_DRILL_RECORD_PREFIX); apart from export_prefix, so the export's lifecycle rule never ages them."
  type        = string
  default     = "dcs-drills/"

  validation {
    condition     = length(var.drill_record_prefix) <= 256 && substr(var.drill_record_prefix, 0, 1) != "/" && trim(var.drill_record_prefix, "/") != ""
    error_message = "drill_record_prefix must be a folder of at most 256 characters that does not start with '/'."
  }
}

variable "rpo_hours" {
  description = "Recovery point objective of the audit timer, in whole hours: an instance whose newest successful backup is older is stale; null leaves it to the function (DCS_RPO_HOURS, else 24)."
  type        = number
  default     = null

  validation {
    # try(): HCL's || evaluates both sides, and comparing null fails.
    condition     = var.rpo_hours == null || try(var.rpo_hours >= 1 && var.rpo_hours <= 8760 && floor(var.rpo_hours) == var.rpo_hours, false)
    error_message = "rpo_hours must be null or a whole number of hours from 1 to 8760."
  }
}

variable "keep_last" {
  description = "Retention default (DCS_KEEP_LAST): keep the newest N of the function's own succeeded backups per instance, 1-24; null = no count limit. Only the function's own backups are ever deleted."
  type        = number
  default     = null

  validation {
    condition     = var.keep_last == null || try(var.keep_last >= 1 && var.keep_last <= 24 && floor(var.keep_last) == var.keep_last, false)
    error_message = "keep_last must be null or a whole number from 1 to 24."
  }
}

variable "max_age_days" {
  description = "Retention default (DCS_MAX_AGE_DAYS): delete the function's own backups older than this many days, 1-3650 (the newest succeeded one is always kept); null = no age limit."
  type        = number
  default     = null

  validation {
    condition     = var.max_age_days == null || try(var.max_age_days >= 1 && var.max_age_days <= 3650 && floor(var.max_age_days) == var.max_age_days, false)
    error_message = "max_age_days must be null or a whole number from 1 to 3650."
  }
}

variable "allow_retention" {
  description = "Grant the function dcs:instance:deleteDataBackupFile even without keep_last/max_age_days, so requests may ask for retention."
  type        = bool
  default     = false
}

variable "export_bucket" {
  description = "Default OBS bucket for exporting finished backups off the instance (DCS_EXPORT_BUCKET); empty exports nothing by default and grants no download or OBS permission."
  type        = string
  default     = ""

  validation {
    # OBS bucket names: 3-63 lower-case letters, digits, '-' and '.', starting and ending with a
    # letter or digit, no '..', '.-' or '-.', and not an IPv4 address.
    condition = var.export_bucket == "" || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.export_bucket))
      && !can(regex("\\.\\.|\\.-|-\\.", var.export_bucket))
      && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.export_bucket))
    )
    error_message = "export_bucket must be empty or an OBS bucket name: 3-63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit, no '..', '.-' or '-.', not an IP address."
  }
}

variable "export_prefix" {
  description = "Key prefix of exported objects in export_bucket (DCS_EXPORT_PREFIX); objects are {prefix}{instance_id}/{backup_id}/{file_name}. Also scopes the function's OBS permission and the created bucket's lifecycle rule."
  type        = string
  default     = "dcs-backup/"

  validation {
    condition     = length(var.export_prefix) <= 256 && substr(var.export_prefix, 0, 1) != "/"
    error_message = "export_prefix must be at most 256 characters and must not start with '/'."
  }
}

variable "export_part_mb" {
  description = "Part size of the export's multipart upload in MiB, 5-512 (DCS_EXPORT_PART_MB); each file being copied holds two parts in memory (one downloading while the other uploads), so memory_size must leave room for them."
  type        = number
  default     = 64

  validation {
    condition     = var.export_part_mb >= 5 && var.export_part_mb <= 512 && floor(var.export_part_mb) == var.export_part_mb
    error_message = "export_part_mb must be a whole number from 5 to 512."
  }
}

variable "export_files_at_once" {
  description = "Files (a cluster's shards, several instances' backups) exported at the same time, 1-16 (DCS_EXPORT_FILES_AT_ONCE); each holds two parts in memory. Unset: as many as memory_size holds, at most 4."
  type        = number
  default     = null

  validation {
    condition     = var.export_files_at_once == null || try(var.export_files_at_once >= 1 && var.export_files_at_once <= 16 && floor(var.export_files_at_once) == var.export_files_at_once, false)
    error_message = "export_files_at_once must be a whole number from 1 to 16, or unset."
  }
}

variable "link_domains" {
  description = "Domains the backups' download links may point to (DCS_LINK_DOMAINS), for clouds other than Huawei Cloud's regions; empty allows the region's OBS domain (obs.<region>.myhuaweicloud.com) only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for domain in var.link_domains : can(regex("^(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", domain))])
    error_message = "link_domains must be domain names such as obs.eu-de.otc.t-systems.com (no scheme, port or path)."
  }
}

variable "obs_endpoint" {
  description = "OBS endpoint override (OBS_ENDPOINT), https://host[:port]; empty uses the region's public endpoint (https://obs.<region>.myhuaweicloud.com)."
  type        = string
  default     = ""

  validation {
    # The function's own rule for endpoints (dcs_backup/platform/endpoints.py, which checks it again):
    # https://host[:port] and nothing after it; plain http only to this machine (loopback).
    condition     = var.obs_endpoint == "" || can(regex("^(?i)https://(\\[[0-9a-f:.]+\\]|[a-z0-9.-]+)(:[0-9]{1,5})?/?$", var.obs_endpoint)) || can(regex("^(?i)http://(localhost|127(\\.[0-9]{1,3}){3}|\\[::1\\])(:[0-9]{1,5})?/?$", var.obs_endpoint))
    error_message = "obs_endpoint must be empty, https://host[:port], or http://host[:port] to a loopback address."
  }
}

variable "create_export_bucket" {
  description = "Create export_bucket here (private, with a lifecycle rule on export_prefix); false uses an existing bucket. The bucket is never emptied by terraform destroy."
  type        = bool
  default     = false
}

variable "export_kms_key_id" {
  description = "KMS key id for the export bucket: a bucket created here is encrypted with it (SSE-KMS), and the function's agency may use this key, and only it, for its uploads (also to an existing bucket encrypted with it); empty encrypts a created bucket with OBS-managed keys (SSE-OBS) and grants nothing in KMS."
  type        = string
  default     = ""

  validation {
    # KMS key ids are UUIDs (KMS API reference: key_id, 36 characters).
    condition     = var.export_kms_key_id == "" || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.export_kms_key_id))
    error_message = "export_kms_key_id must be empty or a KMS key id (a UUID such as 0d0466b0-e727-4d9c-b35d-f84bb474a37f)."
  }
}

variable "export_expire_days" {
  description = "Lifecycle of a created export bucket: delete exported objects this many days after upload; null keeps them forever. Must exceed the transition days."
  type        = number
  default     = null

  validation {
    condition     = var.export_expire_days == null || try(var.export_expire_days >= 1 && floor(var.export_expire_days) == var.export_expire_days, false)
    error_message = "export_expire_days must be null or a whole number of days, at least 1."
  }
}

variable "export_warm_after_days" {
  description = "Lifecycle of a created export bucket: move exported objects to WARM (Infrequent Access) this many days after upload; null never does."
  type        = number
  default     = null

  validation {
    condition     = var.export_warm_after_days == null || try(var.export_warm_after_days >= 1 && floor(var.export_warm_after_days) == var.export_warm_after_days, false)
    error_message = "export_warm_after_days must be null or a whole number of days, at least 1."
  }
}

variable "export_cold_after_days" {
  description = "Lifecycle of a created export bucket: move exported objects to COLD (Archive; restore before reading) this many days after upload; null never does."
  type        = number
  default     = null

  validation {
    condition     = var.export_cold_after_days == null || try(var.export_cold_after_days >= 1 && floor(var.export_cold_after_days) == var.export_cold_after_days, false)
    error_message = "export_cold_after_days must be null or a whole number of days, at least 1."
  }
}
