"""The audit action, read-only: targets → each one's newest good backup against the RPO → one report.

Imported only for an audit, to keep it out of every backup's cold start.
"""

from __future__ import annotations

import structlog

from dcs_backup.actions.runner import run_jobs
from dcs_backup.actions.steps import credentials_failure, gateway_for, run_targets
from dcs_backup.audit.auditor import AUDIT_CUT_SHORT, Auditor, DrillAudit
from dcs_backup.audit.rules import AuditReport
from dcs_backup.config import Settings
from dcs_backup.invocation import Invocation
from dcs_backup.request import BackupRequest
from dcs_backup.runtime import Runtime

log = structlog.get_logger("dcs_backup")


def audit(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> AuditReport:
    """Nothing is created or deleted; every target gets a verdict."""
    gateway = gateway_for(invocation, rt)
    targets, run_failure, _ = run_targets(request, settings, gateway, invocation.deadline)
    log.info("audit started", instance_count=len(targets), rpo_hours=request.rpo_hours)
    auditor = Auditor(gateway, request.rpo_hours, drills=_drill_audit(request, settings, invocation, rt))
    outcomes = run_jobs(
        targets,
        auditor,
        settings.max_concurrency,
        invocation.deadline,
        failed=auditor.failed,
        late=lambda target, _: auditor.failed(target, AUDIT_CUT_SHORT),
    )
    run_failure = credentials_failure(gateway) or run_failure
    report = AuditReport(
        invocation.trigger.value,
        invocation.request_id,
        request.rpo_hours,
        tuple(outcomes),
        run_failure,
        request.max_drill_age_days,
    )
    log.info("audit finished", status="succeeded" if report.succeeded else "failed", counts=report.counts)
    return report


def _drill_audit(request: BackupRequest, settings: Settings, invocation: Invocation, rt: Runtime) -> DrillAudit | None:
    """Drills are audited where they run (a scratch instance) or are asked for, from their records."""
    if request.max_drill_age_days is None and settings.drill_instance is None:
        return None
    from dcs_backup.actions.drill_records import DrillRecords

    records = DrillRecords.of(settings, invocation.access, invocation.deadline, rt.policy)
    if records is None:
        return None
    return DrillAudit(records.last_drill, request.max_drill_age_days, settings.drill_instance)
