"""Saved plans read back (rollout.plan.load, behind `rollout check` and `rollout diff`).

What ``save`` writes loads back unchanged; anything else is refused with one line per problem
naming the file, the JSON path, what was found and what is accepted. Never a traceback, never
a hang on a FIFO, never a recursion error on a deeply nested document.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from rollout import catalog, cli
from rollout import plan as plan_model
from rollout.errors import InputError, format_path
from rollout.plan import Plan

ROOT = Path(__file__).resolve().parent.parent
W = plan_model.WRITTEN
A_PLAN_FILE = f"expected a plan JSON file {W}"
ROOT_SHAPE = (
    'expected {"stack", "resources": [...]} for one plan or {"stacks": [...]} for several '
    f"({W})"
)
RESOURCE_KEYS = (
    "urn, type, name, parent, inputs, secrets, dependencies, protect, retainOnDelete, "
    "ignoreChanges, custom"
)
PARENT = "expected null or the urn of a resource listed before it in the same stack"
MISSING = object()  # a key removed rather than set


def refusal(path: Path) -> list[str]:
    """The lines `rollout check`/`diff` would print for ``path``."""
    with pytest.raises(InputError) as info:
        plan_model.load(path)
    return [str(p) for p in info.value.problems]


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def never_opened(*args: Any, **kwargs: Any) -> int:
    raise AssertionError("load opened a file it should have refused from its stat alone")


@pytest.fixture(scope="module")
def saved(plans: dict[str, Plan], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every shipped stack as ``rollout plan --all --json`` writes it."""
    path = tmp_path_factory.mktemp("saved") / "all.json"
    plan_model.save(plans.values(), path)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def eu(saved: dict[str, Any]) -> dict[str, Any]:
    """The eu plan as ``rollout plan eu --json`` writes it (a copy a test may break)."""
    return copy.deepcopy(next(p for p in saved["stacks"] if p["stack"] == "eu"))


def leaf(data: dict[str, Any]) -> int:
    """The index of a resource that is no one's parent, so changing its urn breaks nothing else."""
    parents = {r["parent"] for r in data["resources"]}
    return max(i for i, r in enumerate(data["resources"]) if r["urn"] not in parents)


# --------------------------------------------------------------------------------------------
# What save writes is accepted, unchanged
# --------------------------------------------------------------------------------------------


def test_what_save_writes_loads_back_byte_for_byte(
    plans: dict[str, Plan], saved: dict[str, Any], tmp_path: Path
) -> None:
    resources = [r for p in saved["stacks"] for r in p["resources"]]
    # Not vacuous: the shipped plans use every key save writes.
    assert any(r["secrets"] for r in resources) and any(r["retainOnDelete"] for r in resources)
    assert any(r["ignoreChanges"] for r in resources) and any(r["protect"] for r in resources)
    assert any(not r["custom"] for r in resources) and all(p["outputs"] for p in saved["stacks"])
    for chosen in (list(plans.values()), [plans["eu"]]):  # {"stacks": [...]} and one plan
        first, again = tmp_path / "first.json", tmp_path / "again.json"
        plan_model.save(chosen, first)
        loaded = plan_model.load(first)
        assert [p.stack for p in loaded] == [p.stack for p in chosen]
        plan_model.save(loaded, again)
        assert again.read_bytes() == first.read_bytes()  # secrets stay fingerprinted once
    assert [(p.source, p.at) for p in plan_model.load(first)] == [(str(first), ())]


def test_only_urn_type_and_name_are_required(tmp_path: Path) -> None:
    path = write(
        tmp_path / "plan.json",
        {"stack": "me", "resources": [{"urn": "u::a", "type": catalog.NETWORK, "name": "a"}]},
    )
    [plan] = plan_model.load(path)
    assert (plan.stack, plan.project, plan.outputs) == ("me", catalog.PROJECT_NAME, {})
    [r] = plan.resources
    assert (r.parent, r.inputs, r.dependencies, r.secrets, r.ignore_changes) == (
        None, {}, [], [], [],
    )  # fmt: skip
    assert (r.protect, r.retain_on_delete, r.custom) == (False, False, True)


def test_an_empty_stack_is_a_plan(tmp_path: Path) -> None:
    [plan] = plan_model.load(write(tmp_path / "new.json", {"stack": "me", "resources": []}))
    assert plan.stack == "me" and plan.resources == []


# --------------------------------------------------------------------------------------------
# Refusals inside a plan: one line each, naming the JSON path, what was found and what is
# accepted
# --------------------------------------------------------------------------------------------

