"""The thin, typed gateway to the DCS API: the only code that touches the SDK."""

from dcs_backup.dcs import sdk_models

# Before client.py or gateway.py import the SDK, so that only the models they use get loaded.
sdk_models.install()
