"""The plan-at-scale benchmark still runs: its synthetic project is a valid project, and its
floor registers exactly the plan's resources (bench/plan_scale.py asserts the counts)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rollout import catalog
from rollout.config import load_project

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plan_scale", ROOT / "bench" / "plan_scale.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("plan_scale", module)
    spec.loader.exec_module(module)
    return module


def test_generated_project_loads_and_plans_like_the_floor(
    bench: ModuleType, tmp_path: Path
) -> None:
    stacks = bench.generate(tmp_path, 2, 2)
    assert stacks == ["r0", "r1"]
    project = load_project(tmp_path)
    assert sorted(project.stacks) == ["global", "r0", "r1"]
    planned = bench.run_plan(project)
    cells = [t for s in planned for t, _ in s if t == catalog.CELL]
    assert len(cells) == 4
    # the floor registers the same types as often (it raises otherwise); the typed floor runs in
    # the worker test below
    bench.run_floor(planned, typed=False)


def test_worker_reports_every_figure(bench: ModuleType) -> None:
    result = bench.worker("1x1", 1, None, ["strict"], 0.0)
    assert result["resources"] > 0 and result["inner"] == 1
    assert set(result["times"]) == {"plan", "floor", "strict"}
    assert len(result["ratios"]) == len(result["strict_ratios"]) == 1
    assert all(r > 0 for r in result["ratios"])
    assert result["peak_rss_mib"] >= result["rss_before_mib"] > 0


@pytest.mark.parametrize("text", ["2", "0x3", "17x1", "2x32", "axb"])
def test_bad_size_is_one_line(bench: ModuleType, text: str) -> None:
    with pytest.raises(SystemExit, match=r"^--sizes: "):
        bench.parse_size(text)
