"""Narrow, typed inputs for every component, built once from a stack's merged spec.

Each component gets exactly what it uses: its resolved cloud names, carved ranges, labels and
the settings it turns into resources, and nothing to dig through (Fabric's module variables,
not a whole RegionSpec). The static part of a component's inputs is its ``*Config``, built here
by :func:`region_args` or :func:`global_args`; where a component also needs another
resource's outputs (a VPC id, an instance name), its ``*Args`` pairs that config with them and
its parent fills them in.

``components/`` imports these types and the catalog, never ``rollout.config``,
``rollout.shards`` or ``rollout.l10n`` (a test holds it to that).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_gcp as gcp

from rollout import catalog, names
from rollout.cloudflare_ips import load as cloudflare_ranges
from rollout.config.models import (
    BackupSchedule,
    ClusterSettings,
    DirectorySettings,
    EdgeSettings,
    GlobalFile,
    RegionSpec,
    SpannerAutoscaling,
    WeblateSettings,
    Zone,
)
from rollout.config.models import Steering as Steering  # handed on: the edge's check regions
from rollout.ddl import read_ddl
from rollout.errors import InputError

# The schema every cell database gets, and the global directory's.
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
CELL_SCHEMA = SCHEMA_DIR / "cell.sql"
DIRECTORY_SCHEMA = SCHEMA_DIR / "directory.sql"

# Secondary range names inside a cell's own subnet (unique per subnet, so constant).
PODS_RANGE = "pods"
SERVICES_RANGE = "services"

# The Kubernetes service account the bank's workload runs as, in its cell's own namespace
# (names.namespace): the pair is the cell's Workload Identity principal, unique per cell.
K8S_SERVICE_ACCOUNT = "bank-workload"

# Spanner fine-grained access control: the database role the cell's app holds
# (schema/cell_roles.sql); the migration identity alone holds DDL.
APP_DATABASE_ROLE = "app"
CELL_ROLES_SCHEMA = SCHEMA_DIR / "cell_roles.sql"

GIB = 1024**3


# --------------------------------------------------------------------------------------------
# Regional stack
# --------------------------------------------------------------------------------------------


Apis = tuple[pulumi.Resource, ...]
"""The project's API services (``gcp.projects.Service``) a component's resources call: each
resource depends on them, so nothing is created before its API is on."""


@dataclass(frozen=True)
class EncryptionKey:
    """A customer-managed key, and the grants that let its service agent use it."""

    key: pulumi.Input[str]
    """The key's id (projects/P/locations/L/keyRings/R/cryptoKeys/K)."""
    grants: tuple[pulumi.Resource, ...]
    """The agent's encrypter/decrypter grant: whatever uses the key depends on it."""


@dataclass(frozen=True)
class KeyConfig:
    name: str
    """The key's name in the region's key ring."""
    agent: str
    """The API whose service agent encrypts with it (rollout.catalog.SERVICE_AGENTS; Cloud
    Logging's account is looked up instead: components/foundation.py)."""


@dataclass(frozen=True)
class KeyRingConfig:
    """A key ring in the region and its HSM keys."""

    region: str
    name: str
    keys: dict[str, KeyConfig]
    """Purpose (kafka, buckets; a cell's spanner, boot-disks) -> its HSM key."""
    labels: dict[str, str]


@dataclass(frozen=True)
class ProjectApisConfig:
    """APIs a stack turns on in its project, and the service agents it creates explicitly."""

    project: str
    apis: tuple[str, ...]
    """In the order they are enabled."""
    agents: tuple[str, ...]
    """APIs whose service agent is created explicitly (gcp.projects.ServiceIdentity)."""


@dataclass(frozen=True)
class PerimeterConfig:
    """A VPC Service Controls perimeter around the region's project."""

    parent: str
    """accessPolicies/<policy id>"""
    name: str
    """accessPolicies/<policy id>/servicePerimeters/<short name>"""
    title: str
    restricted_services: tuple[str, ...]


@dataclass(frozen=True)
class FoundationConfig:
    project: str
    region: str
    apis: tuple[str, ...]
    """Every API the regional stack uses, in the order they are enabled."""
    agents: tuple[str, ...]
    """APIs whose service agent is created explicitly (gcp.projects.ServiceIdentity)."""
    keys: KeyRingConfig
    """The region's own key ring: the keys of the region's shared resources."""
    attestor: str
    """The Binary Authorization attestor every image must be attested by."""
    labels: dict[str, str]
    perimeter: PerimeterConfig | None = None
    """The project's perimeter, when an access policy is configured; else None."""


@dataclass(frozen=True)
class FoundationArgs:
    config: FoundationConfig
    project_number: pulumi.Input[str]
    """The project's number (the service agents' addresses)."""


