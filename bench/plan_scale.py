"""Plan at scale: the offline engine against the Pulumi SDK's own floor.

For each size ``R x C`` (regions x cells per region) this builds a synthetic project from the
real defaults (``Pulumi.yaml``, ``regions/defaults.yaml``, ``regions/global.yaml``, ``schema/``,
``locales/``) with R region files, R regional stacks and the global stack, then, in one fresh
process per size (so peak RSS belongs to that size alone):

- plan: every stack with ``rollout.engine.plan_stack`` and a shared cache (what
  ``rollout plan --all`` does): the real program, the real components, the recording monitor;
- floor: per stack, the same number of resources of the same types (components included),
  registered bare under the SDK's plain ``MockMonitor`` and a trivial ``Mocks`` that returns
  inputs, awaited to completion the same way (``wait_for_rpcs``).

After an untimed warm-up (a 1 x 1 project: imports every provider module the program touches)
and an untimed first plan (peak RSS is read after it), plan and floor alternate stack by stack
(plan r0, floor r0, plan r1, floor r1, ...; the order flips every round), so that a shared,
drifting machine moves both sides of a comparison alike. A round covers the project as many
times as it takes to last ``--min-seconds`` (4 s) per side; the ratio is taken per round, then
the median. ``--bare`` and ``--strict`` add reference floors, reported beside the ratio and
never part of it.

    python bench/plan_scale.py                     # 2x2, 5x10, 10x20; 5 rounds each (~8 min)
    python bench/plan_scale.py --sizes 2x2,5x10 --repeat 5 --strict
    python bench/plan_scale.py --sizes 10x20 --profile out/plan-10x20.html   # pyinstrument

The last line printed is ``worst ratio: X.XX`` (the largest median ratio over the sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = "2x2,5x10,10x20"
TARGET_RATIO = 1.25
SIDES = ("plan", "floor")
EXTRA_SIDES = {  # reference floors, reported beside the ratio (never part of it)
    "bare": "pulumi.CustomResource(type, name, props={}), no SDK classes",
    "strict": "the floor with the engine's own savings: no stack walk, monitor calls inline",
}

# The real locale lists of the shipped region files; a synthetic region takes one of them.
LOCALE_SETS = (
    ["en-GB", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pl-PL"],
    ["en-SG", "zh-Hans-SG", "ms-SG", "ta-SG"],
)


# ---------------------------------------------------------------------------------------------
# The synthetic project
# ---------------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    try:
        regions, cells = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--sizes: {text!r} is not REGIONSxCELLS, e.g. 5x10") from None
    if not 1 <= regions <= 16:
        raise SystemExit(f"--sizes: {text}: 1..16 regions (each takes a /12 of 10.0.0.0/8)")
    if not 1 <= cells <= 31:
        raise SystemExit(f"--sizes: {text}: 1..31 cells (each a /17 of the region's /12)")
    return regions, cells


def generate(dest: Path, regions: int, cells: int) -> list[str]:
    """Write a project of ``regions`` x ``cells`` into ``dest``; return the regional stacks."""
    from rollout import shards
    from rollout.catalog import CLOUDFLARE_REGIONS, GCP_REGIONS, HOME_POOL, REGION_JURISDICTIONS

    for name in ("Pulumi.yaml",):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ("schema", "locales"):
        shutil.copytree(ROOT / folder, dest / folder)
    (dest / "regions" / "shards").mkdir(parents=True)
    buckets = yaml.safe_load((ROOT / "regions" / "defaults.yaml").read_text(encoding="utf-8"))[
        "shards"
    ]["buckets"]
    (dest / "stacks").mkdir()
    shutil.copy2(ROOT / "regions" / "defaults.yaml", dest / "regions" / "defaults.yaml")

    gcp_regions = sorted(GCP_REGIONS)[:regions]
    stacks: list[str] = []
    for i, gcp_region in enumerate(gcp_regions):
        net = ipaddress.ip_network(f"10.{16 * i}.0.0/12")
        substrate = list(net.subnets(new_prefix=24))[-1]  # in the last /17: cells stop at 31
        proxy = list(net.subnets(new_prefix=23))[-2]  # just below the substrate
        cell_nets = net.subnets(new_prefix=17)
        stack = f"r{i}"
        region_doc = {
            "region": gcp_region,
            "jurisdiction": REGION_JURISDICTIONS[gcp_region],
            "short": f"r{i}",
            "hub": {
                "name": f"hub{i}",
                "oncall_group": f"hub{i}-oncall@demobank.example",
                "breakglass_group": f"hub{i}-breakglass@demobank.example",
            },
            "network": {
                "cidr": str(net),
                "substrate_cidr": str(substrate),
                "proxy_cidr": str(proxy),
            },
            "locales": LOCALE_SETS[i % len(LOCALE_SETS)],
            "cells": {f"r{i}c{j}": {"cidr": str(next(cell_nets))} for j in range(cells)},
        }
        _dump(dest / "regions" / f"{gcp_region}.yaml", region_doc)
        # the committed shard table (the global stack publishes every region's map)
        shards.table_path(dest, gcp_region).write_text(
            shards.render_table(
                gcp_region, buckets, shards.even_split(list(region_doc["cells"]), buckets)
            ),
            encoding="utf-8",
        )
        _dump(
            dest / "stacks" / f"Pulumi.{stack}.yaml",
            {
                "config": {
                    "gcp:project": f"demobank-{stack}-prod",
                    "gcp:region": gcp_region,
                    "demobank:role": "regional",
                    "demobank:region": gcp_region,
                }
            },
        )
        stacks.append(stack)

    # The real global file, with steering that names only pools that exist here.
    global_doc = yaml.safe_load((ROOT / "regions" / "global.yaml").read_text(encoding="utf-8"))
    steering = global_doc["edge"]["steering"]
    steering["region_pools"] = {
        cf: [stacks[k % len(stacks)], HOME_POOL] for k, cf in enumerate(CLOUDFLARE_REGIONS)
    }
    steering["country_pools"] = {}
    steering["default_pools"] = [HOME_POOL]
    steering["fallback_pool"] = HOME_POOL
    _dump(dest / "regions" / "global.yaml", global_doc)
    _dump(
        dest / "stacks" / "Pulumi.global.yaml",
        {
            "config": {
                "gcp:project": "demobank-global-prod",
                "gcp:region": gcp_regions[0],
                "demobank:role": "global",
                "demobank:regionalStacks": {s: f"demobank/demobank/{s}" for s in stacks},
            }
        },
    )
    return stacks


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Plan and floor
# ---------------------------------------------------------------------------------------------


def run_plan(project: Any) -> list[list[tuple[str, bool]]]:
    """Plan every stack (regional first, shared cache); per stack, (type, custom) per resource."""
    from rollout.catalog import STACK
    from rollout.engine import plan_stack

    cache: dict[str, Any] = {}
    for name in project.stacks:
        plan_stack(name, project, cache=cache)
    return [
        [(r.type, r.custom) for r in plan.resources if r.type != STACK]
        for plan in cache.values()
    ]


def planning_order(project: Any) -> list[str]:
    """The stacks in the order ``rollout plan --all`` plans them (referenced stacks first): the
    order of ``run_plan``'s lists."""
    from rollout.engine import plan_stack

    cache: dict[str, Any] = {}
    for name in project.stacks:
        plan_stack(name, project, cache=cache)
    return list(cache)


