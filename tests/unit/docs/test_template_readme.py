"""template/README.md's inputs and outputs tables, and template/examples/, agree with the Terraform files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.unit.template.template_hcl import TEMPLATE, load, unquote, variables

README = TEMPLATE / "README.md"
VARIABLES = variables()
EXAMPLES = sorted((TEMPLATE / "examples").glob("*.tfvars"))
PYTHON_TYPES = {"string": str, "number": int, "bool": bool, "list(string)": list}


def _table(heading: str) -> dict[str, list[str]]:
    """The rows of the table under ``## heading``, by the first cell's name (backticks dropped)."""
    section = README.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return {row[0].strip("`"): row[1:] for row in cells}


def _type(declared: str) -> str:
    found = re.fullmatch(r"\$\{(.*)\}", declared)
    return found.group(1) if found else declared


def _default(value: Any) -> str:
    """A default as HCL writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_default(item) for item in value) + "]"
    return str(value)


def _expected_row(body: dict[str, Any]) -> list[str]:
    required = "default" not in body
    default = "—" if required else f"`{_default(body['default'])}`"
    return [f"`{_type(body['type'])}`", default, "yes" if required else "no"]


def test_the_inputs_table_names_every_variable_and_nothing_else() -> None:
    assert list(_table("Inputs")) == list(VARIABLES)


@pytest.mark.parametrize("name", list(VARIABLES))
def test_each_inputs_row_says_the_variables_type_default_and_whether_it_is_required(name: str) -> None:
    row = _table("Inputs")[name]
    assert row[:3] == _expected_row(VARIABLES[name]), f"| `{name}` | {' | '.join(_expected_row(VARIABLES[name]))} |"
    assert row[3], f"{name} has no description"


def test_the_outputs_table_names_every_output() -> None:
    outputs = [name for block in load("outputs.tf")["output"] for name in block]
    assert list(_table("Outputs")) == outputs


def _example(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = unquote(hcl2.load(handle))
        return loaded


def test_there_are_two_examples_one_on_a_timer_and_one_exporting_a_tagged_fleet() -> None:
    examples = {path.name: _example(path) for path in EXAMPLES}
    assert set(examples) == {"single-instance-timer.tfvars", "tagged-fleet-export.tfvars"}
    single, fleet = examples["single-instance-timer.tfvars"], examples["tagged-fleet-export.tfvars"]
    assert len(single["instance_ids"]) == 1 and single["schedule"]
    assert fleet["select_tags"] and fleet["export_bucket"] and fleet["keep_last"] and fleet["alert_email"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_an_example_sets_only_variables_of_the_template_with_values_of_their_type(path: Path) -> None:
    declared = VARIABLES
    example = _example(path)
    assert set(example) <= set(declared), set(example) - set(declared)
    for name, value in example.items():
        python_type = PYTHON_TYPES[_type(declared[name]["type"])]
        assert isinstance(value, python_type) and (python_type is not int or not isinstance(value, bool)), name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_an_example_is_complete(path: Path) -> None:
    """Every variable without a default is set, and the schedule has targets (main.tf's precondition)."""
    example = _example(path)
    required = {name for name, body in VARIABLES.items() if "default" not in body}
    assert required <= set(example), required - set(example)
    assert example.get("instance_ids") or example.get("select_tags") or example.get("select_name")
    if example.get("export_bucket"):
        assert (
            example.get("memory_size", VARIABLES["memory_size"]["default"])
            >= 2 * example.get("export_part_mb", VARIABLES["export_part_mb"]["default"]) + 64
        )


def test_the_readmes_quick_start_sets_every_required_variable_and_only_the_templates() -> None:
    readme = (TEMPLATE.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<<'TFVARS'\n", 1)[1].split("\nTFVARS\n", 1)[0]
    quick_start: dict[str, Any] = unquote(hcl2.loads(block))
    required = {name for name, body in VARIABLES.items() if "default" not in body}
    assert required <= set(quick_start) <= set(VARIABLES)
    assert quick_start.get("instance_ids") or quick_start.get("select_tags")