@dataclass(frozen=True)
class NetworkNames:
    vpc: str
    substrate: str
    proxy_only: str
    router: str
    nat: str
    allow_health_checks: str
    allow_load_balancers: str
    deny_all_ingress: str
    deny_all_egress: str
    allow_internal_egress: str
    allow_google_apis_egress: str
    google_apis_route: str


@dataclass(frozen=True)
class PrivateZone:
    """A private Cloud DNS zone sending a Google domain to the restricted VIP."""

    name: str
    dns_name: str
    """The zone's domain, e.g. googleapis.com."""
    vip_name: str
    """The name that holds the VIP's A records; every other name is a CNAME to it."""


@dataclass(frozen=True)
class NetworkConfig:
    region: str
    description: str
    """The VPC's description (region and hub)."""
    cidr: str
    """The region's whole range: the only private destination egress may reach."""
    substrate_cidr: str
    """The region's shared subnet's range."""
    proxy_cidr: str
    """The region's proxy-only subnet (the Envoy proxies of the cells' load balancers)."""
    names: NetworkNames
    zones: dict[str, PrivateZone]
    """Zone key (rollout.catalog.RESTRICTED_DOMAINS) -> its private zone."""
    labels: dict[str, str]


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    apis: Apis = ()


@dataclass(frozen=True)
class SpannerInstanceConfig:
    name: str
    config: str
    """The instance configuration: ``regional-<region>``, the region's data residency."""
    display_name: str
    edition: str
    autoscaling: SpannerAutoscaling
    labels: dict[str, str]


@dataclass(frozen=True)
class SpannerInstanceArgs:
    config: SpannerInstanceConfig
    apis: Apis = ()


@dataclass(frozen=True)
class EventBusConfig:
    cluster_id: str
    region: str
    vcpu: int
    memory_bytes: int
    labels: dict[str, str]


@dataclass(frozen=True)
class EventBusArgs:
    config: EventBusConfig
    subnet: pulumi.Input[str]
    """The region's substrate subnet id (projects/P/regions/R/subnetworks/S)."""
    key: EncryptionKey
    """The region's HSM key for Managed Kafka."""
    apis: Apis = ()


@dataclass(frozen=True)
class CellRanges:
    """A cell's single range carved into its parts (:func:`carve`)."""

    pods: str
    nodes: str
    services: str
    master: str


@dataclass(frozen=True)
class SubnetConfig:
    name: str
    ranges: CellRanges
    pods_range: str
    """Name of the subnet's secondary range for pods."""
    services_range: str
    """Name of the subnet's secondary range for services."""


@dataclass(frozen=True)
class ClusterNames:
    node_account: str
    cluster: str
    pool: str


@dataclass(frozen=True)
class ClusterConfig:
    cell: str
    project: str
    region: str
    settings: ClusterSettings
    names: ClusterNames
    master_range: str
    """The control plane's /28, the last /28 of the cell's range."""
    pods_range: str
    services_range: str
    workload_pool: str
    """The project's Workload Identity pool, ``<project>.svc.id.goog``."""
    rbac_security_group: str
    """The ``gke-security-groups@`` group whose member groups Kubernetes RBAC may name."""
    labels: dict[str, str]


@dataclass(frozen=True)
class ClusterArgs:
    config: ClusterConfig
    network: pulumi.Input[str]
    """The region's VPC id."""
    subnet: pulumi.Input[str]
    """The cell's own subnet id."""
    project_number: pulumi.Input[str]
    """The project's number (for the GKE service agent's address)."""
    boot_disk_key: EncryptionKey
    """The cell's HSM key for its nodes' boot disks."""
    secrets_key: EncryptionKey
    """The cell's HSM key for its Kubernetes secrets (application-layer encryption)."""
    apis: Apis = ()


@dataclass(frozen=True)
class CellDatabaseConfig:
    name: str
    ddl: tuple[str, ...]
    version_retention_period: str
    backup: BackupSchedule


@dataclass(frozen=True)
class CellDatabaseArgs:
    config: CellDatabaseConfig
    instance: pulumi.Input[str]
    """The region's Spanner instance id."""
    key: EncryptionKey
    """The cell's HSM key for its database."""
    apis: Apis = ()


@dataclass(frozen=True)
class TopicConfig:
    topic_id: str
    partitions: int
    retention_ms: int
    cleanup_policy: str


@dataclass(frozen=True)
class CellTopicsConfig:
    region: str
    topics: dict[str, TopicConfig]
    """Catalog topic name -> the cell's topic, in catalog order."""


@dataclass(frozen=True)
class CellTopicsArgs:
    config: CellTopicsConfig
    cluster_id: pulumi.Input[str]
    """The region's Kafka cluster (short id)."""
    apis: Apis = ()


