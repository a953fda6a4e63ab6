"""A FunctionGraph-like context for running the function on a workstation."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping

DEFAULT_TIMEOUT_S = 300


class LocalContext:
    """The context methods the function uses, answered from the environment.

    Credentials come from the SDK's usual variables (HUAWEICLOUD_SDK_AK, _SK,
    _SECURITY_TOKEN), standing in for the agency keys FunctionGraph provides.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._request_id = str(uuid.uuid4())
        timeout = self._env.get("RUNTIME_TIMEOUT", "")
        self._timeout_s = int(timeout) if timeout.isdigit() and int(timeout) > 0 else DEFAULT_TIMEOUT_S
        self._started = time.monotonic()

    def getRequestID(self) -> str:  # noqa: N802 - FunctionGraph's method names
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:  # noqa: N802
        return max(0, int((self._timeout_s - (time.monotonic() - self._started)) * 1000))

    def getRunningTimeInSeconds(self) -> int:  # noqa: N802
        return self._timeout_s

    def getSecurityAccessKey(self) -> str:  # noqa: N802
        return self._env.get("HUAWEICLOUD_SDK_AK", "")

    def getSecuritySecretKey(self) -> str:  # noqa: N802
        return self._env.get("HUAWEICLOUD_SDK_SK", "")

    def getSecurityToken(self) -> str:  # noqa: N802
        return self._env.get("HUAWEICLOUD_SDK_SECURITY_TOKEN", "")

    def getProjectID(self) -> str:  # noqa: N802
        return self._env.get("DCS_PROJECT_ID") or self._env.get("HUAWEICLOUD_SDK_PROJECT_ID", "")

    def getFunctionName(self) -> str:  # noqa: N802
        return self._env.get("RUNTIME_FUNC_NAME", "dcs-backup")

    def getVersion(self) -> str:  # noqa: N802
        return self._env.get("RUNTIME_FUNC_VERSION", "local")

    def getUserData(self, key: str) -> str:  # noqa: N802
        return self._env.get(key, "")
