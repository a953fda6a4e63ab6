"""Which DCS endpoint a region id means, resolved once per container and checked like DCS_ENDPOINT."""

from __future__ import annotations

from functools import lru_cache

from dcs_backup.platform.endpoints import check_endpoint
from dcs_backup.platform.errors import ConfigurationError
from dcs_backup.platform.text import closest, show_value


@lru_cache(maxsize=8)
def region_endpoint(region_id: str) -> str:
    """The region's DCS endpoint; an unknown region is a configuration error, raised before any call.

    The SDK's region table is imported here, not at module level: it pulls in the region
    providers and yaml, a cold-start cost that a function given DCS_ENDPOINT does not need.
    """
    from huaweicloudsdkdcs.v2.region.dcs_region import DcsRegion

    try:
        region = DcsRegion.value_of(region_id)
    except KeyError:
        known = sorted(DcsRegion.static_fields)
        meant = closest(region_id, known)
        guess = f"did you mean {meant}? " if meant is not None else ""
        raise ConfigurationError(
            f"DCS_REGION {show_value(region_id)} is not a DCS region this function knows; {guess}"
            f"known regions: {', '.join(known)}; or set DCS_ENDPOINT"
        ) from None
    endpoint, problem = check_endpoint(f"the endpoint of DCS_REGION {show_value(region_id)}", region.endpoints[0])
    if endpoint is None:
        raise ConfigurationError(f"invalid configuration: {problem}")
    return endpoint
