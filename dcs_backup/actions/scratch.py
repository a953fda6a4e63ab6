"""Emptying the drill's scratch instance, before each import and after a failed one, on every engine version.

DCS flushes only Redis 4.0 and 5.0 instances (RestartOrFlushInstances). Any other version is restored in place
(RestoreInstance, followed through ListRestoreRecords) from its empty baseline: a backup of the scratch instance
taken once while the statistics showed it empty, marked as the function's own in its remark, never pruned.
Either way nothing is imported until the statistics show 0 keys. The deadline leaves a clearing pending, and
the next run goes on from it: it waits for the baseline backup still being taken, or follows the baseline
restore still running (both found by their remarks), and never starts a second one beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from dcs_backup.backup.create import BackupStarter
from dcs_backup.completion.wait import BackupWaiter
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import BackupRecord, InstanceInfo
from dcs_backup.drill.baseline import (
    BASELINE_RESTORE_REMARK,
    baseline_tag,
    flushable,
    newest_baseline,
    restore_tag,
    running_baseline,
    running_baseline_restore,
)
from dcs_backup.idempotency import BASELINE_REMARK
from dcs_backup.invocation import Invocation
from dcs_backup.outcome import BackupOutcome, OutcomeStatus
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.request import BackupRequest
from dcs_backup.restore import guards
from dcs_backup.restore.guards import Refusal
from dcs_backup.restore.restorer import InPlaceRestorer, follow
from dcs_backup.runtime import Runtime

FLUSHING_STATUS = "FLUSHING"
STILL_FLUSHING = (
    "the scratch instance is still being flushed (FLUSHING), by an earlier run's flush; nothing was imported: "
    "the next run continues once it runs again"
)
SCRATCH_FLUSHED = "flushed (empty)"
SCRATCH_BASELINE = "restored to its empty baseline (empty)"
SCRATCH_FLUSHING = "being flushed (not yet seen empty)"
SCRATCH_RESTORING = "being restored to its empty baseline"
SCRATCH_UNCHANGED = "what it held before (not emptied)"
SCRATCH_NOT_SEEN_EMPTY = "not seen empty in the statistics"
NOTHING_IMPORTED = "nothing was imported"
Poll = Callable[[Callable[[], int | None]], int | None]


class Blocked(NamedTuple):
    """Why the scratch instance is not known to be empty: ``pending`` when the deadline came first, else failed."""

    pending: bool
    reason: str
    scratch: str  # what the scratch instance holds meanwhile


class ScratchClearer:
    """Empties one scratch instance: flushed when DCS can flush its engine, else restored to its baseline."""

    def __init__(
        self, gateway: DcsGateway, scratch: InstanceInfo, invocation: Invocation, rt: Runtime, poll: Poll
    ) -> None:
        self._gateway = gateway
        self._scratch = scratch
        self._id = scratch.instance_id
        self._invocation = invocation
        self._rt = rt
        self._poll = poll
        self.flushes = flushable(scratch)

    @property
    def emptied(self) -> str:
        """What the scratch instance holds once cleared."""
        return SCRATCH_FLUSHED if self.flushes else SCRATCH_BASELINE

    def state_refusal(self) -> Refusal | None:
        """The restore's state guard; being restored is no refusal while the restore is one of its baselines
        (an earlier run's, which the clearing follows), nor being flushed (an earlier run's flush)."""
        refusal = guards.state_refusal(self._scratch)
        if refusal is not None and self.flushes and self._scratch.status == FLUSHING_STATUS:
            return None  # an earlier run's flush: the drill waits for it (every source pending)
        if refusal is None or refusal.guard != "restore_running" or self.flushes:
            return refusal
        running = running_baseline_restore(self._gateway.list_restores(self._id), self._id)
        return refusal if running is None else None

    def clear(self, occasion: str) -> Blocked | None:
        """Empty the scratch instance and see 0 keys in the statistics: None once it is, else why not.

        ``occasion`` (the source's drill, before or after its import) marks a baseline restore, so a retried
        delivery finds its own. A call that fails raises, except for the deadline: that leaves it pending.
        """
        try:
            return self._flush() if self.flushes else self._restore_baseline(occasion)
        except CallError as error:
            if error.kind is not ErrorKind.DEADLINE:
                raise
            return Blocked(
                True,
                f"the deadline came while emptying the scratch instance ({error.message}); {NOTHING_IMPORTED}: "
                "the next run empties it before importing",
                SCRATCH_UNCHANGED,
            )

    def _flush(self) -> Blocked | None:
        result = self._gateway.flush_instance(self._id)
        if result != "success":
            return Blocked(
                False,
                f"DCS answered the flush of the scratch instance {self._id} (Redis {self._scratch.engine_version}) "
                f"with {result or 'no result for it'}; {NOTHING_IMPORTED}: check the instance in the DCS console "
                "(running, no other task under way) and run the drill again",
                SCRATCH_UNCHANGED,
            )
        return self._seen_empty(
            "its flush",
            Blocked(
                True,
                "the deadline came while waiting for the flush to empty the scratch instance; "
                f"{NOTHING_IMPORTED}: the next run flushes it again",
                SCRATCH_FLUSHING,
            ),
        )

    def _restore_baseline(self, occasion: str) -> Blocked | None:
        """Follow the baseline restore still running, or restore the newest baseline, or take the first one."""
        restorer = InPlaceRestorer(
            self._gateway, self._id, restore_tag(self._id, (self._invocation.request_id, occasion))
        )
        running = running_baseline_restore(self._gateway.list_restores(self._id), self._id)
        if running is not None:
            return self._followed(restorer, running.restore_id, running.backup_id)
        records = self._gateway.list_backups(self._id)
        baseline = newest_baseline(records, self._id)
        if baseline is None:
            return self._take_baseline(records, occasion)
        restore_id = restorer.start(baseline.backup_id, BASELINE_RESTORE_REMARK)
        return self._followed(restorer, restore_id, baseline.backup_id)

    def _followed(self, restorer: InPlaceRestorer, restore_id: str, backup_id: str | None) -> Blocked | None:
        rt = self._rt
        seen = follow(
            lambda: restorer.progress(restore_id), self._invocation.deadline, rt.poll_policy, rt.policy.min_attempt_s
        )
        if seen is None or not seen.finished:
            return Blocked(
                True,
                f"the restore {restore_id} of the scratch instance's empty baseline was still running at the "
                f"deadline; {NOTHING_IMPORTED}: the next run follows it",
                SCRATCH_RESTORING,
            )
        if not seen.succeeded:
            return Blocked(
                False,
                f"the restore {restore_id} of the scratch instance's empty baseline {backup_id} failed in DCS "
                f"({seen.error_code or seen.status}); {NOTHING_IMPORTED}: the next drill restores it again",
                SCRATCH_UNCHANGED,
            )
        return self._seen_empty(f"the restore of its empty baseline {backup_id}", None)

    def _take_baseline(self, records: list[BackupRecord], occasion: str) -> Blocked | None:
        """The first baseline, of the scratch instance seen empty (or the one an earlier run began), waited for."""
        running = running_baseline(records, self._id)
        if running is not None:
            backup_id, fresh = running.backup_id, False
        else:
            keys = self._gateway.key_counts().get(self._id)
            if keys != 0:
                return Blocked(False, self._not_empty(keys), SCRATCH_UNCHANGED)
            request = BackupRequest(instance_ids=(self._id,), backup_format="rdb", remark=BASELINE_REMARK)
            created = BackupStarter(self._gateway, request, baseline_tag(self._id)).start(self._scratch)
            backup_id, fresh = created.backup_id, not created.reused
        rt = self._rt
        waiter = BackupWaiter(
            self._gateway, self._invocation.deadline, rt.poll_policy, rt.policy.min_attempt_s, rt.progress
        )
        waited = waiter.wait(BackupOutcome(self._id, OutcomeStatus.CREATED, backup_id=backup_id))
        if waited.status is OutcomeStatus.PENDING:
            return Blocked(
                True,
                f"the empty baseline backup {backup_id} of the scratch instance was still being taken at the "
                f"deadline; {NOTHING_IMPORTED}: the next run waits for it",
                SCRATCH_UNCHANGED,
            )
        if waited.status is not OutcomeStatus.COMPLETED:
            return Blocked(
                False,
                f"the empty baseline backup {backup_id} of the scratch instance failed "
                f"({waited.error_code or waited.reason}); {NOTHING_IMPORTED}: the next drill takes another",
                SCRATCH_UNCHANGED,
            )
        if fresh:  # seen empty just before it began: nothing to restore yet
            return self._seen_empty(f"its empty baseline backup {backup_id}", None)
        return self._restore_baseline(occasion)

    def _seen_empty(self, after: str, deadline_first: Blocked | None) -> Blocked | None:
        """Wait until the statistics show 0 keys. Time running out is ``deadline_first`` (the flush is still
        emptying it); without one (a baseline restored), keys still there fail, an unknown count is pending."""
        if self._poll(lambda: 0 if self._gateway.key_counts().get(self._id) == 0 else None) == 0:
            return None
        if deadline_first is not None:
            return deadline_first
        keys = self._gateway.key_counts().get(self._id)
        if keys is None:
            return Blocked(
                True,
                f"the scratch instance's key count was still unknown at the deadline after {after}; "
                f"{NOTHING_IMPORTED}: the next run empties it again",
                SCRATCH_NOT_SEEN_EMPTY,
            )
        return Blocked(
            False,
            f"the scratch instance holds {keys} keys after {after}, so that baseline is not empty; "
            f"{NOTHING_IMPORTED}: delete that backup, empty the instance once (e.g. FLUSHALL through redis-cli), "
            "and the next drill takes a new baseline",
            SCRATCH_NOT_SEEN_EMPTY,
        )

    def _not_empty(self, keys: int | None) -> str:
        held = f"holds {keys} keys" if keys is not None else "has a key count the statistics do not show"
        return (
            f"the scratch instance {self._id} runs Redis {self._scratch.engine_version or '(unknown version)'}, "
            "which DCS cannot flush (only 4.0 and 5.0), and has no empty baseline backup to restore yet; it "
            f"{held}: empty it once (e.g. FLUSHALL through redis-cli), and the next drill takes its baseline "
            f"backup; {NOTHING_IMPORTED}"
        )
