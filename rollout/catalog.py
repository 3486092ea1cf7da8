"""The catalog of facts: the one place each shared fact is written.

Type tokens, the stateful set, the labels every resource carries, the ingress tag and the
health-check ranges, the home pool's name, the cell-name rule. Components, policies, diff,
diagram, failover, names, the config models and the tests import them from here; nothing else
spells them out. Standard library only, so the CrossGuard pack and the real program can load it
without pulling in anything else.
"""

from __future__ import annotations

from typing import NamedTuple

# --------------------------------------------------------------------------------------------
# Pulumi's own types
# --------------------------------------------------------------------------------------------

STACK = "pulumi:pulumi:Stack"
STACK_REFERENCE = "pulumi:pulumi:StackReference"

# --------------------------------------------------------------------------------------------
# Our components (demobank:<area>:<Type>)
# --------------------------------------------------------------------------------------------

REGION = "demobank:region:Region"
NETWORK_COMPONENT = "demobank:network:Network"
SPANNER_INSTANCE_COMPONENT = "demobank:spanner:SpannerInstance"
CELL_DATABASE_COMPONENT = "demobank:spanner:CellDatabase"
EVENT_BUS_COMPONENT = "demobank:event_bus:EventBus"
CELL_TOPICS_COMPONENT = "demobank:event_bus:CellTopics"
CELL = "demobank:cell:Cell"
CLUSTER_COMPONENT = "demobank:cluster:Cluster"
CELL_BOOTSTRAP_COMPONENT = "demobank:cell_bootstrap:CellBootstrap"
CELL_ROUTER_COMPONENT = "demobank:cell_router:CellRouter"
WORKLOAD_IDENTITY_COMPONENT = "demobank:identity:WorkloadIdentity"
EDGE_COMPONENT = "demobank:edge:Edge"
GLOBAL_DATABASE_COMPONENT = "demobank:global_database:GlobalDatabase"
LOCALIZATION_COMPONENT = "demobank:localization:LocalizationPlatform"
SHARD_MAPS_COMPONENT = "demobank:shards:ShardMaps"
FOUNDATION_COMPONENT = "demobank:foundation:Foundation"
PROJECT_APIS_COMPONENT = "demobank:foundation:ProjectApis"
HSM_KEYS_COMPONENT = "demobank:foundation:HsmKeys"

# --------------------------------------------------------------------------------------------
# Provider resource types (pulumi-gcp 10.x, pulumi-cloudflare 6.x)
# --------------------------------------------------------------------------------------------

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
SPANNER_INSTANCE = "gcp:spanner/instance:Instance"
SPANNER_DATABASE = "gcp:spanner/database:Database"
SPANNER_BACKUP_SCHEDULE = "gcp:spanner/backupSchedule:BackupSchedule"
KAFKA_CLUSTER = "gcp:managedkafka/cluster:Cluster"
KAFKA_TOPIC = "gcp:managedkafka/topic:Topic"
KAFKA_ACL = "gcp:managedkafka/acl:Acl"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
KMS_KEY_RING = "gcp:kms/keyRing:KeyRing"
KMS_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
FIREWALL = "gcp:compute/firewall:Firewall"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
ADDRESS = "gcp:compute/address:Address"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
NETWORK = "gcp:compute/network:Network"
ROUTER = "gcp:compute/router:Router"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
SERVICE_ACCOUNT_IAM_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
SPANNER_DATABASE_IAM_MEMBER = "gcp:spanner/databaseIAMMember:DatabaseIAMMember"
KMS_CRYPTO_KEY_IAM_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
SECRET = "gcp:secretmanager/secret:Secret"
PUBSUB_TOPIC = "gcp:pubsub/topic:Topic"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
DNS_MANAGED_ZONE = "gcp:dns/managedZone:ManagedZone"

REGION_SECURITY_POLICY = "gcp:compute/regionSecurityPolicy:RegionSecurityPolicy"
SPANNER_INSTANCE_CONFIG = "gcp:spanner/instanceConfig:InstanceConfig"
PROJECT_SERVICE = "gcp:projects/service:Service"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
DNS_RECORD_SET = "gcp:dns/recordSet:RecordSet"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
BINARY_AUTHORIZATION_POLICY = "gcp:binaryauthorization/policy:Policy"
ROUTE = "gcp:compute/route:Route"
# A cell's own regional external Application Load Balancer (components/cell_bootstrap.py).
REGION_HEALTH_CHECK = "gcp:compute/regionHealthCheck:RegionHealthCheck"
REGION_BACKEND_SERVICE = "gcp:compute/regionBackendService:RegionBackendService"
REGION_URL_MAP = "gcp:compute/regionUrlMap:RegionUrlMap"
REGION_SSL_CERTIFICATE = "gcp:compute/regionSslCertificate:RegionSslCertificate"
REGION_TARGET_HTTPS_PROXY = "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy"
FORWARDING_RULE = "gcp:compute/forwardingRule:ForwardingRule"
TRUST_CONFIG = "gcp:certificatemanager/trustConfig:TrustConfig"
SERVER_TLS_POLICY = "gcp:networksecurity/serverTlsPolicy:ServerTlsPolicy"
SERVICE_PERIMETER = "gcp:accesscontextmanager/servicePerimeter:ServicePerimeter"

