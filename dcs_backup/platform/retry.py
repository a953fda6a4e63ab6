"""The invocation's deadline, the one retry policy every call goes through, and the pace of polling."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Deadline(NamedTuple):
    """The moment work must be finished, on a monotonic clock, with the safety margin already taken off."""

    expires_at: float
    clock: Clock = time.monotonic

    @classmethod
    def from_remaining_ms(cls, remaining_ms: float, clock: Clock = time.monotonic) -> Deadline:
        """Keep a margin (10% of the time, 0.2 to 3 s) to log the summary and answer before the platform's timeout."""
        remaining_s = max(0.0, remaining_ms / 1000)
        margin = min(3.0, max(0.2, remaining_s * 0.1))
        return cls(expires_at=clock() + remaining_s - margin, clock=clock)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    def allows(self, seconds: float) -> bool:
        return self.remaining() >= seconds


class RetryPolicy(NamedTuple):
    """Exponential backoff with jitter; throttling waits 2–5 s as the API gateway asks.

    ``sleep`` and ``jitter`` are injectable so tests run instantly and deterministically.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    throttle_delay_s: tuple[float, float] = (2.0, 5.0)
    min_attempt_s: float = 0.5
    max_retry_after_s: float = 60.0
    sleep: Sleep = time.sleep
    jitter: Callable[[], float] = random.random

    def delay_before(self, attempt: int, *, throttled: bool, retry_after_s: float | None) -> float:
        """How long to wait before attempt number ``attempt`` (2 for the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 2))
        delay = ceiling * (0.5 + self.jitter() / 2)
        if throttled:
            low, high = self.throttle_delay_s
            delay = max(delay, low + (high - low) * self.jitter())
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_retry_after_s))
        return delay


class PollPolicy(NamedTuple):
    """How often to ask whether a long task (a DCS backup) has finished: 2 s growing to 15 s, with jitter."""

    first_delay_s: float = 2.0
    max_delay_s: float = 15.0
    factor: float = 1.5
    sleep: Sleep = time.sleep
    jitter: Callable[[], float] = random.random

    def delays(self) -> Iterator[float]:
        delay = self.first_delay_s
        while True:
            yield delay * (0.75 + self.jitter() / 2)
            delay = min(self.max_delay_s, delay * self.factor)
