# Export of finished backups into the user's own OBS bucket (issue 12): the function's OBS
# permission, and optionally the bucket itself with a lifecycle rule on the export prefix.
#
# Argument names checked against the huaweicloud provider's sources and docs
# (github.com/huaweicloud/terraform-provider-huaweicloud, v1.74.0 and master):
# docs/resources/obs_bucket.md and services/obs/resource_huaweicloud_obs_bucket.go (lifecycle_rule
# name/enabled/prefix, expiration{days}, transition{days, storage_class WARM|COLD},
# abort_incomplete_multipart_upload{days}); docs/resources/identity_role.md (type "AX" = the
# global service project, "XA" = region projects); docs/resources/identity_agency.md and
# services/iam/resource_huaweicloud_identity_agency.go (domain_roles: role display names granted
# on the domain). OBS resource paths (obs:*:*:bucket:<bucket>, obs:*:*:object:<bucket>/<key>)
# from the OBS user guide, "OBS Resources" (obs_03_0154).
#
# Encryption and TLS, checked the same way (v1.74.0 and master): docs/resources/obs_bucket.md and
# the bucket's schema (encryption, sse_algorithm "kms" | "AES256", kms_key_id, policy,
# policy_format "obs"); the bucket policy's condition key SecureTransport (Boolean, operator Bool)
# from the OBS permissions guide, "Bucket Policy Parameters" (obs_40_0041). The KMS actions an
# SSE-KMS upload needs from the OBS API reference, "Configuring Bucket Encryption" (obs_04_0062):
# kms:cmk:get, kms:cmk:list, kms:cmk:create, kms:dek:create, kms:dek:crypto; the KMS resource path
# KMS:*:*:KeyId:<key id> from the IAM policy syntax (<service>:<region>:<account>:<type>:<path>).

locals {
  # The provider documents that a lifecycle prefix can neither start nor end with '/', so the
  # rule gets the export prefix without its trailing slash ("dcs-backup/" -> "dcs-backup"); an
  # empty result applies the rule to the whole bucket, which was created for the exports.
  export_lifecycle_prefix = trimsuffix(var.export_prefix, "/")

  # SSE-KMS with the given key when one is set (and exports can run), else SSE-OBS.
  export_kms_enabled = local.export_enabled && var.export_kms_key_id != ""

  # Colder classes in the order OBS moves objects through them; unset ones are left out.
  export_transitions = [
    for t in [
      { days = var.export_warm_after_days, storage_class = "WARM" },
      { days = var.export_cold_after_days, storage_class = "COLD" },
    ] : t if t.days != null
  ]
}

# Only the OBS calls the function makes: PutObject covers initiating, uploading parts and
# completing a multipart upload, and writing the progress record of an export cut short by the
# deadline; ListMultipartUploadParts lets the next run continue that upload from its first missing
# part; the abort cleans up a failed or superseded upload (no orphan parts billed); GetObject answers
# the HEAD that tells whether an object was already exported and reads the progress record, which
# DeleteObject removes once the export is done, failed or superseded. All of them are
# object actions scoped to the prefix: the function can neither read nor overwrite anything else.
# On the bucket itself, only listing keys under the prefix (OBS's obs:prefix condition), which a
# restore of "the newest export" needs; leftover uploads are the lifecycle rule's job. OBS is a
# global service, so this is a domain-level role (AX), held through the agency's domain_roles.
resource "huaweicloud_identity_role" "obs_export" {
  count = local.export_enabled ? 1 : 0

  name        = "${var.function_name}-obs-export"
  description = "Upload exported DCS backups into the export bucket, under the export prefix only."
  type        = "AX"
  policy = jsonencode({
    Version = "1.1"
    Statement = [
      {
        Effect = "Allow"
        Action = [
          "obs:object:PutObject",
          "obs:object:AbortMultipartUpload",
          "obs:object:ListMultipartUploadParts",
          "obs:object:GetObject",
          "obs:object:ModifyObjectMetadata",
          "obs:object:DeleteObject",
        ]
        Resource = ["obs:*:*:object:${var.export_bucket}/${var.export_prefix}*"]
      },
      # A restore of "the newest export" lists the instance's exports: keys under the export prefix only.
      {
        Effect    = "Allow"
        Action    = ["obs:bucket:ListBucket"]
        Resource  = ["obs:*:*:bucket:${var.export_bucket}"]
        Condition = { StringLike = { "obs:prefix" = ["${var.export_prefix}*"] } }
      },
    ]
  })
}

