"""Database sharding: the customer-to-bucket hash, the bucket-to-cell table and its rebalancer.

Routing contract (reproduce it in any language)
-----------------------------------------------
A customer id has one canonical form, a lowercase hyphenated UUID (36 ASCII characters)::

    ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$

Anything else (upper case, braces, no hyphens, a ``urn:uuid:`` prefix, whitespace, a trailing
newline) is refused, never normalised: two spellings of one customer must not hash to two
cells. Each region has a fixed number of buckets ``B`` (``shards.buckets`` in the region
config, 1024 by default, never changed after go-live). A customer's bucket is::

    digest = SHA-256(the 36 ASCII bytes of the canonical customer id)
    bucket = (first 8 bytes of digest as an unsigned 64-bit big-endian integer) mod B

The integer needs all 64 bits (in JavaScript a BigInt: a Number keeps only 53). The shared
vectors in ``tests/vectors/customer-buckets.json`` pin this for Python and the edge Worker.

Buckets map to cells through a committed table, ``regions/shards/<region>.yaml``::

    region: europe-west2
    buckets: 1024
    cells:
      eu-1: ["0-511"]      # inclusive ranges "a-b", single buckets "n" or plain ints
      eu-2: ["512-1023"]

Every bucket belongs to exactly one cell. Routers read the published artifact (see
``publish_artifact``): canonical JSON with each cell's origin hostname, named after its content
hash, so a router can cache it forever and a new table is a new file.

Rebalancing rules (both moves are minimal and touch only the cell in question)
-----------------------------------------------------------------------------
- ``add_cell``: with ``n`` cells and ``B`` buckets the new cell ends with exactly
  ``floor(B / (n + 1))`` buckets, the smaller fair share, so the fewest buckets move. They are
  taken one at a time from the most loaded cell (ties: lowest cell name), always that cell's
  highest-numbered bucket, so a donor's ranges stay contiguous. From a balanced table the
  result is balanced (largest minus smallest cell at most 1).
- ``drain_cell``: every bucket of the drained cell moves, nothing else does. Receivers are
  filled least loaded first (ties: lowest cell name); each receiver gets one contiguous run of
  the drained buckets, receivers in name order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rollout import files, names, yamlfile
from rollout.catalog import (
    CELL_NAME_MAX,
    CELL_NAME_MIN,
    CELL_NAME_PATTERN,
    CELL_NAME_RULE,
    MAX_BUCKETS,
    is_cell_name,
)
from rollout.errors import InputError, Problem
from rollout.yamlfile import YamlDoc

DEFAULT_BUCKETS = 1024
HASH_NAME = "sha256-of-customer-id-first-8-bytes-big-endian-mod-buckets"
SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/json/shard-table.schema.json"
TABLE_KEYS = ("region", "buckets", "cells")
REGION_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"  # a region file's name, e.g. europe-west2
RANGE_PATTERN = r"^[0-9]+(-[0-9]+)?$"
_REGION_RE = re.compile(REGION_PATTERN)
_RANGE_RE = re.compile(RANGE_PATTERN)
_MAX_LISTED_RANGES = 20  # keeps a gap message on one readable line

Assignment = dict[int, str]


# --------------------------------------------------------------------------- hashing


CUSTOMER_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)
_CUSTOMER_ID_EXAMPLE = "0f8fad5b-d9cb-469f-a165-70867728950e"


def canonical_customer_id(customer_id: object) -> str:
    """``customer_id`` itself if it is canonical (see the module docstring), else ValueError.

    It never normalises: a fixed-up id would be a second spelling that routes elsewhere.
    """
    # fullmatch, not match: "$" alone would accept a trailing newline.
    if isinstance(customer_id, str) and _CUSTOMER_ID_RE.fullmatch(customer_id):
        return customer_id
    shown = repr(customer_id) if len(repr(customer_id)) <= 60 else f"{repr(customer_id)[:57]}..."
    raise ValueError(
        f"customer id {shown} is not canonical; expected a lowercase hyphenated UUID like "
        f"{_CUSTOMER_ID_EXAMPLE} (ids are refused, never normalised)"
    )


def bucket_for(customer_id: str, buckets: int = DEFAULT_BUCKETS) -> int:
    """The bucket of a canonical ``customer_id``; see the module docstring for the definition."""
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1:
        raise ValueError(f"buckets must be a positive integer, got {buckets!r}")
    digest = hashlib.sha256(canonical_customer_id(customer_id).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % buckets


# --------------------------------------------------------------------------- ranges


def compact_ranges(buckets: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, minimal inclusive ranges covering ``buckets``: [0,1,2,5] -> [(0,2),(5,5)]."""
    out: list[tuple[int, int]] = []
    for b in sorted(set(buckets)):
        if out and out[-1][1] == b - 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((b, b))
    return out


