"""One file's parts moving through two legs at once: while part N uploads, part N+1 downloads.

The download leg runs in the caller's thread (reading, verifying), the upload leg in one worker
thread; two part buffers pass between them, so a file moves at the speed of the slower leg and
never holds more than two parts. A failure in either leg stops both: the download leg starts no
part once the upload leg failed, the upload leg sends nothing once the download leg failed, and
the worker has always ended when ``run`` returns or raises.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dcs_backup.export.base import ExportTarget
from dcs_backup.platform.retry import Deadline

BUFFERS = 2  # part buffers per file: one being downloaded, one being uploaded
# The first and last parts are this small (or the part size, if smaller), so the upload leg starts
# after 1 MiB, not a whole part, and ends soon after the download; OBS takes parts of different sizes.
LEAD_PART_BYTES = 1 << 20
MIN_PART_BYTES = 100 * 1024  # OBS's smallest part (but the last)
_WAIT_S = 0.05  # how often a waiting leg looks whether the other one failed


class NoTimeLeftError(Exception):
    """The next step would not finish before the deadline at the measured throughput."""


class Pace(Protocol):
    def require(self, size: int, deadline: Deadline) -> None: ...

    def record(self, size: int, seconds: float) -> None: ...


class PartSource(Protocol):
    """Where the download leg gets each part: filled in order, and checked before it may be sent."""

    def fill(self, part: memoryview) -> None: ...

    def check(self, part: memoryview) -> Any:
        """Verify the part; what the verifier's state is at its end (kept with the part, for resuming)."""


@dataclass(frozen=True)
class SentPart:
    number: int
    etag: str
    end_offset: int  # the file's bytes up to here are in the upload
    state: Any  # the verifier's state at this part's end


@dataclass
class PartPlan:
    """Which parts this run sends: ``first`` up to ``last`` of a file of ``size`` bytes in ``part_size`` parts."""

    size: int
    part_size: int
    first: int
    last: int
    sent: list[SentPart] = field(default_factory=list)

    def length(self, number: int) -> int:
        return self.end(number) - self.end(number - 1)

    def end(self, number: int) -> int:
        return self._ends[number - 1] if number > 0 else 0

    def __post_init__(self) -> None:
        self._ends = part_ends(self.size, self.part_size)


def part_ends(size: int, part_size: int) -> list[int]:
    """Where each part ends in the file: a short first part, whole parts, and a short last one.

    Both legs idle while the first part downloads and the last one uploads, so both are short
    (LEAD_PART_BYTES): the part before the last takes what the whole parts leave. Every part but the
    last stays at least MIN_PART_BYTES, and none is larger than ``part_size`` (the buffers' size).
    """
    lead = min(part_size, LEAD_PART_BYTES)
    ends = [*range(lead, size, part_size), size]
    if len(ends) >= 2 and ends[-1] - ends[-2] > lead and size - lead - ends[-2] >= MIN_PART_BYTES:
        ends.insert(-1, size - lead)
    return ends


def part_end(number: int, size: int, part_size: int) -> int:
    """How many of the file's bytes parts 1 to ``number`` hold."""
    return part_ends(size, part_size)[number - 1] if number > 0 else 0


def part_count(size: int, part_size: int) -> int:
    return len(part_ends(size, part_size))


@dataclass
class _Item:
    number: int
    buffer: memoryview
    length: int
    state: Any
    digest: bytes


class PartPipeline:
    """Moves a plan's parts from ``source`` into the upload; ``on_sent`` hears of each part once it is in."""

    def __init__(
        self,
        target: ExportTarget,
        key: str,
        upload_id: str,
        pace: Pace,
        deadline: Deadline,
        on_sent: Callable[[SentPart], None] = lambda part: None,
    ) -> None:
        self._target, self._key, self._upload_id = target, key, upload_id
        self._pace, self._deadline, self._on_sent = pace, deadline, on_sent
        self._work: queue.Queue[_Item | None] = queue.Queue()
        self._free: queue.Queue[memoryview] = queue.Queue()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._in_flight = 0  # bytes downloaded and not yet uploaded
        self._lock = threading.Lock()

    def run(self, source: PartSource, plan: PartPlan) -> Sequence[SentPart]:
        """Every planned part sent (in ``plan.sent``, in order); raises the first leg's failure, or
        NoTimeLeftError once the next part would not fit (the parts sent so far stay in ``plan.sent``)."""
        for _ in range(min(BUFFERS, plan.last - plan.first + 1)):
            self._free.put(memoryview(bytearray(plan.part_size)))
        worker = threading.Thread(target=self._upload_leg, args=(plan,), name=f"upload {self._key}", daemon=True)
        worker.start()
        out_of_time: NoTimeLeftError | None = None
        try:
            self._download_leg(source, plan)
        except NoTimeLeftError as exc:
            out_of_time = exc  # the parts already read are still sent: the next run need not read them again
        except BaseException:
            self._stop.set()
            raise
        finally:
            self._work.put(None)
            worker.join()
        if self._failure is not None:
            raise self._failure
        if out_of_time is not None:
            raise out_of_time
        return plan.sent

    def _download_leg(self, source: PartSource, plan: PartPlan) -> None:
        for number in range(plan.first, plan.last + 1):
            length = plan.length(number)
            with self._lock:
                pending = self._in_flight + length
            self._pace.require(pending, self._deadline)
            buffer = self._next_buffer()
            if buffer is None:
                return  # the upload leg failed: run() raises its failure
            part = buffer[:length]
            source.fill(part)
            state = source.check(part)
            # The MD5 is worked out here, while the link's bytes keep arriving: the upload leg only sends.
            digest = hashlib.md5(part).digest()
            with self._lock:
                self._in_flight += length
            self._work.put(_Item(number, buffer, length, state, digest))

    def _next_buffer(self) -> memoryview | None:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=_WAIT_S)
            except queue.Empty:
                continue
        return None

    def _upload_leg(self, plan: PartPlan) -> None:
        clock = self._deadline.clock
        since = clock()
        while (item := self._work.get()) is not None:
            if self._stop.is_set():
                continue  # drain: nothing more is sent once the download leg failed
            try:
                part = item.buffer[: item.length]
                etag = self._target.upload_part(self._key, self._upload_id, item.number, part, item.digest)
                sent = SentPart(item.number, etag, plan.end(item.number), item.state)
                plan.sent.append(sent)
                self._on_sent(sent)
            except BaseException as failure:  # noqa: BLE001 - handed to the download leg's thread
                self._failure = failure
                self._stop.set()
                continue
            finally:
                with self._lock:
                    self._in_flight -= item.length
                self._free.put(item.buffer)
            now = clock()
            self._pace.record(item.length, now - since)
            since = now
