"""The plan model: what a stack would register, as plain data.

A :class:`Plan` is every registration (components included) in a stable tree order, with its
URN, type, name, parent, inputs, dependencies and options, and the stack's outputs. The offline
runner (``rollout.engine``) produces plans; policies, diff, diagram, failover and the renderers
read them, and ``rollout check``/``diff`` load them from the JSON that ``rollout plan --json``
saves. Nothing here knows how a plan was made.

Loading trusts nothing: the file must be a regular file of at most ``MAX_BYTES``, nested at most
``MAX_DEPTH``, and match what ``save`` writes (the pydantic models ``PlanJSON``/``ResourceJSON``),
with each urn once per stack and each parent a urn listed before it. Anything else is refused
with one line per problem naming the file, the JSON path, what was found and what is accepted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout import files
from rollout.catalog import PROJECT_NAME, STACK
from rollout.errors import InputError, Problem, format_path


@dataclass
class Resource:
    """One registration, as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    custom: bool
    ignore_changes: list[str] = field(default_factory=list)
    """Input properties whose changes the engine ignores (``ignore_changes``)."""
    secrets: list[str] = field(default_factory=list)
    """Key paths of inputs that were secret; redacted when the plan is saved."""
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_component(self) -> bool:
        return not self.custom and self.type != STACK


@dataclass
class Plan:
    """Everything a stack would register, in registration order, and its outputs."""

    stack: str
    project: str
    resources: list[Resource]
    outputs: dict[str, Any]
    source: str | None = field(default=None, compare=False, repr=False)
    """The file a loaded plan was read from (None when built in memory)."""
    at: tuple[str | int, ...] = field(default=(), compare=False, repr=False)
    """Where in that file: ``()`` for a one-plan file, ``("stacks", i)`` otherwise."""

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}
        self._indexed = -1  # len(resources) when the indexes below were built

    def _index(self) -> None:
        """Index by type, (type, name) and parent once, so lookups in loops stay linear.

        Rebuilt if ``resources`` grew or shrank since (a plan is not otherwise mutated).
        """
        if self._indexed == len(self.resources):
            return
        by_type: dict[str, list[Resource]] = {}
        by_name: dict[tuple[str, str], list[Resource]] = {}
        by_parent: dict[str | None, list[Resource]] = {}
        for r in self.resources:
            by_type.setdefault(r.type, []).append(r)
            by_name.setdefault((r.type, r.name), []).append(r)
            by_parent.setdefault(r.parent, []).append(r)
        self._by_type, self._by_name, self._by_parent = by_type, by_name, by_parent
        self.by_urn = {r.urn: r for r in self.resources}
        self._indexed = len(self.resources)

    def of_type(self, type_: str) -> list[Resource]:
        self._index()
        return list(self._by_type.get(type_, ()))

    def one(self, type_: str, name: str) -> Resource:
        self._index()
        found = self._by_name.get((type_, name), [])
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources of type {type_} named {name}")
        return found[0]

    def children(self, urn: str) -> list[Resource]:
        self._index()
        return list(self._by_parent.get(urn, ()))

    def ancestors(self, resource: Resource) -> list[Resource]:
        self._index()
        out = []
        parent = resource.parent
        while parent and parent in self.by_urn:
            out.append(self.by_urn[parent])
            parent = self.by_urn[parent].parent
        return out

    def counts(self) -> dict[str, int]:
        """Resources by type (the stack itself excluded)."""
        return dict(sorted(Counter(r.type for r in self.resources if r.type != STACK).items()))

    def to_json(self) -> dict[str, Any]:
        """A JSON-able copy (callers may edit it without touching the plan)."""
        return copy.deepcopy(self._json())

    def _json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "inputs": _redacted(r.inputs, r.secrets),
                    "secrets": r.secrets,
                    "dependencies": r.dependencies,
                    "protect": r.protect,
                    "retainOnDelete": r.retain_on_delete,
                    "ignoreChanges": r.ignore_changes,
                    "custom": r.custom,
                }
                for r in self.resources
            ],
            "outputs": self.outputs,
        }

    @classmethod
    def from_json(cls, data: Any, file: str = "(plan)") -> Plan:
        """A plan from one saved plan object, validated like :func:`load` (``InputError``)."""
        return _plan(data, file, ())


