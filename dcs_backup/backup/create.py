"""Start this request's backup of an instance, or find the one an earlier delivery started."""

from __future__ import annotations

from dcs_backup.backup.history import read_records
from dcs_backup.dcs.gateway import DcsGateway
from dcs_backup.dcs.models import CreatedBackup, InstanceInfo
from dcs_backup.idempotency import find_tagged, tagged_remark
from dcs_backup.outcome import failure_reason
from dcs_backup.platform.calls import AMBIGUOUS_KINDS, RUN_ENDING_KINDS, CallError, ErrorKind
from dcs_backup.request import BackupRequest


class BackupStarter:
    """One request's way of starting backups: its format, its remark and the tag that marks them."""

    def __init__(self, gateway: DcsGateway, request: BackupRequest, tag: str) -> None:
        self._gateway = gateway
        self._request = request
        self._tag = tag

    def start(self, instance: InstanceInfo) -> CreatedBackup:
        """A new backup, or the one this request's lost POST or another delivery started; never two."""

        def recover(error: CallError) -> CreatedBackup | None:
            # After DCS.4096 another delivery's backup may be running (DCS refused this POST, so
            # retrying is safe); after a lost answer this POST may have landed.
            if error.kind is ErrorKind.BUSY:
                found = self._find_own(instance.instance_id)
            elif error.kind in AMBIGUOUS_KINDS:
                found = self._find_own_or_stop(instance.instance_id, error)
            else:
                return None
            return CreatedBackup(found, reused=error.kind is ErrorKind.BUSY) if found else None

        remark = tagged_remark(self._request.remark, self._tag)
        return self._gateway.create_backup(instance.instance_id, remark, self._request.backup_format, recover)

    def _find_own_or_stop(self, instance_id: str, create_error: CallError) -> str | None:
        """After a create that may have landed, only a look-up that worked allows another POST."""
        try:
            records = self._gateway.list_backups(instance_id)
        except CallError as error:
            if error.kind in RUN_ENDING_KINDS:
                raise
            stopped = CallError(
                create_error.kind,
                "CreateBackup",
                f"the backup may have been started, but {failure_reason(error)} "
                f"({error.error_code or error.kind.value}); not trying again, so as not to make a second one: "
                "a retry of the same request finds it",
                request_id=error.request_id,
            )
            stopped.attempts = create_error.attempts
            raise stopped from None
        record = find_tagged(records, self._tag)
        return record.backup_id if record else None

    def _find_own(self, instance_id: str) -> str | None:
        """This request's live backup, if the records can be read and hold one."""
        record = find_tagged(read_records(self._gateway, instance_id) or [], self._tag)
        return record.backup_id if record else None
