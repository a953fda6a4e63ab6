# Every instance tagged backup=daily: backed up nightly and waited for, the newest good backup
# exported to a bucket created here (encrypted, TLS-only, moved to COLD after 30 days, deleted
# after a year), the function's own backups pruned to the newest 7, an hourly RPO audit, and
# email alerts. Copy to template/terraform.tfvars and replace the <...> values.

region          = "cn-north-4"
alarm_user_name = "<IAM user name>"
select_tags     = "backup=daily"

schedule            = "CRON_TZ=Asia/Shanghai 0 0 2 * * ?"
wait_for_completion = true
memory_size         = 512 # at least 2 * export_part_mb + 64 when exporting
timeout             = 900 # waiting and copying take minutes
max_concurrency     = 4

keep_last    = 7
max_age_days = 30

export_bucket          = "<globally unique bucket name>"
export_prefix          = "dcs-backup/"
export_part_mb         = 64
create_export_bucket   = true
export_cold_after_days = 30
export_expire_days     = 365

audit_schedule = "0 15 * * * ?"
rpo_hours      = 26

alert_email = "oncall@example.com"
