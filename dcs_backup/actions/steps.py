"""What every action does around its own steps: the gateway, the targets, later steps in the pool, refused keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import structlog

from dcs_backup.actions.runner import run_jobs, run_within
from dcs_backup.config import Settings
from dcs_backup.dcs.credentials_gate import refused
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.invocation import Invocation
from dcs_backup.outcome import BackupOutcome, OutcomeStatus, failure_reason
from dcs_backup.platform.calls import CallError, ErrorKind
from dcs_backup.platform.retry import Deadline
from dcs_backup.request import BackupRequest
from dcs_backup.runtime import Runtime
from dcs_backup.selection.resolve import resolve_targets
from dcs_backup.selection.targets import Target

log = structlog.get_logger("dcs_backup")


class RunTargets(NamedTuple):
    """The targets; why the run failed as a whole (the selection matched nothing, or was unreadable);
    and whether it matched nothing."""

    targets: list[Target]
    failure: str | None
    empty: bool


def gateway_for(invocation: Invocation, rt: Runtime) -> DcsGateway:
    return DcsGateway(invocation.access, invocation.deadline, rt.policy, rt.dcs_timeouts, page_sizes=rt.page_sizes)


def run_targets(request: BackupRequest, settings: Settings, gateway: DcsGateway, deadline: Deadline) -> RunTargets:
    """The request's targets, read under the deadline; a selection that cannot be read still leaves the
    named instances."""
    try:
        targets = run_within(deadline, "ListInstances", lambda: resolve_targets(request, settings, gateway))
    except CallError as error:
        code = f" ({error.error_code})" if error.error_code else ""
        reason = f"instance selection failed: {failure_reason(error)}{code}"
        if error.kind is not ErrorKind.CREDENTIALS:  # refused keys are reported once, for the whole run
            log.error(reason, error_code=error.error_code, dcs_request_id=error.request_id)
        return RunTargets([Target(instance_id) for instance_id in request.instance_ids], reason, False)
    selection = request.selection
    if targets or selection is None or selection.allow_empty:
        return RunTargets(targets, None, False)
    reason = f"no instance matched the selection: {selection.describe()}"
    log.error(reason)
    return RunTargets(targets, reason, True)


def credentials_failure(gateway: DcsGateway) -> str | None:
    """The run's one report of refused keys (every target failed with it, without an ERROR line of its own)."""
    rejection = gateway.credentials_rejection
    if rejection is None:
        return None
    reason = refused(rejection.operation, rejection).message
    log.error(reason, error_code=rejection.error_code, dcs_request_id=rejection.request_id)
    return reason


class FollowUp(NamedTuple):
    """A later step for some targets, by their outcome so far, in the same bounded pool."""

    targets: list[Target]
    max_concurrency: int
    deadline: Deadline

    def run(
        self,
        outcomes: list[BackupOutcome],
        wanted: Callable[[BackupOutcome], bool],
        step: Callable[[BackupOutcome], BackupOutcome],
        late: Callable[[BackupOutcome], BackupOutcome],
    ) -> list[BackupOutcome]:
        """Outcomes in the same order, the ``wanted`` ones replaced by what ``step`` made of them;
        ``late`` says what a step still running at the deadline leaves."""
        current = {o.instance_id: o for o in outcomes if wanted(o)}
        chosen = [t for t in self.targets if t.instance_id in current]
        done = run_jobs(
            chosen,
            lambda target: step(current[target.instance_id]),
            self.max_concurrency,
            self.deadline,
            failed=lambda target, reason: current[target.instance_id]._replace(
                status=OutcomeStatus.FAILED, reason=reason
            ),
            late=lambda target, _: late(current[target.instance_id]),
        )
        by_id = {o.instance_id: o for o in done}
        return [by_id.get(o.instance_id, o) for o in outcomes]
