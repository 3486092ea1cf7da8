"""The catalog of facts: the one place each shared fact is written.

Type tokens, the stateful set, the labels every resource carries, the ingress tag and the
health-check ranges, the home pool's name, the cell-name rule. Components, policies, diff,
diagram, failover, names, the config models and the tests import them from here; nothing else
spells them out. Standard library only, so the CrossGuard pack and the real program can load it
without pulling in anything else.
"""

from __future__ import annotations

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

# Kubernetes (pulumi-kubernetes 4.x) inside each cell's cluster.
K8S_PROVIDER = "pulumi:providers:kubernetes"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
K8S_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
K8S_HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
K8S_BACKEND_POLICY = "kubernetes:networking.gke.io/v1:GCPBackendPolicy"

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


# The provider-side deletion guard of pulumi-gcp 10.x (``deletion_policy``): a destroy or a
# replacing update fails instead of deleting the resource ("DELETE" is the provider default).
PREVENT = "PREVENT"

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
# 12 characters keep `demobank-<short>-<cell>-keyring` and the service account ids in range.
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
