"""What differs between the platform, tests and the local runner: environment, clock, retry pacing, timeouts,
log stream and rendering, and who watches long work."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TextIO

from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from dcs_backup.dcs.gateway import BACKUP_PAGE_SIZE, INSTANCE_PAGE_SIZE
from dcs_backup.platform.retry import Clock, PollPolicy, RetryPolicy

if TYPE_CHECKING:
    from structlog.typing import Processor


class Progress(Protocol):
    """Long work as it goes, for a person watching (the local runner on a terminal)."""

    def waiting(self, instance_id: str, running: bool) -> None:
        """The wait for ``instance_id``'s backup began (``running``) or ended."""

    def copied(self, key: str, done: int, total: int) -> None:
        """An exported object holds ``done`` of its ``total`` bytes (after each part)."""


class Unwatched:
    """Nobody watches on the platform: progress costs a method call that does nothing."""

    def waiting(self, instance_id: str, running: bool) -> None:
        pass

    def copied(self, key: str, done: int, total: int) -> None:
        pass


class Runtime:
    """The platform's by default (JSON lines, nobody watching); tests give their own environment, pacing and log
    stream; the local runner on a terminal a console renderer and a progress display."""

    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        policy: RetryPolicy | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        self.env = env
        self.policy = policy or RetryPolicy()
        self.log_stream = log_stream
        self.clock: Clock = time.monotonic
        self.dcs_timeouts = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        self.page_sizes = (INSTANCE_PAGE_SIZE, BACKUP_PAGE_SIZE)  # ListInstances, ListBackupRecords
        self.poll_policy = PollPolicy()
        self.cold_start = True
        self.log_renderer: Processor | None = None
        self.progress: Progress = Unwatched()
