"""The package's layout holds: each folder imports only what it may, and no modules import each other in a loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "dcs_backup"
# Each capability's folder holds its part of the request, its pure rules and its job.
CAPABILITIES = frozenset({"selection", "backup", "completion", "retention", "export", "audit", "restore", "drill"})
# The shared contracts: the request, its configured defaults, the outcome and answers, the backup marker.
CONTRACTS = frozenset({"config", "request", "outcome", "responses", "idempotency", "invocation", "runtime"})
ALLOWED = {
    "platform": frozenset({"platform"}),
    "dcs": frozenset({"platform", "dcs"}),
    "triggers": frozenset({"platform", "triggers", "request", "idempotency"}),
    # every capability acts on selection's targets; the others are composed by an action, never by each other
    **{name: frozenset({"platform", "dcs", name, "selection"}) | CONTRACTS for name in CAPABILITIES},
    **{name: frozenset({"platform", "dcs", "triggers"}) | CAPABILITIES | CONTRACTS for name in CONTRACTS},
    "actions": frozenset({"platform", "dcs", "actions"}) | CAPABILITIES | CONTRACTS,
}


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    """Every dcs_backup module the file imports, also inside functions and TYPE_CHECKING blocks."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dcs_backup"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("dcs_backup"))
    return found


def _zone(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "package"


MODULES = _modules()
GRAPH = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _zone(m) in ALLOWED))
def test_a_module_imports_only_the_layers_its_folder_may_use(module: str) -> None:
    zone = _zone(module)
    wrong = sorted(m for m in GRAPH[module] if _zone(m) not in ALLOWED[zone] | {"package"})
    assert not wrong, f"{module} ({zone}) imports {wrong}"


def test_no_modules_import_each_other_in_a_loop() -> None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail(f"import loop: {' -> '.join([*path[path.index(module) :], module])}")
        if module in done:
            return
        for imported in sorted(GRAPH[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])