# Kubernetes (pulumi-kubernetes 4.x) inside each cell's cluster.
K8S_PROVIDER = "pulumi:providers:kubernetes"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
K8S_SERVICE = "kubernetes:core/v1:Service"

# Every IAM grant type (member and binding forms) the program might use: a role is granted
# through one of these, and the no-basic-roles and isolation policies read them all.
IAM_GRANTS = frozenset(
    {
        PROJECT_IAM_MEMBER,
        "gcp:projects/iAMBinding:IAMBinding",
        "gcp:organizations/iAMMember:IAMMember",
        "gcp:organizations/iAMBinding:IAMBinding",
        "gcp:folder/iAMMember:IAMMember",
        "gcp:folder/iAMBinding:IAMBinding",
        SERVICE_ACCOUNT_IAM_MEMBER,
        "gcp:serviceaccount/iAMBinding:IAMBinding",
        SPANNER_DATABASE_IAM_MEMBER,
        "gcp:spanner/databaseIAMBinding:DatabaseIAMBinding",
        "gcp:spanner/instanceIAMMember:InstanceIAMMember",
        "gcp:spanner/instanceIAMBinding:InstanceIAMBinding",
        KMS_CRYPTO_KEY_IAM_MEMBER,
        "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding",
        "gcp:kms/keyRingIAMMember:KeyRingIAMMember",
        "gcp:kms/keyRingIAMBinding:KeyRingIAMBinding",
        BUCKET_IAM_MEMBER,
        "gcp:storage/bucketIAMBinding:BucketIAMBinding",
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        "gcp:secretmanager/secretIamBinding:SecretIamBinding",
    }
)

# Basic roles: each spans every resource type of its scope (viewer reads all, editor changes
# all); never granted (https://cloud.google.com/iam/docs/roles-overview#basic).
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})

# Roles that carry spanner.databases.updateDdl (https://cloud.google.com/spanner/docs/iam):
# only a cell's migration identity holds one, never a workload.
DDL_ROLES = frozenset(
    {"roles/spanner.databaseUser", "roles/spanner.databaseAdmin", "roles/spanner.admin"}
) | (BASIC_ROLES - {"roles/viewer"})

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"

# Google-managed service agents (service-<project number>@<service>.iam.gserviceaccount.com)
# act for a Google service across the whole project, not for a cell: granting one on each
# cell's key is how a cell's own resources let the service in, not a shared cell identity
# (https://cloud.google.com/iam/docs/service-agents).
SERVICE_AGENT_MEMBER = r"^serviceAccount:service-[0-9]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$"

# Invokes (data sources) the program calls.
GET_PROJECT = "gcp:organizations/getProject:getProject"
GET_CLIENT_CONFIG = "gcp:organizations/getClientConfig:getClientConfig"
GET_LOGGING_CMEK_SETTINGS = "gcp:logging/getProjectCmekSettings:getProjectCmekSettings"

CF_ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
CF_DNSSEC = "cloudflare:index/zoneDnssec:ZoneDnssec"
CF_RULESET = "cloudflare:index/ruleset:Ruleset"
CF_POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
CF_LB = "cloudflare:index/loadBalancer:LoadBalancer"
CF_MONITOR = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
CF_DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
CF_WORKERS_SCRIPT = "cloudflare:index/workersScript:WorkersScript"
CF_WORKERS_ROUTE = "cloudflare:index/workersRoute:WorkersRoute"
CF_WORKERS_KV = "cloudflare:index/workersKv:WorkersKv"
CF_WORKERS_KV_NAMESPACE = "cloudflare:index/workersKvNamespace:WorkersKvNamespace"
CF_ORIGIN_PULLS = "cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls"
CF_ORIGIN_PULLS_HOSTNAME_CERTIFICATE = (
    "cloudflare:index/authenticatedOriginPullsHostnameCertificate:"
    "AuthenticatedOriginPullsHostnameCertificate"
)

# Data that cannot be rebuilt from code: each carries protect=True (the stateful-protect
# policy), and deleting or replacing one is data loss (rollout diff). Kafka topics hold
# acknowledged events until retention; KMS keys hold the only way to read what they encrypt.
STATEFUL = frozenset(
    {
        SPANNER_INSTANCE,
        SPANNER_DATABASE,
        KAFKA_CLUSTER,
        KAFKA_TOPIC,
        BUCKET,
        KMS_KEY_RING,
        KMS_CRYPTO_KEY,
    }
)

# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

# GCP regions (https://cloud.google.com/about/locations); a typo here would otherwise only fail
# at `pulumi up`, after the plan was reviewed.
GCP_REGIONS = frozenset(
    {
        "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2",
        "asia-northeast3", "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
        "australia-southeast1", "australia-southeast2", "europe-central2", "europe-north1",
        "europe-north2", "europe-southwest1", "europe-west1", "europe-west10", "europe-west12",
        "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
        "europe-west9", "me-central1", "me-central2", "me-west1", "northamerica-northeast1",
        "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
        "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
        "us-west1", "us-west2", "us-west3", "us-west4",
    }
)  # fmt: skip

