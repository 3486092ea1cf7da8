"""Random damage to the shipped YAML: `rollout validate` exits 0 or 2, one problem per line.

Hypothesis picks a shipped file, a key path in it and a mutation (delete the key, rename it,
replace the value with another type, nest it, make it huge, make it negative), writes the file
back into a copy of the project and runs the CLI in-process. Whatever happens, the command
exits 0 (the change was harmless) or 2 (every stderr line names file, key path and problem);
an exception escaping is a failure. About 150 examples, a few seconds each at most.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollout import cli

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    str(p.relative_to(ROOT))
    for pattern in ("regions/*.yaml", "regions/shards/*.yaml", "stacks/*.yaml")
    for p in ROOT.glob(pattern)
)
# file[:line[:col]]: key path: message -- one line (rollout.errors.Problem)
PROBLEM = re.compile(r"^[^\s:][^:]*(:\d+(:\d+)?)?: \S[^\n]*: \S.*$")

REPLACEMENTS: list[Any] = [
    None,
    True,
    0,
    -1,
    10**12,
    1.5,
    "",
    "x" * 300,
    "0.0.0.0/0",
    "../../etc/passwd",
    [],
    {},
    ["a", 1],
    {"nested": {"deeper": [1, 2]}},
]


def key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from key_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from key_paths(v, (*prefix, i))


def mutate(data: Any, path: tuple[Any, ...], action: str, replacement: Any) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{last}x"] = parent.pop(last)
    elif action == "nest":
        parent[last] = {"value": parent[last]}
    else:
        parent[last] = replacement


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("Pulumi.yaml", "regions", "stacks", "locales", "schema"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    return root


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure reproduces
)
@given(data=st.data())
def test_random_damage_gives_exit_0_or_2_and_one_line_problems(
    copy: Path, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = data.draw(st.sampled_from(FILES), label="file")
    target = copy / name
    original = target.read_text(encoding="utf-8")
    doc = yaml.safe_load(original)
    paths = list(key_paths(doc))
    path = data.draw(st.sampled_from(paths), label="path")
    action = data.draw(st.sampled_from(["delete", "rename", "nest", "replace"]), label="action")
    replacement = data.draw(st.sampled_from(REPLACEMENTS), label="replacement")
    mutate(doc, path, action, replacement)
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(copy)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["validate"])
    finally:
        target.write_text(original, encoding="utf-8")
    assert code in (0, 2), (name, path, action, replacement, err.getvalue())
    lines = err.getvalue().splitlines()
    if code == 2:
        assert lines, "exit 2 without saying why"
    bad = [line for line in lines if not PROBLEM.match(line)]
    assert bad == [], (name, path, action, replacement)

