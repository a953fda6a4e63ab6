"""The thin, typed gateway to the DCS API: the only code that touches the SDK."""
