"""Pull-request diffs (rollout.diff, `rollout diff`) and the Mermaid diagrams (rollout.diagram)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from rollout import catalog, cli, diagram, diff
from rollout import plan as plan_model
from rollout.plan import Plan, Resource

ROOT = Path(__file__).resolve().parent.parent
CELL = catalog.CELL
DATABASE = catalog.SPANNER_DATABASE


def clone(plan: Plan) -> Plan:
    return Plan.from_json(copy.deepcopy(plan.to_json()))


def without_cell(plan: Plan, cell: str) -> Plan:
    """The plan as it would be with ``cell`` removed from the region file."""
    out = clone(plan)
    (target,) = [r for r in out.resources if r.type == CELL and r.name == cell]
    gone = {target.urn} | {r.urn for r in out.resources if target in out.ancestors(r)}
    return Plan(
        out.stack, out.project, [r for r in out.resources if r.urn not in gone], out.outputs
    )


def test_removing_a_cell_is_data_loss(
    plans: dict[str, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    base = plans["eu"]
    head = without_cell(base, "eu-2")
    report = diff.diff_plans([base], [head])
    (stack,) = report.stacks
    assert stack.created == [] and stack.updated == [] and stack.replaced == []
    assert {c.name for c in stack.deleted} >= {"eu-2", "eu-2-db"}
    lost = {(c.type, c.name) for c in report.data_loss}
    assert (DATABASE, "eu-2-db") in lost
    assert (catalog.SPANNER_DATABASE, "eu-1-db") not in lost

    text = diff.markdown(report)
    assert text.startswith(diff.MARKER + "\n## ⛔ Data loss\n")
    loud, rest = text.split("## Rollout plan diff")
    assert (
        "| `eu` | **delete** | `gcp:spanner/database:Database` | `eu-2-db` | removed (protected) |"
        in loud
    )
    assert "--allow-data-loss" in loud
    assert "### Stack `eu`" in rest
    assert f"**0 to create, 0 to update, 0 to replace, {len(stack.deleted)} to delete**" in rest
    folded = len(stack.deleted) > diff.FOLD_OVER
    assert (f"<summary>Delete: {len(stack.deleted)}</summary>" if folded else "#### Delete") in rest
    assert "| `gcp:spanner/database:Database` | `eu-2-db` |" in rest

    base_file, head_file = tmp_path / "base.json", tmp_path / "head.json"
    plan_model.save([base], base_file)
    plan_model.save([head], head_file)
    monkeypatch.chdir(ROOT)
    assert cli.main(["diff", str(base_file), str(head_file)]) == 1
    assert "## ⛔ Data loss" in capsys.readouterr().out
    assert cli.main(["diff", str(base_file), str(head_file), "--allow-data-loss"]) == 0
    assert cli.main(["diff", str(base_file), str(base_file)]) == 0
    out = capsys.readouterr().out.split(diff.MARKER)[-1]  # the base-vs-base run
    assert "Data loss" not in out and out.count("No changes.") == 1


def test_an_update_lists_the_changed_input_keys(plans: dict[str, Plan]) -> None:
    base = plans["eu"]
    head = clone(base)
    gke = next(r for r in head.resources if r.type == catalog.GKE_CLUSTER)
    gke.inputs["releaseChannel"] = {"channel": "STABLE"}
    gke.inputs["description"] = "new"
    report = diff.diff_plans([base], [head])
    (stack,) = report.stacks
    (change,) = stack.updated
    assert change.urn == gke.urn and change.keys == ("description", "releaseChannel")
    assert report.data_loss == []
    text = diff.markdown(report)
    assert "Data loss" not in text
    assert (
        f"| `gcp:container/cluster:Cluster` | `{gke.name}` | description, releaseChannel |" in text
    )


def test_a_forcing_key_makes_a_replacement(plans: dict[str, Plan]) -> None:
    base = plans["eu"]
    head = clone(base)
    inst = next(r for r in head.resources if r.type == catalog.SPANNER_INSTANCE)
    inst.inputs["config"] = "regional-europe-west1"
    report = diff.diff_plans([base], [head])
    (change,) = report.stacks[0].replaced
    assert change.replace_keys == ("config",)
    assert report.data_loss == [change]
    assert "| **replace** |" in diff.markdown(report) and "changes config" in diff.markdown(report)


def _r(urn: str, type_: str, inputs: dict[str, Any], protect: bool = False) -> Resource:
    return Resource(urn, type_, urn.rsplit("::", 1)[-1], None, inputs, [], protect, False, True)


def test_hand_built_plans_and_new_stacks() -> None:
    base = [Plan("eu", "demobank", [_r("u::a", catalog.NETWORK, {"x": 1})], {})]
    head = [
        Plan("eu", "demobank", [_r("u::a", catalog.NETWORK, {"x": 1})], {}),
        Plan("me", "demobank", [_r("u::b", catalog.BUCKET, {"name": "b|c"})], {}),
    ]
    report = diff.diff_plans(base, head)
    assert [s.stack for s in report.stacks] == ["eu", "me"]
    assert report.stacks[0].empty and len(report.stacks[1].created) == 1
    text = diff.markdown(report)
    assert text.splitlines()[0] == diff.MARKER
    assert "`b`" in text  # the logical name, in a table cell
    # Dropping protect is flagged as a change of the option.
    head2 = [
        Plan("eu", "demobank", [_r("u::a", catalog.NETWORK, {"x": 1}, True)], {})
    ]
    assert diff.diff_plans(base, head2).stacks[0].updated[0].keys == ("[protect]",)


# --------------------------------------------------------------------------------------------
# Diagrams
# --------------------------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r"^(flowchart TD"
    r"|    %% .*"  # comment
    r'|    n\d+(\[|\[\(|\()"[^"]*"(\]|\)\]|\))'  # node: rect, database, rounded
    r"|    n\d+ (-->|-\.->) n\d+)$"  # edge
)


def test_each_shipped_diagram_names_its_cells(plans: dict[str, Plan]) -> None:
    for name, plan in plans.items():
        text = diagram.mermaid(plan)
        assert text.startswith("flowchart TD\n"), name
        bad = [line for line in text.splitlines() if not MERMAID_LINE.match(line)]
        assert bad == [], (name, bad)
        for cell in plan.of_type(CELL):
            assert f'"cell {cell.name}"' in text
        for db in plan.of_type(DATABASE):
            assert str(db.inputs.get("name", db.name)) in text
    regional = [p for p in plans.values() if p.of_type(catalog.REGION)]
    assert regional and all(p.of_type(CELL) for p in regional), "regional stacks have cells"


def test_global_diagram_shows_pools_and_origins(plans: dict[str, Plan]) -> None:
    text = diagram.mermaid(plans["global"])
    for pool in plans["global"].of_type(catalog.CF_POOL):
        assert f'"pool<br/>{pool.inputs["name"]}"' in text
        for origin in pool.inputs.get("origins") or []:
            assert origin["address"] in text


def test_labels_are_escaped() -> None:
    assert (
        diagram.label('a "b" <c> [d] | #e') == '"a #quot;b#quot; #lt;c#gt; #91;d#93; #124; #35;e"'
    )
