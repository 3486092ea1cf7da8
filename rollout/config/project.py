"""A loaded project: every stack's validated config and merged region, and the documents read.

What :func:`rollout.config.load_project` returns; the program, the CLI, the gates and the
cross-file rules read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout.catalog import PROJECT_NAME
from rollout.config.models import DefaultsFile, GlobalFile, RegionSpec, StackConfig
from rollout.errors import InputError
from rollout.yamlfile import YamlDoc


def project_id_of(stack: str, config: Mapping[str, Any]) -> str:
    """The stack's GCP project: ``gcp:project`` in its stack file, else ``demobank-<stack>``.

    The one place this default is written; the loader, the program and the offline runner
    all read :attr:`StackSpec.project_id`.
    """
    return str(config.get("gcp:project") or f"{PROJECT_NAME}-{stack}")


@dataclass
class StackSpec:
    name: str
    file: str
    config: StackConfig
    raw: dict[str, str]
    """Every config key as the Pulumi CLI passes it to the program (objects as JSON text)."""
    project_id: str
    region: RegionSpec | None = None

    @property
    def role(self) -> str:
        return self.config.role


@dataclass
class Project:
    root: Path
    defaults: DefaultsFile
    regions: dict[str, RegionSpec]  # keyed by GCP region name (the region file's name)
    global_: GlobalFile
    stacks: dict[str, StackSpec]
    docs: dict[str, YamlDoc] = field(default_factory=dict)

    def stack(self, name: str) -> StackSpec:
        if name not in self.stacks:
            known = ", ".join(sorted(self.stacks))
            raise InputError.one(
                f"stacks/Pulumi.{name}.yaml",
                "(file)",
                f"no stack named {name!r}; known stacks: {known}",
            )
        return self.stacks[name]

    def regional_stacks(self) -> list[StackSpec]:
        return [s for s in self.stacks.values() if s.role == "regional"]
