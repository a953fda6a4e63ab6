"""Demo mode: the bundled DCS emulator with its seeded instances, and the environment pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from dcs_emulator import DcsEmulator, EmulatorState


def wants_demo_mode() -> bool:
    """No credentials and no endpoint: there is nothing real to talk to."""
    return not (os.environ.get("HUAWEICLOUD_SDK_AK") or os.environ.get("DCS_ENDPOINT"))


@contextmanager
def demo_mode() -> Iterator[DcsEmulator]:
    """Start the emulator and set the variables the function and LocalContext.from_env read."""
    state = EmulatorState.from_seed()
    with DcsEmulator(state) as emulator:
        access_key, secret_key = next(iter(state.credentials.items()))
        os.environ.update(
            {
                "DCS_ENDPOINT": emulator.endpoint,
                "DCS_PROJECT_ID": state.project_id,
                "HUAWEICLOUD_SDK_AK": access_key,
                "HUAWEICLOUD_SDK_SK": secret_key,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        os.environ.setdefault("DCS_INSTANCE_IDS", ",".join(state.instances))
        structlog.get_logger("devkit.demo").info(
            "demo mode: no credentials and no DCS_ENDPOINT, using the local DCS emulator",
            endpoint=emulator.endpoint,
            instances=list(state.instances),
        )
        yield emulator
