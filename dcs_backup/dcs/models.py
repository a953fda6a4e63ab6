"""DCS's data types and limits, without the SDK, so that any module can use them cheaply."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REMARK_LENGTH = 128
MAX_INSTANCE_IDS = 100
INSTANCE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
INSTANCE_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-'"
BACKUP_FORMATS = ("rdb", "aof")


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    name: str | None
    status: str | None
    cache_mode: str | None


@dataclass(frozen=True)
class BackupRecord:
    backup_id: str
    remark: str
    status: str | None


def is_instance_id(value: object) -> bool:
    return isinstance(value, str) and INSTANCE_ID_PATTERN.fullmatch(value) is not None
