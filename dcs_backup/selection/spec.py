"""Choosing instances by tag, by name or all of them: the criteria, their rules and how they match.

Shared by the request's ``select`` field and the DCS_SELECT_* defaults, so both obey one rule set.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any, NamedTuple

from dcs_backup.dcs.models import InstanceInfo
from dcs_backup.platform.errors import FieldProblem, unknown_field_problems
from dcs_backup.platform.text import is_utf8_text, show_value

MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 255
MAX_NAME_PATTERN_LENGTH = 128
SELECT_FIELDS = ("tags", "name", "all", "allow_empty")
# A DCS tag filter is "k=v,k2=v2": pairs holding these characters are matched here instead.
_FILTER_SEPARATORS = (",", "=")


class Selection(NamedTuple):
    """Instances that carry every tag (a None value: the key with any value) and whose name fits the glob."""

    tags: Mapping[str, str | None] = MappingProxyType({})
    name: str | None = None
    all: bool = False
    allow_empty: bool = False

    def dcs_tag_filter(self) -> str | None:
        """The ``key=value`` pairs DCS can filter on itself; key-only tags are matched client-side."""
        pairs = [
            f"{key}={value}"
            for key, value in sorted(self.tags.items())
            if value is not None and not any(sep in key + value for sep in _FILTER_SEPARATORS)
        ]
        return ",".join(pairs) or None

    def matches_name(self, instance: InstanceInfo) -> bool:
        return self.name is None or fnmatchcase(instance.name or "", self.name)

    def matches_tags(self, tags: Mapping[str, str]) -> bool:
        """Every tag criterion (AND); ``tags`` are the instance's own."""
        return all(key in tags and (value is None or tags[key] == value) for key, value in self.tags.items())

    def describe(self) -> str:
        """The criteria in words, for a selection that matched nothing."""
        if self.all:
            return "all instances of the project"
        parts = []
        if self.tags:
            shown = ", ".join(key if value is None else f"{key}={value}" for key, value in self.tags.items())
            parts.append(f"tags {shown}")
        if self.name is not None:
            parts.append(f"name {self.name!r}")
        return " and ".join(parts)


def selection_problems(raw: Any) -> tuple[Selection | None, list[FieldProblem]]:
    """Validate a ``select`` object: the Selection, or (sub-field, problem) pairs."""
    if not isinstance(raw, Mapping):
        return None, [FieldProblem("select", "must be an object with tags, name, all and/or allow_empty")]
    problems = unknown_field_problems(raw, SELECT_FIELDS, "select")
    tags = raw.get("tags")
    if tags is not None:
        problems += [FieldProblem("select.tags", problem) for problem in tag_problems(tags)]
    name = raw.get("name")
    if name is not None:
        problems += [FieldProblem("select.name", problem) for problem in name_problems(name)]
    # null counts as absent: the template writes unset optional fields so
    everything = _absent_as(raw.get("all"), False)
    if everything is not False and everything is not True:
        problems.append(FieldProblem("select.all", f"must be true when given (got {show_value(everything)})"))
    elif everything and (tags is not None or name is not None):
        problems.append(FieldProblem("select.all", "cannot be combined with tags or name"))
    allow_empty = _absent_as(raw.get("allow_empty"), False)
    if not isinstance(allow_empty, bool):
        problems.append(FieldProblem("select.allow_empty", f"must be true or false (got {show_value(allow_empty)})"))
    if not everything and tags is None and name is None:
        problems.append(FieldProblem("select", "needs at least one of tags, name or all"))
    if problems:
        return None, problems
    return Selection(tags=dict(tags or {}), name=name, all=everything, allow_empty=allow_empty), []


def _absent_as(value: Any, default: Any) -> Any:
    return default if value is None else value


def tag_problems(tags: Any) -> list[str]:
    """The rules for tag criteria: 1–20 pairs, keys 1–128 characters, values a string ≤ 255 or null."""
    if not isinstance(tags, Mapping) or not 1 <= len(tags) <= MAX_TAGS:
        return [f"must be an object of 1 to {MAX_TAGS} tags, key to value (a string, or null for any value)"]
    problems = []
    for key, value in list(tags.items())[:MAX_TAGS]:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY_LENGTH or not is_utf8_text(key):
            problems.append(f"key {show_value(key)}: must be 1 to {MAX_TAG_KEY_LENGTH} characters")
        elif value is not None and (
            not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH or not is_utf8_text(value)
        ):
            problems.append(
                f"value of {show_value(key)}: must be text of at most {MAX_TAG_VALUE_LENGTH} characters or null"
            )
    return problems


def name_problems(name: Any) -> list[str]:
    """A glob (``*``, ``?``, ``[..]``), matched case-sensitively; never a regular expression."""
    if isinstance(name, str) and 1 <= len(name) <= MAX_NAME_PATTERN_LENGTH and is_utf8_text(name):
        return []
    return [f"must be a name pattern of 1 to {MAX_NAME_PATTERN_LENGTH} characters (*, ? and [..] as in a shell)"]


def repeated_tag_keys(raw: str) -> list[str]:
    """Keys a DCS_SELECT_TAGS list names twice (``backup=daily,backup=weekly`` can match nothing)."""
    keys = [part.partition("=")[0].strip() for part in raw.split(",")]
    return sorted({key for key in keys if keys.count(key) > 1})


def parse_tag_list(raw: str) -> dict[str, str | None]:
    """``env=prod,backup`` → {"env": "prod", "backup": None}: the DCS_SELECT_TAGS form."""
    tags: dict[str, str | None] = {}
    for part in raw.split(","):
        key, has_value, value = part.partition("=")
        tags[key.strip()] = value.strip() if has_value else None
    return tags
