"""Scripted and seeded-random fault injection, per API route."""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class FaultKind(str, Enum):
    THROTTLE = "throttle"  # 429 APIG.0308, optionally with Retry-After
    SERVER_ERROR = "server_error"  # 500 DCS.5000
    UNAVAILABLE = "unavailable"  # 503 DCS.5000
    RESET = "reset"  # connection reset before the request is handled
    LOST_RESPONSE = "lost_response"  # handled (e.g. backup created), then the connection is reset
    LATENCY = "latency"  # answer normally after a delay
    FORBIDDEN = "forbidden"  # 403 DCS.2003: the caller's role lacks the action
    SLOW_ANSWER = "slow_answer"  # handled at once (e.g. backup created), answered only after delay_s
    # 403 DCS.2003 whose error_msg and X-Echo header quote the request's access key and X-Security-Token,
    # for tests that no credential reaches logs, results or errors
    ECHO_CREDENTIALS = "echo_credentials"
    # Object storage only: a part's body altered in transit (its Content-MD5 no longer matches), and a
    # download whose body stops after cut_after_bytes although the answer announced all of it
    CORRUPT_BODY = "corrupt_body"
    # DCS only: handled at once, then answered one byte at a time, delay_s apart (no single read ever waits long)
    TRICKLE = "trickle"
    CUT_BODY = "cut_body"
    # Object storage only: the answer carries ``header`` (name, value) in place of its own, e.g. a
    # Content-Length of "²" (a digit to str.isdigit, not to int), for tests that such numbers are refused
    ODD_HEADER = "odd_header"


TRANSIENT_FAULTS = (
    FaultKind.THROTTLE,
    FaultKind.SERVER_ERROR,
    FaultKind.UNAVAILABLE,
    FaultKind.RESET,
    FaultKind.LOST_RESPONSE,
    FaultKind.LATENCY,
)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after_s: float | None = None
    delay_s: float = 0.0
    cut_after_bytes: int = 0
    header: tuple[str, str] | None = None


class FaultInjector:
    """Decides, per request, which fault (if any) to inject; counts what it injected.

    Scripted faults for a route are used first, in order; then the random rate applies.
    """

    def __init__(self) -> None:
        self._scripts: dict[str, deque[Fault]] = {}
        self._rate = 0.0
        self._kinds: tuple[FaultKind, ...] = ()
        self._routes: frozenset[str] | None = None
        self._random = random.Random(0)
        self._latency_s = 0.05
        self._lock = threading.Lock()
        self.injected: Counter[tuple[str, FaultKind]] = Counter()

    def script(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self._scripts.setdefault(route, deque()).extend(faults)

    def set_random(
        self,
        rate: float,
        kinds: Iterable[FaultKind],
        *,
        seed: int,
        routes: Iterable[str] | None = None,
        latency_s: float = 0.05,
    ) -> None:
        """Inject one of ``kinds`` into a ``rate`` share of requests, reproducibly for a given ``seed``."""
        with self._lock:
            self._latency_s = latency_s
            self._rate = rate
            self._kinds = tuple(kinds)
            self._random = random.Random(seed)
            self._routes = frozenset(routes) if routes is not None else None

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._rate = 0.0

    def next_fault(self, route: str) -> Fault | None:
        with self._lock:
            script = self._scripts.get(route)
            if script:
                fault: Fault | None = script.popleft()
            elif self._rate and (self._routes is None or route in self._routes) and self._random.random() < self._rate:
                kind = self._random.choice(self._kinds)
                fault = Fault(kind, retry_after_s=1.0 if kind is FaultKind.THROTTLE else None, delay_s=self._latency_s)
            else:
                fault = None
            if fault is not None:
                self.injected[(route, fault.kind)] += 1
            return fault

    def count(self, kind: FaultKind | None = None) -> int:
        return sum(n for (_, k), n in self.injected.items() if kind is None or k is kind)
