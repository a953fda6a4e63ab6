"""A verifier's state taken at a part boundary and restored from JSON checks the rest exactly as one unbroken run."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck
from dcs_backup.export.verify.state import StateError, restore, snapshot
from dcs_emulator.backup_files import GeneratedFile

RDB = GeneratedFile("dump.rdb", 300_000, "state-rdb").read()
AOF = GeneratedFile("appendonly.aof", 300_000, "state-aof").read()
PREAMBLE = RDB + b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
FILES = {"rdb": ("rdb", RDB), "aof": ("aof", AOF), "preamble": ("aof", PREAMBLE)}


def _resumed(claimed: str, data: bytes, cuts: list[int]) -> Verification:
    """Fed up to each cut, then stopped: the state goes through JSON and a new check takes over."""
    check = FileCheck(claimed)
    start = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        check.feed(data[start:cut])
        check = restore(json.loads(json.dumps(snapshot(check))))
        start = cut
    return check.finish()


@pytest.mark.parametrize("kind", sorted(FILES))
@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(RDB)), max_size=4))
def test_a_check_resumed_from_its_state_gives_the_same_verdict(kind: str, cuts: list[int]) -> None:
    claimed, data = FILES[kind]
    whole = FileCheck(claimed)
    whole.feed(data)
    assert _resumed(claimed, data, cuts) == whole.finish()


def test_a_damaged_file_still_fails_when_checked_across_runs() -> None:
    damaged = bytearray(RDB)
    damaged[200_000] ^= 0xFF
    with pytest.raises(CorruptFileError, match="CRC mismatch"):
        _resumed("rdb", bytes(damaged), [100_000])


@pytest.mark.parametrize(
    "state",
    [
        {"object": "Popen", "state": {}},
        {
            "object": "FileCheck",
            "state": {"_claimed": "rdb", "_first": None, "_verifier": {"object": "StateError", "state": {}}},
        },
        {"object": "FileCheck", "state": {"_claimed": "rdb"}},
        {"bytes": "not base64!"},
        ["a list"],
        None,
    ],
)
def test_a_state_that_is_not_a_checks_is_refused(state: object) -> None:
    with pytest.raises(StateError):
        restore(state)
