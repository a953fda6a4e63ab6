"""The two legs of a file's copy: part N+1 downloads while part N uploads; either leg's failure stops both."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import pytest

from dcs_backup.export.pipeline import NoTimeLeftError, PartPipeline, PartPlan, part_count, part_end
from dcs_backup.platform.retry import Deadline

WAIT_S = 5.0
MIB = 1 << 20


class _Pace:
    def __init__(self, refuse_from: int | None = None) -> None:
        self.refuse_from = refuse_from
        self.asked = 0

    def require(self, size: int, deadline: Deadline) -> None:
        self.asked += 1
        if self.refuse_from is not None and self.asked >= self.refuse_from:
            raise NoTimeLeftError("no time")

    def record(self, size: int, seconds: float) -> None:
        return None


class _Source:
    """Parts of ``b"<n>"`` bytes; part 2's download waits until part 1's upload has begun."""

    def __init__(self, target: _Target, fail_at: int | None = None) -> None:
        self._target = target
        self._next = 1
        self._fail_at = fail_at
        self.downloading: dict[int, threading.Event] = {n: threading.Event() for n in range(1, 5)}

    def fill(self, part: memoryview) -> None:
        number, self._next = self._next, self._next + 1
        self.downloading[number].set()
        if number == self._fail_at:
            raise OSError("link broke")
        if number == 2:
            assert self._target.uploading[1].wait(WAIT_S), "part 1 was not uploading while part 2 downloaded"
        part[:] = bytes([number]) * len(part)

    def check(self, part: memoryview) -> int:
        return part[0]


class _Target:
    def __init__(self, source_events: Mapping[int, threading.Event] | None = None, fail_at: int | None = None) -> None:
        self.uploading = {n: threading.Event() for n in range(1, 5)}
        self.sent: list[tuple[int, bytes]] = []
        self.source_events = source_events
        self.fail_at = fail_at

    def upload_part(self, key: str, upload_id: str, number: int, data: memoryview, digest: bytes | None = None) -> str:
        self.uploading[number].set()
        if number == 1 and self.source_events is not None:
            # part 1's upload ends only once part 2 is being downloaded: the legs overlap, or this times out
            assert self.source_events[2].wait(WAIT_S), "part 2 was not downloading while part 1 uploaded"
        if number == self.fail_at:
            raise OSError("bucket refused")
        self.sent.append((number, bytes(data)))
        return f"etag-{number}"


def _run(target: _Target, source: _Source, pace: _Pace | None = None) -> Sequence[int]:
    plan = PartPlan(size=4 * 10, part_size=10, first=1, last=4)
    sent = PartPipeline(target, "key", "upload", pace or _Pace(), Deadline(expires_at=1e12)).run(source, plan)  # type: ignore[arg-type]
    return [part.number for part in sent]


def _no_upload_thread() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("upload ")]


def test_part_n_uploads_while_part_n_plus_one_downloads() -> None:
    target = _Target()
    source = _Source(target)
    target.source_events = source.downloading
    assert _run(target, source) == [1, 2, 3, 4]
    assert target.sent == [(n, bytes([n]) * 10) for n in range(1, 5)]


def test_each_part_carries_the_verifiers_state_at_its_end() -> None:
    target = _Target()
    plan = PartPlan(size=40, part_size=10, first=1, last=4)
    PartPipeline(target, "k", "u", _Pace(), Deadline(expires_at=1e12)).run(_Source(target), plan)  # type: ignore[arg-type]
    assert [(p.state, p.end_offset) for p in plan.sent] == [(1, 10), (2, 20), (3, 30), (4, 40)]


def test_an_upload_failure_stops_the_download_leg() -> None:
    target = _Target(fail_at=1)
    source = _Source(target)
    with pytest.raises(OSError, match="bucket refused"):
        _run(target, source)
    assert not source.downloading[4].is_set() and target.sent == [] and _no_upload_thread()


def test_a_download_failure_ends_the_copy_and_its_upload_thread() -> None:
    target = _Target()
    source = _Source(target, fail_at=3)
    with pytest.raises(OSError, match="link broke"):
        _run(target, source)
    assert [n for n, _ in target.sent][:1] == [1] and 3 not in [n for n, _ in target.sent] and _no_upload_thread()


def test_no_time_left_ends_the_copy_after_the_parts_already_downloaded_are_sent() -> None:
    target = _Target()
    plan = PartPlan(size=40, part_size=10, first=1, last=4)
    pipeline = PartPipeline(target, "k", "u", _Pace(refuse_from=3), Deadline(expires_at=1e12))  # type: ignore[arg-type]
    with pytest.raises(NoTimeLeftError):
        pipeline.run(_Source(target), plan)
    assert [p.number for p in plan.sent] == [1, 2] and _no_upload_thread()


@pytest.mark.parametrize(
    ("size", "part_size", "ends"),
    [
        (12 * MIB, 5 * MIB, [MIB, 6 * MIB, 11 * MIB, 12 * MIB]),
        (3 * MIB, MIB, [MIB, 2 * MIB, 3 * MIB]),
        (150 * MIB, 5 * MIB, [*range(MIB, 150 * MIB, 5 * MIB), 149 * MIB, 150 * MIB]),
        (16 * MIB + 50_000, 5 * MIB, [MIB, 6 * MIB, 11 * MIB, 16 * MIB, 16 * MIB + 50_000]),
        (MIB // 2, 5 * MIB, [MIB // 2]),
        (0, 5 * MIB, [0]),
    ],
)
def test_the_first_and_last_parts_are_short_so_the_legs_overlap_longest(
    size: int, part_size: int, ends: list[int]
) -> None:
    assert part_count(size, part_size) == len(ends)
    assert [part_end(n, size, part_size) for n in range(1, len(ends) + 1)] == ends
