"""Which instances a request acts on: its `select` part, the listing that resolves it, and eligibility.

Every capability acts on these targets: this is the one capability folder the others may import."""