# Cloudflare load-balancing regions
# (developers.cloudflare.com/load-balancing/reference/region-mapping-api).
CLOUDFLARE_REGIONS = (
    "WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS",
)  # fmt: skip

# Spanner multi-region instance configurations offered today.
SPANNER_MULTI_REGION_CONFIGS = frozenset(
    {
        "asia1", "eur3", "eur5", "eur6", "eur7", "nam3", "nam6", "nam7", "nam8", "nam9",
        "nam10", "nam11", "nam12", "nam13", "nam14", "nam15", "nam16", "nam-eur-asia1",
        "nam-eur-asia3",
    }
)  # fmt: skip


# Jurisdiction: whose data-protection law governs data at rest in a place. ISO 3166-1 alpha-2
# country codes in lower case, except `eu` (the EU's member states share one regime, the GDPR)
# and `uk` (ISO writes GB). London is not in the EU (UK GDPR and the Data Protection Act 2018)
# and Zurich is not either (Switzerland's FADP). Each region's city is on
# https://cloud.google.com/about/locations; a region without a jurisdiction here is refused
# by the region files (a test keeps this table complete over GCP_REGIONS).
REGION_JURISDICTIONS: dict[str, str] = {
    "africa-south1": "za",  # Johannesburg
    "asia-east1": "tw",  # Changhua County, Taiwan
    "asia-east2": "hk",  # Hong Kong
    "asia-northeast1": "jp", "asia-northeast2": "jp",  # Tokyo, Osaka
    "asia-northeast3": "kr",  # Seoul
    "asia-south1": "in", "asia-south2": "in",  # Mumbai, Delhi
    "asia-southeast1": "sg",  # Singapore
    "asia-southeast2": "id",  # Jakarta
    "australia-southeast1": "au", "australia-southeast2": "au",  # Sydney, Melbourne
    "europe-central2": "eu",  # Warsaw
    "europe-north1": "eu", "europe-north2": "eu",  # Hamina, Stockholm
    "europe-southwest1": "eu",  # Madrid
    "europe-west1": "eu",  # St. Ghislain, Belgium
    "europe-west10": "eu", "europe-west3": "eu",  # Berlin, Frankfurt
    "europe-west12": "eu", "europe-west8": "eu",  # Turin, Milan
    "europe-west2": "uk",  # London: not the EU
    "europe-west4": "eu",  # Eemshaven, Netherlands
    "europe-west6": "ch",  # Zurich: not the EU
    "europe-west9": "eu",  # Paris
    "me-central1": "qa",  # Doha
    "me-central2": "sa",  # Dammam
    "me-west1": "il",  # Tel Aviv
    "northamerica-northeast1": "ca", "northamerica-northeast2": "ca",  # Montreal, Toronto
    "northamerica-south1": "mx",  # Queretaro
    "southamerica-east1": "br",  # Sao Paulo
    "southamerica-west1": "cl",  # Santiago
    "us-central1": "us", "us-east1": "us", "us-east4": "us", "us-east5": "us",
    "us-south1": "us", "us-west1": "us", "us-west2": "us", "us-west3": "us", "us-west4": "us",
}  # fmt: skip

# Locations that span regions, and the jurisdictions of every region holding a copy
# (witnesses included: they hold the write log). Only those whose regions Google publishes;
# any other multi-region location has no known jurisdiction, and the residency rules say so.
# Cloud Storage (https://cloud.google.com/storage/docs/locations): the EU and US multi-regions
# stay inside the EU and the US; ASIA names no regions, so it is not listed.
# Spanner (https://cloud.google.com/spanner/docs/instance-configurations#multi-region-configurations).
MULTI_REGION_JURISDICTIONS: dict[str, tuple[str, ...]] = {
    "eu": ("eu",),  # GCS multi-region: EU member states only
    "us": ("us",),  # GCS multi-region
    "eur4": ("eu",),  # GCS dual-region: Finland, Netherlands
    "nam4": ("us",),  # GCS dual-region: Iowa, South Carolina
    "asia1": ("jp", "kr"),  # Spanner: Tokyo, Osaka, witness Seoul (GCS asia1: Tokyo, Osaka)
    "eur3": ("eu",),  # Spanner: Belgium, Netherlands, witness Finland
    "eur5": ("uk", "eu"),  # Spanner: London (leader), Belgium, witness Netherlands
    "eur6": ("eu", "ch"),  # Spanner: Netherlands, Frankfurt, witness Zurich
    "nam3": ("us",),  # Spanner: Northern Virginia, South Carolina, witness Iowa
    "nam-eur-asia1": ("us", "eu", "tw"),  # Spanner: Iowa, Oklahoma, Belgium, Taiwan, S. Carolina
}


def jurisdictions_of(location: object) -> frozenset[str] | None:
    """Every jurisdiction whose territory holds a copy of data placed at ``location`` (a GCP
    region or zone, a Spanner configuration such as ``regional-europe-west2`` or ``eur5``, a
    Cloud Storage location such as ``EUROPE-WEST2`` or ``EU``); None where that is not known."""
    loc = str(location).lower().removeprefix("regional-")
    if loc not in REGION_JURISDICTIONS and loc[-2:-1] == "-" and loc[:-2] in REGION_JURISDICTIONS:
        loc = loc[:-2]  # a zone: europe-west2-a
    if loc in REGION_JURISDICTIONS:
        return frozenset({REGION_JURISDICTIONS[loc]})
    if loc in MULTI_REGION_JURISDICTIONS:
        return frozenset(MULTI_REGION_JURISDICTIONS[loc])
    return None