@dataclass(frozen=True)
class WorkloadIdentityConfig:
    cell: str
    project: str
    region: str
    account_id: str
    kubernetes_account: str
    """``<namespace>/<service account>`` the cell's pods run as."""
    workload_member: str
    """The Workload Identity principal allowed to act as the account."""
    kafka_condition_title: str
    topic_prefix: str
    """What every topic and consumer group of the cell starts with."""
    database_role: str
    """The Spanner database role the app holds (fine-grained access control)."""
    migration_account_id: str
    """The cell's migration identity: the only one that may change the schema."""


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    config: WorkloadIdentityConfig
    instance: pulumi.Input[str]
    """The region's Spanner instance id."""
    database: pulumi.Input[str]
    """The cell's database id."""
    kafka_cluster_id: pulumi.Input[str]
    """The region's Managed Kafka cluster (short id)."""
    cluster: pulumi.Resource
    """The cell's GKE cluster: its creation creates the Workload Identity pool."""
    apis: Apis = ()


@dataclass(frozen=True)
class IngressConfig:
    name: str
    description: str


@dataclass(frozen=True)
class OriginTls:
    """What a cell's load balancer presents and demands, from the regional stack's config
    (catalog.ORIGIN_TLS_CONFIG): never in a committed file."""

    certificate: pulumi.Input[str]
    """The cells' origin certificate chain (PEM, Cloudflare Origin CA)."""
    private_key: pulumi.Input[str]
    """Its private key (PEM, secret config)."""
    client_ca: pulumi.Input[str]
    """The CA (PEM) of the bank's origin-pull client certificate: the only trust anchor."""


@dataclass(frozen=True)
class IngressNames:
    """The cloud names of a cell's load balancer, each from the cell's stable key."""

    neg: str
    """The zonal NEGs GKE's NEG controller creates for Service bank-app (one name, each zone)."""
    health_check: str
    backend_service: str
    url_map: str
    cert: str
    """A name prefix: each rotation of the origin certificate is a new certificate."""
    trust_config: str
    server_tls_policy: str
    proxy: str
    forwarding_rule: str


@dataclass(frozen=True)
class CellBootstrapConfig:
    cell: str
    region: str
    namespace: str
    service_account: str
    oncall_group: str
    """Google group with read-only access to every namespace."""
    breakglass_group: str
    """Google group with audited write access, for incidents."""
    kafka_cidr: str
    """Where Managed Kafka's brokers listen (the region's substrate subnet)."""
    gateway_sources: tuple[str, ...]
    """Who may reach the workload: the region's proxy-only subnet and Google's health checks."""
    project: str
    """The region's project (the NEGs' self-links)."""
    origin_hostname: str
    security_policy_name: str
    cloudflare_ranges: tuple[str, ...]
    health_path: str
    """The app's health endpoint, the one the edge's monitor probes too."""
    ingress: IngressNames


@dataclass(frozen=True)
class CellBootstrapArgs:
    config: CellBootstrapConfig
    cluster: gcp.container.Cluster
    """The cell's cluster: its Kubernetes provider is built from it."""
    app_email: pulumi.Input[str]
    """The cell's Google service account, the KSA's Workload Identity."""
    zones: pulumi.Input[Sequence[str]]
    """The zones the cell's nodes run in (its node pool's): one NEG in each."""
    network: pulumi.Input[str]
    """The region's VPC id (the forwarding rule's network)."""
    address: pulumi.Input[str]
    """The cell's reserved ingress address (its self-link)."""
    network_tier: str
    """The tier the address was reserved in; the forwarding rule must match it."""
    origin_tls: OriginTls
    proxy_only: pulumi.Resource
    """The region's proxy-only subnet: a regional managed forwarding rule needs it first."""
    apis: Apis = ()
    """For the load balancer: Compute Engine, Certificate Manager, Network Security."""


@dataclass(frozen=True)
class CellConfig:
    region: str
    labels: dict[str, str]
    subnet: SubnetConfig
    cluster: ClusterConfig
    database: CellDatabaseConfig
    topics: CellTopicsConfig
    identity: WorkloadIdentityConfig
    ingress: IngressConfig
    bootstrap: CellBootstrapConfig
    keys: KeyRingConfig
    """The cell's own HSM keys: its database's, its nodes' boot disks' and its secrets'."""


@dataclass(frozen=True)
class CellArgs:
    config: CellConfig
    network: pulumi.Input[str]
    """The region's VPC id."""
    spanner_instance: pulumi.Input[str]
    """The region's Spanner instance id."""
    kafka_cluster_id: pulumi.Input[str]
    """The region's Managed Kafka cluster (short id)."""
    project_number: pulumi.Input[str]
    """The project's number (for the service agents' addresses)."""
    origin_tls: OriginTls
    proxy_only: pulumi.Resource
    """The region's proxy-only subnet (the cell's load balancer's proxies)."""
    apis: Apis = ()


@dataclass(frozen=True)
class RegionArgs:
    project: str
    region: str
    hub: str
    oncall_group: str
    """The Google group paged for the region."""
    foundation: FoundationConfig
    network: NetworkConfig
    spanner: SpannerInstanceConfig
    event_bus: EventBusConfig
    cells: dict[str, CellConfig]
    """Cell name (its Pulumi logical name) -> its config, in the region file's order."""
    origin_tls: OriginTls
    """The cells' origin certificate and mTLS trust anchor (the stack's config)."""


