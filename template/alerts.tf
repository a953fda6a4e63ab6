# Alerts: nothing in the function sends mail. A failed run leaves an ERROR line in LTS (the
# keyword alarm below turns it into an SMN message) and, when a scheduled (asynchronous) run
# fails in the platform itself, FunctionGraph's failure destination publishes to the same topic.
#
# Argument names checked against the huaweicloud provider's docs/resources/*.md and schemas
# (github.com/huaweicloud/terraform-provider-huaweicloud, v1.74.0 and master): smn_topic.md,
# smn_subscription.md, lts_keywords_alarm_rule.md, fgs_async_invoke_configuration.md,
# identity_role.md, identity_agency.md.

locals {
  # The function writes one JSON object per line (structlog): an error line holds
  # `"level": "error"`. LTS splits lines into words at its default delimiters (quotes, ':',
  # spaces...), so the pair becomes the adjacent words `level error`; the phrase search `#"..."`
  # requires them in that order, next to each other. A plain `error` would also fire on INFO
  # lines that merely mention an error; keywords are case-sensitive and the level is lower case.
  error_line_keywords = "#\"level error\""

  # The alarm looks at the last N minutes every N minutes, so each ERROR line is counted once.
  alarm_period_minutes = 5
}

resource "huaweicloud_smn_topic" "alerts" {
  name         = "${var.function_name}-alerts"
  display_name = "${var.function_name} alerts"
  introduction = "Failures of the ${var.function_name} function: failed backups, RPO violations and failed runs."
}

# Email subscriptions stay "unconfirmed" until the recipient clicks the link SMN mails them;
# nothing is delivered before that.
resource "huaweicloud_smn_subscription" "email" {
  count = var.alert_email == "" ? 0 : 1

  topic_urn = huaweicloud_smn_topic.alerts.topic_urn
  protocol  = "email"
  endpoint  = var.alert_email
  remark    = "${var.function_name} alerts"
}

# Fires on every ERROR line of the function's log stream: a failed instance, "previous backup
# failed", a retention error, an RPO violation found by the audit, a configuration error or a
# crash.
resource "huaweicloud_lts_keywords_alarm_rule" "errors" {
  name        = "${var.function_name}-errors"
  description = "ERROR lines in the function's log stream."
  alarm_level = "MAJOR"

  keywords_requests {
    keywords               = local.error_line_keywords
    condition              = ">="
    number                 = 1
    log_group_id           = huaweicloud_lts_group.function.id
    log_stream_id          = huaweicloud_lts_stream.function.id
    search_time_range_unit = "minute"
    search_time_range      = local.alarm_period_minutes
  }

  frequency {
    type            = "FIXED_RATE"
    fixed_rate_unit = "minute"
    fixed_rate      = local.alarm_period_minutes
  }

  send_notifications = true

  # `notification_save_rule` is the provider's current block (since v1.73.9/v1.74.0, hence the
  # version pin); the older `notification_rule` is deprecated and forces a new rule on change.
  # `keywords_template` is LTS's built-in keyword alarm message template.
  notification_save_rule {
    template_name = "keywords_template"
    user_name     = var.alarm_user_name
    language      = var.alarm_language

    topics {
      name      = huaweicloud_smn_topic.alerts.name
      topic_urn = huaweicloud_smn_topic.alerts.topic_urn
    }
  }
}

# The function's agency needs to publish to SMN only for the asynchronous failure destination
# (FunctionGraph publishes with the function's agency), and only to the alerts topic: the
# statement names it as its resource, so the agency cannot publish to any other topic of the
# project. The resource follows the IAM policy syntax <service>:<region>:<account>:<type>:<path>
# (as OBS's obs:*:*:bucket:<name>) with SMN's resource type "topic" (SMN's identity-policy
# reference lists "topic" as the resource type of smn:topic:publish); SMN's role-based action
# table ("Message Publishing") shows no example of it, so check after the first apply that a
# failed asynchronous run still reaches the topic (template README). A separate role keeps the
# DCS role equal to the DCS calls.
resource "huaweicloud_identity_role" "smn_publish" {
  name        = "${var.function_name}-smn-publish"
  description = "Publish messages to the function's alerts topic only (its asynchronous failure destination)."
  type        = "XA"
  policy = jsonencode({
    Version = "1.1"
    Statement = [{
      Effect   = "Allow"
      Action   = ["smn:topic:publish"]
      Resource = ["SMN:*:*:topic:${huaweicloud_smn_topic.alerts.name}"]
    }]
  })
}
