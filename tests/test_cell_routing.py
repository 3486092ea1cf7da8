"""The global stack's cell router, as the plan shows it: the Worker, its maps, the cell origins.

The Worker's own behaviour is proven in workerd (tests/test_cell_router.py); here, that the
global stack deploys it as the Worker expects, that nothing but Cloudflare reaches a cell, and
that rollout.failover.check_cell_routing catches each way the promise breaks.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from policies import rules as R
from policies.rules import Ctx, nodes_of
from rollout import catalog, cloudflare_ips, failover
from rollout.contract import RegionOutputs
from rollout.plan import Plan


@pytest.fixture(scope="module")
def glob(plans: dict[str, Plan]) -> Plan:
    return plans["global"]


def mutated(plan: Plan) -> Plan:
    return Plan.from_json(plan.to_json())


def test_the_worker_runs_on_the_app_host_with_its_bindings(glob: Plan) -> None:
    (route,) = glob.of_type(catalog.CF_WORKERS_ROUTE)
    (lb,) = glob.of_type(catalog.CF_LB)
    assert route.inputs["pattern"] == f"{lb.inputs['name']}/*"
    (script,) = glob.of_type(catalog.CF_WORKERS_SCRIPT)
    assert route.inputs["script"] == script.inputs["scriptName"]
    bindings = {b["name"]: b for b in script.inputs["bindings"]}
    assert set(bindings) == {
        "SHARD_MAPS",
        "SESSION_PUBLIC_KEY",
        "SESSION_AUDIENCE",
        "ORIGIN_SUFFIX",
    }
    assert bindings["SESSION_PUBLIC_KEY"]["type"] == "secret_text"
    assert "bindings" in script.secrets  # the key is a secret in the state and the saved plan
    saved = json.dumps(glob.to_json())
    assert "offline placeholder for edge:sessionPublicKey" not in saved
    assert bindings["SESSION_AUDIENCE"]["text"] == f"https://{lb.inputs['name']}"
    assert bindings["ORIGIN_SUFFIX"]["text"] == "origin.demobank.example"
    (namespace,) = glob.of_type(catalog.CF_WORKERS_KV_NAMESPACE)
    assert bindings["SHARD_MAPS"]["namespaceId"] == f"{namespace.name}-id"
    # the Worker deployed is the one tested in workerd
    from rollout.args import ROUTER_DIR

    assert script.inputs["content"] == (ROUTER_DIR / "src" / "index.js").read_text()


def test_each_cell_has_its_own_origin_host_pointing_at_its_ingress(
    glob: Plan, plans: dict[str, Plan]
) -> None:
    for pool in ("eu", "apac"):
        for cell, info in RegionOutputs.parse(plans[pool].outputs).cells.items():
            record = glob.one(catalog.CF_DNS_RECORD, f"origin-{cell}")
            assert record.inputs["proxied"] is True and record.inputs["type"] == "A"
            assert record.inputs["content"] == info.ingress_address
            assert record.inputs["name"] == info.origin_hostname
            own = glob.one(catalog.CF_POOL, f"cell-{cell}")
            assert [o["address"] for o in own.inputs["origins"]] == [record.inputs["name"]]
            assert own.inputs["monitor"]
        assert pool in {p.name for p in glob.of_type(catalog.CF_POOL)}


def test_signed_in_traffic_rides_no_cookie_to_a_random_cell(glob: Plan) -> None:
    (lb,) = glob.of_type(catalog.CF_LB)
    assert lb.inputs["sessionAffinity"] == "none"
    assert "sessionAffinityAttributes" not in lb.inputs


def test_the_shipped_plan_keeps_every_routing_promise(glob: Plan) -> None:
    assert failover.check_cell_routing(glob) == []


def _kv(plan: Plan, name: str) -> Any:
    return plan.one(catalog.CF_WORKERS_KV, name)


def test_cell_routing_catches_each_broken_promise(glob: Plan) -> None:
    no_route = mutated(glob)
    no_route.resources = [r for r in no_route.resources if r.type != catalog.CF_WORKERS_ROUTE]
    assert any("no cell router route" in p for p in failover.check_cell_routing(no_route))

    tampered = mutated(glob)
    kv = _kv(tampered, "cell-router-map-europe-west2")
    doc = json.loads(kv.inputs["value"])
    doc["cells"]["eu-1"], doc["cells"]["eu-2"] = doc["cells"]["eu-2"], doc["cells"]["eu-1"]
    kv.inputs["value"] = json.dumps(doc)
    assert any(
        "does not match its content hash" in p for p in failover.check_cell_routing(tampered)
    )

    dangling = mutated(glob)
    _kv(dangling, "cell-router-current-asia-southeast1").inputs["value"] = "0" * 16
    assert any("is not in KV" in p for p in failover.check_cell_routing(dangling))

    unrecorded = mutated(glob)
    unrecorded.resources = [r for r in unrecorded.resources if r.name != "origin-eu-2"]
    found = failover.check_cell_routing(unrecorded)
    assert any("cell eu-2: eu-2.euw2.origin.demobank.example has no proxied DNS record" in p
               for p in found)  # fmt: skip

    escaped = mutated(glob)
    for pool in escaped.of_type(catalog.CF_POOL):
        if pool.name == "eu":  # the EU pool no longer lists eu-2: its map's cells leave it
            pool.inputs["origins"] = [o for o in pool.inputs["origins"] if o["name"] != "eu-2"]
    assert any("not all in one regional pool" in p for p in failover.check_cell_routing(escaped))


def test_nothing_but_cloudflare_reaches_a_cell(plans: dict[str, Plan]) -> None:
    ranges = set(cloudflare_ips.load().all)
    for stack in ("eu", "apac"):
        policies = plans[stack].of_type(catalog.REGION_SECURITY_POLICY)
        assert len(policies) == len(plans[stack].of_type(catalog.CELL))
        for policy in policies:
            allowed = {
                r for rule in policy.inputs["rules"] if rule["action"] == "allow"
                for r in rule["match"]["config"]["srcIpRanges"]
            }  # fmt: skip
            assert allowed == ranges
    violations = [v for v in R.check_plan(plans["global"]) if v.rule == "cloudflare-origin-pulls"]
    assert violations == []


def test_the_origin_pull_and_ingress_rules_fail_when_broken(plans: dict[str, Plan]) -> None:
    glob = mutated(plans["global"])
    pulls = glob.one(catalog.CF_ORIGIN_PULLS, "origin-pulls")
    pulls.inputs["configs"] = pulls.inputs["configs"][1:]
    glob.resources = [
        r for r in glob.resources if r.type != catalog.CF_ORIGIN_PULLS_HOSTNAME_CERTIFICATE
    ]
    check = next(r for r in R.STACK_RULES if r.name == "cloudflare-origin-pulls").check
    found = [m for _, m in check(nodes_of(glob), Ctx())]
    assert any("has no per-hostname authenticated origin pull" in m for m in found)
    assert any("Cloudflare's shared certificate" in m for m in found)

    eu = mutated(plans["eu"])
    policy = eu.of_type(catalog.REGION_SECURITY_POLICY)[0]
    policy.inputs["rules"] = copy.deepcopy(policy.inputs["rules"])
    policy.inputs["rules"][0]["match"]["config"]["srcIpRanges"].append("8.8.8.0/24")
    policy.inputs["rules"][-1]["action"] = "allow"
    ingress = next(r for r in R.STACK_RULES if r.name == "cell-ingress-cloudflare-only").check
    found = [m for _, m in ingress(nodes_of(eu), Ctx())]
    assert any("allows 8.8.8.0/24, not Cloudflare's published ranges" in m for m in found)
    assert any("the default rule must deny" in m for m in found)
    unguarded = mutated(plans["eu"])
    unguarded.resources = [
        r for r in unguarded.resources if r.type != catalog.REGION_SECURITY_POLICY
    ]
    found = [m for _, m in ingress(nodes_of(unguarded), Ctx())]
    assert sum("has no Cloud Armor policy" in m for m in found) == 2


def test_every_cell_demands_the_bank_client_certificate(plans: dict[str, Plan]) -> None:
    """Each cell's forwarding rule, on the cell's own reserved address, leads to a proxy whose
    ServerTlsPolicy rejects a client without the origin-pull certificate, and to the cell's
    Cloud Armor policy; breaking either is a violation."""
    mtls = next(r for r in R.STACK_RULES if r.name == "cell-ingress-mtls").check
    for stack in ("eu", "apac"):
        plan = plans[stack]
        assert mtls(nodes_of(plan), Ctx()) == []
        for cell in plan.of_type(catalog.CELL):
            (rule,) = [
                r for r in plan.of_type(catalog.FORWARDING_RULE) if cell in plan.ancestors(r)
            ]
            (address,) = [r for r in plan.of_type(catalog.ADDRESS) if r.parent == cell.urn]
            assert address.urn in rule.dependencies
            assert (rule.inputs["loadBalancingScheme"], rule.inputs["portRange"]) == (
                "EXTERNAL_MANAGED",
                "443",
            )

    opened = mutated(plans["eu"])
    tls = opened.of_type(catalog.SERVER_TLS_POLICY)[0]
    tls.inputs["mtlsPolicy"] = {"clientValidationMode": "ALLOW_INVALID_OR_MISSING_CLIENT_CERT"}
    backend = opened.of_type(catalog.REGION_BACKEND_SERVICE)[0]
    del backend.inputs["securityPolicy"]
    found = [m for _, m in mtls(nodes_of(opened), Ctx())]
    assert any("clientValidationMode is 'ALLOW_INVALID_OR_MISSING_CLIENT_CERT'" in m for m in found)
    assert any("names no trust config" in m for m in found)
    assert any("carries no Cloud Armor policy" in m for m in found)
