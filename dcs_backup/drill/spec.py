"""The drill request: which sources (the same selection as backups), what to restore, how close the keys must be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from dcs_backup.config import Settings
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError, unknown_field_problems
from dcs_backup.platform.text import show_value
from dcs_backup.request import BackupRequest, parse_backup_request

DRILL_FIELDS = ("action", "instance_ids", "select", "from", "tolerance_pct", "raise_on_failure")
_SELECTION_FIELDS = ("instance_ids", "select", "raise_on_failure")
FROM_CHOICES = ("backup", "export")
DEFAULT_TOLERANCE_PCT = 1.0
TOLERANCE_RANGE = (0.0, 50.0)


class DrillRequest(NamedTuple):
    """A validated drill: the sources as a backup request selects them, and how they are judged."""

    sources: BackupRequest  # instance_ids / selection, read as a backup request reads them
    source_kind: str = "backup"  # "backup": the newest good DCS backup record; "export": the newest verified export
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT
    raise_on_failure: bool = True


def parse_drill_request(payload: Mapping[str, Any], settings: Settings) -> DrillRequest:
    """Every problem at once; the sources follow the backup's selection rules (and its defaults)."""
    problems = unknown_field_problems(payload, DRILL_FIELDS)
    # The off-instance copy, the disaster-recovery path, is what a drill proves when one is configured.
    kind = payload.get("from", "export" if settings.default_export is not None else "backup")
    if kind not in FROM_CHOICES:
        problems.append(
            FieldProblem("from", f"must be one of {', '.join(map(repr, FROM_CHOICES))} (got {show_value(kind)})")
        )
    elif kind == "export" and settings.default_export is None:
        problems.append(FieldProblem("from", "'export' needs DCS_EXPORT_BUCKET, the bucket the exports are in"))
    tolerance = payload.get("tolerance_pct", DEFAULT_TOLERANCE_PCT)
    low, high = TOLERANCE_RANGE
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not low <= tolerance <= high:
        problems.append(
            FieldProblem(
                "tolerance_pct", f"must be a number from {low:g} to {high:g}, in percent (got {show_value(tolerance)})"
            )
        )
    selection = {field: payload[field] for field in _SELECTION_FIELDS if field in payload}
    sources: BackupRequest | None = None
    try:
        sources = parse_backup_request(selection, settings)
    except InvalidRequestError as error:
        if error.http_status != 400 and not problems:
            raise
        problems.extend(error.problems)
    if problems:
        raise InvalidRequestError(problems)
    assert sources is not None
    return DrillRequest(sources, str(kind), float(tolerance), sources.raise_on_failure)
