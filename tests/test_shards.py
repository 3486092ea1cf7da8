"""Shard map: the routing hash, table validation, the rebalancer, publication and the CLI."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout import shards
from rollout.errors import InputError
from rollout.shards import (
    Move,
    ShardTableFile,
    add_cell,
    bucket_for,
    compact_ranges,
    drain_cell,
    even_split,
    minimum_moves,
    publish_artifact,
    render_table,
    validate_region,
    validate_table,
)
from rollout.yamlfile import parse_text, read

ROOT = Path(__file__).resolve().parents[1]
REGIONS = {"europe-west2": ["eu-1", "eu-2"], "asia-southeast1": ["apac-1", "apac-2"]}

# Computed once (and cross-checked with `printf %s ID | sha256sum` and bc), then frozen:
# changing the hash would send customers to the wrong cell. The full shared set, read by the
# edge Worker's tests too, is tests/vectors/customer-buckets.json (tests/test_cell_router.py).
VECTORS = [
    ("c0ffee00-0000-4000-8000-000000000001", 1024, 529),
    ("00000000-0000-0000-0000-000000000000", 1024, 148),
    ("ffffffff-ffff-ffff-ffff-ffffffffffff", 1024, 258),
    ("60cafe63-3608-4f76-a645-e91b811d7552", 1024, 675),  # first 8 bytes above 2**63
    ("7336266f-ac43-4493-92e4-9c133e1e0dea", 1024, 943),  # first 8 bytes below 2**53
    ("c0ffee00-0000-4000-8000-000000000001", 7, 2),
    ("00000000-0000-0000-0000-000000000000", 7, 1),
    ("00000000-0000-0000-0000-000000000000", 65536, 23700),
]


@pytest.mark.parametrize(("customer_id", "buckets", "expected"), VECTORS)
def test_bucket_for_vectors(customer_id: str, buckets: int, expected: int) -> None:
    assert bucket_for(customer_id, buckets) == expected


@pytest.mark.parametrize(
    "customer_id",
    [
        "C0FFEE00-0000-4000-8000-000000000001",
        "{c0ffee00-0000-4000-8000-000000000001}",
        "c0ffee0000004000800000000000001",
        "c0ffee00-0000-4000-8000-000000000001\n",
        "customer-1",
        "",
    ],
)
def test_bucket_for_refuses_non_canonical_ids(customer_id: str) -> None:
    # Refused, not normalised: "C0FFEE00-..." folded to lower case would be a second spelling.
    with pytest.raises(ValueError, match="is not canonical; expected a lowercase hyphenated UUID"):
        bucket_for(customer_id)


def test_canonical_customer_id_returns_the_id_and_refuses_non_text() -> None:
    assert shards.canonical_customer_id(VECTORS[0][0]) is VECTORS[0][0]
    with pytest.raises(ValueError, match="not canonical"):
        shards.canonical_customer_id(12345)
    with pytest.raises(ValueError, match=r"'xxxxx.*\.\.\. is not canonical"):
        shards.canonical_customer_id("x" * 500)  # a long id is shortened in the message


@pytest.mark.parametrize("buckets", [0, -1, True, 2.0])
def test_bucket_for_rejects_bad_bucket_counts(buckets: object) -> None:
    with pytest.raises(ValueError, match="buckets must be a positive integer"):
        bucket_for(VECTORS[0][0], buckets)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tables


def table(text: str) -> object:
    return parse_text(text, "regions/shards/europe-west2.yaml")


def problems_of(text: str, **kw: object) -> list[str]:
    args: dict[str, object] = {
        "region": "europe-west2",
        "declared_cells": ["eu-1", "eu-2"],
        "buckets": 16,
        "max_cell_share": 0.75,
    }
    args.update(kw)
    doc = parse_text(text, "regions/shards/europe-west2.yaml")
    return [str(p) for p in validate_table(doc, **args)]  # type: ignore[arg-type]


GOOD = """region: europe-west2
buckets: 16
cells:
  eu-1: ["0-7"]
  eu-2: [8, "9-15"]
