"""Rules that need more than one file (or more than one section of a file), one per kind.

A rule about one shape lives on that shape's model (``rollout.config.models``); what is here
needs the whole loaded project: address plans across regions and cells, each cell's pod range
against the cluster settings that fill it, cell names across regions, the one global stack and
its references to the regional ones, the steering's names, and the Cloudflare features the
edge uses against the plan and add-ons regions/global.yaml declares.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping

from rollout import catalog
from rollout.catalog import CLOUDFLARE_REGIONS, HOME_POOL, PROJECT_NAME
from rollout.config.models import CONFIG_NS
from rollout.config.problems import describe
from rollout.config.project import Project
from rollout.errors import Problem
from rollout.yamlfile import KeyPath, YamlDoc

GLOBAL_FILE = "regions/global.yaml"


def cross_checks(project: Project, region_docs: Mapping[str, YamlDoc]) -> list[Problem]:
    """Every cross-file rule over a loaded project, in a stable order."""
    return [
        *address_plan(project, region_docs),
        *pod_capacity(project, region_docs),
        *unique_cell_names(project, region_docs),
        *one_global_stack(project),
        *regional_stack_references(project),
        *steering_names(project),
        *cloudflare_plan(project),
    ]


def address_plan(project: Project, region_docs: Mapping[str, YamlDoc]) -> list[Problem]:
    """Regions do not overlap; the substrate and every cell lie inside their region, apart."""
    problems: list[Problem] = []
    region_nets: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for stack in project.regional_stacks():
        spec = stack.region
        assert spec is not None
        doc = region_docs[spec.region]
        net = ipaddress.ip_network(spec.network.cidr)
        for other_region, other_net in region_nets:
            if net.overlaps(other_net):
                problems.append(
                    doc.problem(
                        ("network", "cidr"),
                        f"{net} overlaps the network of {other_region} ({other_net}); "
                        "give each region its own range",
                    )
                )
        region_nets.append((spec.region, net))
        substrate = ipaddress.ip_network(spec.network.substrate_cidr)
        if not substrate.subnet_of(net):  # type: ignore[arg-type]
            problems.append(
                doc.problem(
                    ("network", "substrate_cidr"),
                    f"{substrate} is outside network.cidr {net}; put it inside the region's range",
                )
            )
        proxy = ipaddress.ip_network(spec.network.proxy_cidr)
        if not proxy.subnet_of(net):  # type: ignore[arg-type]
            problems.append(
                doc.problem(
                    ("network", "proxy_cidr"),
                    f"{proxy} is outside network.cidr {net}; put it inside the region's range",
                )
            )
        elif proxy.overlaps(substrate):
            problems.append(
                doc.problem(
                    ("network", "proxy_cidr"),
                    f"{proxy} overlaps network.substrate_cidr ({substrate}); give each its own "
                    f"range inside network.cidr {net}",
                )
            )
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = [
            ("network.substrate_cidr", substrate),
            ("network.proxy_cidr", proxy),
        ]
        for cell, cell_spec in spec.cells.items():
            path = ("cells", cell, "cidr")
            cnet = ipaddress.ip_network(cell_spec.cidr)
            if not cnet.subnet_of(net):  # type: ignore[arg-type]
                problems.append(
                    doc.problem(
                        path,
                        f"{cnet} is outside network.cidr {net}; give each cell its own range "
                        f"inside network.cidr {net}",
                    )
                )
            for other_name, other in seen:
                if cnet.overlaps(other):
                    problems.append(
                        doc.problem(
                            path,
                            f"{cnet} overlaps {other_name} ({other}); give each cell its own "
                            f"range inside network.cidr {net}",
                        )
                    )
            seen.append((f"cells.{cell}.cidr", cnet))
    return problems


def pod_capacity(project: Project, region_docs: Mapping[str, YamlDoc]) -> list[Problem]:
    """Each cell's pod range holds the most nodes its cluster may run.

    GKE gives every node a pod range of its own, the smallest block with twice as many
    addresses as pods per node: a /24 for the default 110
    (https://cloud.google.com/kubernetes-engine/docs/how-to/flexible-pod-cidr). A node that gets
    no range is not created, so the cluster cannot scale (or surge-upgrade) past the pod range:
    it must hold 3 zones x (max_nodes_per_zone + 1 surge node) ranges. The pod range is the one
    the program carves from the cell's CIDR (``rollout.args.carve``).
    """
    from rollout.args import carve  # the program's own carving; args imports config, not back

    problems: list[Problem] = []
    per_node = catalog.gke_node_pod_prefix(catalog.GKE_MAX_PODS_PER_NODE)
    for stack in project.regional_stacks():
        spec = stack.region
        assert spec is not None
        most = spec.cluster.max_nodes_per_zone
        nodes = catalog.GKE_REGIONAL_ZONES * (most + catalog.GKE_MAX_SURGE)
        for cell, cell_spec in spec.cells.items():
            pods = ipaddress.ip_network(carve(cell_spec.cidr).pods)
            fits = 2 ** max(0, per_node - pods.prefixlen)
            if fits >= nodes:
                continue
            problems.append(
                region_docs[spec.region].problem(
                    ("cells", cell, "cidr"),
                    f"{cell_spec.cidr} carves the pod range {pods}: {fits} nodes of "
                    f"{catalog.GKE_MAX_PODS_PER_NODE} pods (a /{per_node} each), but the cluster "
                    f"may run {catalog.GKE_REGIONAL_ZONES} zones x ({most} max_nodes_per_zone + "
                    f"{catalog.GKE_MAX_SURGE} surge) = {nodes} nodes; give the cell a larger "
                    f"range or lower cluster.max_nodes_per_zone",
                )
            )
    return problems


def unique_cell_names(project: Project, region_docs: Mapping[str, YamlDoc]) -> list[Problem]:
    """A cell's name is unique across all regions (it names the cell's database and topics)."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for stack in project.regional_stacks():
        spec = stack.region
        assert spec is not None
        for cell in spec.cells:
            if cell in owner:
                problems.append(
                    region_docs[spec.region].problem(
                        ("cells", cell),
                        f"cell name {cell!r} is also used by region {owner[cell]}; "
                        "cell names are unique across all regions",
                    )
                )
            owner[cell] = spec.region
    return problems