def run_floor(
    stacks: list[list[tuple[str, bool]]],
    typed: bool = True,
    pause_gc: bool = True,
    engine_savings: bool = False,
) -> None:
    """The same resources, bare, under the SDK's plain mocks: one program run per stack.

    ``typed``: each custom resource is its provider SDK class (``pulumi_gcp.compute.Subnetwork``)
    given only its required arguments, so the floor pays what any program using that class
    pays (its output properties, its input translation); otherwise ``pulumi.CustomResource(type,
    name, props={})``. Components are ``pulumi.ComponentResource(type, name)`` either way.
    ``pause_gc``: the cyclic collector is paused during each program run and objects alive
    before it are frozen, as ``rollout.engine.run_program`` does: the process's collector regime
    is the harness's, not the SDK's, and like is compared with like.
    Monitor calls go through one worker thread: the SDK's plain ``MockMonitor`` cannot run on the
    loop's own thread (its ``_sync_await`` pumps the running loop re-entrantly and recurses), and
    one worker was faster than the loop's default pool (0.94 against 1.01 s per 2x2 floor).
    ``engine_savings`` (``--strict``; off by default: the floor is the SDK as shipped): the
    floor gets the engine's own savings too, the SDK's per-registration stack walk skipped and
    monitor calls run inline on the loop with ``_sync_await`` replaced, as ``run_program`` does.
    """
    for i, resources in enumerate(stacks):
        _floor_one(i, resources, _makers(resources, typed), pause_gc, engine_savings)


