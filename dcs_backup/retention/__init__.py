"""Pruning the function's own backups: the pure rules (what to delete, DCS's 24-backup ring) and the keeper
that makes the DELETE calls."""