# HSM keys: purpose -> the API whose service agent encrypts with it. The region's key ring holds
# the keys of what the cells share (the Kafka cluster; buckets: the key every regional bucket is
# created with, none yet; the project's _Default log bucket). Each cell's data is under
# keys of its own, in its own key ring in the region: a cell shares no key with another (the
# cell-isolation rule), and disabling one cell's keys makes that cell's data, and only it,
# unreadable.
REGION_KEYS = {
    "kafka": catalog.API_MANAGED_KAFKA,
    "buckets": catalog.API_STORAGE,
    "logs": catalog.API_LOGGING,  # the _Default log bucket: Cloud Logging's account encrypts
}
CELL_KEYS = {
    "spanner": catalog.API_SPANNER,
    "boot-disks": catalog.API_COMPUTE,
    "gke-secrets": catalog.API_CONTAINER,  # Kubernetes secrets: GKE's agent envelope-encrypts
}


@cache
def carve(cidr: str) -> CellRanges:
    """A cell's single range split into its parts, deterministically.

    First half: pods (GKE secondary range). Second half: nodes, then services, each an eighth
    of the cell; the control plane's /28 is the last /28 of the cell. Only the cell's own
    range is used, so adding or removing a cell never renumbers another.
    """
    net = ipaddress.ip_network(cidr)
    halves = list(net.subnets(prefixlen_diff=1))
    eighths = list(halves[1].subnets(new_prefix=net.prefixlen + 3))
    master = ipaddress.ip_network((int(net.broadcast_address) - 15, 28))
    return CellRanges(
        pods=str(halves[0]), nodes=str(eighths[0]), services=str(eighths[1]), master=str(master)
    )


@cache
def schema_statements(path: Path) -> tuple[str, ...]:
    """A schema file's statements, read once per process."""
    return tuple(read_ddl(path))


def region_args(spec: RegionSpec, zone: str, health_path: str, origin_tls: OriginTls) -> RegionArgs:
    """Everything a regional stack builds, resolved from its merged spec (``zone``: the edge's
    Cloudflare zone, where each cell's origin hostname lives; ``health_path``: the app's health
    endpoint, which the edge's monitor probes too; ``origin_tls``: the stack's TLS config)."""
    base = spec.base_labels()
    perimeter = perimeter_config(spec)
    apis = catalog.REGIONAL_APIS + ((catalog.API_ACCESS_CONTEXT_MANAGER,) if perimeter else ())
    return RegionArgs(
        project=spec.project,
        region=spec.region,
        hub=spec.hub.name,
        oncall_group=spec.hub.oncall_group,
        foundation=FoundationConfig(
            project=spec.project,
            region=spec.region,
            apis=apis,
            agents=catalog.explicit_agents(apis),
            keys=KeyRingConfig(
                region=spec.region,
                name=names.region_name(spec.short, "keys"),
                keys={p: KeyConfig(name=p, agent=api) for p, api in REGION_KEYS.items()},
                labels=base,
            ),
            attestor=spec.cluster.binary_authorization_attestor,
            labels=base,
            perimeter=perimeter,
        ),
        network=NetworkConfig(
            region=spec.region,
            description=f"Demo Bank {spec.region} ({spec.hub.name} hub)",
            cidr=spec.network.cidr,
            substrate_cidr=spec.network.substrate_cidr,
            proxy_cidr=spec.network.proxy_cidr,
            names=NetworkNames(
                **{
                    field: names.region_name(spec.short, field.replace("_", "-"))
                    for field in NetworkNames.__dataclass_fields__
                }
            ),
            zones={
                key: PrivateZone(
                    name=names.region_name(spec.short, f"{key}-zone"),
                    dns_name=dns_name,
                    vip_name=vip_name,
                )
                for key, (dns_name, vip_name) in catalog.RESTRICTED_DOMAINS.items()
            },
            labels=base,
        ),
        spanner=SpannerInstanceConfig(
            name=names.region_name(spec.short, "spanner"),
            config=spec.spanner_config,
            display_name=names.spanner_display_name(spec.short),
            edition=spec.spanner.edition,
            autoscaling=spec.spanner.autoscaling,
            labels=base,
        ),
        event_bus=EventBusConfig(
            cluster_id=names.region_name(spec.short, "kafka"),
            region=spec.region,
            vcpu=spec.kafka.vcpu,
            memory_bytes=spec.kafka.memory_gib * GIB,
            labels=base,
        ),
        cells={cell: cell_config(spec, cell, zone, health_path) for cell in spec.cells},
        origin_tls=origin_tls,
    )


