"""The key count a DCS backup's own files declare: RDB RESIZEDB counts, read from each file's first bytes.

Only a drill reads it (a ranged read of each shard file's head through its download link, never the
whole file); the export's link policy and RDB header reader judge what arrives.
"""

from __future__ import annotations

from typing import NamedTuple

from dcs_backup.config import Settings
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.outcome import failure_reason
from dcs_backup.platform.calls import RUN_ENDING_KINDS, CallError, CallLoop
from dcs_backup.platform.retry import Deadline, RetryPolicy

HEAD_BYTES = 64 * 1024  # AUX fields and functions come first; RESIZEDB sat within 200 bytes of real files
LINK_EXPIRATION_S = 300


class DeclaredKeys(NamedTuple):
    """The keys the backup declares over all its shards and databases, or None and why it is unknown."""

    keys: int | None
    why_unknown: str | None = None


def declared_keys(
    gateway: DcsGateway,
    instance_id: str,
    backup_id: str,
    settings: Settings,
    deadline: Deadline,
    policy: RetryPolicy,
) -> DeclaredKeys:
    """The sum of every shard file's RESIZEDB counts; unknown for an AOF, a header past HEAD_BYTES, or a link
    the link policy refuses."""
    import requests

    from dcs_backup.export.download import LinkDownload
    from dcs_backup.export.errors import classify
    from dcs_backup.export.links import LinkPolicy
    from dcs_backup.export.spec import obs_endpoint
    from dcs_backup.export.verify.base import CorruptFileError
    from dcs_backup.export.verify.rdb import RdbVerifier

    try:
        files = gateway.list_backup_file_links(instance_id, backup_id, LINK_EXPIRATION_S)
    except CallError as error:
        if error.kind in RUN_ENDING_KINDS:
            raise
        code = f" ({error.error_code})" if error.error_code else ""
        return DeclaredKeys(None, f"the backup's files could not be listed: {failure_reason(error)}{code}")
    links = LinkPolicy.for_export(
        settings.link_domains, settings.region, obs_endpoint(settings.obs_endpoint, settings.region) or ""
    )
    total = 0
    with requests.Session() as session:
        for file in files:
            if not file.file_name.endswith(".rdb"):
                return DeclaredKeys(None, f"{file.file_name} is not an RDB file: its key count is not in its head")
            problem = links.problem(file.link)
            if problem is not None:
                return DeclaredKeys(None, f"{file.file_name}: the download link was not followed: {problem}")
            download = LinkDownload(file, session, CallLoop(deadline, policy, classify))
            try:
                size = download.open()
                head = bytearray(min(size, HEAD_BYTES))
                download.fill(memoryview(head))
            except CallError as error:
                return DeclaredKeys(None, f"{file.file_name}: its head could not be read: {error.message}")
            finally:
                download.close()
            verifier = RdbVerifier()
            try:
                verifier.feed(bytes(head))
                keys_by_db = verifier.declared("not checked").keys_by_db
            except CorruptFileError as error:
                return DeclaredKeys(None, f"{file.file_name}: its head is not a readable RDB header: {error}")
            if keys_by_db is None:
                return DeclaredKeys(None, f"{file.file_name} declares no key count in its first {HEAD_BYTES} bytes")
            total += sum(keys_by_db.values())
    return DeclaredKeys(total)