# Spanner base configurations a custom (user-managed) configuration may be built on, with
# their replicas exactly as the API lists them (one entry per replica; the API refuses a custom
# configuration whose replicas do not include every replica of its base):
# (location, type, default leader). eur5: two read-write replicas in London (the default
# leader) and two in Belgium, a witness in the Netherlands
# (https://cloud.google.com/spanner/docs/instance-configurations#configs-multi-region).
# Confirm with `gcloud spanner instance-configs describe eur5` before the first `pulumi up`:
# the listing there, with its `optionalReplicas`, is the authority.
SPANNER_BASE_CONFIGS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "eur5": (
        ("europe-west2", "READ_WRITE", True),
        ("europe-west2", "READ_WRITE", True),
        ("europe-west1", "READ_WRITE", False),
        ("europe-west1", "READ_WRITE", False),
        ("europe-west4", "WITNESS", False),
    ),
}
# A user-managed Spanner configuration's name starts with this
# (https://cloud.google.com/spanner/docs/create-manage-configurations#create-configuration).
SPANNER_CUSTOM_CONFIG_PREFIX = "custom-"

# --------------------------------------------------------------------------------------------
# What the providers accept (each checked offline by the config models and rules)
# --------------------------------------------------------------------------------------------

# GKE: every rolling 32 days must hold at least 48 h of maintenance availability, counting only
# contiguous periods of 4 h or more
# (https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions#maintenance-window).
GKE_MAINTENANCE_MIN_HOURS = 48
GKE_MAINTENANCE_PERIOD_DAYS = 32
GKE_MAINTENANCE_MIN_WINDOW_HOURS = 4
# GKE: pods per node, the cluster's default (set explicitly on every cluster) and the pod range
# each node takes, the smallest block holding twice as many addresses: /24 for 110
# (https://cloud.google.com/kubernetes-engine/docs/how-to/flexible-pod-cidr#cidr_settings_for_clusters).
GKE_MAX_PODS_PER_NODE = 110
# A regional cluster runs its nodes in three of the region's zones
# (https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters).
GKE_REGIONAL_ZONES = 3
# Surge upgrades: one extra node per zone at a time (the node pool's upgrade_settings).
GKE_MAX_SURGE = 1

# The machine types a cell's nodes may use, and their vCPUs: predefined types, whose name ends
# in their vCPU count (https://cloud.google.com/compute/docs/general-purpose-machines). Family ->
# (its regional vCPU quota, as `gcloud compute regions describe` names it; shapes; sizes).
# validate refuses any other type, so the quota pre-flight never meets an unknown one.
MACHINE_FAMILIES: dict[str, tuple[str, dict[str, tuple[int, ...]]]] = {
    "n2": ("N2_CPUS", {
        "standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
        "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
        "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96),
    }),
    "n2d": ("N2D_CPUS", {
        "standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
        "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96),
        "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
    }),
    "e2": ("E2_CPUS", {
        "standard": (2, 4, 8, 16, 32),
        "highmem": (2, 4, 8, 16),
        "highcpu": (2, 4, 8, 16, 32),
    }),
    "c3": ("C3_CPUS", {
        "standard": (4, 8, 22, 44, 88, 176),
        "highmem": (4, 8, 22, 44, 88, 176),
        "highcpu": (4, 8, 22, 44, 88, 176),
    }),
}  # fmt: skip
MACHINE_TYPE_VCPUS: dict[str, int] = {
    f"{family}-{shape}-{size}": size
    for family, (_, shapes) in MACHINE_FAMILIES.items()
    for shape, sizes in shapes.items()
    for size in sizes
}
# Every node's boot disk (components/cluster.py): balanced persistent disks count against the
# region's SSD_TOTAL_GB quota (https://cloud.google.com/compute/resource-usage#disk_quota).
GKE_BOOT_DISK_TYPE = "pd-balanced"
GKE_BOOT_DISK_QUOTA = "SSD_TOTAL_GB"


def machine_family(machine_type: str) -> str:
    """``n2-standard-4`` -> ``n2``."""
    return machine_type.split("-", 1)[0]


def gke_node_pod_prefix(max_pods: int = GKE_MAX_PODS_PER_NODE) -> int:
    """The prefix length of the pod range GKE gives each node for ``max_pods`` pods."""
    need = 2 * max_pods
    prefix = 32
    while 2 ** (32 - prefix) < need:
        prefix -= 1
    return prefix