def format_ranges(ranges: Iterable[tuple[int, int]]) -> list[str]:
    """Table notation: ``"a-b"`` for a run, ``"n"`` for a single bucket."""
    return [str(a) if a == b else f"{a}-{b}" for a, b in ranges]


def describe_buckets(buckets: Iterable[int]) -> str:
    """``bucket 7`` or ``buckets 0-3, 9``, shortened when very fragmented."""
    ranges = compact_ranges(buckets)
    count = sum(b - a + 1 for a, b in ranges)
    text = ", ".join(format_ranges(ranges[:_MAX_LISTED_RANGES]))
    if len(ranges) > _MAX_LISTED_RANGES:
        text += f" and {len(ranges) - _MAX_LISTED_RANGES} more ranges ({count} buckets in all)"
    return f"bucket {text}" if count == 1 else f"buckets {text}"


def _parse_item(item: object) -> tuple[int, int] | None:
    """One table entry as an inclusive range, or None when it is not valid notation."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return (item, item)
    if isinstance(item, str) and _RANGE_RE.match(item):
        first, _, last = item.partition("-")
        return (int(first), int(last or first))
    return None


# --------------------------------------------------------------------------- file model


RegionName = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
CellName = Annotated[
    str,
    StringConstraints(
        pattern=CELL_NAME_PATTERN, min_length=CELL_NAME_MIN, max_length=CELL_NAME_MAX
    ),
]
RangeText = Annotated[str, StringConstraints(pattern=RANGE_PATTERN)]


class ShardTableFile(BaseModel):
    """``regions/shards/<region>.yaml``: which cell holds which buckets of a region."""

    model_config = ConfigDict(extra="forbid", title="Shard table")

    region: RegionName = Field(description="The region this table belongs to, e.g. europe-west2.")
    buckets: int = Field(
        ge=1,
        description="Bucket count; must equal shards.buckets of the region, never changes.",
    )
    cells: dict[CellName, list[Annotated[int, Field(ge=0)] | RangeText]] = Field(
        description='Cell name -> buckets it holds: inclusive ranges "a-b", single "n" or ints.',
        # Without this, editors would accept a badly named cell: keys only match a pattern.
        json_schema_extra={"additionalProperties": False},
    )


@dataclass(frozen=True)
class ShardTable:
    """A validated table: every bucket of ``range(buckets)`` appears once in ``assignment``."""

    region: str
    buckets: int
    assignment: Assignment


# --------------------------------------------------------------------------- validation


def _shape_problems(doc: YamlDoc, region: str, buckets: int) -> list[Problem]:
    data = doc.data
    problems: list[Problem] = []
    accepted = ", ".join(TABLE_KEYS)
    for key in data:
        if key not in TABLE_KEYS:
            problems.append(doc.problem((key,), f"unknown key {key!r}; accepted keys: {accepted}"))
    missing = [k for k in TABLE_KEYS if k not in data]
    if missing:
        problems.append(doc.problem((), f"missing {', '.join(missing)}; a table needs {accepted}"))
    if "region" in data and data["region"] != region:
        problems.append(
            doc.problem(
                ("region",),
                f"region is {data['region']!r} but this is the table of region {region!r}; "
                f"set region: {region}",
            )
        )
    if "buckets" in data:
        found = data["buckets"]
        if isinstance(found, bool) or not isinstance(found, int) or found != buckets:
            problems.append(
                doc.problem(
                    ("buckets",),
                    f"buckets is {found!r} but the region config says shards.buckets: "
                    f"{buckets}; the bucket count never changes after go-live",
                )
            )
    cells = data.get("cells")
    if "cells" in data and not isinstance(cells, dict):
        problems.append(
            doc.problem(("cells",), "cells must be a mapping of cell name -> list of ranges")
        )
        return problems
    for cell, items in (cells or {}).items():
        at: tuple[str | int, ...] = ("cells", cell)
        if not is_cell_name(cell):
            problems.append(
                doc.problem(at, f"cell name {cell!r} is not valid; use {CELL_NAME_RULE}")
            )
        if not isinstance(items, list):
            problems.append(
                doc.problem(at, f'found {items!r}; expected a list of ranges like ["0-511"]')
            )
            continue
        for i, item in enumerate(items):
            parsed = _parse_item(item)
            if parsed is None:
                problems.append(
                    doc.problem(
                        (*at, i),
                        f'found {item!r}; expected a bucket number or an inclusive range "a-b"',
                    )
                )
            elif parsed[0] > parsed[1]:
                problems.append(
                    doc.problem(
                        (*at, i),
                        f'range {item!r} runs backwards; write it as "{parsed[1]}-{parsed[0]}"',
                    )
                )
            elif parsed[0] < 0 or parsed[1] >= buckets:
                problems.append(
                    doc.problem(
                        (*at, i),
                        f"range {item!r} is outside the region's buckets 0-{buckets - 1}",
                    )
                )
    return problems


def _cell_buckets(doc: YamlDoc) -> dict[str, list[int]]:
    """Buckets per cell, duplicates kept, from a table whose shape has been checked."""
    out: dict[str, list[int]] = {}
    for cell, items in doc.data["cells"].items():
        held: list[int] = []
        for item in items:
            parsed = _parse_item(item)
            assert parsed is not None
            held.extend(range(parsed[0], parsed[1] + 1))
        out[cell] = held
    return out


def validate_table(
    doc: YamlDoc,
    region: str,
    declared_cells: Iterable[str],
    buckets: int,
    max_cell_share: float,
) -> list[Problem]:
    """Every problem with a parsed table, one line each; an empty list means it is valid."""
    problems = _shape_problems(doc, region, buckets)
    if problems:
        return problems  # coverage checks on a malformed table would only add noise
    declared = sorted(set(declared_cells))
    held = _cell_buckets(doc)

    owners: dict[int, list[str]] = defaultdict(list)
    for cell, bs in held.items():
        repeated = [b for b, n in Counter(bs).items() if n > 1]
        if repeated:
            problems.append(
                doc.problem(
                    ("cells", cell),
                    f"{describe_buckets(repeated)} listed more than once in {cell}; "
                    "list each bucket once",
                )
            )
        for b in set(bs):
            owners[b].append(cell)

    gaps = [b for b in range(buckets) if b not in owners]
    if gaps:
        verb = "is" if len(gaps) == 1 else "are"
        problems.append(
            doc.problem(
                ("cells",),
                f"{describe_buckets(gaps)} {verb} assigned to no cell; "
                "assign each bucket to exactly one cell",
            )
        )
    shared: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for b, holders in owners.items():
        if len(holders) > 1:
            shared[tuple(sorted(holders))].append(b)
    for group, bs in sorted(shared.items()):
        verb = "is" if len(bs) == 1 else "are"
        who = f"both {group[0]} and {group[1]}" if len(group) == 2 else f"all of {', '.join(group)}"
        problems.append(
            doc.problem(
                ("cells", group[-1]),
                f"{describe_buckets(bs)} {verb} assigned to {who}; "
                "assign each bucket to exactly one cell",
            )
        )

    for cell in held:
        if cell not in declared:
            problems.append(
                doc.problem(
                    ("cells", cell),
                    f"cell {cell!r} is not declared in region {region} (declared cells: "
                    f"{', '.join(declared) or 'none'}); declare it under cells: in "
                    f"regions/{region}.yaml or move its buckets away",
                )
            )
    for cell in declared:
        if not held.get(cell):
            problems.append(
                doc.problem(
                    ("cells",),
                    f"declared cell {cell!r} holds no buckets; give it buckets with "
                    f"`rollout shards add-cell {region} {cell}`",
                )
            )
    for cell, bs in held.items():
        share = len(set(bs)) / buckets
        if share > max_cell_share:
            problems.append(
                doc.problem(
                    ("cells", cell),
                    f"cell {cell} holds {len(set(bs))} of {buckets} buckets ({share:.1%}), "
                    f"above the limit of {max_cell_share:.1%}; add a cell to spread the load",
                )
            )
    return problems


def table_path(root: Path, region: str) -> Path:
    return root / "regions" / "shards" / f"{region}.yaml"


def _display(region: str) -> str:
    return f"regions/shards/{region}.yaml"


def validate_region(
    root: Path,
    region: str,
    declared_cells: Iterable[str],
    buckets: int,
    max_cell_share: float,
) -> list[Problem]:
    """Read and validate ``regions/shards/<region>.yaml``; problems, never an exception."""
    path = table_path(root, region)
    declared = list(declared_cells)
    if not path.exists():
        cells = ",".join(sorted(declared)) or "CELL1,CELL2"
        return [
            Problem(
                _display(region),
                "(file)",
                f"region {region} has no shard table; create it with "
                f"`rollout shards init {region} --cells {cells} --buckets {buckets}`",
            )
        ]
    try:
        doc = yamlfile.read(path, root)
    except InputError as exc:
        return exc.problems
    return validate_table(doc, region, declared, buckets, max_cell_share)


def load_table(root: Path, region: str) -> tuple[ShardTable, str | None]:
    """The table of ``region`` checked on its own terms, and its ``$schema`` line if any.

    Cell declarations and the configured bucket count belong to the region config; here the
    table is checked for shape and exact coverage, which is what the rebalancer needs.
    """
    path = table_path(root, region)
    if not path.exists():
        raise InputError(validate_region(root, region, [], DEFAULT_BUCKETS, 1.0))
    doc = yamlfile.read(path, root)
    found = doc.data.get("buckets")
    buckets = found if isinstance(found, int) and not isinstance(found, bool) and found > 0 else 0
    if buckets > MAX_BUCKETS:  # every check below loops over the buckets: bound them first
        raise InputError(
            [doc.problem(("buckets",), f"found {buckets}; a region has 1..{MAX_BUCKETS} buckets")]
        )
    cells = doc.data.get("cells")
    declared = [c for c in cells if isinstance(c, str)] if isinstance(cells, dict) else []
    problems = validate_table(doc, region, declared, buckets or DEFAULT_BUCKETS, 1.0)
    if problems:
        raise InputError(problems)
    assignment = {b: cell for cell, bs in _cell_buckets(doc).items() for b in bs}
    first = path.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()[:1]
    schema = first[0] if first and "$schema=" in first[0] else None
    return ShardTable(region, buckets, assignment), schema


# --------------------------------------------------------------------------- writing


def cells_of(assignment: Mapping[int, str]) -> dict[str, list[int]]:
    """Cell -> sorted buckets, cells in name order."""
    out: dict[str, list[int]] = defaultdict(list)
    for b in sorted(assignment):
        out[assignment[b]].append(b)
    return {c: out[c] for c in sorted(out)}


def render_table(
    region: str, buckets: int, assignment: Mapping[int, str], schema_line: str | None = None
) -> str:
    """The table file: schema line, then cells in name order with compact sorted ranges."""
    lines = [schema_line or SCHEMA_LINE, f"region: {region}", f"buckets: {buckets}", "cells:"]
    for cell, bs in cells_of(assignment).items():
        key = cell if is_cell_name(cell) else json.dumps(cell)
        lines.append(f"  {key}: {json.dumps(format_ranges(compact_ranges(bs)))}")
    return "\n".join(lines) + "\n"


def even_split(cells: Sequence[str], buckets: int = DEFAULT_BUCKETS) -> Assignment:
    """Contiguous ranges in the given cell order; the first ``buckets % n`` cells get one more."""
    n = len(cells)
    base, extra = divmod(buckets, n)
    out: Assignment = {}
    start = 0
    for i, cell in enumerate(cells):
        size = base + (1 if i < extra else 0)
        out.update({b: cell for b in range(start, start + size)})
        start += size
    return out


# --------------------------------------------------------------------------- rebalancer


@dataclass(frozen=True, order=True)
class Move:
    """One bucket changing cells; its customers' rows are copied before the table flips."""

    bucket: int
    from_cell: str
    to_cell: str


