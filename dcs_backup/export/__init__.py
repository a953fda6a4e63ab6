"""Exporting finished backups into the user's own object storage bucket, streamed and verified.

Nothing here imports the OBS SDK at module level: only ``export.obs`` does, when an export runs.
"""
