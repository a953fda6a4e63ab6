"""``--env-file``: configuration in the dotenv form that SAM's ``--env-vars`` users and docker's ``--env-file`` know.

``KEY=VALUE`` per line; blank lines and ``#`` comments are ignored; ``export KEY=VALUE`` is accepted;
a value in single or double quotes is taken as written inside them. Nothing is interpolated.
"""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


class EnvFileError(ValueError):
    """A line that is not ``KEY=VALUE``: named by its number, never quoted (it may hold a secret)."""


def read_env_file(path: Path) -> dict[str, str]:
    """The variables the file sets, in order; the last of a repeated key wins, as in a shell."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        found = _LINE.fullmatch(line)
        if found is None:
            raise EnvFileError(f"line {number} is not KEY=VALUE")
        values[found.group(1)] = _unquoted(found.group(2).strip())
    return values


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].rstrip()