# Spanner compute capacity: processing units in hundreds up to 1000, then in thousands
# (https://cloud.google.com/spanner/docs/compute-capacity).
SPANNER_PU_STEP_SMALL = 100
SPANNER_PU_STEP_LARGE = 1000
# The managed autoscaler needs the Enterprise or Enterprise Plus edition
# (https://cloud.google.com/spanner/docs/managed-autoscaler), and a multi-region (or dual-region)
# configuration needs Enterprise Plus (https://cloud.google.com/spanner/docs/editions-overview).
SPANNER_AUTOSCALING_EDITIONS = ("ENTERPRISE", "ENTERPRISE_PLUS")
SPANNER_MULTI_REGION_EDITION = "ENTERPRISE_PLUS"
# Google's recommended ceiling for high-priority CPU on a multi-region instance (regional: 65)
# (https://cloud.google.com/spanner/docs/cpu-utilization#recommended-max).
SPANNER_MULTI_REGION_CPU_MAX = 45
# Full backups of a schedule at least 12 h apart (CrontabSpec.text,
# https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.backupSchedules#crontabspec).
SPANNER_FULL_BACKUP_MIN_HOURS = 12

# HSTS preload (the edge sends `preload`): the list takes a site only with a max-age of at
# least one year (https://hstspreload.org/#submission-requirements).
HSTS_PRELOAD_MIN_AGE = 31_536_000

# The provider-side deletion guard of pulumi-gcp 10.x (``deletion_policy``): a destroy or a
# replacing update fails instead of deleting the resource ("DELETE" is the provider default).
PREVENT = "PREVENT"

# --------------------------------------------------------------------------------------------
# Project foundation (a regional stack's project)
# --------------------------------------------------------------------------------------------

API_COMPUTE = "compute.googleapis.com"
API_CONTAINER = "container.googleapis.com"
API_SPANNER = "spanner.googleapis.com"
API_MANAGED_KAFKA = "managedkafka.googleapis.com"
API_KMS = "cloudkms.googleapis.com"
API_IAM = "iam.googleapis.com"
API_STS = "sts.googleapis.com"
API_IAM_CREDENTIALS = "iamcredentials.googleapis.com"
API_RESOURCE_MANAGER = "cloudresourcemanager.googleapis.com"
API_LOGGING = "logging.googleapis.com"
API_MONITORING = "monitoring.googleapis.com"
API_ARTIFACT_REGISTRY = "artifactregistry.googleapis.com"
API_BINARY_AUTHORIZATION = "binaryauthorization.googleapis.com"
API_DNS = "dns.googleapis.com"
API_STORAGE = "storage.googleapis.com"
API_ACCESS_CONTEXT_MANAGER = "accesscontextmanager.googleapis.com"
API_CERTIFICATE_MANAGER = "certificatemanager.googleapis.com"  # a cell's mTLS trust config
API_NETWORK_SECURITY = "networksecurity.googleapis.com"  # a cell's ServerTlsPolicy
# Weblate's, in the global stack
API_RUN = "run.googleapis.com"
API_SQL_ADMIN = "sqladmin.googleapis.com"
API_REDIS = "redis.googleapis.com"
API_FILESTORE = "file.googleapis.com"
API_SECRET_MANAGER = "secretmanager.googleapis.com"
API_IAP = "iap.googleapis.com"
API_SERVICE_NETWORKING = "servicenetworking.googleapis.com"

# Every API a regional stack's resources call, in the order they are enabled. sts and
# iamcredentials: Workload Identity (pods exchange their Kubernetes token, then impersonate);
# cloudresourcemanager: project IAM grants and the project lookup; storage: the region's
# buckets. serviceusage is not listed: it enables the others, so it must already be on.
REGIONAL_APIS = (
    API_RESOURCE_MANAGER, API_COMPUTE, API_CONTAINER, API_SPANNER, API_MANAGED_KAFKA, API_KMS,
    API_IAM, API_STS, API_IAM_CREDENTIALS, API_LOGGING, API_MONITORING, API_ARTIFACT_REGISTRY,
    API_BINARY_AUTHORIZATION, API_DNS, API_STORAGE, API_CERTIFICATE_MANAGER, API_NETWORK_SECURITY,
)  # fmt: skip

# With an access policy configured (foundation.access_policy_id), each region's project sits in
# a VPC Service Controls perimeter that restricts these: its data (Spanner, Managed Kafka, Cloud
# Storage) and its keys (Cloud KMS) answer only requests from inside it. Cloud DNS stays
# unrestricted: Managed Kafka renews its brokers' certificates through it
# (https://cloud.google.com/managed-service-for-apache-kafka/docs/limitations); each is on
# https://cloud.google.com/vpc-service-controls/docs/supported-products.
PERIMETER_RESTRICTED_SERVICES = (API_SPANNER, API_MANAGED_KAFKA, API_KMS, API_STORAGE)