def _loads(assignment: Mapping[int, str]) -> dict[str, list[int]]:
    return cells_of(assignment)


def minimum_moves(assignment: Mapping[int, str], action: Literal["add", "drain"], cell: str) -> int:
    """The fewest moves ``action`` can make; computed from counts alone, not from a plan."""
    if action == "add":
        return len(assignment) // (len(set(assignment.values())) + 1)
    return sum(1 for c in assignment.values() if c == cell)


def add_cell(
    assignment: Mapping[int, str], cell: str, *, file: str = "(shard table)"
) -> tuple[Assignment, list[Move]]:
    """Give a new cell its fair share ``floor(B/(n+1))``, taken from the most loaded cells."""
    loads = _loads(assignment)
    if not loads:
        raise InputError.one(
            file, "cells", "the table has no cells; create it with `rollout shards init`"
        )
    if cell in loads:
        raise InputError.one(
            file,
            f"cells.{cell}",
            f"cell {cell!r} already holds {len(loads[cell])} buckets; add a cell with a new name",
        )
    if not is_cell_name(cell):
        raise InputError.one(
            file, f"cells.{cell}", f"cell name {cell!r} is not valid; use {CELL_NAME_RULE}"
        )
    target = len(assignment) // (len(loads) + 1)
    if target == 0:
        raise InputError.one(
            file,
            "buckets",
            f"{len(assignment)} buckets cannot give {len(loads) + 1} cells one bucket each",
        )
    result = dict(assignment)
    moves: list[Move] = []
    for _ in range(target):
        donor = min(loads, key=lambda c: (-len(loads[c]), c))
        bucket = loads[donor].pop()  # highest-numbered: the donor's ranges stay contiguous
        result[bucket] = cell
        moves.append(Move(bucket, donor, cell))
    return result, sorted(moves)


