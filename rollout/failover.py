"""Failover, proven offline: every Cloudflare region and country survives the loss of any pool.

Cloudflare geo steering sends a request from a region (or an overridden country) to the first
healthy pool of its ordered list, and to ``fallback_pool`` when none is healthy. A pool with
no origins is never healthy. So for each route the question is simple: with any one pool lost,
is there still a pool in ``route + [fallback]`` that has an origin?

Three entry points, one rule set:

- :func:`check_failover` -- a Steering and origin counts per pool -> one-line messages;
- :func:`failover_problems` -- the loaded project (origin counts from each regional stack's
  cells) -> positioned :class:`~rollout.errors.Problem`\\ s for ``rollout validate``/``plan``;
- :func:`check_plan_failover` -- a planned global stack (its pools, their monitors and origins,
  and the load balancer's pool lists) -> one-line messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rollout.catalog import CF_LB, CF_POOL, CLOUDFLARE_REGIONS, HOME_POOL
from rollout.config import Project, Steering
from rollout.config.rules import GLOBAL_FILE
from rollout.errors import Problem, format_path
from rollout.plan import Plan
from rollout.yamlfile import KeyPath

_FIX = f"add a second pool (e.g. {HOME_POOL}) or a different fallback_pool"


def _routes(steering: Steering) -> Iterator[tuple[KeyPath, str, list[str]]]:
    """(key path, who uses it, ordered pools) for every Cloudflare region and country override.

    Regions without an entry in region_pools use default_pools; they are reported together on
    the default_pools line.
    """
    defaulted = [r for r in CLOUDFLARE_REGIONS if r not in steering.region_pools]
    for region, pools in steering.region_pools.items():
        yield ("edge", "steering", "region_pools", region), "", list(pools)
    for country, pools in steering.country_pools.items():
        yield ("edge", "steering", "country_pools", country), "", list(pools)
    if defaulted:
        yield (
            ("edge", "steering", "default_pools"),
            f"(serving {', '.join(defaulted)}) ",
            list(steering.default_pools),
        )


def _problems(steering: Steering, pools: Mapping[str, int]) -> list[tuple[KeyPath, str]]:
    """Every way a single lost pool (or none) leaves a route without origins."""
    fallback = steering.fallback_pool
    used = {fallback, *steering.default_pools}
    for names in (*steering.region_pools.values(), *steering.country_pools.values()):
        used.update(names)
    if used == {fallback}:
        # Every route fails the same way; one line says it.
        return [
            (
                ("edge", "steering", "fallback_pool"),
                f"{fallback} is the only pool any route uses; losing it takes the whole site "
                f"down; {_FIX}",
            )
        ]
    out: list[tuple[KeyPath, str]] = []
    for path, who, route in _routes(steering):
        candidates = list(dict.fromkeys([*route, fallback]))
        listed = f"{who}[{', '.join(route)}] with fallback {fallback}"
        alive = [p for p in candidates if pools.get(p, 0) >= 1]
        if not alive:
            counts = ", ".join(f"{p}: {pools.get(p, 0)}" for p in candidates)
            out.append((path, f"{listed}: no pool has origins ({counts}); {_FIX}"))
            continue
        for lost in candidates:
            if not [p for p in alive if p != lost]:
                out.append(
                    (path, f"{listed}: losing pool {lost} leaves no pool with origins; {_FIX}")
                )
    return out


def check_failover(
    steering: Steering, pools: Mapping[str, int], source: str = GLOBAL_FILE
) -> list[str]:
    """One line per problem: ``<source>: <key path>: <route>: <what breaks>; <fix>``.

    ``pools`` maps pool name -> number of origins; a pool it does not list has none.
    """
    return [f"{source}: {format_path(path)}: {msg}" for path, msg in _problems(steering, pools)]


def project_pools(project: Project) -> dict[str, int]:
    """Origin count per pool as the project declares it: one per cell, and the home origin."""
    pools = {HOME_POOL: 1}
    for stack in project.stacks.values():
        for pool, ref in (stack.config.regionalStacks or {}).items():
            target = project.stacks.get(ref.rsplit("/", 1)[-1])
            region = target.region if target is not None else None
            pools[pool] = len(region.cells) if region is not None else 0
    return pools


def failover_problems(project: Project) -> list[Problem]:
    """The failover check on the shipped YAML, positioned in regions/global.yaml."""
    doc = project.docs.get(GLOBAL_FILE)
    steering = project.global_.edge.steering
    found = _problems(steering, project_pools(project))
    if doc is None:
        return [Problem(GLOBAL_FILE, format_path(path), msg) for path, msg in found]
    return [doc.problem(path, msg) for path, msg in found]


def check_plan_failover(plan: Plan) -> list[str]:
    """The failover check on a planned global stack, plus: every pool has a health monitor.

    Pool ids in the load balancer's inputs are mapped back to pool names through the stack's
    ``pools`` output ({name: id}); origin counts are the pool's enabled origins.
    """
    source = f"plan {plan.stack}"
    out: list[str] = []
    counts: dict[str, int] = {}
    for pool in plan.of_type(CF_POOL):
        if not pool.inputs.get("monitor"):
            out.append(f"{source}: pool {pool.name}: no health monitor; set monitor on the pool")
        origins: Sequence[dict[str, Any]] = pool.inputs.get("origins") or []
        counts[pool.name] = sum(1 for o in origins if o.get("enabled", True))
    balancers = plan.of_type(CF_LB)
    if len(balancers) != 1:
        return [*out, f"{source}: expected one load balancer, found {len(balancers)}"]
    lb = balancers[0].inputs
    name_of = {str(v): k for k, v in (plan.outputs.get("pools") or {}).items()}

    def names(ids: Sequence[Any]) -> list[str]:
        return [name_of.get(str(i), str(i)) for i in ids]

    steering = Steering.model_construct(
        region_pools={k: names(v) for k, v in (lb.get("regionPools") or {}).items()},
        country_pools={k: names(v) for k, v in (lb.get("countryPools") or {}).items()},
        default_pools=names(lb.get("defaultPools") or []),
        fallback_pool=names([lb.get("fallbackPool")])[0],
    )
    return [*out, *check_failover(steering, counts, source)]


__all__ = ["check_failover", "check_plan_failover", "failover_problems", "project_pools"]
