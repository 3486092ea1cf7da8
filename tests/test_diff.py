"""Pull-request diffs (rollout.diff, `rollout diff`) and the Mermaid diagrams (rollout.diagram).

Data loss is checked for every stateful type (deleted, and replaced through each key that forces
a replacement) and for every replace-forcing key of every type; BASE and HEAD must hold the same
stacks, a new stack diffing against the explicit empty plan.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rollout import catalog, cli, diagram, diff
from rollout import plan as plan_model
from rollout.errors import InputError
from rollout.plan import Plan, Resource

ROOT = Path(__file__).resolve().parent.parent
CELL = catalog.CELL
DATABASE = catalog.SPANNER_DATABASE
PROJECT = catalog.PROJECT_NAME


def clone(plan: Plan) -> Plan:
    return Plan.from_json(copy.deepcopy(plan.to_json()))


@pytest.fixture(scope="module")
def plans(plans: dict[str, Plan]) -> dict[str, Plan]:
    """Every stack's plan as saved (its secrets fingerprinted): the diff compares saved plans,
    and a regional plan holds secrets (the cells' origin key), so an in-memory plan against a
    saved one would differ on them."""
    return {stack: clone(plan) for stack, plan in plans.items()}


def without(plan: Plan, gone: set[str]) -> Plan:
    return Plan(plan.stack, plan.project, [r for r in plan.resources if r.urn not in gone], {})


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
    assert (DATABASE, "eu-1-db") not in lost

    text = diff.markdown(report)
    assert text.startswith(diff.MARKER + "\n## ⛔ Data loss\n")
    loud, rest = text.split("## Rollout plan diff")
    assert f"| `eu` | **delete** | `{DATABASE}` | `eu-2-db` | removed (protected) |" in loud
    assert "--allow-data-loss" in loud
    assert "### Stack `eu`" in rest
    assert f"**0 to create, 0 to update, 0 to replace, {len(stack.deleted)} to delete**" in rest
    folded = len(stack.deleted) > diff.FOLD_OVER
    assert (f"<summary>Delete: {len(stack.deleted)}</summary>" if folded else "#### Delete") in rest
    assert f"| `{DATABASE}` | `eu-2-db` |" in rest

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
    assert f"| `{catalog.GKE_CLUSTER}` | `{gke.name}` | description, releaseChannel |" in text


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


def _r(
    urn: str, type_: str, inputs: dict[str, Any], protect: bool = False, custom: bool = True
) -> Resource:
    return Resource(urn, type_, urn.rsplit("::", 1)[-1], None, inputs, [], protect, False, custom)


def test_hand_built_plans_and_new_stacks() -> None:
    base = [
        Plan("eu", PROJECT, [_r("u::a", catalog.NETWORK, {"x": 1})], {}),
        Plan("me", PROJECT, [], {}),  # the explicit empty base of a new stack
    ]
    head = [
        Plan("eu", PROJECT, [_r("u::a", catalog.NETWORK, {"x": 1})], {}),
        Plan("me", PROJECT, [_r("u::b", catalog.BUCKET, {"name": "b|c"})], {}),
    ]
    report = diff.diff_plans(base, head)
    assert [s.stack for s in report.stacks] == ["eu", "me"]
    assert report.stacks[0].empty and len(report.stacks[1].created) == 1
    text = diff.markdown(report)
    assert text.splitlines()[0] == diff.MARKER
    assert "`b`" in text  # the logical name, in a table cell
    # Dropping protect is flagged as a change of the option.
    head2 = [
        Plan("eu", PROJECT, [_r("u::a", catalog.NETWORK, {"x": 1}, True)], {}),
        Plan("me", PROJECT, [], {}),
    ]
    assert diff.diff_plans(base, head2).stacks[0].updated[0].keys == ("[protect]",)


# --------------------------------------------------------------------------------------------
# Data loss, type by type and key by key
# --------------------------------------------------------------------------------------------

URN = "urn:pulumi:me::demobank::x"
# Every GCP resource type of the catalog (its invokes are not resources).
GCP_TYPES = sorted(
    value
    for key, value in vars(catalog).items()
    if key.isupper() and not key.startswith("GET_")
    and isinstance(value, str) and value.startswith("gcp:")
)  # fmt: skip
REPLACING = sorted((t, k) for t, keys in diff.REPLACE_KEYS.items() for k in keys)
STATEFUL_REPLACING = sorted((t, k) for t in catalog.STATEFUL for k in diff.replace_keys(t))


def one_change(
    type_: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    protect: bool = False,
    custom: bool = True,
) -> diff.DiffReport:
    """The diff of a one-resource stack; ``None`` for a side where the resource is absent."""

    def plan(inputs: dict[str, Any] | None) -> Plan:
        found = [] if inputs is None else [_r(URN, type_, inputs, protect, custom)]
        return Plan("me", PROJECT, found, {})

    return diff.diff_plans([plan(before)], [plan(after)])


def test_the_tables_below_cover_every_stateful_type() -> None:
    assert catalog.STATEFUL and set(GCP_TYPES) >= catalog.STATEFUL
    assert {t for t, _ in STATEFUL_REPLACING} == catalog.STATEFUL  # each has a forcing key
    assert sorted(diff.GCP_REPLACE_KEYS) == ["name", "project"]
    cloudflare = {catalog.CF_ZONE_SETTING, catalog.CF_POOL, catalog.CF_LB}
    assert set(diff.REPLACE_KEYS) <= set(GCP_TYPES) | cloudflare


@pytest.mark.parametrize("protect", [False, True])
@pytest.mark.parametrize("type_", sorted(catalog.STATEFUL))
def test_deleting_any_stateful_resource_is_data_loss(type_: str, protect: bool) -> None:
    report = one_change(type_, {"name": "x"}, None, protect)
    (change,) = report.stacks[0].deleted
    assert (change.action, change.type) == ("delete", type_)
    assert report.data_loss == [change]
    why = "removed (protected)" if protect else "removed"
    assert f"| `me` | **delete** | `{type_}` | `x` | {why} |" in diff.markdown(report)


@pytest.mark.parametrize(("type_", "key"), STATEFUL_REPLACING)
def test_replacing_any_stateful_resource_is_data_loss(type_: str, key: str) -> None:
    report = one_change(type_, {key: "old", "other": 1}, {key: "new", "other": 1})
    (change,) = report.stacks[0].replaced
    assert (change.action, change.keys, change.replace_keys) == ("replace", (key,), (key,))
    assert report.data_loss == [change]
    assert f"| `me` | **replace** | `{type_}` | `x` | changes {key} |" in diff.markdown(report)


@pytest.mark.parametrize("type_", sorted(catalog.STATEFUL))
def test_a_stateful_update_that_forces_nothing_loses_nothing(type_: str) -> None:
    assert "labels" not in diff.replace_keys(type_)
    report = one_change(type_, {"labels": {"a": "1"}}, {"labels": {"a": "2"}}, protect=True)
    (change,) = report.stacks[0].updated
    assert change.keys == ("labels",) and change.replace_keys == ()
    assert report.data_loss == [] and report.stacks[0].replaced == []


@pytest.mark.parametrize("protect", [False, True])
@pytest.mark.parametrize(("type_", "key"), REPLACING)
def test_every_replace_key_forces_a_replacement(type_: str, key: str, protect: bool) -> None:
    report = one_change(type_, {key: "old"}, {key: "new"}, protect)
    (change,) = report.stacks[0].replaced
    assert change.replace_keys == (key,) and report.stacks[0].updated == []
    lost = type_ in catalog.STATEFUL or protect  # a protected resource's data matters too
    assert report.data_loss == ([change] if lost else [])


@pytest.mark.parametrize("key", sorted(diff.GCP_REPLACE_KEYS))
@pytest.mark.parametrize("type_", GCP_TYPES)
def test_any_gcp_resource_is_replaced_on_name_and_project(type_: str, key: str) -> None:
    report = one_change(type_, {key: "old"}, {key: "new"})
    (change,) = report.stacks[0].replaced
    assert change.replace_keys == (key,)
    assert report.data_loss == ([change] if type_ in catalog.STATEFUL else [])


@pytest.mark.parametrize("key", sorted(diff.GCP_REPLACE_KEYS))
def test_name_and_project_force_nothing_outside_gcp_or_on_a_component(key: str) -> None:
    for type_, custom in ((catalog.CF_POOL, True), (catalog.CF_MONITOR, True), (CELL, False)):
        assert key not in diff.REPLACE_KEYS.get(type_, ())
        report = one_change(type_, {key: "old"}, {key: "new"}, protect=True, custom=custom)
        (change,) = report.stacks[0].updated
        assert change.keys == (key,) and report.data_loss == [], type_
    # A component never replaces, whatever key its inputs share with a provider resource.
    report = one_change(CELL, {"location": "a"}, {"location": "b"}, custom=False)
    assert report.stacks[0].replaced == [] and len(report.stacks[0].updated) == 1


# --------------------------------------------------------------------------------------------
# Data loss in the shipped stacks
# --------------------------------------------------------------------------------------------


def test_a_database_moving_instance_is_data_loss(plans: dict[str, Plan]) -> None:
    head = clone(plans["eu"])
    db = head.one(DATABASE, "eu-1-db")
    assert db.protect and db.inputs["instance"]
    db.inputs["instance"] = "demobank-euw2-spanner-2"
    report = diff.diff_plans([plans["eu"]], [head])
    (change,) = report.stacks[0].replaced
    assert (change.urn, change.replace_keys) == (db.urn, ("instance",))
    assert report.data_loss == [change] and report.stacks[0].deleted == []
    row = f"| `eu` | **replace** | `{DATABASE}` | `eu-1-db` | changes instance (protected) |"
    assert row in diff.markdown(report)


def test_deleted_topics_are_data_loss(plans: dict[str, Plan]) -> None:
    base = plans["eu"]
    topics = {r.urn for r in base.of_type(catalog.KAFKA_TOPIC)}
    assert len(topics) > 1
    report = diff.diff_plans([base], [without(base, topics)])
    assert {c.urn for c in report.stacks[0].deleted} == topics
    assert {c.urn for c in report.data_loss} == topics
    assert all(c.action == "delete" and c.protected for c in report.data_loss)


def test_a_replaced_bucket_is_data_loss(plans: dict[str, Plan]) -> None:
    base = plans["global"]
    head = clone(base)
    bucket = head.of_type(catalog.BUCKET)[0]
    bucket.inputs["location"] = "US" if bucket.inputs["location"] != "US" else "EU"
    report = diff.diff_plans([base], [head])
    (change,) = report.stacks[0].replaced
    assert (change.type, change.urn, change.replace_keys) == (
        catalog.BUCKET,
        bucket.urn,
        ("location",),
    )
    assert report.data_loss == [change]


# --------------------------------------------------------------------------------------------
# Pairing BASE and HEAD: the same stacks on both sides; a new stack's explicit empty base
# --------------------------------------------------------------------------------------------


def test_two_different_stacks_are_refused(
    plans: dict[str, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    plan_model.save([plans["eu"]], base)
    plan_model.save([plans["apac"]], head)
    monkeypatch.chdir(ROOT)
    assert cli.main(["diff", str(base), str(head)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'{head}: stack: found stack "apac" in {head} but not in {base} and stack "eu" in {base} '
        f"but not in {head}; expected the same stacks on both sides, paired by name (a new "
        f"stack's base is {json.dumps(diff.empty_plan_json('apac'))}, or pass --new-stacks; "
        "a removed stack's head is "
        f"{json.dumps(diff.empty_plan_json('eu'))})"
    ]


def test_a_stack_missing_from_one_side_is_refused(plans: dict[str, Plan], tmp_path: Path) -> None:
    every, some = tmp_path / "every.json", tmp_path / "some.json"
    plan_model.save(plans.values(), every)
    plan_model.save([p for p in plans.values() if p.stack != "global"], some)
    assert list(plans)[-1] == "global"
    with pytest.raises(InputError) as info:
        diff.diff_plans(plan_model.load(every), plan_model.load(some))
    assert [str(p) for p in info.value.problems] == [
        f'{every}: stacks[{len(plans) - 1}].stack: found stack "global" in {every} but not in '
        f"{some}; expected the same stacks on both sides, paired by name (a removed stack's head "
        f"is {json.dumps(diff.empty_plan_json('global'))})"
    ]
    with pytest.raises(InputError) as info:
        diff.diff_plans(plan_model.load(some), plan_model.load(every))
    [line] = [str(p) for p in info.value.problems]
    assert line.startswith(f'{every}: stacks[{len(plans) - 1}].stack: found stack "global" in ')
    # Plans built in memory are named by their side.
    with pytest.raises(InputError) as info:
        diff.diff_plans([plans["eu"]], [plans["eu"], Plan("me", PROJECT, [], {})])
    [line] = [str(p) for p in info.value.problems]
    assert line.startswith('HEAD: stack: found stack "me" in HEAD but not in BASE; ')


def test_a_stack_twice_on_one_side_is_refused(plans: dict[str, Plan]) -> None:
    with pytest.raises(InputError) as info:
        diff.diff_plans([plans["eu"], clone(plans["eu"])], [plans["eu"]])
    assert [str(p) for p in info.value.problems] == [
        'BASE: stack: found stack "eu" again (also at BASE: stack); expected each stack once per '
        "side of a diff"
    ]


def test_a_new_stack_diffs_against_the_explicit_empty_base(
    plans: dict[str, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    others = [p.to_json() for p in plans.values() if p.stack != "eu"]
    base.write_text(json.dumps({"stacks": [*others, diff.empty_plan_json("eu")]}))
    plan_model.save(plans.values(), head)
    report = diff.diff_plans(plan_model.load(base), plan_model.load(head))
    by_stack = {s.stack: s for s in report.stacks}
    assert set(by_stack) == set(plans)
    expected = {r.urn for r in plans["eu"].resources if r.type != catalog.STACK}
    assert expected and {c.urn for c in by_stack["eu"].created} == expected
    assert by_stack["eu"].deleted == by_stack["eu"].updated == by_stack["eu"].replaced == []
    assert all(s.empty for name, s in by_stack.items() if name != "eu")
    assert report.data_loss == []
    monkeypatch.chdir(ROOT)
    assert cli.main(["diff", str(base), str(head)]) == 0
    assert f"**{len(expected)} to create, 0 to update" in capsys.readouterr().out


def test_an_empty_head_deletes_the_whole_stack_loudly(
    plans: dict[str, Plan], tmp_path: Path
) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    plan_model.save([plans["eu"]], base)
    head.write_text(json.dumps(diff.empty_plan_json("eu")))
    report = diff.diff_plans(plan_model.load(base), plan_model.load(head))
    stateful = {r.urn for r in plans["eu"].resources if r.type in catalog.STATEFUL}
    assert stateful and {c.urn for c in report.data_loss} >= stateful
    assert report.stacks[0].created == []


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


def test_global_diagram_shows_pools_origins_and_the_cell_router(plans: dict[str, Plan]) -> None:
    text = diagram.mermaid(plans["global"])
    for pool in plans["global"].of_type(catalog.CF_POOL):
        if pool.name.startswith("cell-"):  # a cell's own health pool: drawn as its origin
            continue
        assert f'"pool<br/>{pool.inputs["name"]}"' in text
        for origin in pool.inputs.get("origins") or []:
            assert origin["address"] in text
    assert '("signed-in customer")' in text
    assert '["cell router (Worker)<br/>demobank-cell-router"]' in text
    for cell in ("eu-1", "eu-2", "apac-1", "apac-2"):
        assert f'["cell {cell}<br/>' in text


def test_labels_are_escaped() -> None:
    assert (
        diagram.label('a "b" <c> [d] | #e') == '"a #quot;b#quot; #lt;c#gt; #91;d#93; #124; #35;e"'
    )


def test_cli_new_stacks_is_explicit(
    plans: dict[str, Plan],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A stack only HEAD holds is refused, unless --new-stacks says it is new."""
    base_file, head_file = tmp_path / "base.json", tmp_path / "head.json"
    plan_model.save([plans["eu"]], base_file)
    plan_model.save([plans["eu"], plans["apac"]], head_file)
    monkeypatch.chdir(ROOT)
    assert cli.main(["diff", str(base_file), str(head_file)]) == 2
    assert "or pass --new-stacks" in capsys.readouterr().err
    assert cli.main(["diff", "--new-stacks", str(base_file), str(head_file)]) == 0
    out = capsys.readouterr().out
    assert "### Stack `apac`" in out and "to create, 0 to update, 0 to replace, 0 to delete" in out
