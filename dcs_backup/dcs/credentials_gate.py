"""One verdict on the agency's keys per invocation: once DCS refuses them, nothing more is signed with them.

Huawei's gateway locks an AK/SK after a few refused signatures in a row, so a fleet of targets must
not each find out for itself. The invocation's first DCS attempt goes alone; the others wait for its
answer, but not for long: the gateway refuses keys at once, so a slow answer says nothing about them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from dcs_backup.dcs.errors import rejects_credentials
from dcs_backup.platform.calls import CREDENTIALS_REJECTED, CallError, Classify, ErrorKind
from dcs_backup.platform.retry import Deadline

T = TypeVar("T")
FIRST_VERDICT_WAIT_S = 3.0


class CredentialsGate:
    """Lets calls through until DCS refuses the keys; then refuses every later call without sending it."""

    def __init__(self, deadline: Deadline, classify: Classify) -> None:
        self._deadline = deadline
        self._classify = classify
        self._lock = threading.Lock()
        self._first_thread: int | None = None
        self._first_done = threading.Event()
        self.rejection: CallError | None = None

    def call(self, operation: str, send: Callable[[], T]) -> T:
        """``send()``'s result; a refusal of the keys, now or earlier, raises a CREDENTIALS CallError."""
        first = self._take_first()
        if not first and threading.get_ident() != self._first_thread:  # the first call's own look-ups go on
            self._wait_for_first_verdict()
        try:
            self._refuse_if_rejected(operation)
            return send()
        except CallError as error:
            if error.kind is ErrorKind.CREDENTIALS or not rejects_credentials(error):
                raise
            raise refused(operation, error) from None  # the attempt that got it noted the rejection
        finally:
            if first:
                self._first_done.set()

    def attempt(self, operation: str, send: Callable[[], T]) -> Callable[[], T]:
        """``send`` as one attempt of a call loop: a refusal of the keys is noted before anyone waiting
        is let go, and the first attempt's end, whatever it was, lets them go."""

        def attempt_once() -> T:
            try:
                return send()
            except Exception as exc:
                self._note(exc, operation)
                raise
            finally:
                if threading.get_ident() == self._first_thread:
                    self._first_done.set()

        return attempt_once

    def _wait_for_first_verdict(self) -> None:
        if not self._first_done.wait(timeout=min(FIRST_VERDICT_WAIT_S, self._deadline.remaining())):
            self._first_done.set()  # no verdict in time: nobody waits for this one again

    def _note(self, exc: Exception, operation: str) -> None:
        try:
            error = self._classify(exc, operation)
        except Exception:  # noqa: BLE001 - not a call failure: the loop re-raises it itself
            return
        if rejects_credentials(error):
            with self._lock:
                self.rejection = self.rejection or error

    def _take_first(self) -> bool:
        with self._lock:
            if self._first_thread is not None:
                return False
            self._first_thread = threading.get_ident()
            return True

    def _refuse_if_rejected(self, operation: str) -> None:
        if self.rejection is not None:
            raise refused(operation, self.rejection)


def refused(operation: str, rejection: CallError) -> CallError:
    """The error every call of the invocation ends with once the keys were refused (by ``rejection``)."""
    answer = " ".join(str(part) for part in (rejection.status_code, rejection.error_code) if part)
    error = CallError(
        ErrorKind.CREDENTIALS,
        operation,
        f"{CREDENTIALS_REJECTED}: DCS answered {answer} to {rejection.operation} ({rejection.message}); "
        "no further DCS call is made with these keys",
        status_code=rejection.status_code,
        error_code=rejection.error_code,
        request_id=rejection.request_id,
    )
    error.attempts = rejection.attempts if operation == rejection.operation else 0
    return error
