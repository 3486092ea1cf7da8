"""The plan model: what a stack would register, as plain data.

A :class:`Plan` is every registration (components included) in a stable tree order, with its
URN, type, name, parent, inputs, dependencies and options, and the stack's outputs. The offline
runner (``rollout.engine``) produces plans; policies, diff, diagram, failover and the renderers
read them, and ``rollout check``/``diff`` load them from the JSON that ``rollout plan --json``
saves. Nothing here knows how a plan was made.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout.catalog import PROJECT_NAME, STACK
from rollout.errors import InputError


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
    def from_json(cls, data: dict[str, Any]) -> Plan:
        resources = [
            Resource(
                urn=r["urn"],
                type=r["type"],
                name=r["name"],
                parent=r.get("parent"),
                inputs=r.get("inputs") or {},
                dependencies=list(r.get("dependencies") or []),
                protect=bool(r.get("protect")),
                retain_on_delete=bool(r.get("retainOnDelete")),
                ignore_changes=list(r.get("ignoreChanges") or []),
                custom=bool(r.get("custom", True)),
                secrets=list(r.get("secrets") or []),
            )
            for r in data["resources"]
        ]
        return cls(
            data["stack"], data.get("project", PROJECT_NAME), resources, data.get("outputs") or {}
        )


def _redacted(inputs: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """A copy of ``inputs`` with each secret top-level key replaced by a fingerprint: a saved
    plan (a CI artifact) never holds a secret, yet a diff still sees that it changed."""
    if not secrets:
        return inputs
    out = dict(inputs)
    for path in secrets:
        key = path.split(".", 1)[0].split("[", 1)[0]
        if key in out:
            digest = hashlib.sha256(json.dumps(out[key], sort_keys=True).encode()).hexdigest()
            out[key] = f"[secret sha256:{digest[:12]}]"
    return out


def save(plans: Iterable[Plan], path: Path) -> None:
    """Write plans as JSON: one plan as an object, several as {"stacks": [...]}."""
    items = [p.to_json() for p in plans]
    data: Any = items[0] if len(items) == 1 else {"stacks": items}
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def load(path: Path) -> list[Plan]:
    """Read a saved plan file (one plan or {"stacks": [...]})."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError.one(str(path), "(file)", f"not a plan JSON file: {exc}") from None
    items = data.get("stacks", [data]) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and "stack" in i and isinstance(i.get("resources"), list) for i in items
    ):
        raise InputError.one(
            str(path),
            "(root)",
            'expected {"stack", "resources": [...]} or {"stacks": [...]} '
            "as written by rollout plan --json",
        )
    return [Plan.from_json(i) for i in items]


__all__ = ["Plan", "Resource", "load", "save"]
