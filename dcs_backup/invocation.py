"""The Invocation every step of a request runs in: who asked, as whom, until when, and its backups' tag."""

from __future__ import annotations

from typing import NamedTuple

from dcs_backup.dcs.access import DcsAccess
from dcs_backup.platform.retry import Deadline
from dcs_backup.triggers import Trigger


class Invocation(NamedTuple):
    """One invocation's identity, credentials, deadline and the tag that marks its request's backups."""

    request_id: str
    trigger: Trigger
    access: DcsAccess
    deadline: Deadline
    tag: str
    # The caller chose the key (a request field or the Idempotency-Key header), so it may reuse it.
    caller_key: bool = False
