"""Regional stacks (eu, apac): substrate, cells, isolation, names, labels, golden inventories.

The shipped stacks' plans come from the session fixture ``plans`` (built once); only tests
that change the YAML (a third cell, generated regions) plan their own variant.
"""

from __future__ import annotations

import ipaddress
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import rules
from policies.rules import Ctx, nodes_of
from rollout import catalog, names, program
from rollout.args import carve
from rollout.config import NAME_RE, CellSpec, Project, RegionSpec, load_project
from rollout.engine import origin_tls_placeholders, run_program
from rollout.plan import Plan, Resource
from tests.inventory import assert_inventory

ROOT = Path(__file__).resolve().parent.parent
REGIONAL = {"eu": "europe-west2", "apac": "asia-southeast1"}
CELL_TYPE = catalog.CELL

# What the region builds once, whatever its cells.
SUBSTRATE = {
    catalog.REGION: 1,
    # the project's foundation: APIs, agents, the region's HSM keys, logs, admission policy
    catalog.FOUNDATION_COMPONENT: 1,
    catalog.PROJECT_APIS_COMPONENT: 1,
    catalog.HSM_KEYS_COMPONENT: 1,
    catalog.PROJECT_SERVICE: len(catalog.REGIONAL_APIS),
    catalog.SERVICE_IDENTITY: 2,  # Spanner's and Managed Kafka's agents
    catalog.KMS_KEY_RING: 1,
    catalog.KMS_CRYPTO_KEY: 3,  # kafka, buckets, logs
    catalog.KMS_CRYPTO_KEY_IAM_MEMBER: 3,
    catalog.LOG_BUCKET: 1,
    catalog.BINARY_AUTHORIZATION_POLICY: 1,
    catalog.NETWORK_COMPONENT: 1,
    catalog.SPANNER_INSTANCE_COMPONENT: 1,
    catalog.EVENT_BUS_COMPONENT: 1,
    catalog.NETWORK: 1,
    catalog.SUBNETWORK: 2,  # substrate, proxy-only
    catalog.ROUTER: 1,
    catalog.ROUTER_NAT: 1,
    # ingress: health checks, load balancers to the app, deny all; egress: internal, Google
    # APIs, deny all
    catalog.FIREWALL: 6,
    catalog.ROUTE: 1,  # to the restricted VIP
    catalog.DNS_MANAGED_ZONE: len(catalog.RESTRICTED_DOMAINS),
    catalog.DNS_RECORD_SET: 2 * len(catalog.RESTRICTED_DOMAINS),  # the VIP's A, a wildcard
    catalog.SPANNER_INSTANCE: 1,
    catalog.KAFKA_CLUSTER: 1,
    catalog.PROJECT_IAM_MEMBER: 1,  # hub on-call: container.clusterViewer
}


def per_cell(topics: int) -> dict[str, int]:
    """Everything one cell adds (components included); topics from the shared catalog."""
    return {
        catalog.CELL: 1,
        catalog.CLUSTER_COMPONENT: 1,
        catalog.CELL_DATABASE_COMPONENT: 1,
        catalog.CELL_TOPICS_COMPONENT: 1,
        catalog.WORKLOAD_IDENTITY_COMPONENT: 1,
        catalog.SUBNETWORK: 1,
        catalog.ADDRESS: 1,
        catalog.GKE_CLUSTER: 1,
        catalog.GKE_NODE_POOL: 1,
        # the cell's own HSM keys, in its own ring: its database's, its boot disks' and its
        # Kubernetes secrets'; each granted to its agent
        catalog.HSM_KEYS_COMPONENT: 1,
        catalog.KMS_KEY_RING: 1,
        catalog.KMS_CRYPTO_KEY: 3,
        catalog.KMS_CRYPTO_KEY_IAM_MEMBER: 3,
        catalog.SERVICE_ACCOUNT: 3,  # nodes, workload, migrations
        catalog.SERVICE_ACCOUNT_IAM_MEMBER: 1,  # Workload Identity binding
        catalog.PROJECT_IAM_MEMBER: 3,  # 2 node roles + Kafka client
        catalog.SPANNER_DATABASE: 1,
        catalog.SPANNER_BACKUP_SCHEDULE: 1,
        # the app: fine-grained access user + its database role; migrations: DDL
        catalog.SPANNER_DATABASE_IAM_MEMBER: 3,
        catalog.KAFKA_TOPIC: topics,
        catalog.KAFKA_ACL: 2,  # topic prefix, consumer-group prefix
        # inside the cell's cluster (CellBootstrap)
        catalog.CELL_BOOTSTRAP_COMPONENT: 1,
        catalog.K8S_PROVIDER: 1,
        catalog.K8S_NAMESPACE: 1,
        catalog.K8S_SERVICE_ACCOUNT: 1,
        catalog.K8S_NETWORK_POLICY: 5,  # default deny + DNS, Google APIs, Kafka, load balancer
        catalog.K8S_CLUSTER_ROLE_BINDING: 2,  # on-call view, break-glass edit
        catalog.K8S_SERVICE: 1,  # bank-app, whose annotation makes the zonal NEGs
        # the cell's own regional external Application Load Balancer, with frontend mTLS
        catalog.REGION_SECURITY_POLICY: 1,
        catalog.REGION_HEALTH_CHECK: 1,
        catalog.REGION_BACKEND_SERVICE: 1,
        catalog.REGION_URL_MAP: 1,
        catalog.REGION_SSL_CERTIFICATE: 1,
        catalog.TRUST_CONFIG: 1,
        catalog.SERVER_TLS_POLICY: 1,
        catalog.REGION_TARGET_HTTPS_PROXY: 1,
        catalog.FORWARDING_RULE: 1,
    }


