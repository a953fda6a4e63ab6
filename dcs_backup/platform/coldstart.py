"""What a cold start does around the function's imports, so that they cost less.

FunctionGraph imports ``handler`` once per container; everything here runs then, never per
invocation:

- imports the function never uses become stand-ins (``deferred``); the SDK's ~400 model
  modules stay unloaded too, by ``dcs.sdk_models``, which ``dcs_backup.dcs`` installs as it loads;
- the garbage collector is paused while ~540 modules load (they make no garbage worth a pass),
  and what they built is then frozen: it lives as long as the container, so no later collection
  walks it, which keeps invocations and the container's exit short.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from dcs_backup.platform import deferred

# Imported by the SDK and structlog when they load, used only on paths the function never takes.
DEFERRED_MODULES = (
    "configparser",  # the SDK's credentials-file provider
    "pyasn1.codec.der.decoder",  # the SDK's SM2 and ECDSA signers
    "pyasn1.codec.der.encoder",
    "pyasn1.type.univ",
)


@contextmanager
def loading() -> Iterator[None]:
    """Wrap the function's imports: defer what it never uses, pause then freeze the collector."""
    for name in DEFERRED_MODULES:
        deferred.defer(name)
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
