"""Building the official SDK's DcsClient for one invocation's credentials."""

from __future__ import annotations

from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdcs.v2.dcs_client import DcsClient
from huaweicloudsdkdcs.v2.region.dcs_region import DcsRegion

from dcs_backup.access import DcsAccess
from dcs_backup.errors import ConfigurationError

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
    builder = (
        DcsClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_exception_handler(RetryAfterKeepingHandler())
    )
    if access.endpoint:
        builder = builder.with_endpoints([access.endpoint])
    else:
        builder = builder.with_region(_region(str(access.region)))
    return builder.build(), config


def _region(region_id: str) -> Any:
    try:
        return DcsRegion.value_of(region_id)
    except KeyError:
        raise ConfigurationError(
            f"DCS_REGION {region_id!r} is not a DCS region this function knows; "
            "check the region id (e.g. cn-north-4) or set DCS_ENDPOINT"
        ) from None
