"""What differs between the platform and tests: environment, clock, retry pacing, timeouts, log stream."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TextIO

from dcs_backup.dcs.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from dcs_backup.dcs.gateway import BACKUP_PAGE_SIZE, INSTANCE_PAGE_SIZE
from dcs_backup.platform.retry import Clock, PollPolicy, RetryPolicy


class Runtime:
    """The platform's by default; tests give their own environment, pacing and log stream."""

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
