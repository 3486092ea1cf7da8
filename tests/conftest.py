"""Shared fixtures: each stack's offline plan is built once per test session and shared."""

from __future__ import annotations

import shutil
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
