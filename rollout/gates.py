"""Checks beyond the YAML shapes that must pass before a stack is planned or deployed.

The shard table of each region (every bucket assigned once, shares within the limit), the
Localization Platform's go-live gate (every required locale 100% translated and reviewed with
zero errors), and the edge's failover. `rollout validate`, `rollout plan` and the Pulumi
program itself (`__main__.py`, so `pulumi up` too) all call :func:`stack_checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rollout.config import Project
from rollout.errors import Problem


def stack_checks(project: Project, stacks: Sequence[str] | None = None) -> list[Problem]:
    """Problems that block the named stacks (all stacks if None), one line each."""
    from rollout import failover, shards
    from rollout.l10n import gate

    problems: list[Problem] = []
    wanted = set(stacks) if stacks is not None else set(project.stacks)
    for stack in project.stacks.values():
        if stack.name not in wanted:
            continue
        if stack.region is not None:
            spec = stack.region
            problems += shards.validate_region(
                project.root,
                spec.region,
                list(spec.cells),
                spec.shards.buckets,
                spec.shards.max_cell_share,
            )
            problems += gate(project.root, f"regions/{spec.region}.yaml", spec.locales)
        elif stack.role == "global":
            problems += failover.failover_problems(project)
    return problems
