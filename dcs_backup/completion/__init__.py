"""Waiting until DCS reports a started backup finished, within the invocation's deadline."""