def perimeter_config(spec: RegionSpec) -> PerimeterConfig | None:
    """The region's VPC Service Controls perimeter, or None without an access policy."""
    policy = spec.foundation.access_policy_id
    if policy is None:
        return None
    # A perimeter's short name is letters, digits and '_', starting with a letter.
    short = f"{names.PREFIX}_{spec.short}"
    return PerimeterConfig(
        parent=f"accessPolicies/{policy}",
        name=f"accessPolicies/{policy}/servicePerimeters/{short}",
        title=names.region_name(spec.short, "perimeter"),
        restricted_services=catalog.PERIMETER_RESTRICTED_SERVICES,
    )


def cell_config(spec: RegionSpec, cell: str, zone: str, health_path: str) -> CellConfig:
    """One cell's config: its ranges, names, labels and the settings of each of its parts."""
    ranges = carve(spec.cells[cell].cidr)
    labels = {**spec.base_labels(), catalog.CELL_LABEL: cell}
    namespace = names.namespace(cell)
    return CellConfig(
        region=spec.region,
        labels=labels,
        keys=KeyRingConfig(
            region=spec.region,
            name=names.cell_name(spec.short, cell, "hsm"),
            keys={p: KeyConfig(name=p, agent=api) for p, api in CELL_KEYS.items()},
            labels=labels,
        ),
        subnet=SubnetConfig(
            name=names.cell_name(spec.short, cell, "subnet"),
            ranges=ranges,
            pods_range=PODS_RANGE,
            services_range=SERVICES_RANGE,
        ),
        cluster=ClusterConfig(
            cell=cell,
            project=spec.project,
            region=spec.region,
            settings=spec.cluster,
            names=ClusterNames(
                node_account=names.account_id(spec.short, cell, "node"),
                cluster=names.cell_name(spec.short, cell, "gke"),
                pool=names.cell_name(spec.short, cell, "pool"),
            ),
            master_range=ranges.master,
            pods_range=PODS_RANGE,
            services_range=SERVICES_RANGE,
            workload_pool=f"{spec.project}.svc.id.goog",
            rbac_security_group=spec.cluster.rbac_security_group,
            labels=labels,
        ),
        database=CellDatabaseConfig(
            name=names.database_name(cell),
            ddl=schema_statements(CELL_SCHEMA) + schema_statements(CELL_ROLES_SCHEMA),
            version_retention_period=spec.spanner.version_retention_period,
            backup=spec.spanner.backup,
        ),
        topics=CellTopicsConfig(
            region=spec.region,
            topics={
                topic: TopicConfig(
                    topic_id=names.topic_name(cell, topic),
                    partitions=settings.partitions,
                    retention_ms=(
                        -1 if settings.retention_hours < 0 else settings.retention_hours * 3_600_000
                    ),
                    cleanup_policy=settings.cleanup_policy,
                )
                for topic, settings in spec.topics.items()
            },
        ),
        identity=WorkloadIdentityConfig(
            cell=cell,
            project=spec.project,
            region=spec.region,
            account_id=names.account_id(spec.short, cell, "app"),
            kubernetes_account=f"{namespace}/{K8S_SERVICE_ACCOUNT}",
            workload_member=(
                f"serviceAccount:{spec.project}.svc.id.goog[{namespace}/{K8S_SERVICE_ACCOUNT}]"
            ),
            kafka_condition_title=f"only-{names.region_name(spec.short, 'kafka')}",
            topic_prefix=names.topic_prefix(cell),
            database_role=APP_DATABASE_ROLE,
            migration_account_id=names.account_id(spec.short, cell, "mig"),
        ),
        ingress=IngressConfig(
            name=names.cell_name(spec.short, cell, "ingress"),
            description=f"Ingress of cell {cell} ({spec.hub.name} hub)",
        ),
        bootstrap=CellBootstrapConfig(
            cell=cell,
            region=spec.region,
            namespace=namespace,
            service_account=K8S_SERVICE_ACCOUNT,
            oncall_group=spec.hub.oncall_group,
            breakglass_group=spec.hub.breakglass_group,
            kafka_cidr=spec.network.substrate_cidr,
            gateway_sources=(spec.network.proxy_cidr, *catalog.HEALTH_CHECK_RANGES),
            project=spec.project,
            origin_hostname=names.origin_hostname(cell, spec.short, zone),
            security_policy_name=names.cell_name(spec.short, cell, "armor"),
            cloudflare_ranges=cloudflare_ranges().all,
            health_path=health_path,
            ingress=IngressNames(
                **{
                    field: names.cell_name(spec.short, cell, field.replace("_", "-"))
                    for field in IngressNames.__dataclass_fields__
                }
            ),
        ),
    )


# --------------------------------------------------------------------------------------------
# Global stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeConfig:
    zone: Zone
    hostname: str
    """The load-balanced hostname, ``<edge.hostname>.<zone.name>``."""
    edge: EdgeSettings
    home_address: str
    """The existing home region's public ingress."""
    l10n_path: str
    """The CDN path of the localization bundles (cached as the objects say)."""
    cells: dict[str, dict[str, str]]
    """pool -> cell -> its origin hostname: the cells each regional stack builds."""


