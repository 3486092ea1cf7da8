"""The regional project's foundation, on the shipped plans: APIs on before anything calls them,
service agents, HSM keys granted before use, the cluster's control-plane path and kubelet,
default-deny egress with the restricted path to Google APIs, logs in the region, and Binary
Authorization. What only the cloud knows is in comments in components/foundation.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from policies import rules
from rollout import catalog
from rollout.args import OriginTls, region_args
from rollout.config import Project, load_project
from rollout.engine import plan_stack
from rollout.errors import InputError
from rollout.plan import Plan, Resource

REGIONAL = {"eu": "europe-west2", "apac": "asia-southeast1"}

# The API each resource type calls. A type not listed makes the test below fail, so a new type
# is classified when it is added.
TYPE_API = {
    catalog.NETWORK: catalog.API_COMPUTE,
    catalog.SUBNETWORK: catalog.API_COMPUTE,
    catalog.ROUTER: catalog.API_COMPUTE,
    catalog.ROUTER_NAT: catalog.API_COMPUTE,
    catalog.FIREWALL: catalog.API_COMPUTE,
    catalog.ROUTE: catalog.API_COMPUTE,
    catalog.ADDRESS: catalog.API_COMPUTE,
    catalog.REGION_SECURITY_POLICY: catalog.API_COMPUTE,
    catalog.REGION_HEALTH_CHECK: catalog.API_COMPUTE,
    catalog.REGION_BACKEND_SERVICE: catalog.API_COMPUTE,
    catalog.REGION_URL_MAP: catalog.API_COMPUTE,
    catalog.REGION_SSL_CERTIFICATE: catalog.API_COMPUTE,
    catalog.REGION_TARGET_HTTPS_PROXY: catalog.API_COMPUTE,
    catalog.FORWARDING_RULE: catalog.API_COMPUTE,
    catalog.TRUST_CONFIG: catalog.API_CERTIFICATE_MANAGER,
    catalog.SERVER_TLS_POLICY: catalog.API_NETWORK_SECURITY,
    catalog.DNS_MANAGED_ZONE: catalog.API_DNS,
    catalog.DNS_RECORD_SET: catalog.API_DNS,
    catalog.GKE_CLUSTER: catalog.API_CONTAINER,
    catalog.GKE_NODE_POOL: catalog.API_CONTAINER,
    catalog.SPANNER_INSTANCE: catalog.API_SPANNER,
    catalog.SPANNER_DATABASE: catalog.API_SPANNER,
    catalog.SPANNER_BACKUP_SCHEDULE: catalog.API_SPANNER,
    catalog.SPANNER_DATABASE_IAM_MEMBER: catalog.API_SPANNER,
    catalog.KAFKA_CLUSTER: catalog.API_MANAGED_KAFKA,
    catalog.KAFKA_TOPIC: catalog.API_MANAGED_KAFKA,
    catalog.KAFKA_ACL: catalog.API_MANAGED_KAFKA,
    catalog.KMS_KEY_RING: catalog.API_KMS,
    catalog.KMS_CRYPTO_KEY: catalog.API_KMS,
    catalog.KMS_CRYPTO_KEY_IAM_MEMBER: catalog.API_KMS,
    catalog.SERVICE_ACCOUNT: catalog.API_IAM,
    catalog.SERVICE_ACCOUNT_IAM_MEMBER: catalog.API_IAM,
    catalog.PROJECT_IAM_MEMBER: catalog.API_RESOURCE_MANAGER,
    catalog.LOG_BUCKET: catalog.API_LOGGING,
    catalog.BINARY_AUTHORIZATION_POLICY: catalog.API_BINARY_AUTHORIZATION,
    catalog.SERVICE_PERIMETER: catalog.API_ACCESS_CONTEXT_MANAGER,
    catalog.SERVICE_IDENTITY: None,  # waits for its own API (tested below)
    catalog.PROJECT_SERVICE: None,
}
# Resources inside the cell's cluster call the cluster, not a Google API (their provider is
# built from the cluster: components/cell_bootstrap.py).
IN_CLUSTER = (catalog.K8S_PROVIDER, catalog.K8S_NAMESPACE.split(":")[0] + ":")
# Every resource that calls a Google API waits for it; nothing is left out.
NOT_YET_WIRED: set[str] = set()


def reach(plan: Plan, resource: Resource) -> set[str]:
    """Every urn ``resource`` depends on, transitively."""
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo += plan.by_urn[urn].dependencies if urn in plan.by_urn else []
    return seen


def services(plan: Plan) -> dict[str, Resource]:
    return {r.inputs["service"]: r for r in plan.of_type(catalog.PROJECT_SERVICE)}


def one(found: Iterable[Resource]) -> Resource:
    (r,) = list(found)
    return r


@pytest.fixture(params=sorted(REGIONAL))
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ---- APIs and agents --------------------------------------------------------------------------


def test_every_api_is_enabled_and_never_disabled_on_destroy(
    plans: dict[str, Plan], project: Project, stack: str
) -> None:
    found = services(plans[stack])
    assert sorted(found) == sorted(catalog.REGIONAL_APIS)
    for api, service in found.items():
        assert service.inputs["disableOnDestroy"] is False, api
        assert service.inputs["disableDependentServices"] is False, api
        assert service.inputs["project"] == project.stacks[stack].project_id


def test_every_resource_waits_for_its_api(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    by_api = {api: s.urn for api, s in services(plan).items()}
    missing, unclassified = [], set()
    for r in plan.resources:
        if not r.custom or r.type.startswith(IN_CLUSTER):
            continue
        if r.type not in TYPE_API:
            unclassified.add(r.type)
            continue
        api = TYPE_API[r.type]
        if api is not None and by_api[api] not in reach(plan, r):
            missing.append(r)
    assert not unclassified, unclassified
    assert {r.type for r in missing} == NOT_YET_WIRED, [r.urn for r in missing]


def test_agents_are_created_after_their_api(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    agents = {r.inputs["service"]: r for r in plan.of_type(catalog.SERVICE_IDENTITY)}
    explicit = set(catalog.explicit_agents(catalog.REGIONAL_APIS))
    assert set(agents) == explicit == {catalog.API_SPANNER, catalog.API_MANAGED_KAFKA}
    for api, agent in agents.items():
        assert services(plan)[api].urn in agent.dependencies


# ---- keys ---------------------------------------------------------------------------------------


def grant_of(plan: Plan, key: Resource) -> Resource:
    return one(
        g
        for g in plan.of_type(catalog.KMS_CRYPTO_KEY_IAM_MEMBER)
        if key.urn in g.dependencies or g.inputs["cryptoKeyId"] == key.inputs.get("id")
    )


def key_by_id(plan: Plan, key_id: str) -> Resource:
    # the offline runner's key id: <key ring id>/cryptoKeys/<name>
    ring_id, _, name = key_id.rpartition("/cryptoKeys/")
    return one(
        k
        for k in plan.of_type(catalog.KMS_CRYPTO_KEY)
        if k.inputs["name"] == name and k.inputs["keyRing"] == ring_id
    )


def test_hsm_keys_live_in_the_region_and_are_protected(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    region = REGIONAL[stack]
    for ring in plan.of_type(catalog.KMS_KEY_RING):
        assert ring.inputs["location"] == region and ring.protect
    hsm = plan.of_type(catalog.KMS_CRYPTO_KEY)  # every key: no SOFTWARE key anywhere
    assert len(hsm) == 3 + 3 * len([r for r in plan.of_type(catalog.CELL)])
    for key in hsm:
        assert key.protect and key.inputs["deletionPolicy"] == catalog.PREVENT
        assert key.inputs["versionTemplate"] == {
            "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
            "protectionLevel": "HSM",
        }
        assert key.inputs["rotationPeriod"] == f"{90 * 86_400}s"


@pytest.mark.parametrize(
    ("type_", "path", "agent"),
    [
        (catalog.SPANNER_DATABASE, ("encryptionConfig", "kmsKeyName"), catalog.API_SPANNER),
        (catalog.KAFKA_CLUSTER, ("gcpConfig", "kmsKey"), catalog.API_MANAGED_KAFKA),
        (catalog.GKE_NODE_POOL, ("nodeConfig", "bootDiskKmsKey"), catalog.API_COMPUTE),
        (catalog.GKE_CLUSTER, ("nodeConfig", "bootDiskKmsKey"), catalog.API_COMPUTE),
        (catalog.GKE_CLUSTER, ("databaseEncryption", "keyName"), catalog.API_CONTAINER),
        (catalog.LOG_BUCKET, ("cmekSettings", "kmsKeyName"), catalog.API_LOGGING),
    ],
)
def test_each_encrypted_resource_waits_for_its_agents_grant(
    plans: dict[str, Plan], stack: str, type_: str, path: tuple[str, str], agent: str
) -> None:
    plan = plans[stack]
    number = "123456789012"  # the offline runner's project number
    users = plan.of_type(type_)
    assert users
    for user in users:
        key_id = user.inputs[path[0]][path[1]]
        key = key_by_id(plan, key_id)
        grant = grant_of(plan, key)
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        if agent == catalog.API_LOGGING:  # the account getCmekSettings names (mocked)
            member = f"serviceAccount:service-{number}@gcp-sa-logging.iam.gserviceaccount.com"
        else:
            member = catalog.service_agent_member(agent, number)
        assert grant.inputs["member"] == member
        assert grant.urn in reach(plan, user), user.urn
        assert key.inputs["keyRing"].split("/locations/")[1].startswith(REGIONAL[stack] + "/")


def test_each_cell_has_keys_of_its_own(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    keys = [
        d.inputs["encryptionConfig"]["kmsKeyName"] for d in plan.of_type(catalog.SPANNER_DATABASE)
    ]
    disks = [p.inputs["nodeConfig"]["bootDiskKmsKey"] for p in plan.of_type(catalog.GKE_NODE_POOL)]
    secrets = [c.inputs["databaseEncryption"]["keyName"] for c in plan.of_type(catalog.GKE_CLUSTER)]
    assert len(set(keys)) == len(keys) == len(set(disks)) == len(disks) >= 2
    assert len(set(secrets)) == len(secrets) == len(keys)
    assert not set(keys) & set(disks) | set(keys) & set(secrets) | set(disks) & set(secrets)


# ---- the cluster --------------------------------------------------------------------------------


def test_control_plane_by_dns_kubelet_closed_node_role(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    for cluster in plan.of_type(catalog.GKE_CLUSTER):
        dns = cluster.inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]
        assert dns == {"allowExternalTraffic": True}  # IAM only: no k8s tokens or certs
        assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
        assert cluster.inputs["nodeConfig"]["kubeletConfig"] == {
            "insecureKubeletReadonlyPortEnabled": "FALSE"
        }
        defaults = cluster.inputs["nodePoolDefaults"]["nodeConfigDefaults"]
        assert defaults["insecureKubeletReadonlyPortEnabled"] == "FALSE"
        assert cluster.inputs["defaultMaxPodsPerNode"] == catalog.GKE_MAX_PODS_PER_NODE
    for pool in plan.of_type(catalog.GKE_NODE_POOL):
        assert pool.inputs["nodeConfig"]["kubeletConfig"] == {
            "insecureKubeletReadonlyPortEnabled": "FALSE"
        }
        assert pool.inputs["upgradeSettings"]["maxSurge"] == catalog.GKE_MAX_SURGE
    node_roles = {
        r.inputs["role"] for r in plan.of_type(catalog.PROJECT_IAM_MEMBER) if "-nodes-" in r.name
    }
    assert node_roles == {
        "roles/container.defaultNodeServiceAccount",
        "roles/artifactregistry.reader",
    }


# ---- the network --------------------------------------------------------------------------------


def test_egress_is_denied_but_to_the_region_and_googles_restricted_apis(
    plans: dict[str, Plan], project: Project, stack: str
) -> None:
    plan = plans[stack]
    cidr = project.regions[REGIONAL[stack]].network.cidr
    egress = [f for f in plan.of_type(catalog.FIREWALL) if f.inputs["direction"] == "EGRESS"]
    allows = sorted(
        (
            tuple(f.inputs["destinationRanges"]),
            f.inputs["allows"][0]["protocol"],
            f.inputs["priority"],
        )
        for f in egress
        if f.inputs.get("allows")
    )
    assert allows == sorted([((cidr,), "all", 1000), ((catalog.RESTRICTED_VIP,), "tcp", 1000)])
    (deny,) = [f for f in egress if f.inputs.get("denies")]
    assert deny.inputs["destinationRanges"] == ["0.0.0.0/0"]
    assert deny.inputs["denies"] == [{"protocol": "all"}]
    assert deny.inputs["priority"] > max(p for _, _, p in allows)
    assert all(f.inputs["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA" for f in egress)
    vip = [f for f in egress if f.inputs.get("destinationRanges") == [catalog.RESTRICTED_VIP]]
    assert vip[0].inputs["allows"][0]["ports"] == ["443"]
    route = one(plan.of_type(catalog.ROUTE))
    assert route.inputs["destRange"] == catalog.RESTRICTED_VIP
    assert route.inputs["nextHopGateway"] == "default-internet-gateway"


def test_google_domains_resolve_to_the_restricted_vip(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    vpc = one(plan.of_type(catalog.NETWORK))
    zones = {z.inputs["dnsName"]: z for z in plan.of_type(catalog.DNS_MANAGED_ZONE)}
    assert set(zones) == {dns for dns, _ in catalog.RESTRICTED_DOMAINS.values()}
    assert "googleapis.com." in zones
    records = plan.of_type(catalog.DNS_RECORD_SET)
    for dns_name, vip_name in catalog.RESTRICTED_DOMAINS.values():
        zone = zones[dns_name]
        assert zone.inputs["visibility"] == "private"
        networks = zone.inputs["privateVisibilityConfig"]["networks"]
        assert [n["networkUrl"] for n in networks] == [f"{vpc.name}-id"]  # the VPC's mock id
        mine = {
            (r.inputs["name"], r.inputs["type"]): r.inputs["rrdatas"]
            for r in records
            if zone.urn in r.dependencies
        }
        assert mine == {
            (vip_name, "A"): list(catalog.RESTRICTED_VIP_ADDRESSES),
            (f"*.{dns_name}", "CNAME"): [vip_name],
        }
    assert ("restricted.googleapis.com.", "A") in {
        (r.inputs["name"], r.inputs["type"]) for r in records
    }


# ---- logs and admission -------------------------------------------------------------------------


def test_default_log_bucket_sits_in_the_region(plans: dict[str, Plan], stack: str) -> None:
    bucket = one(plans[stack].of_type(catalog.LOG_BUCKET))
    assert bucket.inputs["bucketId"] == "_Default"
    assert bucket.inputs["location"] == REGIONAL[stack]
    assert bucket.inputs["retentionDays"] >= 365
    key = key_by_id(plans[stack], bucket.inputs["cmekSettings"]["kmsKeyName"])
    assert key.inputs["name"] == "logs"  # the region's, in the region (tested above)


def test_binary_authorization_requires_the_banks_attestation(
    plans: dict[str, Plan], project: Project, stack: str
) -> None:
    policy = one(plans[stack].of_type(catalog.BINARY_AUTHORIZATION_POLICY))
    attestor = project.regions[REGIONAL[stack]].cluster.binary_authorization_attestor
    assert policy.inputs["defaultAdmissionRule"] == {
        "evaluationMode": "REQUIRE_ATTESTATION",
        "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
        "requireAttestationsBies": [attestor],
    }
    assert policy.inputs["globalPolicyEvaluationMode"] == "ENABLE"
    assert policy.inputs["deletionPolicy"] == catalog.PREVENT
    for cluster in plans[stack].of_type(catalog.GKE_CLUSTER):
        assert cluster.inputs["binaryAuthorization"] == {
            "evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"
        }


def test_the_attestor_comes_from_config(project: Project) -> None:
    spec = project.regions["europe-west2"]
    other = "projects/demobank-sec-test/attestors/other"
    changed = spec.model_copy(
        update={"cluster": spec.cluster.model_copy(update={"binary_authorization_attestor": other})}
    )
    tls = OriginTls(certificate="cert", private_key="key", client_ca="ca")
    assert region_args(changed, "demobank.example", "/healthz", tls).foundation.attestor == other


# ---- VPC Service Controls ---------------------------------------------------------------------

POLICY = 'foundation:\n  access_policy_id: "123456789012"\n'


def with_policy(root: Path, text: str = POLICY) -> None:
    with (root / "regions/defaults.yaml").open("a") as f:
        f.write(text)


def test_no_access_policy_no_perimeter(plans: dict[str, Plan], stack: str) -> None:
    """The shipped YAML names no access policy: no perimeter, and its API stays off."""
    assert plans[stack].of_type(catalog.SERVICE_PERIMETER) == []
    assert catalog.API_ACCESS_CONTEXT_MANAGER not in services(plans[stack])


def test_an_access_policy_puts_each_region_in_a_perimeter(project_copy: Path) -> None:
    """Set once in defaults.yaml, each region's project sits in its own perimeter around
    Spanner, Managed Kafka, Cloud KMS and Cloud Storage, created once its API is on."""
    with_policy(project_copy)
    project = load_project(project_copy)
    cache: dict[str, Plan] = {}
    for stack, short in (("eu", "euw2"), ("apac", "ase1")):
        plan = plan_stack(stack, project, cache=cache)
        perimeter = one(plan.of_type(catalog.SERVICE_PERIMETER))
        assert perimeter.inputs["parent"] == "accessPolicies/123456789012"
        name = f"accessPolicies/123456789012/servicePerimeters/demobank_{short}"
        assert perimeter.inputs["name"] == name
        assert perimeter.inputs["title"] == f"demobank-{short}-perimeter"
        assert perimeter.inputs["perimeterType"] == "PERIMETER_TYPE_REGULAR"
        status = perimeter.inputs["status"]
        assert status["resources"] == ["projects/123456789012"]  # the project's (mock) number
        assert sorted(status["restrictedServices"]) == sorted(
            [
                "spanner.googleapis.com",
                "managedkafka.googleapis.com",
                "cloudkms.googleapis.com",
                "storage.googleapis.com",
            ]
        )
        # Managed Kafka renews its certificates through Cloud DNS: never restricted
        assert "dns.googleapis.com" not in status["restrictedServices"]
        acm = services(plan)[catalog.API_ACCESS_CONTEXT_MANAGER]
        assert acm.urn in perimeter.dependencies
        assert rules.check_plan(plan) == []


def test_a_stack_override_sets_the_policy_for_its_region_alone(project_copy: Path) -> None:
    with (project_copy / "stacks/Pulumi.apac.yaml").open("a") as f:
        f.write("  demobank:overrides:\n    foundation:\n      access_policy_id: 42\n")
    project = load_project(project_copy)
    assert project.regions["asia-southeast1"].foundation.access_policy_id == "42"
    assert project.regions["europe-west2"].foundation.access_policy_id is None


DIGITS_ONLY = (
    "an access policy id is digits only, e.g. 123456789012 (gcloud access-context-manager "
    "policies list --organization=ORG shows it)"
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"12ab"', f"found '12ab': {DIGITS_ONLY}"),
        ('"accessPolicies/123"', f"found 'accessPolicies/123': {DIGITS_ONLY}"),
        ("true", "found true: Input should be a valid string"),  # a boolean is no id either
    ],
)
def test_the_access_policy_id_is_digits_only(project_copy: Path, value: str, message: str) -> None:
    with_policy(project_copy, f"foundation:\n  access_policy_id: {value}\n")
    with pytest.raises(InputError) as info:
        load_project(project_copy)
    [line] = [str(p) for p in info.value.problems]
    row = len((project_copy / "regions/defaults.yaml").read_text().splitlines())
    assert line == f"regions/defaults.yaml:{row}:3: foundation.access_policy_id: {message}"