# Google-managed service agents whose address our keys are granted to:
# service-<project number>@<domain>.iam.gserviceaccount.com
# (https://cloud.google.com/iam/docs/service-agents), and whether the agent must be created
# explicitly (gcloud beta services identity create, gcp.projects.ServiceIdentity) or exists once
# its API is on. Spanner's and Managed Kafka's CMEK guides create them explicitly
# (https://cloud.google.com/spanner/docs/cmek, https://cloud.google.com/managed-service-for-apache-kafka/docs/encryption);
# GKE's, Compute Engine's and Cloud Storage's exist with their API.
SERVICE_AGENTS: dict[str, tuple[str, bool]] = {
    API_SPANNER: ("gcp-sa-spanner", True),
    API_MANAGED_KAFKA: ("gcp-sa-managedkafka", True),
    API_CONTAINER: ("container-engine-robot", False),
    API_COMPUTE: ("compute-system", False),  # encrypts the nodes' boot disks
    API_STORAGE: ("gs-project-accounts", False),
    # Weblate's, in the global project. Each CMEK guide names its agent: Cloud SQL
    # https://cloud.google.com/sql/docs/postgres/configure-cmek#service-account and Secret
    # Manager https://cloud.google.com/secret-manager/docs/cmek (created explicitly),
    # Memorystore https://cloud.google.com/memorystore/docs/redis/cmek and Filestore
    # https://cloud.google.com/filestore/docs/cmek (exist once the API is on); IAP's agent
    # invokes the Cloud Run service (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run).
    API_SQL_ADMIN: ("gcp-sa-cloud-sql", True),
    API_SECRET_MANAGER: ("gcp-sa-secretmanager", True),
    API_IAP: ("gcp-sa-iap", True),
    API_REDIS: ("cloud-redis", False),
    API_FILESTORE: ("cloud-filer", False),
}


def explicit_agents(apis: tuple[str, ...]) -> tuple[str, ...]:
    """Of ``apis``, those whose service agent is created explicitly (SERVICE_AGENTS)."""
    return tuple(a for a in apis if SERVICE_AGENTS.get(a, ("", False))[1])


def service_agent_member(api: str, project_number: str) -> str:
    """The IAM member of ``api``'s service agent in the project numbered ``project_number``."""
    domain = SERVICE_AGENTS[api][0]
    return f"serviceAccount:service-{project_number}@{domain}.iam.gserviceaccount.com"


# Google's restricted VIP, restricted.googleapis.com: Google APIs that honour VPC Service
# Controls, reached from private addresses without the internet
# (https://cloud.google.com/vpc/docs/configure-private-google-access#config-domain).
RESTRICTED_VIP = "199.36.153.4/30"
RESTRICTED_VIP_ADDRESSES = ("199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7")
# The domains resolved to the VIP in a private zone: zone key -> (zone's DNS name, the name
# that holds the A records; every other name of the zone is a CNAME to it). googleapis.com for
# the APIs; gcr.io and pkg.dev for the images GKE and the cells pull (Artifact Registry).
RESTRICTED_DOMAINS: dict[str, tuple[str, str]] = {
    "googleapis": ("googleapis.com.", "restricted.googleapis.com."),
    "gcr": ("gcr.io.", "gcr.io."),
    "pkg-dev": ("pkg.dev.", "pkg.dev."),
}

# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------

# Every labelable resource carries these; a resource inside a cell also carries CELL_LABEL.
REQUIRED_LABELS = ("hub", "region", "owner", "cost-center")
CELL_LABEL = "cell"

# Types whose SDK args take labels, and the property that holds them (GKE: resourceLabels).
# Checked against pulumi-gcp 10.x.
LABELABLE: dict[str, str] = {
    GKE_CLUSTER: "resourceLabels",
    SPANNER_INSTANCE: "labels",
    SPANNER_INSTANCE_CONFIG: "labels",
    KAFKA_CLUSTER: "labels",
    BUCKET: "labels",
    KMS_CRYPTO_KEY: "labels",
    ADDRESS: "labels",
    GLOBAL_ADDRESS: "labels",
    SECRET: "labels",
    PUBSUB_TOPIC: "labels",
    SECURITY_POLICY: "labels",
    DNS_MANAGED_ZONE: "labels",
}

# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------

# Google's load-balancer and health-check source ranges; the only sources ever allowed in from
# outside the VPC (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")

# Tag carried by every cell's ingress nodes; the health-check rule targets only these.
INGRESS_TAG = "demobank-ingress"
# The port the cell's workload serves on (Service bank-app): the cell's load balancer reaches
# its pods there, so the region's firewall, the health check and the NetworkPolicy admit it.
APP_PORT = 8080

# --------------------------------------------------------------------------------------------
# Edge
# --------------------------------------------------------------------------------------------

# The pool of the existing home region; every other pool is a key of demobank:regionalStacks.
HOME_POOL = "home"

# The global stack's secret config (`pulumi config set --secret edge:<key> -s global`): the
# session-token verification key of the cell router and the bank's origin-pull client
# certificate. Never in a committed file; the offline plan stands in a marked placeholder.
EDGE_SECRETS_NAMESPACE = "edge"
EDGE_SECRETS = ("sessionPublicKey", "originPullCertificate", "originPullPrivateKey")
# A regional stack's cell TLS config (demobank:<key>), never in a committed file: the cells'
# origin certificate (Cloudflare Origin CA, which Full (strict) trusts), its key (secret), and
# the CA that issued the bank's origin-pull client certificate, the cells' mTLS trust anchor.
ORIGIN_TLS_CONFIG = ("originCertificate", "originKey", "originPullCa")
ORIGIN_TLS_SECRETS = ("originKey",)

