terraform {
  required_version = ">= 1.3.0"

  required_providers {
    huaweicloud = {
      source  = "huaweicloud/huaweicloud"
      version = "~> 1.72"
    }
  }
}

# Credentials come from the provider's usual environment variables
# (HW_ACCESS_KEY, HW_SECRET_KEY, optionally HW_SECURITY_TOKEN); none are kept here.
provider "huaweicloud" {
  region = var.region
}