def expected_counts(n_cells: int, topics: int) -> dict[str, int]:
    total: Counter[str] = Counter(SUBSTRATE)
    for type_, n in per_cell(topics).items():
        total[type_] += n * n_cells
    return dict(sorted(total.items()))


# ---------------------------------------------------------------------------------------------
# Plan helpers
# ---------------------------------------------------------------------------------------------


def plan_region(spec: RegionSpec) -> Plan:
    """Plan ``spec`` exactly as the program builds a regional stack (same URNs and outputs)."""
    global_ = load_project(ROOT).global_
    config, secrets = origin_tls_placeholders()
    return run_program(
        lambda: program.build_region(spec, global_.zone.name, global_.edge.monitor.path),
        stack=spec.stack,
        config=config,
        secret_keys=secrets,
        project_id=spec.project,
    )


def cell_of(plan: Plan, resource: Resource) -> str | None:
    """The cell a resource belongs to (the Cell itself included), or None for the substrate."""
    for r in [resource, *plan.ancestors(resource)]:
        if r.type == CELL_TYPE:
            return r.name
    return None


def isolation_violations(plan: Plan) -> list[str]:
    """The policy's own definition of cell isolation, over the plan (rules.cell_isolation)."""
    return [f"{urn}: {message}" for urn, message in rules.cell_isolation(nodes_of(plan), Ctx())]


# Where each resource type carries names, and the service rule (names.LIMITS) each must meet.
NAME_FIELDS: dict[str, dict[str, str]] = {
    catalog.NETWORK: {"name": "compute"},
    catalog.SUBNETWORK: {
        "name": "compute",
        "secondaryIpRanges.rangeName": "compute",
    },
    catalog.ROUTER: {"name": "compute"},
    catalog.ROUTER_NAT: {"name": "compute"},
    catalog.FIREWALL: {"name": "compute"},
    catalog.ADDRESS: {"name": "compute"},
    catalog.GKE_CLUSTER: {"name": "gke_cluster"},
    catalog.GKE_NODE_POOL: {"name": "gke_node_pool"},
    catalog.SERVICE_ACCOUNT: {"accountId": "service_account"},
    catalog.SPANNER_INSTANCE: {
        "name": "spanner_instance",
        "displayName": "spanner_display_name",
    },
    catalog.SPANNER_DATABASE: {"name": "spanner_database"},
    catalog.SPANNER_BACKUP_SCHEDULE: {"name": "spanner_backup_schedule"},
    catalog.KAFKA_CLUSTER: {"clusterId": "kafka_cluster"},
    catalog.KAFKA_TOPIC: {"topicId": "kafka_topic"},
    catalog.KMS_KEY_RING: {"name": "kms"},
    catalog.KMS_CRYPTO_KEY: {"name": "kms"},
    catalog.REGION_SECURITY_POLICY: {"name": "compute"},
    catalog.ROUTE: {"name": "compute"},
    catalog.DNS_MANAGED_ZONE: {"name": "compute"},
    catalog.K8S_NAMESPACE: {"metadata.name": "k8s_namespace"},
    catalog.K8S_SERVICE_ACCOUNT: {"metadata.name": "k8s_namespace"},
    catalog.K8S_NETWORK_POLICY: {"metadata.name": "k8s_namespace"},
    catalog.K8S_CLUSTER_ROLE_BINDING: {"metadata.name": "k8s_namespace"},
    catalog.K8S_SERVICE: {"metadata.name": "k8s_namespace"},
    catalog.REGION_HEALTH_CHECK: {"name": "compute"},
    catalog.REGION_BACKEND_SERVICE: {"name": "compute"},
    catalog.REGION_URL_MAP: {"name": "compute"},
    catalog.REGION_SSL_CERTIFICATE: {"namePrefix": "compute_prefix"},
    catalog.TRUST_CONFIG: {"name": "compute"},
    catalog.SERVER_TLS_POLICY: {"name": "compute"},
    catalog.REGION_TARGET_HTTPS_PROXY: {"name": "compute"},
    catalog.FORWARDING_RULE: {"name": "compute"},
}
# Types that set no name of their own (bindings and ACLs are named by what they bind).
NAMELESS = {
    catalog.PROJECT_IAM_MEMBER,
    catalog.SERVICE_ACCOUNT_IAM_MEMBER,
    catalog.SPANNER_DATABASE_IAM_MEMBER,
    catalog.KMS_CRYPTO_KEY_IAM_MEMBER,
    catalog.KAFKA_ACL,
    catalog.K8S_PROVIDER,
    catalog.PROJECT_SERVICE,  # named by its API
    catalog.SERVICE_IDENTITY,
    catalog.DNS_RECORD_SET,  # named by its DNS name (checked in tests/test_foundation.py)
    catalog.BINARY_AUTHORIZATION_POLICY,  # one per project
    catalog.LOG_BUCKET,  # the project's _Default bucket, Google's name
}
# Where each labelable type keeps its labels.
LABEL_FIELDS = {
    catalog.SPANNER_INSTANCE: "labels",
    catalog.KAFKA_CLUSTER: "labels",
    catalog.ADDRESS: "labels",
    catalog.KMS_CRYPTO_KEY: "labels",
    catalog.DNS_MANAGED_ZONE: "labels",
    catalog.GKE_CLUSTER: "resourceLabels",
    catalog.GKE_NODE_POOL: "nodeConfig.resourceLabels",
}


