"""Loading a project: read every YAML file, validate its shape, merge each region once.

:func:`load_project` is the only entry: it reads ``regions/`` and ``stacks/``, validates each
file against its model (``rollout.config.models``), merges every regional stack's spec once
(``rollout.config.merge``) and runs the cross-file rules (``rollout.config.rules``). What it
returns is all the program, the CLI and the gates need; nothing merges again downstream.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rollout import yamlfile
from rollout.catalog import GCP_REGIONS, PROJECT_NAME
from rollout.config.merge import merge
from rollout.config.models import (
    CONFIG_NS,
    DefaultsFile,
    GlobalFile,
    RegionFile,
    RegionSpec,
    StackConfig,
    StackFile,
)
from rollout.config.problems import pydantic_problems, validate
from rollout.config.rules import cross_checks
from rollout.errors import InputError, Problem
from rollout.yamlfile import KeyPath, YamlDoc


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


def find_root(start: Path | None = None) -> Path:
    """The project that holds ``start``: the nearest folder upward with a Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise InputError.one(
        str(here),
        "(project)",
        "no Pulumi.yaml here or in any parent folder; run inside the project",
    )


def _stack_config(doc: YamlDoc) -> StackConfig:
    config = doc.data.get("config") or {}
    ours: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            problems.append(
                doc.problem(
                    ("config", key),
                    f"found key {key!r} without a namespace; write it as "
                    f"{CONFIG_NS}{key} (or gcp:..., cloudflare:...)",
                )
            )
            continue
        if key.startswith(CONFIG_NS):
            ours[key[len(CONFIG_NS) :]] = value
        if key == "cloudflare:apiToken" and not isinstance(value, dict):
            problems.append(
                doc.problem(
                    ("config", key),
                    "found a plain-text token; set it with `pulumi config set --secret "
                    "cloudflare:apiToken` (a secure: value) or CLOUDFLARE_API_TOKEN",
                )
            )
    if problems:
        raise InputError(problems)
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as exc:

        def locate(path: KeyPath) -> tuple[YamlDoc, KeyPath]:
            if not path:
                return doc, ("config",)
            return doc, ("config", f"{CONFIG_NS}{path[0]}", *path[1:])

        raise InputError(pydantic_problems(exc, StackConfig, locate)) from None


def _stack_value_to_config(value: Any) -> str:
    """Pulumi passes object config values to the program as JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def load_project(root: Path | None = None) -> Project:
    """Read, merge and validate every YAML file of the project, or raise InputError."""
    root = (root or find_root()).resolve()
    problems: list[Problem] = []
    docs: dict[str, YamlDoc] = {}

    def read(path: Path) -> YamlDoc | None:
        try:
            doc = yamlfile.read(path, root)
        except InputError as exc:
            problems.extend(exc.problems)
            return None
        docs[doc.file] = doc
        return doc

    def check(model: type[Any], doc: YamlDoc | None) -> Any:
        if doc is None:
            return None
        try:
            return validate(model, doc)
        except InputError as exc:
            problems.extend(exc.problems)
            return None

    regions_dir = root / "regions"
    defaults_doc = read(regions_dir / "defaults.yaml")
    defaults = check(DefaultsFile, defaults_doc)
    global_doc = read(regions_dir / "global.yaml")
    global_ = check(GlobalFile, global_doc)

    region_docs: dict[str, YamlDoc] = {}
    region_files: dict[str, RegionFile] = {}
    for path in sorted(regions_dir.glob("*.yaml")):
        if path.stem in ("defaults", "global"):
            continue
        doc = read(path)
        parsed = check(RegionFile, doc)
        if doc is None or parsed is None:
            continue
        if parsed.region != path.stem:
            problems.append(
                doc.problem(
                    ("region",),
                    f"found {parsed.region!r} in a file named {path.name}; the file name and "
                    "region must match",
                )
            )
        if parsed.region not in GCP_REGIONS:
            close = difflib.get_close_matches(parsed.region, sorted(GCP_REGIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                doc.problem(("region",), f"found {parsed.region!r}: not a GCP region{hint}")
            )
        region_docs[path.stem] = doc
        region_files[path.stem] = parsed

    stacks_dir = root / "stacks"
    stack_paths = sorted(stacks_dir.glob("Pulumi.*.yaml"))
    if not stack_paths:
        problems.append(Problem("stacks/", "(folder)", "no Pulumi.<stack>.yaml files found"))
    stacks: dict[str, StackSpec] = {}
    for path in stack_paths:
        name = path.name[len("Pulumi.") : -len(".yaml")]
        doc = read(path)
        if doc is None or check(StackFile, doc) is None:
            continue
        try:
            config = _stack_config(doc)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        values = doc.data.get("config") or {}
        raw = {k: _stack_value_to_config(v) for k, v in values.items()}
        spec = StackSpec(
            name=name,
            file=doc.file,
            config=config,
            raw=raw,
            project_id=project_id_of(name, values),
        )
        if config.role == "regional":
            assert config.region is not None
            if config.region not in region_files:
                if (regions_dir / f"{config.region}.yaml").exists():
                    continue  # the region file itself is broken; its problems are reported
                known = ", ".join(sorted(region_files)) or "none"
                problems.append(
                    doc.problem(
                        ("config", f"{CONFIG_NS}region"),
                        f"found {config.region!r}: no file regions/{config.region}.yaml "
                        f"(region files: {known})",
                    )
                )
            elif defaults_doc is not None and defaults is not None:
                try:
                    spec.region = merge(
                        name,
                        spec.project_id,
                        defaults_doc,
                        region_docs[config.region],
                        doc,
                        config.overrides.model_dump(exclude_none=True)
                        if config.overrides
                        else None,
                    )
                except InputError as exc:
                    problems.extend(exc.problems)
        stacks[name] = spec

    if problems:
        raise InputError(_dedupe(problems))

    regions = {s.region.region: s.region for s in stacks.values() if s.region is not None}
    project = Project(
        root=root,
        defaults=defaults,
        regions=regions,
        global_=global_,
        stacks=stacks,
        docs=docs,
    )
    cross = cross_checks(project, region_docs)
    if cross:
        raise InputError(cross)
    return project


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