# The request path as the client sent it, untouched by earlier rules. The l10n URL rewrite runs
# in the transform phase, before the origin and cache phases, and prefixes the bucket to
# http.request.uri.path; a later rule matching the localization path must read this raw field
# (https://developers.cloudflare.com/ruleset-engine/rules-language/fields/reference/raw.http.request.uri.path/,
# phase order: https://developers.cloudflare.com/ruleset-engine/reference/phases-list/).
CF_RAW_PATH = "raw.http.request.uri.path"
# A zone has one entry point ruleset per phase
# (https://developers.cloudflare.com/ruleset-engine/about/phases/): each phase the edge uses is
# configured by exactly one Ruleset, and one the zone already has is imported first (README).
CF_ZONE_PHASES = (
    "http_request_transform",
    "http_request_origin",
    "http_ratelimit",
    "http_request_firewall_managed",
    "http_request_cache_settings",
)

# What the bank has bought from Cloudflare, declared in regions/global.yaml (zone.plan,
# zone.add_ons): the zone's plan, lowest first, and the paid add-ons the edge may need. The
# availability of each feature by plan is Cloudflare's own table
# (https://developers.cloudflare.com/plans/, src/content/plans/index.json in
# cloudflare/cloudflare-docs), linked again beside each feature below.
CLOUDFLARE_PLANS = ("free", "pro", "business", "enterprise")
CLOUDFLARE_ADD_ONS = ("load_balancing", "traffic_steering", "workers_paid")

# The sign-in rate limit (components/edge.py): requests are counted over a minute, then the
# client is blocked for ten minutes. Counting periods and mitigation timeouts allowed per plan
# (https://developers.cloudflare.com/waf/rate-limiting-rules/#availability): Free only 10 s.
# Enterprise also needs application security on its contract to get rate limiting rules.
SIGN_IN_RATE_LIMIT_PERIOD = 60
SIGN_IN_RATE_LIMIT_TIMEOUT = 600
RATE_LIMIT_MAX_PERIOD = {"free": 10, "pro": 60, "business": 600, "enterprise": 65_535}
RATE_LIMIT_MAX_TIMEOUT = {"free": 10, "pro": 3_600, "business": 86_400, "enterprise": 86_400}


class CloudflareFeature(NamedTuple):
    """What one Cloudflare feature the edge uses needs from the plan and add-ons."""

    what: str
    """The feature as a message names it (a singular noun phrase)."""
    plan: str
    """The least plan that offers it."""
    add_on: str | None = None
    """The add-on it needs on top of the plan, if any..."""
    included_from: str | None = None
    """...unless the plan is this one or above (None: the add-on is needed on every plan)."""


def _least_plan(period: int, timeout: int) -> str:
    return next(
        p
        for p in CLOUDFLARE_PLANS
        if period <= RATE_LIMIT_MAX_PERIOD[p] and timeout <= RATE_LIMIT_MAX_TIMEOUT[p]
    )


# Every Cloudflare feature the global stack uses, and what it needs. The config rules hold
# regions/global.yaml's plan and add-ons to all of them (rollout.config.rules.cloudflare_plan);
# a test classifies every Cloudflare resource of the global plan under one of these keys.
CLOUDFLARE_FEATURES: dict[str, CloudflareFeature] = {
    # A paid add-on on every plan, Enterprise included (/load-balancing/).
    "load_balancing": CloudflareFeature(
        "load balancing (the load balancer, its pools and monitors)", "free", "load_balancing"
    ),
    # Beyond Off (failover) and Random, steering is for Enterprise or with Traffic steering
    # bought (/load-balancing/understand-basics/traffic-steering/steering-policies/
    # standard-options/).
    "geo_steering": CloudflareFeature(
        "geo steering", "free", "traffic_steering", included_from="enterprise"
    ),
    # The Cloudflare Managed Ruleset and the OWASP Core Ruleset: paid plans (/waf/managed-rules/).
    "managed_waf": CloudflareFeature(
        "the managed WAF (the Cloudflare Managed and OWASP Core rulesets)", "pro"
    ),
    "rate_limit": CloudflareFeature(
        f"the sign-in rate limit ({SIGN_IN_RATE_LIMIT_PERIOD} s period, "
        f"{SIGN_IN_RATE_LIMIT_TIMEOUT} s block)",
        _least_plan(SIGN_IN_RATE_LIMIT_PERIOD, SIGN_IN_RATE_LIMIT_TIMEOUT),
    ),
    # Origin Rules: the Host header, SNI and DNS record overrides are Enterprise only; a
    # destination port override is on every plan (/rules/origin-rules/).
    "origin_overrides": CloudflareFeature(
        "the l10n origin rule (its Host header and DNS record overrides)", "enterprise"
    ),
    # The cell router runs on every request to the app host; Workers Free stops at 100,000
    # requests a day and 10 ms of CPU each (https://developers.cloudflare.com/workers/platform/limits/).
    "workers": CloudflareFeature(
        "the cell router on every request to the app host", "free", "workers_paid"
    ),
    # On every plan: cache rules, URL rewrites without regex (/rules/transform/), DNS records,
    # DNSSEC (/dns/dnssec/), the zone's TLS, HTTPS and HSTS settings (/ssl/), per-hostname
    # authenticated origin pulls (/ssl/origin-configuration/authenticated-origin-pull/).
    "cache_rules": CloudflareFeature("cache rules", "free"),
    "url_rewrite": CloudflareFeature("the l10n URL rewrite", "free"),
    "dns": CloudflareFeature("DNS records and DNSSEC", "free"),
    "zone_settings": CloudflareFeature("TLS, HTTPS and HSTS zone settings", "free"),
    "origin_pulls": CloudflareFeature("per-hostname authenticated origin pulls", "free"),
}

