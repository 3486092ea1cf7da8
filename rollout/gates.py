"""Checks beyond the YAML shapes that must pass before a stack is planned or deployed.

The shard table of each region (every bucket assigned once, shares within the limit) and that
its locales are configured; for the global stack, the edge's failover and the Localization
Platform's go-live gate (every locale a region serves reviewed, or inside its grace period,
with zero errors), because the global stack publishes the bundles, and the description of the
Weblate it deploys (locales/weblate.yaml). A regional stack never
waits on translations: a changed English string cannot hold up a region's infrastructure.
`rollout validate`, `rollout plan` and the Pulumi program itself (`__main__.py`, so `pulumi
up` too) all call :func:`stack_checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rollout.config import Project
from rollout.errors import InputError, Problem
from rollout.l10n.catalog import Catalogs


def stack_checks(project: Project, stacks: Sequence[str] | None = None) -> list[Problem]:
    """Problems that block the named stacks (all stacks if None), one line each."""
    from rollout import failover, shards
    from rollout.l10n import analyse, configured_problems, load_catalogs, publish_problems

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
            problems += configured_problems(
                project.root, f"regions/{spec.region}.yaml", spec.locales
            )
        elif stack.role == "global":
            problems += failover.failover_problems(project)
            required = {f"regions/{n}.yaml": list(r.locales) for n, r in project.regions.items()}
            catalogs = load_catalogs(project.root)
            problems += publish_problems(analyse(catalogs), required)
            problems += weblate_problems(project, catalogs)
    return problems


def weblate_problems(project: Project, catalogs: Catalogs) -> list[Problem]:
    """The Weblate the global stack deploys is described by locales/weblate.yaml: a broken
    description, or one that disagrees with the catalogs, blocks the stack like a bad YAML."""
    from rollout.l10n import weblate

    try:
        weblate.load_config(project.root, catalogs)
    except InputError as exc:
        return list(exc.problems)
    return []
