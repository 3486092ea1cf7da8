"""Shared fixtures: each stack's offline plan is built once per test session and shared."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from rollout.config import Project, load_project
from rollout.engine import plan_all
from rollout.plan import Plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project() -> Project:
    return load_project(ROOT)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the project's files (YAML, catalogs, schemas) for a test to break."""
    for name in ("Pulumi.yaml", "regions", "stacks", "locales", "schema"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    return tmp_path


@pytest.fixture(scope="session")
def plans(project: Project) -> dict[str, Plan]:
    """Every stack of the shipped project, planned once (regional stacks before global)."""
    return plan_all(project)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "weblate: the round trip against a real Weblate (tests/test_weblate_e2e.py)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How long the Weblate end-to-end test's phases took, when it ran."""
    e2e = sys.modules.get("tests.test_weblate_e2e")
    timings = getattr(e2e, "TIMINGS", None)
    if timings:
        shown = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in timings.items())
        terminalreporter.write_line(f"weblate e2e: {sum(timings.values()):.0f} s ({shown})")
