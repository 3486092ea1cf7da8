"""The shared YAML: shapes (``models``), one merge with origins (``merge``), cross-file rules
(``rules``), loading (``load``) into a ``project``, and JSON Schema export (``schema``).
This face hands on what the rest of the project uses."""

from rollout.config.load import find_root, load_project
from rollout.config.models import (
    NAME_RE,
    CellSpec,
    DefaultsFile,
    DirectorySettings,
    GlobalFile,
    RegionFile,
    RegionSpec,
    StackConfig,
    StackFile,
    Steering,
)
from rollout.config.project import Project, StackSpec
from rollout.config.schema import json_schemas

__all__ = [
    "NAME_RE",
    "CellSpec",
    "DefaultsFile",
    "DirectorySettings",
    "GlobalFile",
    "Project",
    "RegionFile",
    "RegionSpec",
    "StackConfig",
    "StackFile",
    "StackSpec",
    "Steering",
    "find_root",
    "json_schemas",
    "load_project",
]
