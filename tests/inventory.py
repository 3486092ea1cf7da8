"""Golden inventories in the Cloud Foundation Fabric style (tests/fixtures.py there).

A reviewed YAML file per stack, ``tests/golden/<stack>.yaml``:

    counts:            # resources by type: exact
      gcp:container/cluster:Cluster: 2
    values:            # subset match: listed keys must be equal, extra keys are ignored
      <type>::<name>:  #   (the resource's logical name; a name shared by several resources of
        inputs: {...}  #    one type, e.g. one per cell, is matched against each of them)
        protect: true
    outputs: {...}     # subset match on the stack outputs

``__missing__`` as a value asserts the key is absent. A failing check prints the command that
regenerates the file, so the reviewer sees the intended change as a diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rollout.plan import Plan

GOLDEN = Path(__file__).parent / "golden"
MISSING = "__missing__"


def regenerate_hint(stack: str) -> str:
    return (
        f"if the change is intended, regenerate with: .venv/bin/python -m tests.inventory {stack} "
        f"and review the diff of tests/golden/{stack}.yaml"
    )


def subset_mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every place where ``actual`` differs from what ``expected`` lists."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, found {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            here = f"{path}.{key}" if path else str(key)
            if value == MISSING:
                if key in actual:
                    out.append(f"{here}: expected absent, found {actual[key]!r}")
            elif key not in actual:
                out.append(f"{here}: missing (expected {value!r})")
            else:
                out.extend(subset_mismatches(value, actual[key], here))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [f"{path}: expected {expected!r}, found {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(subset_mismatches(e, a, f"{path}[{i}]"))
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, found {actual!r}"]


def inventory_mismatches(plan: Plan, golden: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    counts = plan.counts()
    for type_ in sorted({**golden.get("counts", {}), **counts}):
        want = golden.get("counts", {}).get(type_, 0)
        have = counts.get(type_, 0)
        if want != have:
            problems.append(f"counts.{type_}: expected {want}, found {have}")
    for key, expected in (golden.get("values") or {}).items():
        type_, _, name = key.partition("::")
        matches = [r for r in plan.resources if r.type == type_ and r.name == name]
        if not matches:
            problems.append(f"values.{key}: no such resource in the plan")
        for r in matches:
            actual = {
                "inputs": r.inputs,
                "protect": r.protect,
                "retainOnDelete": r.retain_on_delete,
                "ignoreChanges": r.ignore_changes,
            }
            problems += [
                f"values.{key} ({r.urn}): {m}" for m in subset_mismatches(expected, actual)
            ]
    if "outputs" in golden:
        problems += [f"outputs: {m}" for m in subset_mismatches(golden["outputs"], plan.outputs)]
    return problems


def assert_inventory(plan: Plan) -> None:
    path = GOLDEN / f"{plan.stack}.yaml"
    golden = yaml.safe_load(path.read_text()) if path.exists() else {}
    problems = inventory_mismatches(plan, golden)
    if problems:
        shown = "\n  ".join(problems[:40])
        raise AssertionError(
            f"plan of {plan.stack} differs from {path.name}:\n  {shown}\n"
            + regenerate_hint(plan.stack)
        )


def regenerate(plan: Plan) -> None:
    """Rewrite counts and outputs; keep the reviewed `values` section, refreshed from the plan."""
    path = GOLDEN / f"{plan.stack}.yaml"
    old = yaml.safe_load(path.read_text()) if path.exists() else {}
    values: dict[str, Any] = {}
    for key, expected in (old.get("values") or {}).items():
        type_, _, name = key.partition("::")
        matches = [r for r in plan.resources if r.type == type_ and r.name == name]
        if not matches:
            continue
        r = matches[0]
        actual = {
            "inputs": r.inputs,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "ignoreChanges": r.ignore_changes,
        }
        values[key] = _refresh(expected, actual)
    data = {"counts": plan.counts(), "values": values, "outputs": plan.outputs}
    header = (
        f"# Golden inventory of the {plan.stack} stack. "
        f"Regenerate: .venv/bin/python -m tests.inventory {plan.stack}\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=True, width=100))


def _refresh(expected: Any, actual: Any) -> Any:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {
            k: (v if v == MISSING else _refresh(v, actual.get(k)))
            for k, v in expected.items()
            if v == MISSING or k in actual
        }
    return actual


if __name__ == "__main__":
    import sys

    from rollout.engine import plan_all

    plans = plan_all()
    for stack in sys.argv[1:] or list(plans):
        regenerate(plans[stack])
        print(f"wrote tests/golden/{stack}.yaml")