@dataclass(frozen=True)
class EdgeArgs:
    config: EdgeConfig
    regional_outputs: Mapping[str, pulumi.Input[Any]]
    origin_pull_certificate: pulumi.Input[str]
    """The bank's client certificate (PEM) Cloudflare presents to every cell origin."""
    origin_pull_private_key: pulumi.Input[str]
    """Its private key (secret config)."""


@dataclass(frozen=True)
class CellRouterConfig:
    account_id: str
    zone_id: str
    script_name: str
    script: str
    """The Worker's ES module source (edge/cell-router/src/index.js)."""
    main_module: str
    compatibility_date: str
    route_pattern: str
    """Every request to the app host runs the router first."""
    session_audience: str
    origin_suffix: str
    kv_title: str
    maps: dict[str, tuple[str, str]]
    """region -> (KV key ``shard-map/<region>/<version>.json``, the published map)."""
    versions: dict[str, str]
    """region -> the current map version (KV key ``current/<region>``)."""


@dataclass(frozen=True)
class CellRouterArgs:
    config: CellRouterConfig
    session_public_key: pulumi.Input[str]
    """The identity service's public JWK (secret config), the Worker's secret binding."""
    """pool name -> that regional stack's outputs (``rollout.contract.RegionOutputs``)."""


@dataclass(frozen=True)
class SpannerReplica:
    """One replica of a Spanner instance configuration, as the API lists it."""

    location: str
    type: str
    """READ_WRITE, READ_ONLY or WITNESS."""
    default_leader: bool


@dataclass(frozen=True)
class CustomInstanceConfig:
    """A user-managed Spanner configuration: its base's replicas, the leader moved where the
    YAML says, plus the optional read-only replicas."""

    name: str
    display_name: str
    base_config: str
    replicas: tuple[SpannerReplica, ...]


@dataclass(frozen=True)
class GlobalDatabaseArgs:
    instance_name: str
    database_name: str
    settings: DirectorySettings
    """directory section of regions/global.yaml."""
    ddl: tuple[str, ...]
    """the directory schema, one statement per item (schema/directory.sql)."""
    labels: dict[str, str]
    """owner, cost-center, hub and region labels."""
    project: str
    """The global stack's project (its number names the Spanner service agent)."""
    keys: dict[str, KeyRingConfig]
    """Replica region -> its key ring and HSM key: a database on a multi-region or custom
    configuration is encrypted with one key in each region holding a replica."""
    custom_config: CustomInstanceConfig | None = None
    """The custom configuration to create first, when the directory sits on one."""


def directory_regions(d: DirectorySettings) -> tuple[str, ...]:
    """Every region holding a replica of the directory (witnesses and read-only replicas
    included), in the configuration's order: each needs a key of its own."""
    base = d.base_config or d.instance_config  # the models accept no other
    found = [location for location, _, _ in catalog.SPANNER_BASE_CONFIGS[base]]
    found += list(d.read_only_replicas) if d.base_config else []
    return tuple(dict.fromkeys(found))


def directory_keys(d: DirectorySettings, labels: dict[str, str]) -> dict[str, KeyRingConfig]:
    """A key ring per replica region, each with the directory's HSM key for Spanner's agent."""
    return {
        region: KeyRingConfig(
            region=region,
            name=names.region_name("global", f"directory-{region}"),
            keys={"directory": KeyConfig(name="directory", agent=catalog.API_SPANNER)},
            labels=labels,
        )
        for region in directory_regions(d)
    }


def custom_instance_config(d: DirectorySettings) -> CustomInstanceConfig | None:
    """The directory's custom configuration (base_config set), or None for a managed one."""
    if d.base_config is None:
        return None
    base = catalog.SPANNER_BASE_CONFIGS[d.base_config]
    leader = d.default_leader or next(r for r, _, lead in base if lead)
    replicas = tuple(
        SpannerReplica(location, kind, kind == "READ_WRITE" and location == leader)
        for location, kind, _ in base
    ) + tuple(SpannerReplica(r, "READ_ONLY", False) for r in d.read_only_replicas)
    return CustomInstanceConfig(
        name=d.instance_config,
        display_name="Demo Bank directory",
        base_config=d.base_config,
        replicas=replicas,
    )


@dataclass(frozen=True)
class ObjectSpec:
    """One bucket object to upload: its name, text and HTTP headers."""

    path: str
    content: str
    content_type: str
    cache_control: str


