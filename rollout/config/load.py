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
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rollout import yamlfile
from rollout.catalog import GCP_REGIONS
from rollout.config.merge import merge
from rollout.config.models import (
    CONFIG_NS,
    DefaultsFile,
    GlobalFile,
    RegionFile,
    StackConfig,
    StackFile,
)
from rollout.config.problems import pydantic_problems, validate
from rollout.config.project import Project, StackSpec, project_id_of
from rollout.config.rules import cross_checks
from rollout.errors import InputError, Problem
from rollout.yamlfile import KeyPath, YamlDoc


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
    """Read, merge and validate every YAML file of the project, or raise InputError.

    Every problem of every file is collected before anything is raised, so one run reports
    them all; the cross-file rules run only once each file is sound on its own.
    """
    reader = _Reader((root or find_root()).resolve())
    regions_dir = reader.root / "regions"
    defaults_doc = reader.read(regions_dir / "defaults.yaml")
    defaults = reader.check(DefaultsFile, defaults_doc)
    global_ = reader.check(GlobalFile, reader.read(regions_dir / "global.yaml"))
    region_docs, region_files = reader.region_files(regions_dir)
    stacks: dict[str, StackSpec] = {}
    for path in reader.stack_paths(reader.root / "stacks"):
        spec = reader.stack(path)
        if spec is None:
            continue
        region = spec.config.region
        if spec.role == "regional" and region is not None:
            if region not in region_files:
                if (regions_dir / f"{region}.yaml").exists():
                    continue  # the region file itself is broken; its problems are reported
                doc = reader.docs[spec.file]
                reader.problems.append(_unknown_region(doc, region, region_files))
            elif defaults_doc is not None and defaults is not None:
                overrides = spec.config.overrides
                try:
                    spec.region = merge(
                        spec.name,
                        spec.project_id,
                        defaults_doc,
                        region_docs[region],
                        reader.docs[spec.file],
                        overrides.model_dump(exclude_none=True) if overrides else None,
                    )
                except InputError as exc:
                    reader.problems.extend(exc.problems)
        stacks[spec.name] = spec

    if reader.problems:
        raise InputError(_dedupe(reader.problems))
    project = Project(
        root=reader.root,
        defaults=defaults,
        regions={s.region.region: s.region for s in stacks.values() if s.region is not None},
        global_=global_,
        stacks=stacks,
        docs=reader.docs,
    )
    cross = cross_checks(project, region_docs)
    if cross:
        raise InputError(cross)
    return project


class _Reader:
    """Reads and validates the project's files one by one, collecting every problem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.docs: dict[str, YamlDoc] = {}

    def read(self, path: Path) -> YamlDoc | None:
        try:
            doc = yamlfile.read(path, self.root)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        self.docs[doc.file] = doc
        return doc

    def check(self, model: type[Any], doc: YamlDoc | None) -> Any:
        if doc is None:
            return None
        try:
            return validate(model, doc)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def region_files(self, folder: Path) -> tuple[dict[str, YamlDoc], dict[str, RegionFile]]:
        """Every ``regions/<gcp-region>.yaml``: its document and its validated shape."""
        docs: dict[str, YamlDoc] = {}
        files: dict[str, RegionFile] = {}
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in ("defaults", "global"):
                continue
            doc = self.read(path)
            parsed = self.check(RegionFile, doc)
            if doc is None or parsed is None:
                continue
            if parsed.region != path.stem:
                self.problems.append(
                    doc.problem(
                        ("region",),
                        f"found {parsed.region!r} in a file named {path.name}; the file name "
                        "and region must match",
                    )
                )
            if parsed.region not in GCP_REGIONS:
                close = difflib.get_close_matches(parsed.region, sorted(GCP_REGIONS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problems.append(
                    doc.problem(("region",), f"found {parsed.region!r}: not a GCP region{hint}")
                )
            docs[path.stem] = doc
            files[path.stem] = parsed
        return docs, files

    def stack_paths(self, folder: Path) -> list[Path]:
        paths = sorted(folder.glob("Pulumi.*.yaml"))
        if not paths:
            self.problems.append(
                Problem("stacks/", "(folder)", "no Pulumi.<stack>.yaml files found")
            )
        return paths

    def stack(self, path: Path) -> StackSpec | None:
        """One stack file, its ``demobank:*`` keys validated; its region is merged later."""
        doc = self.read(path)
        if doc is None or self.check(StackFile, doc) is None:
            return None
        try:
            config = _stack_config(doc)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        name = path.name[len("Pulumi.") : -len(".yaml")]
        values = doc.data.get("config") or {}
        return StackSpec(
            name=name,
            file=doc.file,
            config=config,
            raw={k: _stack_value_to_config(v) for k, v in values.items()},
            project_id=project_id_of(name, values),
        )


def _unknown_region(doc: YamlDoc, region: str, known: Mapping[str, RegionFile]) -> Problem:
    return doc.problem(
        ("config", f"{CONFIG_NS}region"),
        f"found {region!r}: no file regions/{region}.yaml "
        f"(region files: {', '.join(sorted(known)) or 'none'})",
    )


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