_FINGERPRINT = re.compile(r"\[secret sha256:[0-9a-f]{12}\]\Z")


def _redacted(inputs: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """A copy of ``inputs`` with each secret top-level key replaced by a fingerprint: a saved
    plan (a CI artifact) never holds a secret, yet a diff still sees that it changed."""
    if not secrets:
        return inputs
    out = dict(inputs)
    for path in secrets:
        key = path.split(".", 1)[0].split("[", 1)[0]
        # A loaded plan holds fingerprints already: hashing one again would make a re-saved
        # plan differ from the file it was loaded from.
        if key in out and not (isinstance(out[key], str) and _FINGERPRINT.match(out[key])):
            digest = hashlib.sha256(json.dumps(out[key], sort_keys=True).encode()).hexdigest()
            out[key] = f"[secret sha256:{digest[:12]}]"
    return out


def save(plans: Iterable[Plan], path: Path) -> None:
    """Write plans as JSON: one plan as an object, several as {"stacks": [...]}."""
    items = [p.to_json() for p in plans]
    data: Any = items[0] if len(items) == 1 else {"stacks": items}
    files.write_file(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


# --------------------------------------------------------------------------------------------
# Reading a saved plan back: bounded, validated, and every problem on one line
# --------------------------------------------------------------------------------------------

MAX_BYTES = 64 * 1024 * 1024
"""Largest plan file read. Every shipped stack saved together is well under 1 MiB."""
MAX_DEPTH = 100
"""Deepest nesting of arrays and objects accepted (a saved plan nests about a dozen deep), so
a hostile document meets a one-line refusal, not the parser's or a validator's recursion."""
MAX_PROBLEMS = 20
"""Problems reported per file: past that the file needs regenerating, not reading line by line."""

WRITTEN = "as written by rollout plan --json"
FILE = "(file)"  # the JSON path of a problem with the file as a whole


class _Strict(BaseModel):
    # strict: JSON's true is not 1 and "yes" is not true; forbid: a misspelt key is not dropped.
    model_config = ConfigDict(extra="forbid", strict=True)


class ResourceJSON(_Strict):
    """One item of a saved plan's ``resources`` (see :meth:`Plan.to_json`). Only urn, type and
    name are required; an omitted option means what it means to Pulumi."""

    urn: str = Field(min_length=1, description="a non-empty string, the resource's URN")
    type: str = Field(min_length=1, description="a non-empty string, the type token")
    name: str = Field(description="a string, the logical name")
    parent: str | None = Field(
        None, description="null or the urn of a resource listed before it in the same stack"
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="an object of input properties"
    )
    secrets: list[str] = Field(
        default_factory=list, description="a list of key paths (strings) of secret inputs"
    )
    dependencies: list[str] = Field(default_factory=list, description="a list of urn strings")
    protect: bool = Field(False, description="true or false")
    retain_on_delete: bool = Field(False, alias="retainOnDelete", description="true or false")
    ignore_changes: list[str] = Field(
        default_factory=list,
        alias="ignoreChanges",
        description="a list of input property names (strings)",
    )
    custom: bool = Field(True, description="true or false (false for a component)")


class PlanJSON(_Strict):
    """One saved plan: a whole file, or an item of ``{"stacks": [...]}``."""

    stack: str = Field(min_length=1, description="a non-empty string, the stack's name")
    project: str = Field(PROJECT_NAME, min_length=1, description="a non-empty string")
    resources: list[ResourceJSON] = Field(description="a list of resource objects")
    outputs: dict[str, Any] = Field(default_factory=dict, description="an object of outputs")


class PlansJSON(_Strict):
    """Several saved plans (what ``save`` writes for more than one stack)."""

    stacks: list[PlanJSON] = Field(
        min_length=1,
        description="a list of at least one plan object (a stack with nothing in it yet is "
        '{"stack": "<name>", "resources": []})',
    )


# What one item of each list field must be, for a problem with an item rather than the list.
_ITEM = {
    "stacks": 'a plan object {"stack": ..., "resources": [...]}',
    "resources": "a resource object with at least urn, type and name",
    "dependencies": "a urn string",
    "secrets": "a key-path string",
    "ignoreChanges": "an input property name (a string)",
}
# The model an error's location descends into through a field.
_CHILD: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (PlansJSON, "stacks"): PlanJSON,
    (PlanJSON, "resources"): ResourceJSON,
}
_WHAT = {PlansJSON: "plan file", PlanJSON: "plan", ResourceJSON: "resource"}
_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")

M = TypeVar("M", bound=BaseModel)


def _path(parts: Sequence[str | int]) -> str:
    """``format_path``, with an odd key (a space, a newline, a dot) quoted so the line stays
    one line and unambiguous."""
    shown: list[str | int] = []
    for part in parts:
        if isinstance(part, str) and not _KEY.match(part):
            part = _short(json.dumps(part))
        shown.append(part)
    return format_path(shown)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _found(value: Any) -> str:
    """What a problem found, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{_short(str(value))} (a number)"
    if isinstance(value, str):
        return f"{_short(json.dumps(value))} ({'a string' if value else 'an empty string'})"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


def _capped(file: str, problems: list[Problem]) -> InputError:
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS]
        problems.append(Problem(file, FILE, f"{more} more problems not shown; fix these first"))
    return InputError(problems)


def _schema_problems(
    file: str, at: tuple[str | int, ...], root: type[BaseModel], exc: ValidationError
) -> list[Problem]:
    """Pydantic's errors as our one-line problems: path, what was found, what is accepted."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        model = root
        for part in loc[:-1]:
            if isinstance(part, str):
                model = _CHILD.get((model, part), model)
        key = next(p for p in reversed(loc) if isinstance(p, str))  # loc starts at a field
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if err["type"] == "missing":
            message = f"missing; every {_WHAT[model]} has {key}: {fields[key].description}"
        elif err["type"] == "extra_forbidden":
            message = f"unknown key; expected only the keys {', '.join(fields)}"
        elif isinstance(loc[-1], int):  # an item of a list field
            message = f"found {_found(err['input'])}; expected {_ITEM.get(key, err['msg'])}"
        else:
            accepted = fields[key].description if key in fields else err["msg"]
            message = f"found {_found(err['input'])}; expected {accepted}"
        out.append(Problem(file, _path((*at, *loc)), f"{message} ({WRITTEN})"))
    return out


_SHAPE = '{"stack", "resources": [...]} for one plan or {"stacks": [...]} for several'


def _validate(model: type[M], data: Any, file: str, at: tuple[str | int, ...]) -> M:
    # Something that is not a plan at all (another JSON file passed by mistake) gets one line
    # about its shape, not a line per missing and unknown key.
    if not isinstance(data, dict):
        raise InputError.one(
            file, _path(at), f"found {_found(data)}; expected {_SHAPE} ({WRITTEN})"
        )
    if not {"stack", "resources", "stacks"} & set(data):
        found = "an object with none of the keys stack, resources, stacks"
        raise InputError.one(file, _path(at), f"found {found}; expected {_SHAPE} ({WRITTEN})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _capped(file, _schema_problems(file, at, model, exc)) from None


def _reference_problems(plan: PlanJSON, file: str, at: tuple[str | int, ...]) -> list[Problem]:
    """What the schema cannot see: a urn twice in a stack (one would silently shadow the other),
    a parent that is not a resource listed earlier (save writes tree order: a parent registers
    before its children, which also rules out a cycle)."""
    out = []
    first: dict[str, int] = {}
    for i, r in enumerate(plan.resources):
        if r.urn in first:
            also = _path((*at, "resources", first[r.urn], "urn"))
            out.append(
                Problem(
                    file,
                    _path((*at, "resources", i, "urn")),
                    f"found {json.dumps(r.urn)} again (also at {also}); "
                    f"expected each urn once per stack ({WRITTEN})",
                )
            )
        else:
            first[r.urn] = i
    for i, r in enumerate(plan.resources):
        if r.parent is None:
            continue
        j = first.get(r.parent)
        if j is not None and j < i:
            continue
        if j is None:
            why = "which is the urn of no resource in this stack"
        elif j == i:
            why = "its own urn"
        else:
            why = f"the urn of {_path((*at, 'resources', j))}, listed after it"
        out.append(
            Problem(
                file,
                _path((*at, "resources", i, "parent")),
                f"found {json.dumps(r.parent)}, {why}; expected null or the urn of a resource "
                f"listed before it in the same stack ({WRITTEN})",
            )
        )
    return out


def _to_plan(m: PlanJSON, source: str | None, at: tuple[str | int, ...]) -> Plan:
    resources = [
        Resource(
            urn=r.urn,
            type=r.type,
            name=r.name,
            parent=r.parent,
            inputs=r.inputs,
            dependencies=r.dependencies,
            protect=r.protect,
            retain_on_delete=r.retain_on_delete,
            custom=r.custom,
            ignore_changes=r.ignore_changes,
            secrets=r.secrets,
        )
        for r in m.resources
    ]
    return Plan(m.stack, m.project, resources, m.outputs, source=source, at=at)


def _plan(data: Any, file: str, at: tuple[str | int, ...], source: str | None = None) -> Plan:
    model = _validate(PlanJSON, data, file, at)
    problems = _reference_problems(model, file, at)
    if problems:
        raise _capped(file, problems)
    return _to_plan(model, source, at)


def _read(path: Path, file: str) -> bytes:
    """The file's bytes: a regular file of at most ``MAX_BYTES``, checked before reading."""
    return files.read_bytes(
        path, max_bytes=MAX_BYTES, file=file, expected=f"expected a plan JSON file {WRITTEN}"
    )


# A JSON string (skipped whole, brackets inside it are text) or a bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class _DuplicateKey(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key appears twice would silently keep only the last value."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _parse(data: bytes, file: str) -> Any:
    wanted = f"expected a plan JSON file {WRITTEN}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.one(
            file,
            FILE,
            f"found byte 0x{data[exc.start]:02x} at offset {exc.start}, which is not UTF-8; "
            f"{wanted}",
        ) from None
    # Depth first, in one flat pass: the parser would recurse once per level.
    depth = 0
    for m in _STRUCTURE.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = m.start()
                line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
                raise InputError.one(
                    file,
                    FILE,
                    f"found arrays and objects nested more than {MAX_DEPTH} deep; expected at "
                    f"most {MAX_DEPTH} levels (a plan written by rollout plan --json nests about "
                    "a dozen)",
                    line,
                    column,
                )
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        raise InputError.one(
            file, FILE, f"not JSON ({exc.msg}); {wanted}", exc.lineno, exc.colno
        ) from None
    except _DuplicateKey as exc:
        raise InputError.one(
            file,
            FILE,
            f"found the key {_short(json.dumps(exc.args[0]))} twice in one object; expected each "
            f"key once per object ({WRITTEN})",
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        reason = str(exc).split(":", 1)[0]  # without Python's advice on raising the limit
        raise InputError.one(
            file, FILE, f"found a value that cannot be read ({reason}); {wanted}"
        ) from None


def load(path: Path) -> list[Plan]:
    """Read a saved plan file: one plan object, or ``{"stacks": [...]}`` for several.

    Bounded before it is parsed (a regular file of at most ``MAX_BYTES``, nested at most
    ``MAX_DEPTH``) and then held to what :func:`save` writes: anything else is an
    :class:`InputError` whose problems each name the file, the JSON path, what was found and
    what is accepted. Each plan remembers where it came from (``source``, ``at``).
    """
    file = str(path)
    data = _parse(_read(path, file), file)
    items: list[tuple[PlanJSON, tuple[str | int, ...]]]
    if isinstance(data, dict) and "stacks" in data:
        models = _validate(PlansJSON, data, file, ()).stacks
        items = [(m, ("stacks", i)) for i, m in enumerate(models)]
    else:
        items = [(_validate(PlanJSON, data, file, ()), ())]
    problems: list[Problem] = []
    first: dict[str, tuple[str | int, ...]] = {}
    for m, at in items:
        if m.stack in first:  # a second plan of a stack would silently shadow the first
            problems.append(
                Problem(
                    file,
                    _path((*at, "stack")),
                    f"found {json.dumps(m.stack)} again "
                    f"(also at {_path((*first[m.stack], 'stack'))}); "
                    f"expected each stack once per file ({WRITTEN})",
                )
            )
        first.setdefault(m.stack, at)
        problems += _reference_problems(m, file, at)
    if problems:
        raise _capped(file, problems)
    return [_to_plan(m, file, at) for m, at in items]


__all__ = ["MAX_BYTES", "MAX_DEPTH", "Plan", "PlanJSON", "Resource", "ResourceJSON", "load", "save"]