@dataclass(frozen=True)
class LocalizationPlatformArgs:
    bucket_name: str
    bucket_location: str
    labels: dict[str, str]
    objects: tuple[ObjectSpec, ...]
    """Every bundle and the manifest, as ``rollout.l10n.build_bundles`` compiled them."""
    zone_id: str
    host: str
    """The app's hostname the bundles are served under."""
    path: str
    """The CDN path of the bundles, e.g. /l10n/."""
    origin_host: str
    """The zone's hostname the origin rule resolves to: a proxied CNAME to Cloud Storage."""
    bundle_prefix: str = "l10n/bundles/"
    """Where the immutable bundles sit in the bucket (``rollout.l10n.bundles.BUNDLES``)."""
    bundle_retention_days: int = 90
    """Age at which the bucket deletes a bundle. Current bundles are published afresh each
    month (``rollout.l10n.bundles.EPOCH_DAYS``), so only the ones no manifest names any more
    reach it; a client holding an old manifest has this long to fetch them."""


@dataclass(frozen=True)
class ShardMapsArgs:
    bucket_name: str
    location: str
    labels: dict[str, str]
    artifacts: dict[str, tuple[str, str]]
    """region -> (object name, canonical JSON) as rollout.shards.publish_artifact returns."""


@dataclass(frozen=True)
class GlobalArgs:
    apis: ProjectApisConfig
    """Every API the global stack calls, on once in its project (the directory's and Weblate's)."""
    edge: EdgeConfig
    router: CellRouterConfig
    directory: GlobalDatabaseArgs
    localization: LocalizationPlatformArgs
    shard_maps: ShardMapsArgs
    weblate: WeblateConfig


# The directory's own: Spanner, and Cloud KMS for its keys (Spanner's agent holds them).
DIRECTORY_APIS = (catalog.API_KMS, catalog.API_SPANNER)


def global_apis(project_id: str, weblate: WeblateConfig) -> ProjectApisConfig:
    """The global project's APIs, each once: the directory's, then Weblate's; the agents that
    are created explicitly (Spanner's, and Weblate's that exist only when asked for)."""
    apis = tuple(dict.fromkeys((*DIRECTORY_APIS, *weblate.apis)))
    return ProjectApisConfig(project=project_id, apis=apis, agents=catalog.explicit_agents(apis))


def bucket_name(project_id: str, purpose: str, file: str) -> str:
    """``<project>-<purpose>``, or a one-line error naming the stack file's gcp:project."""
    name = f"{project_id}-{purpose}"
    if problem := names.check("bucket", name):
        raise InputError.one(file, "config.gcp:project", f"{problem}; choose a shorter project id")
    return name


ROUTER_DIR = Path(__file__).resolve().parent.parent / "edge" / "cell-router"


def global_args(
    g: GlobalFile,
    *,
    project_id: str,
    stack_file: str,
    bundles: tuple[ObjectSpec, ...],
    shard_maps: dict[str, tuple[str, str]],
    cells: dict[str, dict[str, str]],
) -> GlobalArgs:
    """Everything the global stack builds, resolved from regions/global.yaml (``cells``: pool
    -> cell -> origin hostname, from the regional stacks' config)."""
    labels = g.base_labels()
    host = f"{g.edge.hostname}.{g.zone.name}"
    worker = json.loads((ROUTER_DIR / "worker.json").read_text(encoding="utf-8"))
    weblate = weblate_config(g, project_id)
    return GlobalArgs(
        apis=global_apis(project_id, weblate),
        edge=EdgeConfig(
            zone=g.zone,
            hostname=host,
            edge=g.edge,
            home_address=g.home_origin.address,
            l10n_path=g.localization.path,
            cells=cells,
        ),
        router=CellRouterConfig(
            account_id=g.zone.account_id,
            zone_id=g.zone.id,
            script_name=f"{names.PREFIX}-cell-router",
            script=(ROUTER_DIR / worker["main_module"]).read_text(encoding="utf-8"),
            main_module=Path(worker["main_module"]).name,
            compatibility_date=worker["compatibility_date"],
            route_pattern=f"{host}/*",
            # Tokens are issued for the app's origin: the audience names it.
            session_audience=f"https://{host}",
            origin_suffix=names.origin_suffix(g.zone.name),
            kv_title=f"{names.PREFIX}-shard-maps",
            maps={region: (key, content) for region, (key, content) in shard_maps.items()},
            versions={
                region: key.rsplit("/", 1)[-1].removesuffix(".json")
                for region, (key, _) in shard_maps.items()
            },
        ),
        directory=GlobalDatabaseArgs(
            instance_name=names.region_name("global", "directory"),
            database_name="directory",
            settings=g.directory,
            ddl=schema_statements(DIRECTORY_SCHEMA),
            labels=labels,
            project=project_id,
            keys=directory_keys(g.directory, labels),
            custom_config=custom_instance_config(g.directory),
        ),
        localization=LocalizationPlatformArgs(
            bucket_name=bucket_name(project_id, "l10n-bundles", stack_file),
            bucket_location=g.localization.bucket_location,
            labels=labels,
            objects=bundles,
            zone_id=g.zone.id,
            host=host,
            path=g.localization.path,
            origin_host=names.l10n_origin_hostname(g.zone.name),
        ),
        shard_maps=ShardMapsArgs(
            bucket_name=bucket_name(project_id, "shard-maps", stack_file),
            location=g.localization.bucket_location,
            labels=labels,
            artifacts=shard_maps,
        ),
        weblate=weblate,
    )