def values_at(inputs: dict[str, Any], path: str) -> list[Any]:
    """Values at a dotted path; lists along the way are walked item by item."""
    current: list[Any] = [inputs]
    for part in path.split("."):
        nxt: list[Any] = []
        for value in current:
            items = value if isinstance(value, list) else [value]
            nxt += [i[part] for i in items if isinstance(i, dict) and part in i]
        current = nxt
    return current


def name_problems(plan: Plan) -> list[str]:
    problems = []
    for r in plan.resources:
        if not r.custom:
            continue
        if r.type not in NAME_FIELDS and r.type not in NAMELESS:
            problems.append(f"{r.type}: not classified in NAME_FIELDS or NAMELESS")
            continue
        for path, kind in NAME_FIELDS.get(r.type, {}).items():
            found = values_at(r.inputs, path)
            if not found and "." not in path:
                problems.append(f"{r.urn}: no {path} set (names are set explicitly)")
            problems += [f"{r.urn}: {path}: {why}" for v in found if (why := names.check(kind, v))]
        for path in filter(None, [LABEL_FIELDS.get(r.type)]):
            for labels in values_at(r.inputs, path):
                for key, value in labels.items():
                    for kind, text in (("label_key", key), ("label_value", value)):
                        if why := names.check(kind, text):
                            problems.append(f"{r.urn}: {path}: {why}")
    return problems


def label_problems(plan: Plan, spec: RegionSpec) -> list[str]:
    problems = []
    labelled = 0
    for r in plan.resources:
        path = LABEL_FIELDS.get(r.type)
        if path is None:
            if r.custom and ("labels" in r.inputs or "resourceLabels" in r.inputs):
                problems.append(f"{r.urn}: has labels but is not listed in LABEL_FIELDS")
            continue
        cell = cell_of(plan, r)
        want = {**spec.base_labels(), **({"cell": cell} if cell else {})}
        found = values_at(r.inputs, path)
        labelled += 1
        if found != [want]:
            problems.append(f"{r.urn}: {path} is {found}, expected {want}")
    if not labelled:
        problems.append("no labelled resource found: the check would pass vacuously")
    return problems


def free_cell_ranges(spec: RegionSpec, prefix: int) -> list[str]:
    """Ranges of /prefix inside the region's network that no cell or the substrate uses."""
    net = ipaddress.ip_network(spec.network.cidr)
    taken = [ipaddress.ip_network(spec.network.substrate_cidr)] + [
        ipaddress.ip_network(c.cidr) for c in spec.cells.values()
    ]
    return [
        str(n)
        for n in net.subnets(new_prefix=prefix)  # type: ignore[union-attr]
        if not any(n.overlaps(t) for t in taken)
    ]


