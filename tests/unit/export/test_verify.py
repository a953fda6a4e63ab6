"""The stream verifiers, over Redis's own test vectors and the emulator's files, fed in any pieces."""

from __future__ import annotations

import itertools

import anycrc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck
from dcs_emulator.backup_files import GeneratedFile

# Accepted by redis-check-rdb 7.0.15 as "Checksum OK": an empty v10 file, and one with k=v in db0.
EMPTY_V10 = bytes.fromhex("524544495330303130ff" + "a9fd37fe89a77eeb")
ONE_KEY_V10 = bytes.fromhex("524544495330303130fe00fb010000016b0176ff" + "bfc684baad6ca103")
AOF = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
MANIFEST = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"


def _rdb_with_value(value: bytes) -> bytes:
    """A v10 RDB holding k=``value`` in db0 (a value under 16 KiB), with its CRC-64."""
    length = bytes([0x40 | len(value) >> 8, len(value) & 0xFF])  # a 14-bit RDB length
    body = b"REDIS0010\xfe\x00\xfb\x01\x00\x00\x01k" + length + value + b"\xff"
    crc: int = anycrc.Model("CRC64-REDIS").calc(body)
    return body + crc.to_bytes(8, "little")


def _check(data: bytes, claimed: str, cuts: list[int] | None = None) -> Verification:
    check = FileCheck(claimed)
    edges = [0, *sorted(set(cuts or [])), len(data)]
    for begin, end in itertools.pairwise(edges):
        check.feed(data[begin:end])
    return check.finish()


class TestRdb:
    def test_redis_test_vectors_are_verified(self) -> None:
        assert _check(EMPTY_V10, "rdb")[:3] == ("rdb", "verified", 10)
        assert _check(ONE_KEY_V10, "rdb").keys_by_db == {0: 1}

    @given(st.lists(st.integers(min_value=1, max_value=len(ONE_KEY_V10) - 1), max_size=8))
    def test_any_split_of_the_stream_gives_the_same_verdict(self, cuts: list[int]) -> None:
        assert _check(ONE_KEY_V10, "rdb", cuts) == _check(ONE_KEY_V10, "rdb")

    @given(st.integers(min_value=0, max_value=len(ONE_KEY_V10) - 9))
    def test_any_flipped_byte_before_the_checksum_is_caught(self, offset: int) -> None:
        damaged = bytearray(ONE_KEY_V10)
        damaged[offset] ^= 0x01
        with pytest.raises(CorruptFileError):
            _check(bytes(damaged), "rdb")

    def test_a_zero_checksum_is_absent_not_verified(self) -> None:
        assert _check(ONE_KEY_V10[:-8] + bytes(8), "rdb").checksum == "absent"

    @pytest.mark.parametrize("version", [b"0004", b"0013", b"00x9"])
    def test_a_version_the_verifier_does_not_know_is_refused(self, version: bytes) -> None:
        with pytest.raises(CorruptFileError, match="version"):
            _check(b"REDIS" + version + ONE_KEY_V10[9:], "rdb")

    def test_a_file_cut_short_is_refused(self) -> None:
        with pytest.raises(CorruptFileError, match="ends before"):
            _check(ONE_KEY_V10[:-3], "rdb")

    @given(st.lists(st.integers(min_value=1, max_value=len(ONE_KEY_V10) + len(EMPTY_V10) - 1), max_size=6))
    def test_two_whole_files_joined_into_one_are_refused(self, cuts: list[int]) -> None:
        # the CRC-64 is 0 again after a file and its CRC: the joined file's own CRC would pass
        with pytest.raises(CorruptFileError, match="two files joined") as refused:
            _check(ONE_KEY_V10 + EMPTY_V10, "rdb", cuts)
        assert refused.value.offset == len(ONE_KEY_V10)

    def test_a_value_that_holds_an_rdb_start_is_no_joined_file(self) -> None:
        data = _rdb_with_value(b"x" * 50 + b"\xff" + b"\x01" * 8 + ONE_KEY_V10 + b"y" * 50)
        assert _check(data, "rdb", [60, 70])[:2] == ("rdb", "verified")

    def test_a_large_generated_file_reads_its_header(self) -> None:
        data = GeneratedFile("dump.rdb", 3 << 20, "seed").read()
        verdict = _check(data, "rdb", [5, 1000, 1 << 20])
        assert verdict.aux is not None and verdict.aux["redis-ver"] == "7.0.15"


class TestAof:
    @given(st.lists(st.integers(min_value=1, max_value=len(AOF) - 1), max_size=10))
    def test_any_split_of_the_stream_gives_the_same_verdict(self, cuts: list[int]) -> None:
        assert _check(AOF, "aof", cuts) == Verification("aof", "not checked")

    @given(st.integers(min_value=1, max_value=len(AOF) - 1).filter(lambda n: n != AOF.index(b"*3")))
    def test_a_file_cut_inside_a_command_is_refused(self, length: int) -> None:
        # (cut between two commands, it is a shorter AOF: the size DCS records is what catches that)
        with pytest.raises(CorruptFileError):
            _check(AOF[:length], "aof")


