"""The targets of a request: the ids it names, then the instances its selection matches.

Selection reads every page of ListInstances (DCS filters ``key=value`` tags itself; key-only
tags and the name glob are matched here, since DCS's name filter is a substring match).
"""

from __future__ import annotations

from collections.abc import Iterator

from dcs_backup.config import Settings
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import InstanceInfo
from dcs_backup.platform.errors import FieldProblem, InvalidRequestError
from dcs_backup.request import BackupRequest
from dcs_backup.selection.spec import Selection
from dcs_backup.selection.targets import Target

MAX_TARGETS = 1000
MAX_LISTING_PASSES = 3
MAX_PAGES = 1000
NOT_ALLOWED_REASON = "not in DCS_ALLOWED_INSTANCE_IDS"


def resolve_targets(request: BackupRequest, settings: Settings, gateway: DcsGateway) -> list[Target]:
    """Each instance once: named ids in their order, then selected instances by name.

    Raises InvalidRequestError when more than MAX_TARGETS would be backed up (never truncated).
    """
    named = list(request.instance_ids)
    if request.selection is None:
        return [Target(instance_id) for instance_id in named]
    selected = {info.instance_id: info for info in select_instances(request.selection, gateway)}
    targets = [Target(instance_id, known=selected.get(instance_id)) for instance_id in named]
    named_ids = set(named)
    extra = sorted(
        (info for info in selected.values() if info.instance_id not in named_ids),
        key=lambda info: (info.name or "", info.instance_id),
    )
    targets += [Target(info.instance_id, known=info, refusal=_refusal(info, settings)) for info in extra]
    if len(targets) > MAX_TARGETS:
        raise InvalidRequestError(
            [
                FieldProblem(
                    "select",
                    f"matched {len(extra)} instances, {len(targets)} targets in all; at most {MAX_TARGETS} are "
                    "backed up per invocation: narrow the selection (more tags, a name pattern) or split it "
                    "across schedules",
                )
            ]
        )
    return targets


def select_instances(selection: Selection, gateway: DcsGateway) -> list[InstanceInfo]:
    """The instances matching ``selection``, read from every page of the listing."""
    return [
        info
        for info in _listed(selection, gateway)
        if selection.matches_name(info) and (not selection.tags or selection.matches_tags(_tags_of(info, gateway)))
    ]


def _listed(selection: Selection, gateway: DcsGateway) -> Iterator[InstanceInfo]:
    """Each listed instance once, from every page.

    Paging is by offset over a listing that can change while it is read: when ``instance_num``
    changes between pages the listing is read again (at most MAX_LISTING_PASSES times) and the
    passes are united, so an instance that moved across a page boundary is not lost. A full page
    is followed by another whatever ``instance_num`` says; a page that brings nothing new ends it.
    """
    dcs_filter = selection.dcs_tag_filter()
    seen: dict[str, InstanceInfo] = {}
    for _ in range(MAX_LISTING_PASSES):
        if _read_listing(gateway, dcs_filter, seen):
            break
    yield from seen.values()


def _read_listing(gateway: DcsGateway, dcs_filter: str | None, seen: dict[str, InstanceInfo]) -> bool:
    """One pass over every page into ``seen``; whether the listing held still meanwhile."""
    offset, totals, previous = 0, set(), None
    for _ in range(MAX_PAGES):
        page = gateway.list_instances(tags=dcs_filter, offset=offset)
        totals.add(page.total)
        ids = [info.instance_id for info in page.instances]
        seen.update((info.instance_id, info) for info in page.instances if info.instance_id not in seen)
        offset += len(ids)
        full = len(ids) >= gateway.instance_page_size
        # A server that ignores the offset repeats its page: that, too, is the end.
        if not ids or ids == previous or (offset >= page.total and not full):
            break
        previous = ids
    return len(totals) == 1


def _tags_of(info: InstanceInfo, gateway: DcsGateway) -> dict[str, str]:
    """The listing's tags; when it shows none (null), the instance's own tag list."""
    if info.tags is not None:
        return info.tags
    return gateway.show_tags(info.instance_id)


def _refusal(info: InstanceInfo, settings: Settings) -> str | None:
    allowed = settings.allowed_instance_ids
    return None if allowed is None or info.instance_id in allowed else NOT_ALLOWED_REASON
