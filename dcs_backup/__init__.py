"""dcs-backup: back up Huawei Cloud DCS (managed Redis) instances from FunctionGraph."""

__version__ = "0.1.0"
SERVICE_NAME = "dcs-backup"
