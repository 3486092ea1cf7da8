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

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rollout.catalog import (
    CF_DNS_RECORD,
    CF_LB,
    CF_POOL,
    CF_WORKERS_KV,
    CF_WORKERS_ROUTE,
    CLOUDFLARE_REGIONS,
    HOME_POOL,
)
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


# --------------------------------------------------------------------------------------------
# Signed-in traffic, per cell: the cell router's proof
# --------------------------------------------------------------------------------------------


def check_cell_routing(plan: Plan) -> list[str]:
    """What a planned global stack promises a signed-in customer, one line per broken promise.

    - The router runs on every request to the app host (signed-in traffic never rides a pool).
    - Each region's current map is in KV, matches its content hash, and gives every bucket to
      exactly one cell: a customer is only ever routed to their home cell.
    - Each cell of a map has its own origin host (no two cells share one), a proxied record and
      a monitored pool of its own: losing a cell costs only the buckets that map gives it.
    - A region's map names only cells of the pool that serves that region: the loss of a pool
      never sends a signed-in customer out of their home region.
    - A pool is healthy only with a monitor and at least ``minimum_origins`` origins.
    """
    from rollout import shards

    source = f"plan {plan.stack}"
    out: list[str] = []
    lb_hosts = {str(r.inputs.get("name")) for r in plan.of_type(CF_LB)}
    routes = {str(r.inputs.get("pattern")) for r in plan.of_type(CF_WORKERS_ROUTE)}
    for host in sorted(lb_hosts):
        if f"{host}/*" not in routes:
            out.append(f"{source}: {host}: no cell router route {host}/*; signed-in traffic "
                       "would ride the load balancer to a random cell")  # fmt: skip
    kv = {
        str(r.inputs.get("keyName")): str(r.inputs.get("value"))
        for r in plan.of_type(CF_WORKERS_KV)
    }
    records = {str(r.inputs.get("name")): r for r in plan.of_type(CF_DNS_RECORD)}
    pools = {r.name: r for r in plan.of_type(CF_POOL)}
    pool_origins = {
        name: {str(o.get("address")) for o in (r.inputs.get("origins") or [])}
        for name, r in pools.items()
    }
    for key, version in sorted(kv.items()):
        if not key.startswith("current/"):
            continue
        region = key.removeprefix("current/")
        where = f"{source}: region {region}"
        text = kv.get(f"shard-map/{region}/{version}.json")
        if text is None:
            out.append(f"{where}: current map {version} is not in KV; the router would answer 503")
            continue
        try:
            doc = json.loads(text)
            body = {k: v for k, v in doc.items() if k != "version"}
            digest = hashlib.sha256(shards.canonical_json(body)).hexdigest()[:16]
        except (ValueError, AttributeError):
            out.append(f"{where}: map {version} is not a shard map")
            continue
        if digest != version or doc.get("version") != version:
            out.append(f"{where}: map {version} does not match its content hash ({digest})")
        owner: dict[int, str] = {}
        for cell, ranges in (doc.get("cells") or {}).items():
            for first, last in ranges:
                for bucket in range(first, last + 1):
                    if bucket in owner:
                        out.append(
                            f"{where}: bucket {bucket} is in cells {owner[bucket]} and {cell}"
                        )
                    owner[bucket] = cell
        if sorted(owner) != list(range(int(doc.get("buckets", 0)))):
            out.append(f"{where}: the map does not give every bucket to a cell")
        origins: dict[str, str] = doc.get("origins") or {}
        serving = [p for p, hosts in pool_origins.items() if set(origins.values()) <= hosts]
        if not serving:
            out.append(f"{where}: its cells' origins are not all in one regional pool; a "
                       "customer could be sent out of their home region")  # fmt: skip
        if len(set(origins.values())) != len(origins):
            out.append(f"{where}: two cells share an origin host; a cell's loss would spread")
        for cell in sorted(set(owner.values())):
            host = origins.get(cell)
            if host is None:
                out.append(f"{where}: cell {cell}: no origin host in the map; the router would 503")
                continue
            record = records.get(host)
            if record is None or record.inputs.get("proxied") is not True:
                out.append(f"{where}: cell {cell}: {host} has no proxied DNS record")
            own = [p for p, hosts in pool_origins.items() if hosts == {host}]
            if not own or not pools[own[0]].inputs.get("monitor"):
                out.append(f"{where}: cell {cell}: {host} has no monitored pool of its own")
    for name, pool in sorted(pools.items()):
        minimum = int(pool.inputs.get("minimumOrigins") or 1)
        if len(pool_origins[name]) < minimum:
            out.append(f"{source}: pool {name}: {len(pool_origins[name])} origins, under its "
                       f"minimum_origins {minimum}: never healthy")  # fmt: skip
    return out


__all__ = [
    "check_cell_routing",
    "check_failover",
    "check_plan_failover",
    "failover_problems",
    "project_pools",
]