def _makers(resources: list[tuple[str, bool]], typed: bool) -> list[Any]:
    return [_maker(type_, custom, typed) for type_, custom in resources]


def _floor_one(
    i: int,
    resources: list[tuple[str, bool]],
    makers: list[Any],
    pause_gc: bool = True,
    engine_savings: bool = False,
) -> None:
    """The floor of one stack; it must register exactly the plan's resources."""
    counts = _floor_stack(f"floor{i}", makers, pause_gc, engine_savings)
    expected = Counter(type_ for type_, _ in resources)
    assert counts == expected, f"floor registered {counts - expected} / missed {expected - counts}"


_PACKAGES = {"gcp": "pulumi_gcp", "cloudflare": "pulumi_cloudflare"}


def _maker(type_: str, custom: bool, typed: bool) -> Any:
    """A callable name -> resource registering one bare resource of ``type_``."""
    import importlib
    import inspect

    import pulumi

    from rollout.catalog import K8S_PROVIDER

    if not custom:
        return lambda name: pulumi.ComponentResource(type_, name)
    package, module, cls_name = type_.split(":")
    if typed and package == "kubernetes":
        return _kubernetes_maker(type_)
    if typed and type_ == K8S_PROVIDER:
        import pulumi_kubernetes as k8s

        return lambda name: k8s.Provider(name)
    if not typed or package not in _PACKAGES:
        return lambda name: pulumi.CustomResource(type_, name, props={})
    key = (type_, typed)
    if key not in _MAKERS:
        top = module.split("/")[0]
        mod = importlib.import_module(_PACKAGES[package] + ("" if top == "index" else f".{top}"))
        cls, args_cls = getattr(mod, cls_name), getattr(mod, f"{cls_name}Args")
        required = {
            n: "x"
            for n, p in inspect.signature(args_cls.__init__).parameters.items()
            if n not in ("self", "__self__") and p.default is inspect.Parameter.empty
        }
        _MAKERS[key] = lambda name: cls(name, **required)
    return _MAKERS[key]


_MAKERS: dict[tuple[str, bool], Any] = {}

# Kubernetes API groups -> pulumi_kubernetes modules; other groups are custom resources.
_K8S_GROUPS = {
    "core": "core",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
}


def _kubernetes_maker(type_: str) -> Any:
    """The floor of a Kubernetes type: its typed class, or a CustomResource for CRDs."""
    import importlib

    import pulumi_kubernetes as k8s

    _, module, kind = type_.split(":")
    group, _, version = module.rpartition("/")
    if group in _K8S_GROUPS:
        import inspect

        mod = importlib.import_module(f"pulumi_kubernetes.{_K8S_GROUPS[group]}.{version}")
        cls = getattr(mod, kind)
        args_cls = getattr(mod, f"{kind}InitArgs", None) or getattr(mod, f"{kind}Args")
        required = {  # the required arguments only, as the floor gives every typed class
            n: "x"
            for n, p in inspect.signature(args_cls.__init__).parameters.items()
            if n not in ("self", "__self__") and p.default is inspect.Parameter.empty
        }
        return lambda name: cls(name, **required)
    return lambda name: k8s.apiextensions.CustomResource(name, api_version=module, kind=kind)


