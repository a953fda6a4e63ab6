"""Checking a backup file while its bytes stream through: is it the Redis file DCS says it is, and whole?

A verifier is fed the file's bytes in order and says at the end what the file is. It holds a few
bytes of state, never the file; a file that fails a check is never kept as an exported object.
"""
