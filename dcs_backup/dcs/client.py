"""Building the official SDK's DcsClient for one invocation's credentials."""

from __future__ import annotations

from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdcs.v2.dcs_client import DcsClient
from requests.adapters import HTTPAdapter

from dcs_backup.dcs.access import DcsAccess

# Deliberately far below the SDK's (60, 120) s: DCS answers these calls in well under a
# second, and a hung call must not eat the invocation's deadline. Each attempt is further
# capped by the time left.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 20.0


class RetryAfterKeepingHandler(DefaultExceptionHandler):  # type: ignore[misc]
    """The SDK's own error parsing, plus the ``Retry-After`` header its exceptions drop."""

    def handle_exception(self, request: Any, response: Any) -> None:
        try:
            super().handle_exception(request, response)
        except ServiceResponseException as exc:
            exc.retry_after = response.headers.get("Retry-After")
            raise


def build_dcs_client(access: DcsAccess) -> tuple[DcsClient, HttpConfig]:
    """A client with its own HttpConfig, so the caller can cap each attempt's timeout.

    The project id is always given: without it the SDK would call IAM during ``build()``.
    """
    credentials = BasicCredentials(access.access_key, access.secret_key, access.project_id)
    if access.security_token:
        credentials = credentials.with_security_token(access.security_token)
    config = HttpConfig.get_default_config()
    config.timeout = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
    client = (
        DcsClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_exception_handler(RetryAfterKeepingHandler())
        .with_endpoints([access.endpoint])
        .build()
    )
    _send_every_answer_to_the_handler(client, config)
    return client, config


def _send_every_answer_to_the_handler(client: DcsClient, config: HttpConfig) -> None:
    """Stop urllib3 from retrying on its own.

    The SDK mounts ``Retry(total=0, status_forcelist=[429])``: a 429 on a GET or DELETE then
    becomes a bare ``RetryError`` (no Retry-After, no DCS error code or request id, a message
    naming the URL), and a read timeout on a GET a ``ConnectionException``. Without it every
    answer reaches the exception handler, and timeouts surface as timeouts; the function's own
    deadline-aware loop does the retrying.
    """
    adapter = HTTPAdapter(pool_connections=config.pool_connections, pool_maxsize=config.pool_maxsize, max_retries=0)
    session = client.get_http_client()._session
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
