"""Shared test vectors for the customer-id hash, read by the Python tests and the edge Worker's.

``customer-buckets.json`` is committed and frozen: a change to it means customers would move
cells, so it is regenerated only on purpose and the diff reviewed::

    .venv/bin/python -m tests.vectors            # rewrite customer-buckets.json
    .venv/bin/python -m tests.vectors --check    # exit 1 if the file is stale
    .venv/bin/python -m tests.vectors maps DIR   # publish the shipped maps for the Worker tests

The buckets here are computed straight from hashlib, not through ``rollout.shards``, so the
file is a second statement of the contract rather than a copy of the code under test.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = Path(__file__).resolve().parent / "customer-buckets.json"
BUCKET_COUNTS = (1, 7, 1000, 1024, 65_536)  # 7 and 1000 are not powers of two: see below
SEED = 20261126
RANDOM_IDS = 192
EXAMPLE_ID = "c0ffee00-0000-4000-8000-000000000001"

# Each must be refused by every implementation; the reason says which slip it catches.
REFUSED: list[tuple[str, str]] = [
    ("", "empty"),
    ("0", "not a UUID"),
    ("customer-1", "not a UUID"),
    ("C0FFEE00-0000-4000-8000-000000000001", "upper case"),
    ("c0ffee00-0000-4000-8000-00000000000A", "one upper-case digit"),
    ("{c0ffee00-0000-4000-8000-000000000001}", "braces"),
    ("urn:uuid:c0ffee00-0000-4000-8000-000000000001", "URN prefix"),
    ("c0ffee0000004000800000000000001", "no hyphens (31 digits)"),
    ("c0ffee00000040008000000000000001", "no hyphens (32 digits)"),
    ("c0ffee00-0000-4000-8000-0000000000010", "one digit too many"),
    ("c0ffee00-0000-4000-8000-00000000001", "one digit too few"),
    ("c0ffee000-000-4000-8000-000000000001", "hyphen in the wrong place"),
    ("c0ffee00_0000_4000_8000_000000000001", "underscores"),
    ("g0ffee00-0000-4000-8000-000000000001", "not hex"),
    (" c0ffee00-0000-4000-8000-000000000001", "leading space"),
    ("c0ffee00-0000-4000-8000-000000000001 ", "trailing space"),
    ("c0ffee00-0000-4000-8000-000000000001\n", "trailing newline (Python's $ accepts it)"),
    ("c0ffee00-0000-4000-8000-000000000001\u0000", "trailing NUL"),
    ("c0ffee00-0000-4000-8000-00000000000\u0661", "Arabic-Indic digit (\\d accepts it)"),
    ("c0ffee00-0000-4000-8000-00000000000\uff11", "full-width digit"),
    ("\u04410ffee00-0000-4000-8000-000000000001", "Cyrillic es for c"),
    ("c0ffee00-0000-4000-8000-00000000\u200b0001", "zero-width space"),
    ("c0ffee00\u20100000-4000-8000-000000000001", "Unicode hyphen"),
]

# Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True), which the
# shard map's version hashes: the Worker must reproduce it for the data a map can hold.
CANONICAL_JSON_VALUES: list[Any] = [
    {"region": "europe-west2", "buckets": 1024, "cells": {"eu-2": [[512, 1023]], "eu-1": [[0, 1]]}},
    {"b": 1, "a": [True, False, None, 0, -7, 9007199254740991], "": {}, "A": []},
    "quote \" backslash \\ slash / tab \t newline \n cr \r bs \b ff \f nul \u0000 us \u001f",
    "del \u007f e-acute \u00e9 euro \u20ac bank \U0001f3e6 lone \udc00",
    {"\uffff": 1, "\U0001f600": 2, "z": 3, "\u00e9": 4},  # code-point order, not UTF-16 order
]  # fmt: skip


def _bucket(customer_id: str, buckets: int) -> int:
    digest = hashlib.sha256(customer_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def _prefix(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:16]


def vector_ids() -> list[str]:
    """Fixed edge cases, then seeded random version-4 UUIDs (all canonical)."""
    rng = random.Random(SEED)
    ids = [
        EXAMPLE_ID,
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ]
    # One id whose 64-bit prefix fits a double exactly (< 2**53): the rare case where a
    # Number-based implementation happens to agree, so it must not be the only case tested.
    while True:
        candidate = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if int(_prefix(candidate), 16) < 2**53:
            ids.append(candidate)
            break
    ids += [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(RANDOM_IDS)]
    return ids


def generate() -> dict[str, Any]:
    return {
        "about": (
            "Customer id -> bucket, frozen. bucket = first 8 bytes of SHA-256(id) as an unsigned "
            "big-endian 64-bit integer, mod the bucket count. Regenerate only on purpose: "
            "python -m tests.vectors"
        ),
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        "bucket_counts": list(BUCKET_COUNTS),
        "ids": [
            {
                "id": cid,
                "digest_prefix": _prefix(cid),
                "buckets": {str(n): _bucket(cid, n) for n in BUCKET_COUNTS},
            }
            for cid in vector_ids()
        ],
        "refused": [{"id": cid, "why": why} for cid, why in REFUSED],
        "canonical_json": [
            {
                "value": value,
                "canonical": json.dumps(
                    value, sort_keys=True, separators=(",", ":"), ensure_ascii=True
                ),
            }
            for value in CANONICAL_JSON_VALUES
        ],
    }


def render(doc: dict[str, Any]) -> str:
    """ASCII-only JSON, one vector per line: reviewable diffs, and no editor can change a byte."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n".join(f"  {json.dumps(item, ensure_ascii=True)}" for item in value)
            lines.append(f" {json.dumps(key)}: [\n{items}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=True)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


# --------------------------------------------------------------------------- shipped maps


def publish_shipped_maps(out: Path, root: Path = ROOT) -> dict[str, Any]:
    """Publish every region's map as ``rollout shards publish`` does, plus what the tests need.

    Writes under ``out``: ``current/`` (the real CLI's output), ``moved/`` (the same region
    with its first cell drained, as the next version after a rebalance) and ``legacy/`` (a map
    published without origins), then ``maps.json`` naming them and ``routes.json``: region ->
    customer id -> the bucket, cell and origin the table assigns, computed here from the table
    and the hostname scheme, not read back from the artifact.
    """
    from rollout import shards
    from rollout.config import load_project

    project = load_project(root)
    zone = project.global_.zone.name
    vectors = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    manifest: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    for region, spec in sorted(project.regions.items()):
        done = subprocess.run(
            [sys.executable, "-m", "rollout.cli", "shards", "publish", region, "--out",
             str(out / "current")],
            cwd=root, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"rollout shards publish {region} failed: {done.stderr.strip()}")
        current = Path(done.stdout.strip())
        table, _ = shards.load_table(root, region)

        def host(cell: str, short: str = spec.short) -> str:
            return f"{cell}.{short}.origin.{zone}"  # the scheme, spelled independently

        first = sorted(set(table.assignment.values()))[0]
        moved, _ = shards.drain_cell(table.assignment, first)
        moved_name, moved_content = shards.publish_artifact(
            region, moved, table.buckets, {c: host(c) for c in set(moved.values())}
        )
        legacy_name, legacy_content = shards.publish_artifact(
            region, table.assignment, table.buckets
        )
        for folder, name, content in (
            ("moved", moved_name, moved_content),
            ("legacy", legacy_name, legacy_content),
        ):
            (out / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (out / folder / name).write_bytes(content)
        manifest[region] = {
            "current": current.relative_to(out).as_posix(),
            "moved": f"moved/{moved_name}",
            "legacy": f"legacy/{legacy_name}",
            "drained_cell": first,
        }
        routes[region] = {}
        for entry in vectors["ids"]:
            bucket = shards.bucket_for(entry["id"], table.buckets)
            cell = table.assignment[bucket]
            routes[region][entry["id"]] = {
                "bucket": bucket,
                "cell": cell,
                "origin": host(cell),
                "moved_cell": moved[bucket],
                "moved_origin": host(moved[bucket]),
            }
    maps = {"origin_suffix": f"origin.{zone}", "regions": manifest}
    (out / "maps.json").write_text(json.dumps(maps, indent=1, sort_keys=True) + "\n")
    (out / "routes.json").write_text(json.dumps(routes, indent=1, sort_keys=True) + "\n")
    return maps


def main(argv: list[str]) -> int:
    if argv[:1] == ["maps"] and len(argv) == 2:
        out = Path(argv[1])
        publish_shipped_maps(out)
        print(out)
        return 0
    text = render(generate())
    if argv == ["--check"]:
        stale = VECTORS_PATH.read_text(encoding="utf-8") != text
        if stale:
            print(f"{VECTORS_PATH.relative_to(ROOT)} is stale; run python -m tests.vectors")
        return 1 if stale else 0
    if argv:
        print("usage: python -m tests.vectors [--check | maps DIR]", file=sys.stderr)
        return 2
    VECTORS_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {VECTORS_PATH.relative_to(ROOT)}")
    return 0
