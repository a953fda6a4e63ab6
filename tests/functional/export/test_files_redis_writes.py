"""Files written by Redis itself (7.0, Debian's build) pass the verifier as what they are; damaged ones do not.

Debian's redis-tools ships one binary that is the server when started as ``redis-server``: the tests start
it that way on a Unix socket in a temporary folder, fill a few databases and let it save.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcs_backup.export.verify.base import CorruptFileError, Verification
from dcs_backup.export.verify.check import FileCheck

PART = 4096  # small parts, so that every file crosses several


class RedisServer:
    def __init__(self, folder: Path, *options: str) -> None:
        folder.mkdir(exist_ok=True)
        self.folder = folder
        self.socket = folder / "redis.sock"
        binary = shutil.which("redis-server") or shutil.which("redis-check-rdb")
        assert binary, "Redis's tools are missing: make test installs Debian's redis-tools"
        self._process = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.socket), "--dir", str(folder), *options],
            executable=binary,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if self.socket.exists() and self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def cli(self, *words: str, db: int = 0) -> str:
        done = subprocess.run(
            ["redis-cli", "-s", str(self.socket), "-n", str(db), *words], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def fill(self) -> None:
        """A few databases of strings, an expiry, each collection type and one large value, in one redis-cli."""
        commands = [f"SELECT {db}\n" + "".join(f"SET key:{n} {'v' * (n + 1)}\n" for n in range(200)) for db in (3, 0)]
        commands.append("SET expiring soon EX 3600\nHSET hash a 1 b 2\nRPUSH list a b c d e f\n")
        commands.append("ZADD zset 1 one 2 two\nXADD stream * field value\nSET big " + "x" * 100_000 + "\n")
        subprocess.run(
            ["redis-cli", "-s", str(self.socket)], input="".join(commands), capture_output=True, text=True, check=True
        )

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(10)


@pytest.fixture(scope="module")
def redis_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("redis")
    server = RedisServer(folder, "--appendonly", "yes", "--save", "")
    try:
        server.fill()
        server.cli("BGREWRITEAOF")
        base = folder / "appendonlydir" / "appendonly.aof.2.base.rdb"
        for _ in range(100):
            if base.exists() and server.cli("INFO", "persistence").count("aof_rewrite_in_progress:0"):
                break
            time.sleep(0.05)
        server.cli("SET", "after-the-rewrite", "1")
        server.cli("SAVE")
    finally:
        server.stop()
    unchecked = RedisServer(folder / "unchecked", "--rdbchecksum", "no", "--save", "")
    try:
        unchecked.fill()
        unchecked.cli("SAVE")
    finally:
        unchecked.stop()
    aof_dir = folder / "appendonlydir"
    files = {
        "dump.rdb": (folder / "dump.rdb").read_bytes(),
        "unchecked.rdb": (folder / "unchecked" / "dump.rdb").read_bytes(),
        "base.rdb": base.read_bytes(),
        "incr.aof": (aof_dir / "appendonly.aof.2.incr.aof").read_bytes(),
        "manifest": (aof_dir / "appendonly.aof.manifest").read_bytes(),
    }
    # An AOF as Redis 5 and 6 write it: the RDB preamble, then the commands since (redis-check-aof reads it so).
    files["preamble.aof"] = files["base.rdb"] + files["incr.aof"]
    (folder / "preamble.aof").write_bytes(files["preamble.aof"])
    checked = subprocess.run(["redis-check-aof", str(folder / "preamble.aof")], capture_output=True, text=True)
    assert "RDB preamble is OK" in checked.stdout and checked.returncode == 0
    yield files


def _check(data: bytes, claimed: str) -> Verification:
    check = FileCheck(claimed)
    for start in range(0, len(data), PART):
        check.feed(data[start : start + PART])
    return check.finish()


class TestWhatRedisSaved:
    def test_an_rdb_is_verified_with_its_engine_and_keys(self, redis_files: dict[str, bytes]) -> None:
        verdict = _check(redis_files["dump.rdb"], "rdb")
        assert verdict[:3] == ("rdb", "verified", 10)
        assert verdict.aux is not None and verdict.aux["redis-ver"].startswith("7.")
        assert verdict.keys_by_db is not None and verdict.keys_by_db[0] == 207  # the first db's count

    def test_an_rdb_saved_without_a_checksum_is_absent(self, redis_files: dict[str, bytes]) -> None:
        assert _check(redis_files["unchecked.rdb"], "rdb")[:2] == ("rdb", "absent")

    def test_an_aof_with_an_rdb_preamble_is_verified(self, redis_files: dict[str, bytes]) -> None:
        assert _check(redis_files["preamble.aof"], "aof")[:3] == ("aof", "verified", 10)

    def test_the_parts_of_a_redis_7_aof_are_each_what_they_are(self, redis_files: dict[str, bytes]) -> None:
        assert _check(redis_files["base.rdb"], "aof")[:2] == ("aof", "verified")
        assert _check(redis_files["incr.aof"], "aof") == Verification("aof", "not checked")
        assert _check(redis_files["manifest"], "aof") == Verification("aof-manifest", "not checked")


class TestWhatRedisSavedDamaged:
    @pytest.mark.parametrize("name", ["dump.rdb", "preamble.aof"])
    def test_a_flipped_byte_anywhere_in_the_rdb_is_caught(self, redis_files: dict[str, bytes], name: str) -> None:
        size = len(redis_files["base.rdb" if name == "preamble.aof" else name])
        for offset in range(0, size - 9, max(1, size // 50)):
            damaged = bytearray(redis_files[name])
            damaged[offset] ^= 0x20
            with pytest.raises(CorruptFileError):
                _check(bytes(damaged), name.rsplit(".", 1)[1])

    def test_two_saves_joined_are_refused(self, redis_files: dict[str, bytes]) -> None:
        with pytest.raises(CorruptFileError, match="two files joined"):
            _check(redis_files["dump.rdb"] + redis_files["base.rdb"], "rdb")

    def test_an_aof_cut_inside_its_commands_is_refused(self, redis_files: dict[str, bytes]) -> None:
        with pytest.raises(CorruptFileError, match="middle of a command"):
            _check(redis_files["preamble.aof"][:-5], "aof")
