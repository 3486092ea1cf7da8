"""The edge cell router (``edge/cell-router``, a Cloudflare Worker) against what Python publishes.

The shared vectors (``tests/vectors/customer-buckets.json``) must equal what ``bucket_for``
computes; the Worker's own tests then run in the real Workers runtime (workerd, through
Miniflare, under ``node --test``) against the shard maps ``rollout shards publish`` writes for
every region of the shipped project, and against the same vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rollout import shards
from rollout.config import Project
from tests import vectors

ROOT = Path(__file__).resolve().parents[1]
ROUTER = ROOT / "edge" / "cell-router"
SETUP_HINT = "run `npm ci --prefix edge/cell-router`"
NODE_TESTS = ["--test", "--test-concurrency=1", "--test-timeout=120000", "test/"]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(vectors.VECTORS_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- vectors


def test_vectors_file_is_what_the_generator_writes() -> None:
    expected = vectors.render(vectors.generate())
    stale = "tests/vectors/customer-buckets.json is stale; run python -m tests.vectors"
    assert vectors.VECTORS_PATH.read_text(encoding="utf-8") == expected, stale


def test_every_vector_is_what_bucket_for_computes(doc: dict[str, Any]) -> None:
    assert doc["bucket_counts"] == [1, 7, 1000, 1024, 65_536]
    assert len(doc["ids"]) >= 100
    for entry in doc["ids"]:
        digest = hashlib.sha256(entry["id"].encode()).hexdigest()
        assert entry["digest_prefix"] == digest[:16]
        for count, bucket in entry["buckets"].items():
            assert shards.bucket_for(entry["id"], int(count)) == bucket, (entry["id"], count)


def test_every_refused_id_is_refused(doc: dict[str, Any]) -> None:
    assert doc["pattern"] == shards.CUSTOMER_ID_PATTERN
    assert len(doc["refused"]) >= 20
    for entry in doc["refused"]:
        with pytest.raises(ValueError, match="is not canonical"):
            shards.bucket_for(entry["id"])
    # The usual slips a normaliser would "fix" are all there.
    whys = " ".join(e["why"] for e in doc["refused"])
    for slip in ("upper case", "braces", "no hyphens", "trailing newline", "\\d accepts it"):
        assert slip in whys


def test_vectors_tell_plausible_wrong_hashes_apart(doc: dict[str, Any]) -> None:
    prefixes = [int(e["digest_prefix"], 16) for e in doc["ids"]]
    assert any(p < 2**53 for p in prefixes) and any(p >= 2**63 for p in prefixes)
    assert sum(p >= 2**53 for p in prefixes) > len(prefixes) // 2

    def disagree(wrong: Any, count: str) -> int:
        return sum(wrong(e) != e["buckets"][count] for e in doc["ids"])

    def raw(e: dict[str, Any]) -> bytes:
        return bytes.fromhex(e["digest_prefix"])

    # A JavaScript Number (a double) rounds the 64-bit integer away.
    assert disagree(lambda e: int(float(int(e["digest_prefix"], 16))) % 1024, "1024") > 100
    # A signed read agrees modulo a power of two, so the odd counts are what catch it.
    assert disagree(lambda e: int.from_bytes(raw(e), "big", signed=True) % 7, "7") > 20
    assert disagree(lambda e: int.from_bytes(raw(e), "little") % 1000, "1000") > 100


def test_canonical_json_vectors_are_pythons(doc: dict[str, Any]) -> None:
    for entry in doc["canonical_json"]:
        value = entry["value"]
        assert json.dumps(value, sort_keys=True, separators=(",", ":")) == entry["canonical"]
        if isinstance(value, dict):
            assert shards.canonical_json(value) == entry["canonical"].encode()
    # Code-point order, which a UTF-16 sort (JavaScript's default) gets wrong.
    assert any('"\\uffff":1,"\\ud83d\\ude00"' in e["canonical"] for e in doc["canonical_json"])


# --------------------------------------------------------------------------- the Worker


def node_problem(router: Path = ROUTER) -> str | None:
    """Why the Worker tests cannot run here, as one line naming the fix, or None."""
    node = shutil.which("node")
    if node is None:
        return f"node (20 or newer) is not on PATH; install it, then {SETUP_HINT}"
    found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    major = re.match(r"v(\d+)\.", found.stdout)
    if major is None or int(major.group(1)) < 20:
        return f"node {found.stdout.strip() or '?'} is too old; the Worker tests need Node 20+"
    if not (router / "node_modules" / "miniflare" / "package.json").is_file():
        return f"{router}/node_modules has no miniflare; {SETUP_HINT}"
    return None


def test_a_missing_install_is_named_with_its_fix(tmp_path: Path) -> None:
    problem = node_problem(tmp_path)
    assert problem is not None and SETUP_HINT in problem


def test_published_maps_name_every_cells_origin(tmp_path: Path, project: Project) -> None:
    maps = vectors.publish_shipped_maps(tmp_path)
    assert sorted(maps["regions"]) == sorted(project.regions)
    for region, spec in project.regions.items():
        doc = json.loads((tmp_path / maps["regions"][region]["current"]).read_text())
        zone = project.global_.zone.name
        assert doc["origins"] == {c: f"{c}.{spec.short}.origin.{zone}" for c in doc["cells"]}
        assert set(doc["cells"]) == set(spec.cells)


def test_worker_routes_the_published_maps_in_workerd(tmp_path: Path) -> None:
    problem = node_problem()
    if problem:
        pytest.fail(problem)  # not a skip: without these tests the edge is untested
    vectors.publish_shipped_maps(tmp_path)
    env = {
        **os.environ,
        "CELL_ROUTER_MAPS": str(tmp_path),
        "CELL_ROUTER_VECTORS": str(vectors.VECTORS_PATH),
    }
    node = shutil.which("node")
    assert node is not None
    try:
        done = subprocess.run(
            [node, *NODE_TESTS], cwd=ROUTER, env=env, capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the Worker tests (node --test in edge/cell-router) took over 10 minutes")
    report = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"node --test failed in edge/cell-router:\n{report}"
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 50, report
    assert re.search(r"^# fail 0$", done.stdout, re.MULTILINE), report
