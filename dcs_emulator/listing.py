"""ListInstances as DCS documents it: its filters, and list items without ``cache_mode``."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dcs_emulator.model import Instance, malformed_request
from dcs_emulator.state import EmulatorState, iso_time, tags_json


@dataclass(frozen=True)
class InstanceQuery:
    """The query of one ListInstances call; absent filters match everything."""

    instance_id: str = ""
    name: str = ""
    name_equal: bool = False
    status: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    include_failure: bool = False
    include_delete: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> InstanceQuery:
        return cls(
            instance_id=args.get("instance_id", ""),
            name=args.get("name", ""),
            name_equal=args.get("name_equal") == "true",
            status=args.get("status", ""),
            tags=_tag_pairs(args.get("tags", "")),
            include_failure=args.get("include_failure") == "true",
            include_delete=args.get("include_delete") == "true",
        )

    def matches(self, instance: Instance) -> bool:
        return (
            self._listed(instance)
            and self.instance_id in ("", instance.instance_id)
            and self._named(instance.name)
            and self.status in ("", instance.status)
            and all(instance.tags.get(key) == value for key, value in self.tags)
        )

    def _listed(self, instance: Instance) -> bool:
        """Instances that failed to be created or were deleted are shown only on request."""
        return (self.include_delete or not instance.deleted) and (
            self.include_failure or instance.status != "CREATEFAILED"
        )

    def _named(self, name: str) -> bool:
        if not self.name:
            return True
        return name == self.name if self.name_equal else self.name in name


def matching_instances(state: EmulatorState, args: Mapping[str, str]) -> list[Instance]:
    """The instances the query selects, newest first (ties in the order they were added)."""
    query = InstanceQuery.parse(args)
    found = [i for i in state.instances.values() if query.matches(i)]
    return sorted(found, key=lambda i: i.created_at, reverse=True)


def list_item_json(instance: Instance) -> dict[str, Any]:
    """An item of ListInstances' ``instances``: the SDK's InstanceListInfo fields, no ``cache_mode``."""
    salt = zlib.crc32(instance.instance_id.encode("utf-8"))
    return {
        "instance_id": instance.instance_id,
        "name": instance.name,
        "engine": "Redis",
        "engine_version": instance.engine_version,
        "status": instance.status,
        "sub_status": "",
        "spec_code": instance.spec_code,
        "capacity": instance.capacity,
        "capacity_minor": "",
        "max_memory": instance.capacity * 1024,
        "used_memory": salt % (instance.capacity * 1024),
        "ip": f"192.168.{salt % 256}.{salt // 256 % 254 + 1}",
        "port": 6379,
        "domain_name": f"redis-{instance.instance_id}.dcs.huaweicloud.com",
        "created_at": iso_time(instance.created_at),
        "updated_at": iso_time(instance.created_at),
        "tags": None if instance.list_tags_null else tags_json(instance),
        "enterprise_project_id": "0",
        "description": "",
        "charging_mode": 0,
        "az_codes": ["cn-north-4a"],
        "cpu_type": "x86_64",
        "enable_ssl": False,
        "no_password_access": "false",
    }


def _tag_pairs(value: str) -> tuple[tuple[str, str], ...]:
    """``key=value`` pairs separated by commas; a bare key is not a documented filter, so it is refused."""
    if not value:
        return ()
    pairs = [entry.partition("=") for entry in value.split(",")]
    if any(not key or not sep for key, sep, _ in pairs):
        raise malformed_request("Invalid tags: use key=value pairs separated by commas.")
    return tuple((key, tag_value) for key, _, tag_value in pairs)
