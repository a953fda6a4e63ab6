"""The retry policy's waits and the deadline's margin."""

from __future__ import annotations

import pytest

from dcs_backup.platform.calls import CallError, CallLoop, ErrorKind
from dcs_backup.platform.retry import Deadline, RetryPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_and_stays_under_the_cap() -> None:
    policy = RetryPolicy(jitter=lambda: 1.0)
    delays = [policy.delay_before(n, throttled=False, retry_after_s=None) for n in range(2, 10)]
    assert delays == sorted(delays)
    assert delays[0] == 0.5
    assert max(delays) == policy.max_delay_s


def test_jitter_spreads_waits_between_half_and_full() -> None:
    low = RetryPolicy(jitter=lambda: 0.0).delay_before(3, throttled=False, retry_after_s=None)
    high = RetryPolicy(jitter=lambda: 1.0).delay_before(3, throttled=False, retry_after_s=None)
    assert (low, high) == (0.5, 1.0)


def test_throttling_waits_at_least_two_seconds() -> None:
    policy = RetryPolicy(jitter=lambda: 0.0)
    assert policy.delay_before(2, throttled=True, retry_after_s=None) == 2.0


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(jitter=lambda: 0.0)
    assert policy.delay_before(2, throttled=True, retry_after_s=7) == 7
    assert policy.delay_before(2, throttled=True, retry_after_s=3600) == policy.max_retry_after_s


def test_deadline_keeps_a_margin_before_the_platform_timeout() -> None:
    clock = FakeClock()
    deadline = Deadline.from_remaining_ms(60_000, clock)
    assert deadline.remaining() == 57.0
    clock.now += 57.5
    assert deadline.remaining() == 0.0
    assert not deadline.allows(0.1)


def test_short_deadlines_keep_a_proportional_margin() -> None:
    assert Deadline.from_remaining_ms(3_000, FakeClock()).remaining() == pytest.approx(2.7)


class TestCleanupAllowance:
    @staticmethod
    def _loop() -> CallLoop:
        """A loop whose deadline has just passed, and whose every attempt fails as a server error."""
        return CallLoop(Deadline(0.0, clock=lambda: 0.1), RetryPolicy(sleep=lambda _: None), _as_server_error)

    def test_past_the_deadline_a_call_is_refused_before_it_is_tried(self) -> None:
        with pytest.raises(CallError) as caught:
            self._loop().run("AbortMultipartUpload", lambda: "aborted")
        assert caught.value.kind is ErrorKind.DEADLINE

    def test_a_cleanup_call_still_runs_within_its_allowance(self) -> None:
        assert self._loop().with_allowance(2.0).run("AbortMultipartUpload", lambda: "aborted") == "aborted"

    def test_a_cleanup_call_is_tried_at_most_twice(self) -> None:
        attempts: list[int] = []

        def failing() -> str:
            attempts.append(1)
            raise ConnectionError

        with pytest.raises(CallError):
            self._loop().with_allowance(60.0).run("AbortMultipartUpload", failing)
        assert len(attempts) == 2


def _as_server_error(exc: Exception, operation: str) -> CallError:
    return CallError(ErrorKind.SERVER, operation, type(exc).__name__)