# --------------------------------------------------------------------------------------------
# Sharding
# --------------------------------------------------------------------------------------------

# Buckets per region: customers hash into them, cells hold them. Fixed at go-live; the bound
# keeps every loop and table over buckets small.
MAX_BUCKETS = 65_536

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

PROJECT_NAME = "demobank"

# A cell's name: lowercase words joined by hyphens. It is a Pulumi logical name, a part of
# every cloud name of the cell and the cell's Spanner database id (`<cell>-db`, 30 at most);
# 12 characters keep `demobank-<short>-<cell>-ingress` and the service account ids in range.
CELL_NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
CELL_NAME_MIN = 2
CELL_NAME_MAX = 12
CELL_NAME_RULE = (
    f"lowercase letters and digits in hyphen-separated words, starting with a letter, "
    f"{CELL_NAME_MIN}-{CELL_NAME_MAX} characters (e.g. eu-3)"
)


def is_cell_name(name: object) -> bool:
    """Whether ``name`` follows the cell-name rule above (pattern and length)."""
    import re

    return (
        isinstance(name, str)
        and CELL_NAME_MIN <= len(name) <= CELL_NAME_MAX
        and re.match(CELL_NAME_PATTERN, name) is not None
    )


# ============================================================================================
# Weblate (components/weblate.py): the translators' workspace, in the global stack
# ============================================================================================
#
# Everything Weblate adds to the catalog sits here, apart from the sections above: its type
# tokens, the APIs and service agents it needs, where it runs and under whose law, and its
# secret config. The last lines fold its types into the shared sets (stateful, labels, IAM
# grants) so the policies and the plan diff treat them like every other resource.

WEBLATE_COMPONENT = "demobank:weblate:Weblate"

SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_DATABASE = "gcp:sql/database:Database"
SQL_USER = "gcp:sql/user:User"
REDIS_INSTANCE = "gcp:redis/instance:Instance"
FILESTORE_INSTANCE = "gcp:filestore/instance:Instance"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_IAM_MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember"
SERVICE_NETWORKING_CONNECTION = "gcp:servicenetworking/connection:Connection"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_JOB = "gcp:cloudrunv2/job:Job"
CLOUD_RUN_SERVICE_IAM_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
IAP_CLOUD_RUN_IAM_MEMBER = "gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember"

# Where Weblate runs, and whose law its data is under: London, the UK. Translators' accounts,
# their work and the bank's unreleased text stay under UK GDPR, with the regional stack the
# London hub runs (https://cloud.google.com/about/locations: europe-west2 is London).
WEBLATE_REGION = "europe-west2"
WEBLATE_JURISDICTION = "uk"

# Every API Weblate's resources call, in the order they are enabled (never disabled on
# destroy, as in a region's foundation). vpcaccess is not listed: Cloud Run reaches the VPC by
# Direct VPC egress, without a Serverless VPC Access connector
# (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc).
WEBLATE_APIS = (
    API_RESOURCE_MANAGER, API_COMPUTE, API_IAM, API_KMS, API_SERVICE_NETWORKING, API_SQL_ADMIN,
    API_REDIS, API_FILESTORE, API_SECRET_MANAGER, API_RUN, API_IAP,
)  # fmt: skip


# The global stack's Weblate secrets are Pulumi secret config in this namespace
# (`pulumi config set --secret weblate:<key> -s global`); regions/global.yaml names the keys
# (weblate.secrets). Never in a committed file; the offline plan stands in marked placeholders.
WEBLATE_SECRETS_NAMESPACE = "weblate"

# Weblate's stateful resources: the database, its instance, the queue and sessions (Redis),
# the data volume (repositories, media, the Django secret) and the secrets. Secret versions are
# not: they are rebuilt from config, and a rotation disables the old one rather than delete it.
WEBLATE_STATEFUL = frozenset(
    {SQL_INSTANCE, SQL_DATABASE, REDIS_INSTANCE, FILESTORE_INSTANCE, SECRET}
)

STATEFUL = STATEFUL | WEBLATE_STATEFUL
LABELABLE = {
    **LABELABLE,
    SQL_INSTANCE: "settings.userLabels",  # nested: Cloud SQL labels sit in its settings
    REDIS_INSTANCE: "labels",
    FILESTORE_INSTANCE: "labels",
    CLOUD_RUN_SERVICE: "labels",
    CLOUD_RUN_JOB: "labels",
}
IAM_GRANTS = IAM_GRANTS | {
    CLOUD_RUN_SERVICE_IAM_MEMBER,
    "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
    IAP_CLOUD_RUN_IAM_MEMBER,
    "gcp:iap/webCloudRunServiceIamBinding:WebCloudRunServiceIamBinding",
}
