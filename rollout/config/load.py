"""Loading a project: read every YAML file, validate its shape, merge each region once.

:func:`load_project` is the only entry: it reads ``regions/`` and ``stacks/``, validates each
file against its model (``rollout.config.models``), merges every regional stack's spec once
(``rollout.config.merge``) and runs the cross-file rules (``rollout.config.rules``). What it
returns is all the program, the CLI and the gates need; nothing merges again downstream.

Nothing is skipped in silence: ``Pulumi.yaml`` must be this project's, every
``stacks/Pulumi.*.yaml`` is either loaded or reported (a bad stack name too), every stack names
a real region file and every region is built by one stack. No credential sits in a stack file
in plain text, and no message quotes one (``rollout.config.problems.describe``).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rollout import yamlfile
from rollout.catalog import GCP_REGIONS
from rollout.config.merge import merge
from rollout.config.models import (
    CONFIG_NS,
    NOT_REGION_FILES,
    DefaultsFile,
    GlobalFile,
    ProjectFile,
    RegionFile,
    StackConfig,
    StackFile,
)
from rollout.config.problems import (
    describe,
    is_credential_key,
    problem_at,
    pydantic_problems,
    validate,
)
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


# Pulumi's stack names: letters, digits, '-', '_' and '.'
# (https://www.pulumi.com/docs/iac/concepts/stacks/#create-stack).
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

# Pulumi writes a secret as `secure: <ciphertext>`: `v1:<nonce>:<ciphertext>`, both base64, from
# the passphrase and cloud KMS secrets providers, and plain base64 from the Pulumi Cloud service
# (https://www.pulumi.com/docs/iac/concepts/secrets/). Anything else is not what
# `pulumi config set --secret` writes: most likely the secret itself, pasted in.
_V1_CIPHERTEXT = re.compile(r"^v1:(?P<nonce>[A-Za-z0-9+/]+=*):(?P<body>[A-Za-z0-9+/]+=*)$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+=*$")
# AES-GCM, which Pulumi's own crypters use, adds a 16-byte tag: no ciphertext is shorter. It
# also tells an 8-letter password that happens to be valid base64 from a secret.
MIN_CIPHERTEXT_BYTES = 16


def _ciphertext_problem(value: Any) -> str | None:
    """Why ``value`` (what a ``secure:`` key holds) is not Pulumi ciphertext, or None."""
    if not isinstance(value, str):
        return f"found {describe(value, secret=True)} under secure:, not ciphertext text"
    if not value.strip():
        return "found an empty secure: value"
    if any(c.isspace() for c in value):
        return f"found {describe(value, secret=True)} with whitespace under secure:, not ciphertext"
    v1 = _V1_CIPHERTEXT.match(value)
    parts = [v1["nonce"], v1["body"]] if v1 else [value] if _BASE64.match(value) else []
    try:
        decoded = [base64.b64decode(part, validate=True) for part in parts]
    except (binascii.Error, ValueError):
        decoded = []
    if not decoded or len(decoded[-1]) < MIN_CIPHERTEXT_BYTES:
        return (
            f"found {describe(value, secret=True)} under secure: that is not Pulumi ciphertext "
            "(v1:<base64>:<base64>, or base64 from Pulumi Cloud)"
        )
    return None


def _secret_command(key: str, nested: KeyPath) -> str:
    if not nested:
        return f"pulumi config set --secret {key}"
    path = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in nested)
    return f"pulumi config set --secret --path '{path}'"


def _secret_problems(doc: YamlDoc, key: str, value: Any) -> list[Problem]:
    """A key that names a credential holds a ``secure:`` value; a ``secure:`` value is ciphertext.

    Other namespaces pass through to the providers untyped, so their objects are walked to any
    depth. A ``demobank:`` value is typed by StackConfig (unknown keys refused, values never
    quoted), and the keys inside it are names (pools, networks), so only its own key is judged.
    """
    problems: list[Problem] = []

    def walk(nested: KeyPath, name: object, value: Any) -> None:
        at: KeyPath = ("config", key, *nested)
        if isinstance(value, dict) and "secure" in value:
            if set(value) != {"secure"}:
                reason = "found secure: beside other keys; a secret is a mapping of secure: alone"
            else:
                reason = _ciphertext_problem(value["secure"]) or ""
            if reason:
                fix = f"; set it again with `{_secret_command(key, nested)}`"
                problems.append(problem_at(doc, at, reason + fix))
            return
        if is_credential_key(name):
            env = " or export CLOUDFLARE_API_TOKEN" if key == "cloudflare:apiToken" else ""
            problems.append(
                problem_at(
                    doc,
                    at,
                    f"found {describe(value, secret=True)} in plain text under a key that names "
                    f"a credential; set it with `{_secret_command(key, nested)}` (a secure: "
                    f"value){env}",
                )
            )
            return
        if key.startswith(CONFIG_NS):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk((*nested, k), k, v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk((*nested, i), None, v)

    walk((), key, value)
    return problems


def _stack_config(doc: YamlDoc) -> StackConfig:
    config = doc.data.get("config") or {}
    ours: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            shown = describe(key)
            example = f"{CONFIG_NS}{key}" if shown == repr(key) else f"{CONFIG_NS}<key>"
            problems.append(
                problem_at(
                    doc,
                    ("config", key),
                    f"found key {shown} without a namespace; write it as {example} "
                    "(or gcp:..., cloudflare:...)",
                )
            )
            continue
        if key.startswith(CONFIG_NS):
            ours[key[len(CONFIG_NS) :]] = value
        problems += _secret_problems(doc, key, value)
    if problems:
        raise InputError(problems)
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as exc:

        def locate(path: KeyPath) -> tuple[YamlDoc, KeyPath]:
            if not path:
                return doc, ("config",)
            return doc, ("config", f"{CONFIG_NS}{path[0]}", *path[1:])

        raise InputError(pydantic_problems(exc, StackConfig, locate, top_keys=CONFIG_NS)) from None


def _gcp_region(doc: YamlDoc, config: StackConfig, values: Mapping[str, Any]) -> list[Problem]:
    """``gcp:region``, when set: a regional stack's own region (whose file names a real GCP
    region, checked there), or on the global stack a real GCP region."""
    key = "gcp:region"
    if key not in values:
        return []
    found = values[key]
    if config.role == "regional":
        if found == config.region:
            return []
        message = (
            f"found {describe(found)} but demobank:region is {config.region!r}; a regional "
            f"stack deploys into its own region: write {key}: {config.region}, or remove it"
        )
    elif not isinstance(found, str) or found not in GCP_REGIONS:
        close = difflib.get_close_matches(str(found), sorted(GCP_REGIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"found {describe(found)}: not a GCP region{hint}"
    else:
        return []
    return [problem_at(doc, ("config", key), message)]


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
    reader.check(ProjectFile, reader.read(reader.root / "Pulumi.yaml"))
    regions_dir = reader.root / "regions"
    defaults_doc = reader.read(regions_dir / "defaults.yaml")
    defaults = reader.check(DefaultsFile, defaults_doc)
    global_ = reader.check(GlobalFile, reader.read(regions_dir / "global.yaml"))
    region_docs, region_files = reader.region_files(regions_dir)
    stacks: dict[str, StackSpec] = {}
    built_by: dict[str, StackSpec] = {}  # region -> the regional stack that builds it
    for path in reader.stack_paths(reader.root / "stacks"):
        spec = reader.stack(path)
        if spec is None:
            continue
        region = spec.config.region
        if spec.role == "regional" and region is not None:
            doc = reader.docs[spec.file]
            if region in built_by:
                reader.problems.append(_region_built_twice(doc, region, built_by[region]))
            elif region not in region_files:
                broken = f"regions/{region}.yaml"
                if not (regions_dir / f"{region}.yaml").exists():
                    reader.problems.append(_unknown_region(doc, region, region_files))
                elif not any(p.file == broken for p in reader.problems):
                    reader.problems.append(  # never skip a stack without saying why
                        doc.problem(
                            ("config", f"{CONFIG_NS}region"),
                            f"found {region!r}: {broken} could not be read as a region file",
                        )
                    )
                # else: the region file itself is broken, and its problems say how
            elif defaults_doc is not None and defaults is not None:
                built_by[region] = spec
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
            if path.stem in NOT_REGION_FILES:
                continue
            doc = self.read(path)
            parsed = self.check(RegionFile, doc)
            if doc is None or parsed is None:
                continue
            found = describe(parsed.region)
            if parsed.region != path.stem:
                self.problems.append(
                    doc.problem(
                        ("region",),
                        f"found {found} in a file named {path.name}; the file name "
                        "and region must match",
                    )
                )
            if parsed.region not in GCP_REGIONS:
                close = difflib.get_close_matches(parsed.region, sorted(GCP_REGIONS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problems.append(
                    doc.problem(("region",), f"found {found}: not a GCP region{hint}")
                )
            docs[path.stem] = doc
            files[path.stem] = parsed
        return docs, files

    def stack_paths(self, folder: Path) -> list[Path]:
        """Every stack file to load; a file that looks like one but cannot be is a problem."""
        paths: list[Path] = []
        candidates = sorted(folder.glob("Pulumi.*"))
        for path in candidates:
            file = f"{folder.name}/{path.name}"
            name = path.name[len("Pulumi.") :]
            if name.endswith(".yaml"):
                stack = name[: -len(".yaml")]
                if STACK_NAME.match(stack):
                    paths.append(path)
                    continue
                self.problems.append(
                    Problem(
                        file,
                        "(file name)",
                        f"found stack name {describe(stack)}: a stack file is "
                        "Pulumi.<stack>.yaml, and a stack name has only letters, digits, "
                        "'-', '_' and '.' (e.g. Pulumi.eu-prod.yaml); rename the file",
                    )
                )
            elif path.suffix in (".yml", ".json"):
                self.problems.append(
                    Problem(
                        file,
                        "(file name)",
                        f"found a {path.suffix} stack file, which rollout would never validate "
                        "or plan; a stack file is Pulumi.<stack>.yaml (like Pulumi.yaml): "
                        "rename it",
                    )
                )
            # anything else (Pulumi.eu.yaml.bak, an editor's swap file) is no stack file
        if not candidates:
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
        self.problems += _gcp_region(doc, config, values)
        return StackSpec(
            name=name,
            file=doc.file,
            config=config,
            raw={k: _stack_value_to_config(v) for k, v in values.items()},
            project_id=project_id_of(name, values),
        )


def _region_built_twice(doc: YamlDoc, region: str, first: StackSpec) -> Problem:
    return doc.problem(
        ("config", f"{CONFIG_NS}region"),
        f"found {region!r}, which stack {first.name} ({first.file}) already builds; each region "
        "file is built by one regional stack",
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