"""


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_committed_tables_are_valid(region: str) -> None:
    assert validate_region(ROOT, region, REGIONS[region], 1024, 0.75) == []
    path = ROOT / "regions" / "shards" / f"{region}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == shards.SCHEMA_LINE
    doc = read(path, ROOT)
    ShardTableFile.model_validate(doc.data)  # the exported JSON Schema accepts it too
    assert text == render_table(region, 1024, even_split(REGIONS[region], 1024))


def test_good_table_has_no_problems() -> None:
    assert problems_of(GOOD) == []


def test_gap_is_one_compact_line() -> None:
    text = GOOD.replace('[8, "9-15"]', '["12-15"]').replace('"0-7"', '"0-7", 10')
    assert problems_of(text) == [
        "regions/shards/europe-west2.yaml:3:1: cells: buckets 8-9, 11 are assigned to no cell; "
        "assign each bucket to exactly one cell"
    ]


def test_single_gap_is_singular() -> None:
    text = GOOD.replace('[8, "9-15"]', '["9-15"]')
    assert problems_of(text) == [
        "regions/shards/europe-west2.yaml:3:1: cells: bucket 8 is assigned to no cell; "
        "assign each bucket to exactly one cell"
    ]


def test_double_assignment_names_buckets_and_both_cells() -> None:
    text = GOOD.replace('"0-7"', '"0-9"')
    [problem] = problems_of(text)
    assert "cells.eu-2: buckets 8-9 are assigned to both eu-1 and eu-2;" in problem


def test_triple_assignment_names_every_cell() -> None:
    text = GOOD.replace("cells:\n", 'cells:\n  eu-0: ["7-8"]\n').replace('"0-7"', '"0-8"')
    found = problems_of(text, declared_cells=["eu-0", "eu-1", "eu-2"])
    assert any("bucket 8 is assigned to all of eu-0, eu-1, eu-2;" in p for p in found), found
    assert any("bucket 7 is assigned to both eu-0 and eu-1;" in p for p in found), found


def test_repeat_within_a_cell() -> None:
    [problem] = problems_of(GOOD.replace('"0-7"', '"0-7", "2-3"'))
    assert "buckets 2-3 listed more than once in eu-1" in problem


def test_undeclared_and_empty_cells() -> None:
    text = GOOD.replace("eu-2:", "eu-9:")
    found = problems_of(text)
    assert any(
        "cells.eu-9: cell 'eu-9' is not declared in region europe-west2 "
        "(declared cells: eu-1, eu-2)" in p
        for p in found
    )
    assert any("declared cell 'eu-2' holds no buckets" in p for p in found)
    assert len(found) == 2


def test_cell_share_limit() -> None:
    text = GOOD.replace('"0-7"', '"0-12"').replace('[8, "9-15"]', '["13-15"]')
    [problem] = problems_of(text)
    assert "cells.eu-1: cell eu-1 holds 13 of 16 buckets (81.2%), above the limit of 75.0%" in (
        problem
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (GOOD + "owner: me\n", "owner: unknown key 'owner'; accepted keys: region, buckets, cells"),
        (GOOD.replace("region: europe-west2\n", ""), "(root): missing region"),
        (GOOD.replace("europe-west2", "asia-southeast1"), "region: region is 'asia-southeast1'"),
        (GOOD.replace("buckets: 16", "buckets: 32"), "buckets: buckets is 32 but the region"),
        (GOOD.replace("buckets: 16", "buckets: true"), "buckets: buckets is True"),
        (GOOD.replace('"0-7"', '"0..7"'), "cells.eu-1[0]: found '0..7'; expected a bucket"),
        (GOOD.replace('"0-7"', '"7-0"'), "range '7-0' runs backwards"),
        (GOOD.replace('"9-15"', '"9-16"'), "range '9-16' is outside the region's buckets 0-15"),
        (GOOD.replace('"0-7"', "-1"), "cells.eu-1[0]: range -1 is outside"),
        (GOOD.replace('"0-7"', "true"), "cells.eu-1[0]: found True"),
        (GOOD.replace('["0-7"]', '"0-7"'), "cells.eu-1: found '0-7'; expected a list"),
        (GOOD.replace("eu-1:", "EU_1:"), "cell name 'EU_1' is not valid"),
        ("region: europe-west2\nbuckets: 16\ncells: [1]\n", "cells: cells must be a mapping"),
    ],
)
def test_shape_problems(text: str, fragment: str) -> None:
    found = problems_of(text)
    assert any(fragment in p for p in found), found


def test_shape_problem_is_positioned() -> None:
    [problem] = problems_of(GOOD.replace('"9-15"', '"9-16"'))
    assert problem.startswith("regions/shards/europe-west2.yaml:5:")


def test_validate_region_missing_file(tmp_path: Path) -> None:
    [problem] = validate_region(tmp_path, "europe-west2", ["eu-2", "eu-1"], 1024, 0.75)
    assert str(problem) == (
        "regions/shards/europe-west2.yaml: (file): region europe-west2 has no shard table; "
        "create it with `rollout shards init europe-west2 --cells eu-1,eu-2 --buckets 1024`"
    )


def test_validate_region_returns_reader_problems(tmp_path: Path) -> None:
    path = tmp_path / "regions" / "shards" / "europe-west2.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(GOOD + "region: again\n", encoding="utf-8")
    [problem] = validate_region(tmp_path, "europe-west2", ["eu-1", "eu-2"], 16, 0.75)
    assert "duplicate key 'region'" in str(problem)


def test_render_compacts_and_keeps_schema_line() -> None:
    assignment = {b: ("eu-2" if b in (3, 4, 5, 9) else "eu-1") for b in range(12)}
    text = render_table("europe-west2", 12, assignment, "# yaml-language-server: $schema=x.json")
    assert text == (
        "# yaml-language-server: $schema=x.json\n"
        "region: europe-west2\n"
        "buckets: 12\n"
        "cells:\n"
        '  eu-1: ["0-2", "6-8", "10-11"]\n'
        '  eu-2: ["3-5", "9"]\n'
    )
    doc = parse_text(text, "t.yaml")
    assert validate_table(doc, "europe-west2", ["eu-1", "eu-2"], 12, 1.0) == []


def test_compact_ranges() -> None:
    assert compact_ranges([5, 0, 1, 2, 2, 7, 6]) == [(0, 2), (5, 7)]
    assert compact_ranges([]) == []


def test_even_split() -> None:
    split = even_split(["a", "b", "c"], 10)
    assert Counter(split.values()) == {"a": 4, "b": 3, "c": 3}
    assert compact_ranges(b for b, c in split.items() if c == "b") == [(4, 6)]


def test_json_schema_export() -> None:
    schema = ShardTableFile.model_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"region", "buckets", "cells"}
    with pytest.raises(ValueError):
        ShardTableFile.model_validate({**json.loads(json.dumps(GOOD_DATA)), "extra": 1})
    with pytest.raises(ValueError):
        ShardTableFile.model_validate({**GOOD_DATA, "cells": {"eu-1": ["0..7"]}})


GOOD_DATA = {"region": "europe-west2", "buckets": 16, "cells": {"eu-1": ["0-7"], "eu-2": [8]}}


# --------------------------------------------------------------------------- rebalancer


def test_add_cell_to_two_even_cells() -> None:
    before = even_split(["eu-1", "eu-2"], 1024)
    after, moves = add_cell(before, "eu-3")
    assert len(moves) == minimum_moves(before, "add", "eu-3") == 341
    assert Counter(after.values()) == {"eu-1": 341, "eu-2": 342, "eu-3": 341}
    # Ties go to the lower name first, and donors give their highest buckets.
    assert compact_ranges(m.bucket for m in moves) == [(341, 511), (854, 1023)]
    assert moves[0] == Move(341, "eu-1", "eu-3")
    assert render_table("europe-west2", 1024, after).splitlines()[4:] == [
        '  eu-1: ["0-340"]',
        '  eu-2: ["512-853"]',
        '  eu-3: ["341-511", "854-1023"]',
    ]


def test_drain_cell_spreads_least_loaded_first() -> None:
    before = {**{b: "a" for b in range(0, 6)}, **{b: "b" for b in range(6, 8)}}
    before.update({b: "c" for b in range(8, 12)})
    after, moves = drain_cell(before, "c")
    # Least loaded first: b (2) takes all four and catches up with a (6).
    assert Counter(after.values()) == {"a": 6, "b": 6}
    assert moves == [Move(b, "c", "b") for b in range(8, 12)]
    assert minimum_moves(before, "drain", "c") == 4


def test_rebalancer_errors() -> None:
    table = even_split(["eu-1", "eu-2"], 8)
    with pytest.raises(InputError, match="already holds 4 buckets"):
        add_cell(table, "eu-1", file="regions/shards/europe-west2.yaml")
    with pytest.raises(InputError, match="'eu-9' is not in the table"):
        drain_cell(table, "eu-9")
    with pytest.raises(InputError, match="is the last cell"):
        drain_cell(even_split(["eu-1"], 8), "eu-1")
    with pytest.raises(InputError, match="cannot give 3 cells one bucket each"):
        add_cell(even_split(["ca", "cb"], 2), "cc")
    with pytest.raises(InputError, match="not valid"):
        add_cell(table, "Bad Name")
    with pytest.raises(InputError) as info:
        add_cell(table, "eu-2", file="regions/shards/europe-west2.yaml")
    assert str(info.value.problems[0]).startswith("regions/shards/europe-west2.yaml: cells.eu-2: ")


@st.composite
def tables(draw: st.DrawFn) -> dict[int, str]:
    """1..64 cells over n+1..2048 buckets, uneven sizes, optionally scattered ranges."""
    n = draw(st.integers(1, 64))
    buckets = draw(st.integers(n + 1, 2048))
    cuts = sorted(draw(st.sets(st.integers(1, buckets - 1), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, buckets]
    names = [f"c-{i}" for i in range(n)]
    order = list(range(buckets))
    if draw(st.booleans()):
        draw(st.randoms(use_true_random=False)).shuffle(order)
    return {order[b]: names[i] for i in range(n) for b in range(bounds[i], bounds[i + 1])}


def fair_share(buckets: int, cells_after: int) -> int:
    """The documented rule, computed independently: the new cell ends with floor(B/(n+1))."""
    return buckets // cells_after


def check_moves(before: dict[int, str], after: dict[int, str], moves: list[Move], cell: str):
    assert sorted(after) == sorted(before)  # every bucket still assigned exactly once
    changed = sorted(b for b in before if before[b] != after[b])
    assert changed == [m.bucket for m in moves]
    for m in moves:
        assert before[m.bucket] == m.from_cell and after[m.bucket] == m.to_cell
        assert cell in (m.from_cell, m.to_cell)  # nothing moves except to/from the cell


@settings(max_examples=50, deadline=None)
@given(tables(), st.sampled_from(["new", "a-new", "c-5x"]))
def test_add_cell_properties(before: dict[int, str], cell: str) -> None:
    n = len(set(before.values()))
    after, moves = add_cell(before, cell)
    check_moves(before, after, moves, cell)
    assert all(m.to_cell == cell for m in moves)
    assert len(moves) == fair_share(len(before), n + 1) == minimum_moves(before, "add", cell)
    loads = Counter(after.values())
    donors = {m.from_cell for m in moves}
    old_max = max(v for c, v in loads.items() if c != cell)
    assert all(loads[d] >= old_max - 1 for d in donors)  # taken from the most loaded
    # Deterministic, whatever the dict order.
    shuffled = dict(sorted(before.items(), key=lambda kv: hash((kv[0] * 7919) % 104729)))
    assert add_cell(shuffled, cell) == (after, moves)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64), st.integers(0, 2048))
def test_add_cell_to_balanced_table_stays_balanced(n: int, extra: int) -> None:
    buckets = n + 1 + extra
    before = even_split([f"c-{i}" for i in range(n)], buckets)
    after, moves = add_cell(before, "new")
    loads = Counter(after.values())
    assert len(loads) == n + 1
    assert max(loads.values()) - min(loads.values()) <= 1
    assert len(moves) == buckets // (n + 1)


@settings(max_examples=50, deadline=None)
@given(tables(), st.data())
def test_drain_cell_properties(before: dict[int, str], data: st.DataObject) -> None:
    cells = sorted(set(before.values()))
    if len(cells) == 1:
        with pytest.raises(InputError):
            drain_cell(before, cells[0])
        return
    cell = data.draw(st.sampled_from(cells))
    after, moves = drain_cell(before, cell)
    check_moves(before, after, moves, cell)
    assert all(m.from_cell == cell for m in moves)
    assert len(moves) == Counter(before.values())[cell] == minimum_moves(before, "drain", cell)
    assert cell not in after.values()
    loads = Counter(after.values())
    receivers = {m.to_cell for m in moves}
    assert all(loads[r] <= min(loads.values()) + 1 for r in receivers)  # least loaded first
    for r in receivers:  # one contiguous run of the drained buckets per receiver
        got = sorted(m.bucket for m in moves if m.to_cell == r)
        drained = sorted(b for b in before if before[b] == cell)
        i = drained.index(got[0])
        assert drained[i : i + len(got)] == got
    assert drain_cell(dict(reversed(list(before.items()))), cell) == (after, moves)


# --------------------------------------------------------------------------- publication


def test_publish_artifact_is_canonical_and_content_addressed() -> None:
    assignment = even_split(["eu-2", "eu-1"], 8)
    name, content = publish_artifact("europe-west2", assignment, 8)
    doc = json.loads(content)
    body = {k: v for k, v in doc.items() if k != "version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert doc["version"] == hashlib.sha256(canonical).hexdigest()[:16]
    assert name == f"shard-map/europe-west2/{doc['version']}.json"
    assert content == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["cells"] == {"eu-1": [[4, 7]], "eu-2": [[0, 3]]}
    assert doc["hash"] == "sha256-of-customer-id-first-8-bytes-big-endian-mod-buckets"
    assert doc["buckets"] == 8 and doc["region"] == "europe-west2"
    reordered = dict(sorted(assignment.items(), reverse=True))
    assert publish_artifact("europe-west2", reordered, 8) == (name, content)
    moved = {**assignment, 0: "eu-1"}
    assert publish_artifact("europe-west2", moved, 8)[0] != name
    with pytest.raises(ValueError):
        publish_artifact("europe-west2", assignment, 9)
    assert "origins" not in doc  # published without origins: the bytes maps had before them


ORIGINS = {"eu-1": "eu-1.euw2.origin.demobank.example", "eu-2": "eu-2.euw2.origin.demobank.example"}


def test_publish_artifact_carries_each_cells_origin_in_the_hashed_body() -> None:
    assignment = even_split(["eu-1", "eu-2"], 8)
    name, content = publish_artifact("europe-west2", assignment, 8, ORIGINS)
    doc = json.loads(content)
    assert doc["origins"] == ORIGINS
    body = {k: v for k, v in doc.items() if k != "version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert doc["version"] == hashlib.sha256(canonical).hexdigest()[:16]
    assert name == f"shard-map/europe-west2/{doc['version']}.json"
    assert name != publish_artifact("europe-west2", assignment, 8)[0]
    moved = {**ORIGINS, "eu-2": "eu-2b.euw2.origin.demobank.example"}
    assert publish_artifact("europe-west2", assignment, 8, moved)[0] != name  # origin is hashed
    assert shards.origin_hostname("eu-1", "euw2", "demobank.example") == ORIGINS["eu-1"]


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ({"eu-1": ORIGINS["eu-1"]}, "missing: eu-2; not in the table: none"),
        ({**ORIGINS, "eu-3": "eu-3.euw2.origin.demobank.example"}, "not in the table: eu-3"),
        (
            {**ORIGINS, "eu-2": "https://eu-2.example"},
            "origin of cell eu-2 is 'https://eu-2.example'",
        ),
        ({**ORIGINS, "eu-2": "EU-2.example"}, "expected a lowercase DNS hostname"),
        ({**ORIGINS, "eu-2": "eu-2.example\n"}, "expected a lowercase DNS hostname"),
        ({**ORIGINS, "eu-2": "eu-2..example"}, "expected a lowercase DNS hostname"),
    ],
)
def test_publish_artifact_refuses_bad_origins(origins: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        publish_artifact("europe-west2", even_split(["eu-1", "eu-2"], 8), 8, origins)


# --------------------------------------------------------------------------- CLI


def run_cli(root: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="rollout")
    shards.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.root = root
    return int(args.func(args))


EU_3 = "  eu-3:\n    cidr: 10.17.0.0/17\n"


@pytest.fixture
def project(project_copy: Path) -> Path:
    """A copy of the project whose europe-west2 table was made by `shards init`."""
    table_file(project_copy).unlink()
    assert run_cli(project_copy, "shards", "init", "europe-west2", "--cells", "eu-1,eu-2") == 0
    return project_copy


def declare_eu_3(root: Path) -> None:
    region = root / "regions" / "europe-west2.yaml"
    region.write_text(region.read_text() + EU_3)


def table_file(root: Path) -> Path:
    return root / "regions" / "shards" / "europe-west2.yaml"


def test_cli_init_matches_committed_table(project: Path) -> None:
    committed = ROOT / "regions" / "shards" / "europe-west2.yaml"
    assert table_file(project).read_text() == committed.read_text()
    with pytest.raises(InputError, match="already exists"):
        run_cli(project, "shards", "init", "europe-west2", "--cells", "eu-1")


@pytest.mark.parametrize("cells", ["", "eu-1,eu-1", "EU 1"])
def test_cli_init_rejects_bad_cells(project_copy: Path, cells: str) -> None:
    with pytest.raises(InputError, match="--cells"):
        run_cli(project_copy, "shards", "init", "europe-west2", "--cells", cells)


def test_cli_init_writes_only_what_validate_accepts(project_copy: Path) -> None:
    table_file(project_copy).unlink()
    with pytest.raises(InputError) as info:  # eu-3 is not in the region file
        run_cli(project_copy, "shards", "init", "europe-west2", "--cells", "eu-1,eu-2,eu-3")
    assert "cell 'eu-3' is not declared in region europe-west2" in str(info.value)
    with pytest.raises(InputError, match="config says shards.buckets: 1024"):
        run_cli(project_copy, "shards", "init", "europe-west2", "--cells", "eu-1,eu-2",
                "--buckets", "512")  # fmt: skip
    with pytest.raises(InputError, match="outside 1..65536"):
        run_cli(project_copy, "shards", "init", "europe-west2", "--cells", "eu-1",
                "--buckets", str(10**12))  # fmt: skip
    with pytest.raises(InputError, match="no stack builds region europe-west9"):
        run_cli(project_copy, "shards", "init", "europe-west9", "--cells", "eu-1")
    assert not table_file(project_copy).exists()


def test_cli_add_cell_json_and_dry_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = table_file(project).read_text()
    with pytest.raises(InputError) as info:  # not declared yet: validate would refuse it
        run_cli(project, "shards", "add-cell", "europe-west2", "eu-3")
    assert "cell 'eu-3' is not declared in region europe-west2" in str(info.value)
    assert table_file(project).read_text() == before
    declare_eu_3(project)
    assert (
        run_cli(project, "shards", "add-cell", "europe-west2", "eu-3", "--dry-run", "--json") == 0
    )
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    assert set(doc) == {"moves", "moved", "minimum"}
    assert doc["moved"] == doc["minimum"] == len(doc["moves"]) == 341
    assert doc["moves"][0] == {"bucket": 341, "from": "eu-1", "to": "eu-3"}
    assert table_file(project).read_text() == before

    assert run_cli(project, "shards", "add-cell", "europe-west2", "eu-3") == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == " 341  eu-1 -> eu-3"
    assert lines[-2] == "moved 341 buckets (minimum 341)"
    assert lines[-1] == "wrote regions/shards/europe-west2.yaml"
    text = table_file(project).read_text()
    assert text.splitlines()[0] == shards.SCHEMA_LINE
    assert '  eu-3: ["341-511", "854-1023"]' in text
    assert validate_region(project, "europe-west2", ["eu-1", "eu-2", "eu-3"], 1024, 0.75) == []


def test_cli_drain_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = table_file(project).read_text()
    with pytest.raises(InputError) as info:  # eu-2 would hold every bucket: over 75%
        run_cli(project, "shards", "drain-cell", "europe-west2", "eu-1")
    assert "cell eu-2 holds 1024 of 1024 buckets (100.0%), above the limit of 75.0%" in str(
        info.value
    )
    assert table_file(project).read_text() == before
    declare_eu_3(project)
    assert run_cli(project, "shards", "add-cell", "europe-west2", "eu-3") == 0
    capsys.readouterr()
    assert run_cli(project, "shards", "drain-cell", "europe-west2", "eu-1", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["moved"] == doc["minimum"] == 341
    assert validate_region(project, "europe-west2", ["eu-2", "eu-3"], 1024, 0.75) == []
    with pytest.raises(InputError, match="cell eu-3 holds 1024 of 1024 buckets"):
        run_cli(project, "shards", "drain-cell", "europe-west2", "eu-2")


def test_cli_refuses_to_drop_hand_written_comments(project: Path) -> None:
    declare_eu_3(project)
    path = table_file(project)
    text = path.read_text().replace("  eu-2:", "  # eu-2 serves the pilot customers\n  eu-2:")
    path.write_text(text)
    with pytest.raises(InputError) as info:
        run_cli(project, "shards", "add-cell", "europe-west2", "eu-3")
    (problem,) = info.value.problems
    assert problem.line == 6 and "a comment or a hand edit" in problem.message
    assert path.read_text() == text


def test_cli_rejects_a_broken_table(project: Path) -> None:
    declare_eu_3(project)
    path = table_file(project)
    path.write_text(path.read_text().replace('"512-1023"', '"520-1023"'))
    with pytest.raises(InputError) as info:
        run_cli(project, "shards", "add-cell", "europe-west2", "eu-3")
    assert "buckets 512-519 are assigned to no cell" in str(info.value)
    (project / "regions" / "shards" / "asia-southeast1.yaml").unlink()
    with pytest.raises(InputError, match="has no shard table"):
        run_cli(project, "shards", "publish", "asia-southeast1")
    path.write_text(path.read_text().replace("buckets: 1024", f"buckets: {10**12}"))
    with pytest.raises(InputError, match="a region has 1..65536 buckets"):
        run_cli(project, "shards", "add-cell", "europe-west2", "eu-3")


def test_cli_rejects_path_like_region(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run_cli(tmp_path, "shards", "publish", "../etc")


def test_cli_publish(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = project / "out"
    assert run_cli(project, "shards", "publish", "europe-west2", "--out", str(out_dir)) == 0
    printed = Path(capsys.readouterr().out.strip())
    # The origins come from the project: <cell>.<region short>.origin.<zone name>.
    name, content = publish_artifact(
        "europe-west2", even_split(["eu-1", "eu-2"], 1024), 1024, ORIGINS
    )
    assert printed == out_dir / name
    assert printed.read_bytes() == content


def test_random_ids_spread_over_buckets() -> None:
    rng = random.Random(7)
    ids = (str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(16_000))
    counts = Counter(bucket_for(customer_id, 16) for customer_id in ids)
    assert len(counts) == 16 and min(counts.values()) > 850  # ~1000 each; a broken hash skews
