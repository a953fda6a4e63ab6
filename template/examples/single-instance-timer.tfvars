# One instance, backed up nightly at 01:30 Shanghai time as RDB; failures page by email.
# Copy to template/terraform.tfvars and replace the <...> values.

region          = "cn-north-4"
instance_ids    = ["<instance id>"]
alarm_user_name = "<IAM user name>" # the LTS alarm's notification rule is saved under it

schedule      = "CRON_TZ=Asia/Shanghai 0 30 1 * * ?"
backup_format = "rdb"
timer_remark  = "nightly by dcs-backup"
alert_email   = "oncall@example.com" # confirm the link SMN mails first