def one_global_stack(project: Project) -> list[Problem]:
    """Exactly one stack is global: the edge, the directory and the CDN exist once."""
    found = [s for s in project.stacks.values() if s.role == "global"]
    if not found:
        return [
            Problem(
                "stacks/",
                "(folder)",
                f"no global stack; exactly one stack file sets {CONFIG_NS}role: global (the edge "
                "in front of every region)",
            )
        ]
    first, *others = found
    return [
        project.docs[s.file].problem(
            ("config", f"{CONFIG_NS}role"),
            f"found a second global stack (the first is {first.file}); exactly one stack is "
            "global: make this one regional or remove it",
        )
        for s in others
    ]


def regional_stack_references(project: Project) -> list[Problem]:
    """Every pool of ``demobank:regionalStacks`` names a regional stack of this project, fully
    qualified (``<org>/demobank/<stack>``): a StackReference to another project's stack of the
    same name would read that project's outputs."""
    problems: list[Problem] = []
    regional = ", ".join(sorted(x.name for x in project.regional_stacks()))
    for s in project.stacks.values():
        if s.role != "global":
            continue
        for pool, ref in (s.config.regionalStacks or {}).items():
            parts = ref.split("/")
            target = parts[-1]
            if len(parts) != 3 or not all(parts) or parts[1] != PROJECT_NAME:
                message = (
                    f"found {describe(ref)}: a fully qualified stack of this project, "
                    f"<org>/{PROJECT_NAME}/<stack> (e.g. demobank/{PROJECT_NAME}/{pool})"
                )
            elif target not in project.stacks or project.stacks[target].role != "regional":
                message = (
                    f"found {describe(ref)}: no regional stack {describe(target)} in stacks/ "
                    f"(regional stacks: {regional})"
                )
            else:
                continue
            path = ("config", f"{CONFIG_NS}regionalStacks", pool)
            problems.append(project.docs[s.file].problem(path, message))
    return problems