class TestPreambleAof:
    @given(st.lists(st.integers(min_value=1, max_value=len(ONE_KEY_V10) + len(AOF) - 1), max_size=8))
    def test_the_preamble_is_verified_and_the_commands_checked(self, cuts: list[int]) -> None:
        assert _check(ONE_KEY_V10 + AOF, "aof", cuts) == Verification("aof", "verified", 10, {}, {0: 1})

    def test_a_preamble_without_commands_is_verified(self) -> None:
        assert _check(ONE_KEY_V10, "aof")[:2] == ("aof", "verified")

    @given(st.integers(min_value=0, max_value=len(ONE_KEY_V10) - 9))
    def test_any_flipped_byte_in_the_preamble_is_caught(self, offset: int) -> None:
        damaged = bytearray(ONE_KEY_V10 + AOF)
        damaged[offset] ^= 0x01
        with pytest.raises(CorruptFileError):
            _check(bytes(damaged), "aof")

    def test_commands_cut_short_are_refused_at_their_offset_in_the_file(self) -> None:
        with pytest.raises(CorruptFileError, match="middle of a command") as refused:
            _check(ONE_KEY_V10 + AOF[:-3], "aof")
        assert refused.value.offset == len(ONE_KEY_V10) + AOF.index(b"*3")

    def test_a_preamble_saved_without_a_checksum_is_absent_not_verified(self) -> None:
        assert _check(ONE_KEY_V10[:-8] + bytes(8) + AOF, "aof", [5]) == Verification("aof", "absent")

    def test_a_value_that_looks_like_the_preamble_end_does_not_end_it(self) -> None:
        value = b"\xff" + b"\x01" * 8 + b"*2\r\n"  # an EOF opcode, 8 bytes and a command, inside a value
        assert _check(_rdb_with_value(value * 20) + AOF, "aof", [40]).checksum == "verified"


class TestRecognition:
    def test_a_file_dcs_calls_rdb_must_start_as_one(self) -> None:
        with pytest.raises(CorruptFileError, match="not an RDB: bad magic"):
            _check(AOF, "rdb")

    @pytest.mark.parametrize(
        "head", [b"\x1f\x8b\x08" + bytes(400), b"PK\x03\x04" + bytes(400), bytes(257) + b"ustar" + bytes(300)]
    )
    def test_an_archive_is_reported_as_such(self, head: bytes) -> None:
        assert _check(head, "rdb", [3, 100]) == Verification("archive", "not checked")


class TestWhatRedisWrites:
    def test_an_aof_with_timestamp_annotations_is_an_aof(self) -> None:
        assert _check(b"#TS:1700000000\r\n" + AOF + b"#TS:1700000001\r\n" + AOF, "aof", [3, 20]).format == "aof"

    def test_the_aof_manifest_of_redis_7_is_recognised(self) -> None:
        assert _check(MANIFEST, "aof", [3]) == Verification("aof-manifest", "not checked")

    @pytest.mark.parametrize("damaged", [MANIFEST[:-1], MANIFEST + b"file x seq two type b\n", MANIFEST + b"\x00" * 9])
    def test_a_damaged_manifest_is_refused(self, damaged: bytes) -> None:
        with pytest.raises(CorruptFileError, match="manifest"):
            _check(damaged, "aof")

    def test_an_empty_aof_is_an_aof(self) -> None:
        assert _check(b"", "aof") == Verification("aof", "not checked")

    def test_a_long_value_in_the_middle_of_a_command_is_skipped_not_held(self) -> None:
        value = bytes(range(256)) * 40
        command = b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$3\r\n100\r\n" % (len(value), value)
        assert _check(command + AOF, "aof", [30, 4000, 9000, len(command) - 1]).format == "aof"

    def test_an_rdb_whose_first_value_holds_ustar_is_still_an_rdb(self) -> None:
        data = _rdb_with_value(b"x" * 238 + b"ustar" + b"y" * 100)  # at byte 257 of the file
        assert data[257:262] == b"ustar" and _check(data, "rdb")[:2] == ("rdb", "verified")

    def test_aux_values_are_printable_ascii(self) -> None:
        body = b"REDIS0010\xfa\x09redis-ver\x06\x1b[2J\r\n\xfe\x00\xfb\x00\x00\xff"
        data = body + anycrc.Model("CRC64-REDIS").calc(body).to_bytes(8, "little")
        assert _check(data, "rdb", [1, 2, 3]).aux == {"redis-ver": "?[2J??"}
