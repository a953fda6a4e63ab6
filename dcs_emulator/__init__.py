"""A local DCS v2 API emulator for development and tests; never deployed with the function.

It verifies the SDK's SDK-HMAC-SHA256 signatures, keeps backup state per instance, answers
with DCS's JSON shapes and error codes, and can inject faults.
"""

from dcs_emulator.faults import TRANSIENT_FAULTS, Fault, FaultKind
from dcs_emulator.model import Backup, Instance
from dcs_emulator.server import DcsEmulator
from dcs_emulator.state import EmulatorState

__all__ = ["TRANSIENT_FAULTS", "Backup", "DcsEmulator", "EmulatorState", "Fault", "FaultKind", "Instance"]