def drain_cell(
    assignment: Mapping[int, str], cell: str, *, file: str = "(shard table)"
) -> tuple[Assignment, list[Move]]:
    """Move every bucket of ``cell`` to the others, least loaded first; nothing else moves."""
    loads = _loads(assignment)
    if cell not in loads:
        known = ", ".join(loads) or "none"
        raise InputError.one(
            file, f"cells.{cell}", f"cell {cell!r} is not in the table (cells: {known})"
        )
    if len(loads) == 1:
        raise InputError.one(
            file,
            f"cells.{cell}",
            f"cell {cell!r} is the last cell; add another cell before draining it",
        )
    drained = loads.pop(cell)
    counts = {c: len(bs) for c, bs in loads.items()}
    share = dict.fromkeys(loads, 0)
    for _ in drained:
        receiver = min(counts, key=lambda c: (counts[c], c))
        counts[receiver] += 1
        share[receiver] += 1
    result = dict(assignment)
    moves: list[Move] = []
    queue = iter(drained)  # ascending, so each receiver gets one contiguous run
    for receiver in sorted(share):
        for _ in range(share[receiver]):
            bucket = next(queue)
            result[bucket] = receiver
            moves.append(Move(bucket, cell, receiver))
    return result, sorted(moves)


# --------------------------------------------------------------------------- publication


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


