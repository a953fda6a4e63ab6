"""Per-instance work: choose the targets, then run each through the steps the request asks for."""