R = "resources"
URN_IS = "a non-empty string, the resource's URN"
TYPE_IS = "a non-empty string, the type token"
NAME_IS = "a string, the logical name"
STACK_IS = "a non-empty string, the stack's name"
RESOURCE_IS = "a resource object with at least urn, type and name"
INPUTS_IS = "an object of input properties"
BOOL_IS = "true or false"
SHAPE_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    ((R, 3, "urn"), MISSING, f"missing; every resource has urn: {URN_IS}"),
    ((R, 3, "type"), MISSING, f"missing; every resource has type: {TYPE_IS}"),
    ((R, 3, "name"), MISSING, f"missing; every resource has name: {NAME_IS}"),
    ((R, 3, "urn"), "", f'found "" (an empty string); expected {URN_IS}'),
    ((R, 3, "urn"), 7, f"found 7 (a number); expected {URN_IS}"),
    ((R, 3, "type"), None, f"found null; expected {TYPE_IS}"),
    ((R, 3, "name"), ["a"], f"found a list; expected {NAME_IS}"),
    ((R, 3), "x", f'found "x" (a string); expected {RESOURCE_IS}'),
    ((R, 3), None, f"found null; expected {RESOURCE_IS}"),
    ((R,), {}, "found an empty object; expected a list of resource objects"),
    ((R,), MISSING, "missing; every plan has resources: a list of resource objects"),
    (("stack",), MISSING, f"missing; every plan has stack: {STACK_IS}"),
    (("stack",), "", f'found "" (an empty string); expected {STACK_IS}'),
    (("project",), 1, "found 1 (a number); expected a non-empty string"),
    (("outputs",), [], "found an empty list; expected an object of outputs"),
    ((R, 3, "inputs"), [], f"found an empty list; expected {INPUTS_IS}"),
    ((R, 3, "inputs"), None, f"found null; expected {INPUTS_IS}"),
    ((R, 3, "dependencies"), "u::a", 'found "u::a" (a string); expected a list of urn strings'),
    ((R, 3, "protect"), "true", f'found "true" (a string); expected {BOOL_IS}'),
    ((R, 3, "protect"), 1, f"found 1 (a number); expected {BOOL_IS}"),
    ((R, 3, "retainOnDelete"), 0, f"found 0 (a number); expected {BOOL_IS}"),
    ((R, 3, "custom"), None, f"found null; expected {BOOL_IS} (false for a component)"),
    ((R, 3, "ignoreChanges"), "x", 'found "x" (a string); expected a list of input property '
     "names (strings)"),
    ((R, 3, "secrets"), {}, "found an empty object; expected a list of key paths (strings) of "
     "secret inputs"),
    ((R, 3, "parent"), 5, f"found 5 (a number); {PARENT}"),
    ((R, 3, "protected"), True, f"unknown key; expected only the keys {RESOURCE_KEYS}"),
    (("resource",), [], "unknown key; expected only the keys stack, project, resources, outputs"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("loc", "value", "message"),
    SHAPE_CASES,
    ids=[f"{format_path(c[0])}={c[1]!r}" for c in SHAPE_CASES],
)
def test_a_wrong_shape_is_one_line(
    eu: dict[str, Any], tmp_path: Path, loc: tuple[str | int, ...], value: Any, message: str
) -> None:
    *where, key = loc
    target: Any = eu
    for part in where:
        target = target[part]
    if value is MISSING:
        del target[key]
    else:
        target[key] = value
    path = write(tmp_path / "plan.json", eu)
    assert refusal(path) == [f"{path}: {format_path(loc)}: {message} ({W})"]


@pytest.mark.parametrize(
    ("key", "item", "message"),
    [
        ("dependencies", None, "found null; expected a urn string"),
        ("ignoreChanges", 1, "found 1 (a number); expected an input property name (a string)"),
        ("secrets", True, "found true (a boolean); expected a key-path string"),
    ],
)
def test_a_wrong_item_of_a_list_names_the_item(
    eu: dict[str, Any], tmp_path: Path, key: str, item: Any, message: str
) -> None:
    eu[R][3][key] = ["fine", item]
    path = write(tmp_path / "plan.json", eu)
    assert refusal(path) == [f"{path}: resources[3].{key}[1]: {message} ({W})"]