def _floor_stack(
    stack: str, makers: list[Any], pause_gc: bool, engine_savings: bool = False
) -> Counter[str]:
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings
    from pulumi.runtime.stack import wait_for_rpcs

    class BareMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            return f"{args.name}-id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
            return {}

    settings.reset_options(project="floor", stack=stack, preview=True)
    pulumi.runtime.set_all_config({}, [])
    mocks = BareMocks()
    monitor = pulumi_mocks.MockMonitor(mocks)
    if engine_savings:
        from rollout.engine import _InlineLoop

        loop: asyncio.AbstractEventLoop = _InlineLoop()
    else:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))  # see run_floor
    asyncio.set_event_loop(loop)
    # The runner's own patches, not a copy: the floor pays what the engine pays.
    from rollout.engine import close_loop, collector_paused, sdk_shortcuts

    patches = contextlib.ExitStack()
    if pause_gc:
        patches.enter_context(collector_paused())
    if engine_savings:
        patches.enter_context(sdk_shortcuts())
    try:
        pulumi.runtime.set_mocks(mocks, project="floor", stack=stack, preview=True, monitor=monitor)

        async def body() -> None:
            for k, make in enumerate(makers):
                make(f"r{k}")
            await wait_for_rpcs()

        loop.run_until_complete(body())
        loop.run_until_complete(wait_for_rpcs())
    finally:
        close_loop(loop)
        # as the engine does: a run's SDK state goes with its own collection, not the next run's
        settings.reset_options(project="floor", stack=stack, preview=True)
        patches.close()
    return Counter(urn.split("::")[2].split("$")[-1] for urn in monitor.resources)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(
    size: str, repeat: int, profile: str | None, extra: list[str], min_seconds: float
) -> dict[str, Any]:
    """One size, in this (fresh) process: warm up, then ``repeat`` interleaved rounds.

    Plan and floor alternate stack by stack: plan r0, floor r0, plan r1, floor r1, ..., plan
    global, floor global (the global stack's plan reads the regional plans made just before it,
    as ``rollout plan --all`` does). This machine's speed drifts by a third from one second to
    the next (one floor, run eight times in a row: 0.61 to 1.02 s), so sides timed a whole
    project apart saw different machines: at 5x10, rounds of the same code gave ratios from 1.00
    to 1.50. Stack by stack, both sides of a comparison run within a second or two of each
    other. Before each stack an untimed ``gc.collect(1)`` frees what the other side left (each
    run frees its own garbage, so it finds next to nothing).

    A round repeats the whole project ``inner`` times, ``inner`` chosen from an untimed first
    plan so that a round lasts at least ``min_seconds`` per side (a 2x2 plan is under a second).
    """
    import pulumi_cloudflare  # noqa: F401
    import pulumi_gcp  # noqa: F401

    from rollout.config import load_project
    from rollout.engine import plan_stack

    regions, cells = parse_size(size)
    with tempfile.TemporaryDirectory(prefix="plan-scale-") as tmp:
        warm_dir, dest = Path(tmp, "warm"), Path(tmp, "project")
        warm_dir.mkdir()
        dest.mkdir()
        generate(warm_dir, 1, 1)
        generate(dest, regions, cells)
        warm = load_project(warm_dir)
        run_floor(run_plan(warm))  # imports, caches, first-call costs: untimed
        del warm
        project = load_project(dest)
        rss_before = _maxrss_mib()

        gc.collect()
        t0 = time.perf_counter()
        stacks = run_plan(project)  # untimed: sizes the samples, gives the floor its resources
        first = time.perf_counter() - t0
        peak = _maxrss_mib()  # peak RSS is monotonic: read it before any floor has run
        inner = max(1, math.ceil(min_seconds / first))
        names = planning_order(project)
        sides = (*SIDES, *extra)
        makers = {
            side: [_makers(resources, typed=side != "bare") for resources in stacks]
            for side in sides
            if side != "plan"
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        cpu: dict[str, list[float]] = {side: [] for side in sides}
        for rep in range(repeat):
            # rotate the order so no side always runs first (or last) in a round
            order = sides[rep % len(sides) :] + sides[: rep % len(sides)]
            wall = dict.fromkeys(sides, 0.0)
            proc = dict.fromkeys(sides, 0.0)
            for _ in range(inner):
                cache: dict[str, Any] = {}
                for i, name in enumerate(names):
                    for side in order:
                        gc.collect(1)
                        t0, c0 = time.perf_counter(), time.process_time()
                        if side == "plan":
                            plan_stack(name, project, cache=cache)
                        else:
                            _floor_one(i, stacks[i], makers[side][i], True, side == "strict")
                        wall[side] += time.perf_counter() - t0
                        proc[side] += time.process_time() - c0
            for side in sides:
                times[side].append(wall[side] / inner)
                cpu[side].append(proc[side] / inner)

        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
            run_plan(project)
            profiler.stop()
            out = Path(profile)
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix == ".html":
                out.write_text(profiler.output_html(), encoding="utf-8")
            else:
                out.write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")

    return {
        "size": size,
        "stacks": len(stacks),
        "resources": sum(len(s) for s in stacks),
        "components": sum(1 for s in stacks for _, custom in s if not custom),
        "types": len({t for s in stacks for t, _ in s}),
        "inner": inner,
        "times": times,
        "cpu": cpu,
        "ratios": [p / f for p, f in zip(times["plan"], times["floor"], strict=True)],
        **{
            f"{side}_ratios": [p / f for p, f in zip(times["plan"], times[side], strict=True)]
            for side in extra
        },
        "cpu_ratios": [p / f for p, f in zip(cpu["plan"], cpu["floor"], strict=True)],
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak,
    }


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def machine() -> str:
    from importlib.metadata import version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = f", load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} x {cpu}{mem}{load}; Python {platform.python_version()}, "
        f"pulumi {version('pulumi')}, pulumi-gcp {version('pulumi-gcp')}, "
        f"pulumi-cloudflare {version('pulumi-cloudflare')}; {time.strftime('%Y-%m-%d %H:%M')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help=f"REGIONSxCELLS list (default {DEFAULT_SIZES})"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of plan and floor per size (default 5)"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=4.0,
        help="a sample repeats its side until it lasts this long (default 4.0)",
    )
    parser.add_argument(
        "--profile", help="pyinstrument the plan of the (last) size into this file (.html or .txt)"
    )
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="also time a floor of pulumi.CustomResource(type, name, props={}) (no SDK classes)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also time a floor with the engine's own savings (no stack walk, inline monitor)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    extra = [side for side in EXTRA_SIDES if getattr(args, side)]
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat, args.profile, extra, args.min_seconds)))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        parse_size(s)
    print(f"# {machine()}")
    print(
        f"# {args.repeat} rounds per size (plan, floor{''.join(', ' + e for e in extra)}, "
        f"alternating stack by stack; a round lasts >= {args.min_seconds:g} s per side), each "
        "size in a fresh process; seconds are medians per plan"
    )
    print(
        f"{'size':>6} {'resources':>9} {'plan s':>8} {'floor s':>8} {'ratio':>6} "
        f"{'plan ms/res':>11} {'peak RSS MiB':>12}"
        + "".join(f" {e + ' s':>8} {'vs ' + e:>10}" for e in extra)
    )
    results = []
    for n, size in enumerate(sizes):
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            size,
            "--repeat",
            str(args.repeat),
            "--min-seconds",
            str(args.min_seconds),
        ]
        cmd += [f"--{e}" for e in extra]
        if args.profile and n == len(sizes) - 1:
            cmd += ["--profile", args.profile]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            print(f"{size}: worker failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["ratio"] = statistics.median(r["ratios"])
        med = {side: statistics.median(v) for side, v in r["times"].items()}
        print(
            f"{size:>6} {r['resources']:>9} {med['plan']:>8.2f} {med['floor']:>8.2f} "
            f"{r['ratio']:>6.2f} {1000 * med['plan'] / r['resources']:>11.2f} "
            f"{r['peak_rss_mib']:>12.0f}"
            + "".join(
                f" {med[e]:>8.2f} {statistics.median(r[e + '_ratios']):>10.2f}" for e in extra
            ),
            flush=True,
        )
        results.append(r)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(
        "# floor: the same types through their SDK classes, required args only, GC paused as "
        "the engine does; ratio: median of per-round plan/floor "
        f"(target <= {TARGET_RATIO})" + "".join(f"; {e}: {EXTRA_SIDES[e]}" for e in extra)
    )
    print(f"worst ratio: {max(r['ratio'] for r in results):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