# One DNS name of lowercase labels: the router puts it into a URL as the host.
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


origin_hostname = names.origin_hostname  # one scheme, kept in rollout.names


def project_origins(root: Path, region: str, cells: Iterable[str]) -> dict[str, str]:
    """Cell -> origin hostname for ``cells`` of ``region``, from the project's config."""
    from rollout.config import load_project

    project = load_project(root)
    spec = project.regions.get(region)
    if spec is None:
        raise InputError.one(
            _display(region),
            "(file)",
            f"no stack builds region {region}; add regions/{region}.yaml and its stack file first",
        )
    zone = project.global_.zone.name
    return {cell: origin_hostname(cell, spec.short, zone) for cell in sorted(set(cells))}


def _checked_origins(origins: Mapping[str, str], cells: Iterable[str]) -> dict[str, str]:
    """``origins`` as a plain dict if it names exactly ``cells``, each a valid hostname."""
    wanted, given = set(cells), set(origins)
    if wanted != given:
        missing = ", ".join(sorted(wanted - given)) or "none"
        extra = ", ".join(sorted(given - wanted)) or "none"
        raise ValueError(
            f"origins must name exactly the cells holding buckets ({', '.join(sorted(wanted))}); "
            f"missing: {missing}; not in the table: {extra}"
        )
    for cell, host in origins.items():
        if not isinstance(host, str) or not _HOSTNAME_RE.fullmatch(host):
            raise ValueError(
                f"origin of cell {cell} is {host!r}; expected a lowercase DNS hostname "
                "like eu-1.euw2.origin.demobank.example"
            )
    return {cell: origins[cell] for cell in sorted(origins)}


