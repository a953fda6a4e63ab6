output "function_urn" {
  description = "URN of the dcs-backup function."
  value       = huaweicloud_fgs_function.dcs_backup.urn
}

output "agency_name" {
  description = "Agency whose temporary keys the function uses."
  value       = huaweicloud_identity_agency.function.name
}

output "http_endpoint" {
  description = "POST here to start backups (when enable_http); set http_access_address to see the full URL."
  value       = var.enable_http ? "https://${var.http_access_address != "" ? var.http_access_address : "<api-group-domain>"}${local.http_path}" : null
}

output "http_app_key" {
  description = "With http_auth = APP: the key of the only application authorised to call the API."
  value       = local.http_app ? huaweicloud_apig_application.http[0].app_key : null
}

output "http_app_secret" {
  description = "With http_auth = APP: the secret of that application (terraform output -raw http_app_secret)."
  value       = local.http_app ? huaweicloud_apig_application.http[0].app_secret : null
  sensitive   = true
}

output "log_group_id" {
  description = "LTS log group holding the function's JSON log lines."
  value       = huaweicloud_lts_group.function.id
}

output "alert_topic_urn" {
  description = "URN of the SMN topic that receives the LTS error alarm and failed asynchronous runs; subscribe more endpoints to it."
  value       = huaweicloud_smn_topic.alerts.topic_urn
}