# ---------------------------------------------------------------------------------------------
# The shipped stacks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_golden_inventory(plans: dict[str, Plan], stack: str) -> None:
    assert_inventory(plans[stack])


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_counts_are_substrate_plus_cells(
    plans: dict[str, Plan], project: Project, stack: str
) -> None:
    spec = project.regions[REGIONAL[stack]]
    assert plans[stack].counts() == expected_counts(len(spec.cells), len(spec.topics))


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_stack_outputs(plans: dict[str, Plan], project: Project, stack: str) -> None:
    spec = project.regions[REGIONAL[stack]]
    out = plans[stack].outputs
    assert set(out) == {"region", "hub", "spanner_instance", "kafka_cluster", "cells"}
    assert (out["region"], out["hub"]) == (spec.region, spec.hub.name)
    assert out["spanner_instance"] == names.region_name(spec.short, "spanner")
    assert isinstance(out["kafka_cluster"], str) and out["kafka_cluster"]
    assert set(out["cells"]) == set(spec.cells)
    for cell, values in out["cells"].items():
        assert set(values) == {"ingress_address", "cluster_name", "database_id", "origin_hostname"}
        assert values["origin_hostname"] == names.origin_hostname(
            cell, spec.short, project.global_.zone.name
        )
        assert values["cluster_name"] == names.cell_name(spec.short, cell, "gke")
        assert values["database_id"] == names.database_name(cell)
        ipaddress.ip_address(values["ingress_address"])


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_cells_are_isolated(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    assert isolation_violations(plan) == []
    # The check can fail: a synthetic edge from one cell's cluster to another cell's subnet.
    a, b = sorted({cell_of(plan, r) for r in plan.resources} - {None})[:2]
    cluster = plan.one(catalog.GKE_CLUSTER, f"{a}-gke")
    subnet = plan.one(catalog.SUBNETWORK, f"{b}-subnet")
    broken = Plan.from_json(plan.to_json())
    broken.by_urn[cluster.urn].dependencies.append(subnet.urn)
    assert isolation_violations(broken)


# Inputs that place a resource somewhere (a Spanner instance's place is its config).
PLACING_INPUTS = ("location", "region")


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_residency_judges_every_located_resource(plans: dict[str, Plan], stack: str) -> None:
    """Every type of the plan that is placed somewhere is one the residency rules judge."""
    located = {
        r.type
        for r in plans[stack].resources
        if r.custom and any(k in r.inputs for k in PLACING_INPUTS)
    }
    assert located and located <= set(rules.LOCATION_PROPS), located - set(rules.LOCATION_PROPS)


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_every_name_meets_its_service_rules(plans: dict[str, Plan], stack: str) -> None:
    assert name_problems(plans[stack]) == []


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_every_labelable_resource_carries_the_hub_labels(
    plans: dict[str, Plan], project: Project, stack: str
) -> None:
    assert label_problems(plans[stack], project.regions[REGIONAL[stack]]) == []


@pytest.mark.parametrize("stack", sorted(REGIONAL))
def test_stateful_resources_are_protected(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    stateful = {
        catalog.SPANNER_INSTANCE: {"deletionPolicy": "PREVENT", "forceDestroy": False},
        catalog.SPANNER_DATABASE: {
            "deletionPolicy": "PREVENT",
            "deletionProtection": True,
            "enableDropProtection": True,
        },
        catalog.KAFKA_CLUSTER: {"deletionPolicy": "PREVENT"},
        catalog.KMS_KEY_RING: {},
        catalog.KMS_CRYPTO_KEY: {"deletionPolicy": "PREVENT"},
    }
    for type_, guard in stateful.items():
        found = plan.of_type(type_)
        assert found, type_
        for r in found:
            assert r.protect, r.urn
            assert {k: r.inputs.get(k) for k in guard} == guard, r.urn
    for r in plan.of_type(catalog.GKE_CLUSTER):
        assert r.inputs["deletionProtection"] is True


def test_hardening_never_uses_public_control_plane_or_default_identity(
    plans: dict[str, Plan],
) -> None:
    for stack in REGIONAL:
        for r in plans[stack].of_type(catalog.GKE_CLUSTER):
            blocks = r.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
            assert blocks and all(not b["cidrBlock"].endswith("/0") for b in blocks)
            assert "nodePools" not in r.inputs
            assert "networkPolicy" not in r.inputs  # built into Dataplane V2
        pools = {p.parent: p for p in plans[stack].of_type(catalog.GKE_NODE_POOL)}
        for r in plans[stack].of_type(catalog.GKE_CLUSTER):
            # the throwaway default pool runs as the cell's node account, like the real pool,
            # and GKE's later report of node_config does not count as a change
            default_pool = r.inputs["nodeConfig"]
            pool = pools[r.parent].inputs["nodeConfig"]
            hardening = ("serviceAccount", "oauthScopes", "imageType", "metadata")
            hardening += ("shieldedInstanceConfig", "workloadMetadataConfig")
            assert {k: default_pool[k] for k in hardening} == {k: pool[k] for k in hardening}
            assert default_pool["shieldedInstanceConfig"]["enableSecureBoot"] is True
            assert default_pool["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
            assert r.ignore_changes == ["nodeConfig"]
        for r in pools.values():
            sa = r.inputs["nodeConfig"]["serviceAccount"]
            assert "-compute@developer" not in sa and sa.startswith("dbk-"), sa


# ---------------------------------------------------------------------------------------------
# Changing the YAML
# ---------------------------------------------------------------------------------------------


def test_adding_a_cell_adds_one_cell_and_changes_nothing_else(
    plans: dict[str, Plan], project: Project
) -> None:
    spec = project.regions["europe-west2"]
    base = plans["eu"]
    new_cell = "eu-9"
    cells = {**spec.cells, new_cell: CellSpec(cidr=free_cell_ranges(spec, 17)[0])}
    grown = plan_region(spec.model_copy(update={"cells": cells}))

    added = [r for r in grown.resources if r.urn not in base.by_urn]
    assert {cell_of(grown, r) for r in added} == {new_cell}
    assert dict(Counter(r.type for r in added)) == per_cell(len(spec.topics))
    assert not [r.urn for r in base.resources if r.urn not in grown.by_urn]
    for old in base.resources:
        new = grown.by_urn[old.urn]
        assert (new.inputs, new.dependencies, new.parent, new.protect) == (
            old.inputs,
            old.dependencies,
            old.parent,
            old.protect,
        ), old.urn
    assert {k: v for k, v in grown.outputs.items() if k != "cells"} == {
        k: v for k, v in base.outputs.items() if k != "cells"
    }
    assert {k: v for k, v in grown.outputs["cells"].items() if k != new_cell} == base.outputs[
        "cells"
    ]


CELL_NAMES = st.from_regex(NAME_RE, fullmatch=True).filter(lambda s: 2 <= len(s) <= 12)


@st.composite
def regions(draw: st.DrawFn, project: Project) -> RegionSpec:
    """A valid region: 1..20 uniquely named cells, each on its own range of the region (a /17
    or /18: a smaller one's pod range cannot hold the cluster's largest size, pod_capacity)."""
    base = project.regions[draw(st.sampled_from(sorted(project.regions)))]
    n = draw(st.integers(1, 20))
    cell_names = draw(st.lists(CELL_NAMES, min_size=n, max_size=n, unique=True))
    prefix = draw(st.integers(17, 18))
    ranges = free_cell_ranges(base.model_copy(update={"cells": {}}), prefix)
    picked = draw(st.lists(st.sampled_from(ranges), min_size=n, max_size=n, unique=True))
    return base.model_copy(
        update={"cells": {c: CellSpec(cidr=r) for c, r in zip(cell_names, picked, strict=True)}}
    )


# Each example plans a whole region (about 0.4 s per cell on a 2-vCPU runner, most of it in the
# Pulumi SDK's registration path), so the default is small and deterministic; a nightly job can
# raise it: DEMOBANK_PROPERTY_EXAMPLES=50.
PROPERTY_EXAMPLES = int(os.environ.get("DEMOBANK_PROPERTY_EXAMPLES", "3"))


def test_any_valid_region_builds_exactly_its_cells(project: Project) -> None:
    @settings(
        max_examples=PROPERTY_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(spec=regions(project))
    def check(spec: RegionSpec) -> None:
        plan = plan_region(spec)
        topics = len(spec.topics)
        assert plan.counts() == expected_counts(len(spec.cells), topics)
        by_cell: dict[str | None, Counter[str]] = {}
        for r in plan.resources:
            by_cell.setdefault(cell_of(plan, r), Counter())[r.type] += 1
        for cell in spec.cells:
            assert dict(by_cell[cell]) == per_cell(topics), cell
        assert set(plan.outputs["cells"]) == set(spec.cells)
        assert isolation_violations(plan) == []
        assert name_problems(plan) == []
        assert label_problems(plan, spec) == []
        # Each cell's ranges are carved from its own CIDR only.
        for cell, cell_spec in spec.cells.items():
            subnet = plan.one(catalog.SUBNETWORK, f"{cell}-subnet")
            assert subnet.inputs["ipCidrRange"] == carve(cell_spec.cidr).nodes

    check()
