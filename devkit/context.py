"""A FunctionGraph-like context for running the function anywhere but FunctionGraph."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dcs_backup.platform.function_context import DEFAULT_TIMEOUT_S
from dcs_backup.platform.text import ascii_whole_number
from devkit.seed import ACCESS_KEY, SECRET_KEY

DEFAULT_MEMORY_MB = 256  # the template's memory_size default


@dataclass
class LocalContext:
    """The context methods the function calls, answering with the values given.

    The remaining time counts down from ``timeout_s``, unless ``remaining_ms`` pins it (tests).
    """

    access_key: str = ""
    secret_key: str = ""
    security_token: str = ""
    project_id: str = ""
    timeout_s: int = DEFAULT_TIMEOUT_S
    remaining_ms: int | None = None
    function_name: str = "dcs-backup"
    version: str = "local"
    memory_size: int = DEFAULT_MEMORY_MB
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LocalContext:
        """Agency keys stand-in from the SDK's usual variables; timeout from ``RUNTIME_TIMEOUT`` seconds."""
        env = os.environ if env is None else env
        timeout = ascii_whole_number(env.get("RUNTIME_TIMEOUT", "").strip())
        return cls(
            access_key=env.get("HUAWEICLOUD_SDK_AK", ""),
            secret_key=env.get("HUAWEICLOUD_SDK_SK", ""),
            security_token=env.get("HUAWEICLOUD_SDK_SECURITY_TOKEN", ""),
            project_id=env.get("DCS_PROJECT_ID") or env.get("HUAWEICLOUD_SDK_PROJECT_ID", ""),
            timeout_s=timeout or DEFAULT_TIMEOUT_S,
            function_name=env.get("RUNTIME_FUNC_NAME", "dcs-backup"),
            version=env.get("RUNTIME_FUNC_VERSION", "local"),
            memory_size=ascii_whole_number(env.get("RUNTIME_MEMORY", "").strip()) or DEFAULT_MEMORY_MB,
        )

    @classmethod
    def seeded(cls, **values: Any) -> LocalContext:
        """Signed with the emulator seed's keys, unless ``values`` say otherwise."""
        return cls(**{"access_key": ACCESS_KEY, "secret_key": SECRET_KEY, **values})

    def getRequestID(self) -> str:  # noqa: N802 - FunctionGraph's method names
        return self.request_id

    def getRemainingTimeInMilliSeconds(self) -> int:  # noqa: N802
        if self.remaining_ms is not None:
            return self.remaining_ms
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))

    def getSecurityAccessKey(self) -> str:  # noqa: N802
        return self.access_key

    def getSecuritySecretKey(self) -> str:  # noqa: N802
        return self.secret_key

    def getSecurityToken(self) -> str:  # noqa: N802
        return self.security_token

    def getProjectID(self) -> str:  # noqa: N802
        return self.project_id

    def getFunctionName(self) -> str:  # noqa: N802
        return self.function_name

    def getVersion(self) -> str:  # noqa: N802
        return self.version

    def getMemorySize(self) -> int:  # noqa: N802
        return self.memory_size