def publish_artifact(
    region: str,
    assignment: Mapping[int, str],
    buckets: int,
    origins: Mapping[str, str] | None = None,
) -> tuple[str, bytes]:
    """Canonical JSON for routers and its content-addressed name ``shard-map/<region>/<v>.json``.

    ``version`` is the first 16 hex digits of SHA-256 over the canonical document without
    ``version``, so the same table always yields the same bytes and name. ``origins`` maps
    every cell holding buckets to its origin hostname (see ``origin_hostname``), where the
    router forwards that cell's customers. ``None`` leaves the key out, as maps were before
    origins, byte for byte; the router refuses to route with such a map.
    """
    if sorted(assignment) != list(range(buckets)):
        raise ValueError(f"assignment must cover buckets 0-{buckets - 1} exactly once")
    cells = cells_of(assignment)
    body: dict[str, Any] = {
        "region": region,
        "buckets": buckets,
        "hash": HASH_NAME,
        "cells": {c: [list(r) for r in compact_ranges(bs)] for c, bs in cells.items()},
    }
    if origins is not None:
        body["origins"] = _checked_origins(origins, cells)
    version = hashlib.sha256(canonical_json(body)).hexdigest()[:16]
    content = canonical_json({**body, "version": version})
    return f"shard-map/{region}/{version}.json", content


# --------------------------------------------------------------------------- CLI


def _region_arg(value: str) -> str:
    if not _REGION_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"region {value!r} is not valid; expected a name like europe-west2"
        )
    return value


def _print_moves(moves: list[Move], minimum: int, as_json: bool, written: bool, file: str) -> None:
    if as_json:
        doc = {
            "moves": [{"bucket": m.bucket, "from": m.from_cell, "to": m.to_cell} for m in moves],
            "moved": len(moves),
            "minimum": minimum,
        }
        print(json.dumps(doc))
        return
    width = len(str(max((m.bucket for m in moves), default=0)))
    for m in moves:
        print(f"{m.bucket:>{width}}  {m.from_cell} -> {m.to_cell}")
    print(f"moved {len(moves)} buckets (minimum {minimum})")
    print(f"wrote {file}" if written else f"dry run: {file} not changed")


@dataclass(frozen=True)
class RegionShards:
    """What the region's config says a table must be: the rules ``rollout validate`` applies."""

    cells: tuple[str, ...]
    buckets: int
    max_cell_share: float


def region_shards(root: Path, region: str, file: str) -> RegionShards:
    """The configured cells and shard settings of ``region``, or one line if none builds it."""
    from rollout.config import load_project

    for spec in load_project(root).regions.values():
        if spec.region == region:
            return RegionShards(tuple(spec.cells), spec.shards.buckets, spec.shards.max_cell_share)
    raise InputError.one(
        file,
        "(file)",
        f"no stack builds region {region}; add regions/{region}.yaml and its stack file first",
    )


def _write_checked(
    path: Path, text: str, region: str, rules: RegionShards, cells: Iterable[str], file: str
) -> None:
    """Write the table only if ``rollout validate`` would accept it with ``cells`` declared."""
    problems = validate_table(
        yamlfile.parse_text(text, file), region, list(cells), rules.buckets, rules.max_cell_share
    )
    if problems:
        raise InputError(problems)
    files.write_file(path, text, file=file)


def _rebalance(args: argparse.Namespace, action: Literal["add", "drain"]) -> int:
    root: Path = args.root
    file = _display(args.region)
    path = table_path(root, args.region)
    rules = region_shards(root, args.region, file)
    # Held from the read to the write: a concurrent add-cell waits, then starts from ours.
    with files.locked(path, file=file):
        table, schema = load_table(root, args.region)
        files.refuse_hand_edits(
            path.read_text(encoding="utf-8"),
            render_table(table.region, table.buckets, table.assignment, schema),
            file=file,
            writer="rollout shards",
        )
        minimum = minimum_moves(table.assignment, action, args.cell)
        step = add_cell if action == "add" else drain_cell
        result, moves = step(table.assignment, args.cell, file=file)
        text = render_table(table.region, table.buckets, result, schema)
        # Judged as validate judges it, in the state the command leads to: a drained cell is
        # removed from the region file next, and a declared cell still waiting for its own
        # add-cell is not this command's business.
        holding = set(result.values())
        cells = [c for c in rules.cells if c in holding or (action == "add" and c == args.cell)]
        if args.dry_run:
            problems = validate_table(
                yamlfile.parse_text(text, file),
                args.region,
                cells,
                rules.buckets,
                rules.max_cell_share,
            )
            if problems:
                raise InputError(problems)
        else:
            _write_checked(path, text, args.region, rules, cells, file)
    _print_moves(moves, minimum, args.json, not args.dry_run, file)
    if action == "drain":
        print(
            f"reminder: remove cell {args.cell} from cells: in regions/{args.region}.yaml "
            "once its data has moved",
            file=sys.stderr,
        )
    return 0