# Drill records (drills with an export bucket, or an audit holding drills to max_drill_age_days):
# each drill writes one small JSON object under drill_record_prefix, and the audit lists and reads
# them. A role of its own, so that an export-only deployment is granted nothing there.
resource "huaweicloud_identity_role" "obs_drill_records" {
  count = local.drill_records_enabled ? 1 : 0

  name        = "${var.function_name}-obs-drill-records"
  description = "Write and read the restore drills' records in the export bucket, under the drill record prefix only."
  type        = "AX"
  policy = jsonencode({
    Version = "1.1"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["obs:object:PutObject", "obs:object:GetObject"]
        Resource = ["obs:*:*:object:${var.export_bucket}/${var.drill_record_prefix}*"]
      },
      {
        Effect    = "Allow"
        Action    = ["obs:bucket:ListBucket"]
        Resource  = ["obs:*:*:bucket:${var.export_bucket}"]
        Condition = { StringLike = { "obs:prefix" = ["${var.drill_record_prefix}*"] } }
      },
    ]
  })
}

# SSE-KMS only: OBS creates and decrypts the data keys with the uploader's permissions, here the
# function's agency. Only the export key is usable (get it, create and decrypt data keys with it);
# kms:cmk:list names no key; kms:cmk:create, which OBS needs only to create a default key when
# none is named, is never granted. KMS is a regional service: an XA role on the region's project.
resource "huaweicloud_identity_role" "kms_export" {
  count = local.export_kms_enabled ? 1 : 0

  name        = "${var.function_name}-kms-export"
  description = "Encrypt exported DCS backups with the export bucket's KMS key (data keys only)."
  type        = "XA"
  policy = jsonencode({
    Version = "1.1"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["kms:cmk:get", "kms:dek:create", "kms:dek:crypto"]
        Resource = ["KMS:*:*:KeyId:${var.export_kms_key_id}"]
      },
      {
        Effect = "Allow"
        Action = ["kms:cmk:list"]
      },
    ]
  })
}

# Optional: the bucket, private, in the function's region. Exported backups exist to outlive the
# instance, so force_destroy stays false: `terraform destroy` fails on a non-empty bucket instead
# of deleting them.
resource "huaweicloud_obs_bucket" "export" {
  count = var.create_export_bucket && var.export_bucket != "" ? 1 : 0

  bucket        = var.export_bucket
  storage_class = "STANDARD"
  acl           = "private"
  force_destroy = false

  # Default encryption: SSE-KMS with export_kms_key_id when set, else SSE-OBS (keys managed by
  # OBS), for any object uploaded without encryption headers; the function's own uploads ask for
  # the same encryption (DCS_EXPORT_KMS_KEY_ID), so they are encrypted in an existing bucket too.
  encryption    = true
  sse_algorithm = local.export_kms_enabled ? "kms" : "AES256"
  kms_key_id    = local.export_kms_enabled ? var.export_kms_key_id : null

  # TLS only: any request to the bucket or its objects over plain HTTP is denied, whoever sends it.
  policy_format = "obs"
  policy = jsonencode({
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { ID = ["*"] }
      Action    = ["*"]
      Resource  = [var.export_bucket, "${var.export_bucket}/*"]
      Condition = { Bool = { SecureTransport = ["false"] } }
    }]
  })

  lifecycle_rule {
    name    = "${var.function_name}-export"
    enabled = true
    prefix  = local.export_lifecycle_prefix

    dynamic "expiration" {
      for_each = var.export_expire_days == null ? [] : [var.export_expire_days]
      content {
        days = expiration.value
      }
    }

    dynamic "transition" {
      for_each = local.export_transitions
      content {
        days          = transition.value.days
        storage_class = transition.value.storage_class
      }
    }

    # Always: an upload left by a crash is billed until aborted; the function aborts what it no
    # longer needs, this catches the rest. Not sooner than a week: an export of a large backup is
    # continued by the following runs (a daily schedule), and its upload must still be there.
    abort_incomplete_multipart_upload {
      days = 7
    }
  }

  lifecycle {
    # OBS requires the expiration after every transition, and Archive after Infrequent Access.
    # try(): a comparison with an unset (null) variable fails, and then there is nothing to order.
    precondition {
      condition     = try(var.export_expire_days > var.export_cold_after_days, true) && try(var.export_expire_days > var.export_warm_after_days, true)
      error_message = "export_expire_days must be greater than export_warm_after_days and export_cold_after_days."
    }
    precondition {
      condition     = try(var.export_cold_after_days > var.export_warm_after_days, true)
      error_message = "export_cold_after_days must be greater than export_warm_after_days."
    }
    # OBS's rules for a lifecycle prefix: no '//' and none of \:*?"<>|.
    precondition {
      condition     = !can(regex("//|[\\\\:*?\"<>|]", var.export_prefix))
      error_message = "export_prefix must not contain '//' or any of \\:*?\"<>| to be used in the bucket's lifecycle rule."
    }
  }
}