# ============================================================================================
# Weblate (components/weblate.py), in the global stack
# ============================================================================================

# Weblate's cloud names: demobank-weblate-<entity>, as a region's are demobank-<short>-<entity>.
WEBLATE_SHORT = "weblate"
# The database Weblate uses, in its own instance.
WEBLATE_DATABASE = "weblate"
# HSM keys: purpose -> the API whose service agent encrypts with it
# (rollout.catalog.SERVICE_AGENTS).
WEBLATE_KEYS = {
    "sql": catalog.API_SQL_ADMIN,
    "redis": catalog.API_REDIS,
    "data": catalog.API_FILESTORE,
    "secrets": catalog.API_SECRET_MANAGER,
}
# Cloud SQL names a service account's IAM database user by its email without the
# .gserviceaccount.com suffix (https://cloud.google.com/sql/docs/postgres/add-manage-iam-users#creating-a-database-user).
SA_EMAIL_SUFFIX = ".gserviceaccount.com"


@dataclass(frozen=True)
class WeblateNames:
    """Every cloud name Weblate's resources carry (each checked by rollout.names)."""

    vpc: str
    run_subnet: str
    services_range: str
    deny_egress: str
    allow_services_egress: str
    sql_instance: str
    redis: str
    filestore: str
    file_share: str
    service: str
    init_job: str
    account_id: str
    """Weblate's own service account (Cloud Run's identity)."""
    init_account_id: str
    """The data-volume init job's account: no role at all."""


@dataclass(frozen=True)
class WeblateSecret:
    secret_id: str
    """The Secret Manager secret's id."""
    config_key: str
    """The Pulumi secret config key (``weblate:<name>``) its value comes from."""


@dataclass(frozen=True)
class WeblateConfig:
    project: str
    region: str
    settings: WeblateSettings
    """weblate: of regions/global.yaml: images, sizes, sign-in, code host."""
    names: WeblateNames
    apis: tuple[str, ...]
    """Every API Weblate's resources call, in the order they are enabled."""
    keys: KeyRingConfig
    """Weblate's key ring in its region: an HSM key per purpose (sql, redis, data, secrets),
    each for the agent of the API that encrypts with it."""
    secrets: dict[str, WeblateSecret]
    """Purpose (weblate.secrets' keys) -> its secret, from Pulumi secret config."""
    redis_auth_secret_id: str
    """The secret holding Memorystore's AUTH string (the instance's output, not config)."""
    database: str
    database_user: str
    """The service account's IAM database user (its email without .gserviceaccount.com)."""
    labels: dict[str, str]
    """The global labels, with Weblate's own region: the residency rules judge its data."""


@dataclass(frozen=True)
class WeblateArgs:
    config: WeblateConfig
    secrets: Mapping[str, pulumi.Input[str]]
    """Purpose -> the secret's value (Pulumi secret config, never in a committed file)."""


def weblate_config(g: GlobalFile, project_id: str) -> WeblateConfig:
    """Weblate's config from regions/global.yaml: names, keys, secrets and labels resolved."""
    w = g.weblate

    def name(entity: str) -> str:
        return names.region_name(WEBLATE_SHORT, entity)

    account_id = names.account_id(WEBLATE_SHORT, None, "run")
    labels = {**g.base_labels(), "region": w.region}
    return WeblateConfig(
        project=project_id,
        region=w.region,
        settings=w,
        names=WeblateNames(
            vpc=name("vpc"),
            run_subnet=name("run"),
            services_range=name("services"),
            deny_egress=name("deny-all-egress"),
            allow_services_egress=name("allow-services-egress"),
            sql_instance=name("sql"),
            redis=name("redis"),
            filestore=name("data"),
            file_share="weblate",
            service=f"{names.PREFIX}-{WEBLATE_SHORT}",
            init_job=name("data-init"),
            account_id=account_id,
            init_account_id=names.account_id(WEBLATE_SHORT, None, "init"),
        ),
        apis=catalog.WEBLATE_APIS,
        keys=KeyRingConfig(
            region=w.region,
            name=name("keys"),
            keys={p: KeyConfig(name=p, agent=api) for p, api in WEBLATE_KEYS.items()},
            labels=labels,
        ),
        secrets={
            purpose: WeblateSecret(
                secret_id=name(purpose.replace("_", "-")), config_key=str(config_key)
            )
            for purpose, config_key in w.secrets.model_dump().items()
        },
        redis_auth_secret_id=name("redis-auth"),
        database=WEBLATE_DATABASE,
        database_user=f"{account_id}@{project_id}.iam",
        labels=labels,
    )
