"""A large, varied, reproducible set of instances, for selection and paging tests.

Instance ``n`` (0-based) of a fleet is named ``<app>-<env>-<nnn>``; by its index it has:
- ``env`` = ``prod`` when n is even, else ``dev``; ``app`` = the name's first part;
- ``backup=daily`` when n % 3 == 0, ``backup=weekly`` when n % 6 == 1;
- ``owner=<someone>`` when n % 5 == 0 (any value: for key-only selection), ``critical=""`` when n % 10 == 7;
- ``tags`` null in ListInstances when n % 11 == 4 (ShowTags still has them);
- deleted (listed only with include_delete=true) when n % 50 == 49.
Mode, status, engine version, capacity and id are drawn from ``random.Random(seed)``: mostly RUNNING ha, with
cluster, proxy, ha_rw_split, single, and FROZEN, RESTARTING, EXTENDING, ERROR, CREATEFAILED among them.
Creation times are one hour apart, the last instance newest.
"""

from __future__ import annotations

import random
import uuid

from dcs_emulator.model import Instance

FLEET_CREATED_AT = 1_704_067_200.0  # 2024-01-01T00:00:00Z, older than the seed file's instances
_APPS = ("orders", "sessions", "catalog", "payments", "search", "profile", "cart")
_OWNERS = ("alice", "bob", "platform-team")
_MODES = (("ha", 40), ("cluster", 20), ("proxy", 15), ("ha_rw_split", 15), ("single", 10))
_STATUSES = (("RUNNING", 85), ("FROZEN", 4), ("RESTARTING", 4), ("EXTENDING", 3), ("ERROR", 2), ("CREATEFAILED", 2))


def fleet_instances(count: int, *, seed: int) -> list[Instance]:
    """``count`` instances, identical for the same ``seed``."""
    draw = random.Random(seed)
    return [_instance(n, draw) for n in range(count)]


def _instance(n: int, draw: random.Random) -> Instance:
    app, env = _APPS[n % len(_APPS)], "prod" if n % 2 == 0 else "dev"
    mode = _pick(draw, _MODES)
    return Instance(
        instance_id=str(uuid.UUID(int=draw.getrandbits(128), version=4)),
        name=f"{app}-{env}-{n:03d}",
        cache_mode=mode,
        status=_pick(draw, _STATUSES),
        engine_version=draw.choice(("4.0", "5.0", "6.0", "7.0")),
        capacity=draw.choice((8, 16, 32, 64) if mode in ("cluster", "proxy") else (1, 2, 4, 8)),
        tags=_tags(n, app, env, draw),
        created_at=FLEET_CREATED_AT + n * 3600,
        list_tags_null=n % 11 == 4,
        deleted=n % 50 == 49,
    )


def _tags(n: int, app: str, env: str, draw: random.Random) -> dict[str, str]:
    tags = {"env": env, "app": app}
    if n % 3 == 0:
        tags["backup"] = "daily"
    elif n % 6 == 1:
        tags["backup"] = "weekly"
    if n % 5 == 0:
        tags["owner"] = draw.choice(_OWNERS)
    if n % 10 == 7:
        tags["critical"] = ""
    return tags


def _pick(draw: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return draw.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]
