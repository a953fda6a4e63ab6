"""The floor of a cold start: only the imports the official SDK and structlog cannot avoid.

Loaded by ``make bench`` like the other handlers; its invocation does nothing.
"""

from __future__ import annotations

from typing import Any

import huaweicloudsdkcore.auth.credentials
import huaweicloudsdkcore.client
import requests
import structlog

UNAVOIDABLE = (requests, structlog, huaweicloudsdkcore.client, huaweicloudsdkcore.auth.credentials)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return {}