def known_pools(project: Project) -> set[str]:
    """The home pool and one pool per key of the global stack's ``demobank:regionalStacks``."""
    pools = {HOME_POOL}
    for s in project.stacks.values():
        if s.role == "global":
            pools |= set(s.config.regionalStacks or {})
    return pools


def steering_names(project: Project) -> list[Problem]:
    """Steering names real Cloudflare regions and only pools that exist."""
    gdoc = project.docs.get(GLOBAL_FILE)
    if gdoc is None:
        return []
    problems: list[Problem] = []
    steering = project.global_.edge.steering
    for region in steering.region_pools:
        if region not in CLOUDFLARE_REGIONS:
            close = difflib.get_close_matches(region, CLOUDFLARE_REGIONS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                gdoc.problem(
                    ("edge", "steering", "region_pools", region),
                    f"found {describe(region)}: not a Cloudflare region{hint} "
                    f"(accepted: {', '.join(CLOUDFLARE_REGIONS)})",
                )
            )
    refs: list[tuple[KeyPath, str]] = [
        (("edge", "steering", "fallback_pool"), steering.fallback_pool)
    ]
    refs += [
        (("edge", "steering", "default_pools", i), p) for i, p in enumerate(steering.default_pools)
    ]
    for section in ("region_pools", "country_pools"):
        for key, names in getattr(steering, section).items():
            refs += [(("edge", "steering", section, key, i), p) for i, p in enumerate(names)]
    pools = known_pools(project)
    for path, pool in refs:
        if pool not in pools:
            problems.append(
                gdoc.problem(
                    path,
                    f"found pool {describe(pool)}; accepted pools: {', '.join(sorted(pools))} "
                    f"({HOME_POOL}, or a key of demobank:regionalStacks)",
                )
            )
    return problems


def cloudflare_plan(project: Project) -> list[Problem]:
    """Every Cloudflare feature the edge uses is on the zone's plan, with its add-ons.

    The features and what each needs are ``rollout.catalog.CLOUDFLARE_FEATURES`` (with the
    source of each); without this, a missing one fails only at ``pulumi up``, halfway through
    the edge. One line for the plan and one for the add-ons, naming every feature short of them.
    """
    gdoc = project.docs.get(GLOBAL_FILE)
    if gdoc is None:
        return []
    zone = project.global_.zone
    plans = catalog.CLOUDFLARE_PLANS
    rank = plans.index(zone.plan)
    short_plan: list[str] = []
    short_add_ons: list[str] = []
    needed: list[str] = []
    for feature in catalog.CLOUDFLARE_FEATURES.values():
        if plans.index(feature.plan) > rank:
            short_plan.append(f"{feature.what} needs {feature.plan}")
        included = feature.included_from is not None and rank >= plans.index(feature.included_from)
        if feature.add_on and feature.add_on not in zone.add_ons and not included:
            also = f" (or the {feature.included_from} plan)" if feature.included_from else ""
            short_add_ons.append(f"{feature.what} needs the {feature.add_on} add-on{also}")
            if feature.add_on not in needed:
                needed.append(feature.add_on)
    problems: list[Problem] = []
    if short_plan:
        least = max((f.plan for f in catalog.CLOUDFLARE_FEATURES.values()), key=plans.index)
        problems.append(
            gdoc.problem(
                ("zone", "plan"),
                f"found {describe(zone.plan)}: {'; '.join(short_plan)}: write {least} "
                f"(plans: {', '.join(plans)})",
            )
        )
    if short_add_ons:
        problems.append(
            gdoc.problem(
                ("zone", "add_ons"),
                f"found {describe(list(zone.add_ons))}: {'; '.join(short_add_ons)}: add "
                f"{', '.join(needed)}",
            )
        )
    return problems
