terraform {
  required_version = ">= 1.3.0"

  required_providers {
    huaweicloud = {
      source = "huaweicloud/huaweicloud"
      # 1.74: huaweicloud_lts_keywords_alarm_rule's notification_save_rule block (alerts.tf).
      version = "~> 1.74"
    }
  }
}

# Credentials come from the provider's usual environment variables
# (HW_ACCESS_KEY, HW_SECRET_KEY, optionally HW_SECURITY_TOKEN); none are kept here.
provider "huaweicloud" {
  region = var.region
}