def test_in_a_several_stacks_file_the_path_starts_at_the_stack(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    data = copy.deepcopy(saved)
    del data["stacks"][0]["resources"][3]["urn"]
    path = write(tmp_path / "plan.json", data)
    assert refusal(path) == [
        f"{path}: stacks[0].resources[3].urn: missing; every resource has urn: a non-empty "
        f"string, the resource's URN ({W})"
    ]


def test_a_urn_twice_in_a_stack_names_both_places(eu: dict[str, Any], tmp_path: Path) -> None:
    i = leaf(eu)
    eu[R][i]["urn"] = urn = eu[R][1]["urn"]
    path = write(tmp_path / "plan.json", eu)
    assert refusal(path) == [
        f"{path}: resources[{i}].urn: found {json.dumps(urn)} again (also at resources[1].urn); "
        f"expected each urn once per stack ({W})"
    ]


def test_a_stack_twice_in_a_file_names_both_places(saved: dict[str, Any], tmp_path: Path) -> None:
    data = copy.deepcopy(saved)
    data["stacks"][2]["stack"] = stack = data["stacks"][0]["stack"]
    path = write(tmp_path / "plan.json", data)
    assert refusal(path) == [
        f'{path}: stacks[2].stack: found "{stack}" again (also at stacks[0].stack); '
        f"expected each stack once per file ({W})"
    ]


def test_a_parent_must_be_listed_before_its_child(eu: dict[str, Any], tmp_path: Path) -> None:
    i = leaf(eu)
    path = tmp_path / "plan.json"
    cases = [
        (i, "urn:pulumi:eu::demobank::nowhere", "which is the urn of no resource in this stack"),
        (1, eu[R][i]["urn"], f"the urn of resources[{i}], listed after it"),
        (i, eu[R][i]["urn"], "its own urn"),  # a cycle of one
    ]
    for at, parent, why in cases:
        broken = copy.deepcopy(eu)
        broken[R][at]["parent"] = parent
        assert refusal(write(path, broken)) == [
            f"{path}: resources[{at}].parent: found {json.dumps(parent)}, {why}; {PARENT} ({W})"
        ]
    # A parent of null, or of any resource listed earlier, is what save writes.
    eu[R][i]["parent"] = None
    assert len(plan_model.load(write(path, eu))[0].resources) == len(eu[R])


def test_many_problems_are_capped(eu: dict[str, Any], tmp_path: Path) -> None:
    for r in eu[R]:
        del r["urn"]
    lines = refusal(write(tmp_path / "plan.json", eu))
    more = len(eu[R]) - plan_model.MAX_PROBLEMS
    assert more > 0 and len(lines) == plan_model.MAX_PROBLEMS + 1
    assert (
        lines[-1]
        == f"{tmp_path / 'plan.json'}: (file): {more} more problems not shown; fix these first"
    )


def test_from_json_is_held_to_the_same_shape() -> None:
    with pytest.raises(InputError) as info:
        Plan.from_json({"stack": "eu", "resources": [{"urn": "u::a", "type": catalog.NETWORK}]})
    assert [str(p) for p in info.value.problems] == [
        f"(plan): resources[0].name: missing; every resource has name: a string, the logical name "
        f"({W})"
    ]


# --------------------------------------------------------------------------------------------
# Refusals of the document as a whole
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "found"),
    [
        ([], "an empty list"),
        ("plan", '"plan" (a string)'),
        (3, "3 (a number)"),
        (None, "null"),
        ({}, "an object with none of the keys stack, resources, stacks"),
        ({"name": "demobank"}, "an object with none of the keys stack, resources, stacks"),
    ],
)
def test_the_root_must_be_an_object(tmp_path: Path, root: Any, found: str) -> None:
    path = write(tmp_path / "plan.json", root)
    assert refusal(path) == [f"{path}: (root): found {found}; {ROOT_SHAPE}"]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"stacks": []}, 'stacks: found an empty list; expected a list of at least one plan object '
         '(a stack with nothing in it yet is {"stack": "<name>", "resources": []})'),
        ({"stacks": {}}, 'stacks: found an empty object; expected a list of at least one plan '
         'object (a stack with nothing in it yet is {"stack": "<name>", "resources": []})'),
        ({"stacks": [7]}, 'stacks[0]: found 7 (a number); expected a plan object '
         '{"stack": ..., "resources": [...]}'),
        ({"stacks": [{"stack": "me", "resources": []}], "stack": "me"},
         "stack: unknown key; expected only the keys stacks"),
    ],
)  # fmt: skip
def test_the_several_stacks_form(tmp_path: Path, data: Any, line: str) -> None:
    path = write(tmp_path / "plan.json", data)
    assert refusal(path) == [f"{path}: {line} ({W})"]


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ('{"stack": ', "1:11", "Expecting value"),
        ("", "1:1", "Expecting value"),
        ('{"stack": "eu", "resources": []} x', "1:34", "Extra data"),
        ("{'stack': 'eu'}", "1:2", "Expecting property name enclosed in double quotes"),
    ],
)
def test_not_json_is_one_line_with_its_position(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    assert refusal(path) == [f"{path}:{where}: (file): not JSON ({why}); {A_PLAN_FILE}"]


def test_a_number_too_long_to_read_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"stack": "eu", "resources": [], "outputs": {"n": ' + "9" * 5000 + "}}")
    assert refusal(path) == [
        f"{path}: (file): found a value that cannot be read (Exceeds the limit (4300 digits) for "
        f"integer string conversion); {A_PLAN_FILE}"
    ]


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(b'{"stack": "\xe9u"}')
    assert refusal(path) == [
        f"{path}: (file): found byte 0xe9 at offset 11, which is not UTF-8; {A_PLAN_FILE}"
    ]


def test_a_key_twice_in_one_object_is_refused(tmp_path: Path) -> None:
    # json.loads would keep the last value and drop the first without a word.
    path = tmp_path / "plan.json"
    path.write_text('{"stack": "eu", "resources": [], "stack": "apac"}', encoding="utf-8")
    assert refusal(path) == [
        f'{path}: (file): found the key "stack" twice in one object; expected each key once per '
        f"object ({W})"
    ]


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    too_deep = (
        f"(file): found arrays and objects nested more than {plan_model.MAX_DEPTH} deep; "
        f"expected at most {plan_model.MAX_DEPTH} levels (a plan written by rollout plan --json "
        "nests about a dozen)"
    )
    assert refusal(path) == [f"{path}:1:{plan_model.MAX_DEPTH + 1}: {too_deep}"]

    # The limit is exact, and brackets inside strings are text: root, resources, the resource
    # and its inputs are 4 levels, the rest is a list nested in inputs.
    def nested(levels: int) -> dict[str, Any]:
        value: Any = "[[[{{{" * 50
        for _ in range(levels - 4):
            value = [value]
        resource = {"urn": "u::a", "type": catalog.NETWORK, "name": "a", "inputs": {"x": value}}
        return {"stack": "me", "resources": [resource]}

    assert plan_model.load(write(path, nested(plan_model.MAX_DEPTH)))
    [line] = refusal(write(path, nested(plan_model.MAX_DEPTH + 1)))
    assert line.endswith(too_deep)


# --------------------------------------------------------------------------------------------
# Refusals of the file, decided before it is read
# --------------------------------------------------------------------------------------------


def test_a_missing_file_or_a_directory_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert refusal(missing) == [
        f"{missing}: (file): file not found; {A_PLAN_FILE}"
    ]
    assert refusal(tmp_path) == [f"{tmp_path}: (file): found a directory; {A_PLAN_FILE}"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)

    def release() -> None:
        """Should load ever block opening the FIFO, let it go, so the test fails, not hangs."""
        with contextlib.suppress(OSError):  # no reader waiting: nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(5, release)
    timer.start()
    try:
        with monkeypatch.context() as m:
            m.setattr(os, "open", never_opened)
            lines = refusal(fifo)
    finally:
        timer.cancel()
    assert lines == [f"{fifo}: (file): found a named pipe (FIFO); {A_PLAN_FILE}"]


def test_a_file_over_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "plan.json"
    with big.open("wb") as f:
        f.truncate(plan_model.MAX_BYTES + 1)  # sparse: no disk, no time
    with monkeypatch.context() as m:
        m.setattr(os, "open", never_opened)
        lines = refusal(big)
    assert lines == [
        f"{big}: (file): found {plan_model.MAX_BYTES + 1} bytes; expected at most "
        f"{plan_model.MAX_BYTES} bytes"
    ]
    # The limit is exact.
    small = write(tmp_path / "small.json", {"stack": "me", "resources": []})
    size = small.stat().st_size
    monkeypatch.setattr(plan_model, "MAX_BYTES", size)
    assert plan_model.load(small)
    monkeypatch.setattr(plan_model, "MAX_BYTES", size - 1)
    [line] = refusal(small)
    assert line == f"{small}: (file): found {size} bytes; expected at most {size - 1} bytes"


# --------------------------------------------------------------------------------------------
# The commands: the line on stderr, exit 2, no traceback
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "diff"])
def test_the_commands_print_the_line_and_exit_2(
    eu: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    good = write(tmp_path / "good.json", eu)
    eu[R][3]["protect"] = "yes"
    bad = write(tmp_path / "bad.json", eu)
    monkeypatch.chdir(ROOT)
    args = [str(bad)] if command == "check" else [str(good), str(bad)]
    assert cli.main([command, *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'{bad}: resources[3].protect: found "yes" (a string); expected true or false ({W})'
    ]
