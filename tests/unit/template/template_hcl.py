"""Reading the Terraform template with python-hcl2, for the template structure tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "template"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings and keys; drop them."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(name: str) -> dict[str, Any]:
    with (TEMPLATE / name).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = unquote(hcl2.load(handle))
        return loaded


def _tf_files() -> list[str]:
    return [file.name for file in sorted(TEMPLATE.glob("*.tf"))]


def resources() -> dict[str, dict[str, Any]]:
    """Every resource of every .tf file, keyed ``kind.name``."""
    found: dict[str, dict[str, Any]] = {}
    for name in _tf_files():
        for block in load(name).get("resource", []):
            for kind, named in block.items():
                for resource_name, body in named.items():
                    found[f"{kind}.{resource_name}"] = body
    return found


def locals_() -> dict[str, Any]:
    return {k: v for name in _tf_files() for block in load(name).get("locals", []) for k, v in block.items()}


def variables() -> dict[str, dict[str, Any]]:
    return {name: body for block in load("variables.tf")["variable"] for name, body in block.items()}


def one(value: Any) -> Any:
    """A nested block as python-hcl2 gives it (a list of one) or as is."""
    return value[0] if isinstance(value, list) else value


def policy(resource: dict[str, Any]) -> dict[str, Any]:
    """A ``policy = jsonencode({...})`` argument, parsed as the HCL object it is."""
    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", resource["policy"], re.DOTALL)
    assert match, resource["policy"]
    parsed: dict[str, Any] = unquote(hcl2.loads(f"policy = {match.group(1)}\n"))
    return parsed["policy"]  # type: ignore[no-any-return]