def _cmd_add_cell(args: argparse.Namespace) -> int:
    return _rebalance(args, "add")


def _cmd_drain_cell(args: argparse.Namespace) -> int:
    return _rebalance(args, "drain")


def _cmd_init(args: argparse.Namespace) -> int:
    root: Path = args.root
    file = _display(args.region)
    path = table_path(root, args.region)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if not is_cell_name(c)]
    if not cells or bad or len(set(cells)) != len(cells):
        raise InputError.one(
            file,
            "cells",
            f"--cells {args.cells!r} is not a comma-separated list of distinct cell names "
            f"({CELL_NAME_RULE}), e.g. --cells eu-1,eu-2",
        )
    if not 1 <= args.buckets <= MAX_BUCKETS:
        raise InputError.one(
            file, "buckets", f"--buckets {args.buckets} is outside 1..{MAX_BUCKETS}"
        )
    if args.buckets < len(cells):
        raise InputError.one(
            file, "buckets", f"--buckets {args.buckets} is fewer than the {len(cells)} cells"
        )
    rules = region_shards(root, args.region, file)
    with files.locked(path, file=file):
        if path.exists():
            raise InputError.one(
                file,
                "(file)",
                "a shard table already exists; change it with `rollout shards add-cell` or "
                "`drain-cell` (the bucket count never changes after go-live)",
            )
        text = render_table(args.region, args.buckets, even_split(cells, args.buckets))
        _write_checked(path, text, args.region, rules, rules.cells, file)
    print(f"wrote {file}: {args.buckets} buckets over {', '.join(cells)}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    root: Path = args.root
    table, _ = load_table(root, args.region)
    origins = project_origins(root, args.region, table.assignment.values())
    name, content = publish_artifact(table.region, table.assignment, table.buckets, origins)
    out: Path = args.out if args.out is not None else root / "build"
    target = out / name
    files.write_file(target, content)
    print(target)
    return 0


def add_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rollout shards ...``; each ``func(args)`` (with ``args.root``) -> exit code."""
    shards = subparsers.add_parser("shards", help="bucket tables: init, rebalance, publish")
    sub = shards.add_subparsers(dest="shards_command", required=True, metavar="COMMAND")

    for name, handler, text in (
        ("add-cell", _cmd_add_cell, "add a cell, moving the fewest buckets to it"),
        ("drain-cell", _cmd_drain_cell, "move every bucket off a cell, nothing else"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("region", metavar="REGION", type=_region_arg)
        p.add_argument("cell", metavar="CELL")
        p.add_argument("--dry-run", action="store_true", help="print the moves, keep the table")
        p.add_argument("--json", action="store_true", help="print the moves as JSON")
        p.set_defaults(func=handler)

    init = sub.add_parser("init", help="write an evenly split table for a new region")
    init.add_argument("region", metavar="REGION", type=_region_arg)
    init.add_argument("--cells", required=True, help="comma-separated cell names, e.g. eu-1,eu-2")
    init.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS, help="default 1024")
    init.set_defaults(func=_cmd_init)

    publish = sub.add_parser("publish", help="write the versioned router artifact")
    publish.add_argument("region", metavar="REGION", type=_region_arg)
    publish.add_argument("--out", type=Path, default=None, help="output directory (./build)")
    publish.set_defaults(func=_cmd_publish)

    from rollout import moves  # here, not at the top: moves imports this module

    moves.add_cli(sub)


__all__ = [
    "DEFAULT_BUCKETS",
    "HASH_NAME",
    "Move",
    "ShardTable",
    "ShardTableFile",
    "add_cell",
    "add_cli",
    "bucket_for",
    "canonical_customer_id",
    "cells_of",
    "compact_ranges",
    "drain_cell",
    "even_split",
    "format_ranges",
    "load_table",
    "minimum_moves",
    "origin_hostname",
    "project_origins",
    "publish_artifact",
    "render_table",
    "validate_region",
    "validate_table",
]
