"""A verifier's state at a part boundary as JSON, so that an export cut short continues its check next run.

The state is the verifier's own attributes (a running CRC, a few carried bytes, counts), nested
verifiers included. Only the classes named here are ever rebuilt, and a state whose shape does not
fit them (another version of the function, or a damaged record) is refused: the file is then copied
again from its start, never checked from a guessed state.
"""

from __future__ import annotations

import base64
from typing import Any

from dcs_backup.export.verify.aof import AofVerifier
from dcs_backup.export.verify.base import Verification
from dcs_backup.export.verify.check import FileCheck, _Archive
from dcs_backup.export.verify.manifest import ManifestVerifier
from dcs_backup.export.verify.preamble import PreambleAofVerifier
from dcs_backup.export.verify.rdb import RdbVerifier

_CLASSES: dict[str, type] = {
    cls.__name__: cls for cls in (FileCheck, RdbVerifier, AofVerifier, PreambleAofVerifier, ManifestVerifier, _Archive)
}


class StateError(Exception):
    """A recorded state that cannot be a verifier's."""


def snapshot(check: FileCheck) -> dict[str, Any]:
    """The check's state, JSON-ready."""
    encoded = _encode(check)
    assert isinstance(encoded, dict)
    return encoded


def restore(state: Any) -> FileCheck:
    """The check as it was when ``state`` was taken; StateError when ``state`` is not one."""
    try:
        check = _decode(state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"the recorded verifier state is unreadable ({type(exc).__name__})") from None
    if not isinstance(check, FileCheck):
        raise StateError("the recorded verifier state is not a file check's")
    return check


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, bytearray):
        return {"bytearray": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Verification):
        return {"verification": [_encode(field) for field in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(item) for item in value]}
    name = type(value).__name__
    if _CLASSES.get(name) is not type(value):
        raise TypeError(f"{name} is not a verifier whose state is kept")
    return {"object": name, "state": {attribute: _encode(v) for attribute, v in vars(value).items()}}


def _decode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise TypeError("not an encoded value")
    if "bytes" in value:
        return base64.b64decode(value["bytes"], validate=True)
    if "bytearray" in value:
        return bytearray(base64.b64decode(value["bytearray"], validate=True))
    if "verification" in value:
        return Verification(*[_decode(field) for field in value["verification"]])
    if "dict" in value:
        return {_decode(k): _decode(v) for k, v in value["dict"]}
    if "list" in value:
        return [_decode(item) for item in value["list"]]
    cls = _CLASSES[value["object"]]
    rebuilt: Any = object.__new__(cls)
    expected = set(vars(cls()) if cls is not FileCheck else vars(FileCheck("rdb")))
    state = value["state"]
    if set(state) != expected:
        raise ValueError(f"{cls.__name__}'s recorded state has other fields than this version's")
    for attribute, encoded in state.items():
        setattr(rebuilt, attribute, _decode(encoded))
    return rebuilt
