"""A target of one invocation: an instance id, what is already known of it, and whether it is refused."""

from __future__ import annotations

from typing import NamedTuple

from dcs_backup.dcs.models import InstanceInfo


class Target(NamedTuple):
    """``known`` comes from the instance listing (no ShowInstance needed when it says enough);
    ``refusal`` skips the target before any call (e.g. outside DCS_ALLOWED_INSTANCE_IDS)."""

    instance_id: str
    known: InstanceInfo | None = None
    refusal: str | None = None

    @property
    def name(self) -> str | None:
        return self.known.name if self.known is not None else None
