"""Text renderings of a plan: the preview-like tree, counts and outputs."""

from __future__ import annotations

import json
from typing import Any

from rollout.plan import Plan


def tree(plan: Plan) -> str:
    """Like `pulumi preview`: ``+ type name``, indented by parent."""
    children: dict[str | None, list[Any]] = {}
    for r in plan.resources:
        children.setdefault(r.parent, []).append(r)
    lines = [f"Previewing update ({plan.stack}) - offline plan", ""]
    lines.append(f"     {'Type':<58} Name")

    def walk(parent: str | None, depth: int) -> None:
        for r in children.get(parent, []):
            mark = "  [protected]" if r.protect else ""
            lines.append(f" +   {'  ' * depth}{r.type:<{max(58 - 2 * depth, 10)}} {r.name}{mark}")
            walk(r.urn, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def counts(plan: Plan) -> str:
    data = plan.counts()
    width = max((len(t) for t in data), default=10)
    lines = ["", "Resources by type:"]
    lines += [f"    {t:<{width}}  {n:>4}" for t, n in data.items()]
    total = sum(n for t, n in data.items())
    custom = sum(1 for r in plan.resources if r.custom)
    lines.append(
        f"    {'total':<{width}}  {total:>4}  "
        f"({custom} cloud resources, {total - custom} components)"
    )
    return "\n".join(lines)


def outputs(plan: Plan) -> str:
    lines = ["", "Outputs:"]
    for key, value in plan.outputs.items():
        text = json.dumps(value, sort_keys=True, default=str)
        lines.append(f"    {key}: {text}")
    return "\n".join(lines)


def full(plan: Plan) -> str:
    return "\n".join([tree(plan), counts(plan), outputs(plan)])


__all__ = ["counts", "full", "outputs", "tree"]
