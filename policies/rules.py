"""Every policy, as pure functions over a resource's type and its properties (engine camelCase).

Two engines run the same rules:

* the offline engine: ``check_plan(plan)`` judges a ``rollout.plan.Plan`` (``rollout plan``,
  ``rollout check PLAN.json``, the tests);
* Pulumi CrossGuard: ``policies/crossguard.py`` wraps each rule in a ResourceValidationPolicy or
  StackValidationPolicy for ``pulumi preview --policy-pack policies``.

A *resource rule* is ``check(type_, props, ctx) -> list[str]`` (one message per problem) and
only sees the types it declares. A *stack rule* is ``check(nodes, ctx) -> list[(urn, message)]``
over every resource of the stack (components included, for ancestry).

Residency: a regional stack's expected region is ``Ctx.region``. ``check_plan`` takes it from
the plan's ``region`` output (``rollout.contract``) unless the caller passes a ctx; the
CrossGuard pack reads it from the policy pack's config (``rollout policy-config STACK``) and
fails closed when a rule that needs it has none. A stack without a region
(the global stack) is still held to the jurisdiction rule: a resource labelled with a region
keeps its data under that region's law (``rollout.catalog.REGION_JURISDICTIONS``: London is
the UK, not the EU), wherever its location puts the copies.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rollout import catalog, cloudflare_ips, names
from rollout.catalog import (
    ADDRESS,
    BASIC_ROLES,
    BUCKET,
    CELL,
    CF_DNS_RECORD,
    CF_DNSSEC,
    CF_LB,
    CF_MONITOR,
    CF_ORIGIN_PULLS,
    CF_ORIGIN_PULLS_HOSTNAME_CERTIFICATE,
    CF_POOL,
    CF_RULESET,
    CF_ZONE_SETTING,
    DDL_ROLES,
    FIREWALL,
    FORWARDING_RULE,
    GKE_CLUSTER,
    GKE_NODE_POOL,
    GLOBAL_ADDRESS,
    HEALTH_CHECK_RANGES,
    IAM_GRANTS,
    INGRESS_TAG,
    KAFKA_ACL,
    KAFKA_CLUSTER,
    KAFKA_TOPIC,
    KMS_CRYPTO_KEY,
    KMS_KEY_RING,
    LABELABLE,
    LOG_BUCKET,
    NETWORK,
    REGION_BACKEND_SERVICE,
    REGION_SECURITY_POLICY,
    REGION_TARGET_HTTPS_PROXY,
    REGION_URL_MAP,
    REQUIRED_LABELS,
    ROUTER,
    ROUTER_NAT,
    SERVER_TLS_POLICY,
    SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_IAM_MEMBER,
    SERVICE_AGENT_MEMBER,
    SPANNER_BACKUP_SCHEDULE,
    SPANNER_DATABASE,
    SPANNER_INSTANCE,
    STACK,
    STATEFUL,
    SUBNETWORK,
    WORKLOAD_IDENTITY_USER,
    jurisdictions_of,
)
from rollout.contract import region_of

if TYPE_CHECKING:
    from rollout.plan import Plan

# type -> (rollout.names kind, property holding the cloud name)
NAME_KINDS: dict[str, tuple[str, str]] = {
    NETWORK: ("compute", "name"),
    SUBNETWORK: ("compute", "name"),
    ROUTER: ("compute", "name"),
    ROUTER_NAT: ("compute", "name"),
    FIREWALL: ("compute", "name"),
    ADDRESS: ("compute", "name"),
    GLOBAL_ADDRESS: ("compute", "name"),
    GKE_CLUSTER: ("gke_cluster", "name"),
    GKE_NODE_POOL: ("gke_node_pool", "name"),
    SERVICE_ACCOUNT: ("service_account", "accountId"),
    SPANNER_INSTANCE: ("spanner_instance", "name"),
    SPANNER_DATABASE: ("spanner_database", "name"),
    KAFKA_CLUSTER: ("kafka_cluster", "clusterId"),
    KAFKA_TOPIC: ("kafka_topic", "topicId"),
    KMS_KEY_RING: ("kms", "name"),
    KMS_CRYPTO_KEY: ("kms", "name"),
    BUCKET: ("bucket", "name"),
    SPANNER_BACKUP_SCHEDULE: ("spanner_backup_schedule", "name"),
    # Weblate (components/weblate.py)
    catalog.SQL_INSTANCE: ("sql_instance", "name"),
    catalog.SQL_DATABASE: ("sql_database", "name"),
    catalog.REDIS_INSTANCE: ("redis_instance", "name"),
    catalog.FILESTORE_INSTANCE: ("filestore_instance", "name"),
    catalog.CLOUD_RUN_SERVICE: ("cloud_run", "name"),
    catalog.CLOUD_RUN_JOB: ("cloud_run", "name"),
    catalog.SECRET: ("secret", "secretId"),
    # A cell's load balancer (components/cell_bootstrap.py)
    catalog.REGION_HEALTH_CHECK: ("compute", "name"),
    REGION_BACKEND_SERVICE: ("compute", "name"),
    REGION_URL_MAP: ("compute", "name"),
    catalog.REGION_SSL_CERTIFICATE: ("compute_prefix", "namePrefix"),
    catalog.TRUST_CONFIG: ("compute", "name"),
    SERVER_TLS_POLICY: ("compute", "name"),
    REGION_TARGET_HTTPS_PROXY: ("compute", "name"),
    FORWARDING_RULE: ("compute", "name"),
}
# Extra names some types carry: (type, kind, property).
EXTRA_NAMES = [(SPANNER_INSTANCE, "spanner_display_name", "displayName")]

HSTS_MIN_AGE = 180 * 86_400
MANAGED_WAF_PHASE = "http_request_firewall_managed"

# Value a CrossGuard preview gives a property it cannot know yet (see crossguard._plain).
UNKNOWN = "<unknown>"


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What a rule may know beyond the properties: the stack, and the resource's options."""

    stack: str = ""
    region: str | None = None
    """The regional stack's region (its data residency); None for the global stack."""
    protect: bool = False
    """The resource's ``protect`` option."""
    in_cell: bool = False
    """The resource sits under a ``demobank:cell:Cell`` component."""
    cell: str | None = None
    """That cell's name, when the engine knows it (the offline plan does, CrossGuard does not)."""


@dataclass(frozen=True)
class Node:
    """One resource of a stack, engine-neutral, for stack rules."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    protect: bool = False


ResourceCheck = Callable[[str, Mapping[str, Any], Ctx], list[str]]
StackCheck = Callable[[Sequence[Node], Ctx], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    mandatory: bool
    types: frozenset[str]
    check: ResourceCheck
    needs_region: bool = False
    """Judges against the stack's region (``Ctx.region``): CrossGuard reads it from the policy
    pack's config and fails closed without it."""


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    mandatory: bool
    check: StackCheck


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    message: str
    mandatory: bool = True

    def __str__(self) -> str:
        return f"{self.rule}: {self.urn}: {self.message}"


RULES: list[Rule] = []
STACK_RULES: list[StackRule] = []


def rule(
    name: str,
    description: str,
    types: Iterable[str],
    *,
    mandatory: bool = True,
    needs_region: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    def register(fn: ResourceCheck) -> ResourceCheck:
        RULES.append(Rule(name, description, mandatory, frozenset(types), fn, needs_region))
        return fn

    return register


def stack_rule(
    name: str, description: str, *, mandatory: bool = True
) -> Callable[[StackCheck], StackCheck]:
    def register(fn: StackCheck) -> StackCheck:
        STACK_RULES.append(StackRule(name, description, mandatory, fn))
        return fn

    return register


def _get(props: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """``props['a']['b']`` for ``'a.b'``; default when any step is missing or not a mapping."""
    value: Any = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return default if value is None else value


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


# --------------------------------------------------------------------------------------------
# GKE (terraform-google-modules safer-cluster)
# --------------------------------------------------------------------------------------------


@rule("gke-private-nodes", "GKE nodes have no public IPs", [GKE_CLUSTER])
def gke_private_nodes(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if _get(props, "privateClusterConfig.enablePrivateNodes") is not True:
        return ["privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)"]
    return []


@rule("gke-workload-identity", "GKE workloads use Workload Identity", [GKE_CLUSTER])
def gke_workload_identity(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    pool = _get(props, "workloadIdentityConfig.workloadPool")
    if not pool:
        return ["workloadIdentityConfig.workloadPool must be set (<project>.svc.id.goog)"]
    if pool != UNKNOWN and not str(pool).endswith(".svc.id.goog"):
        return [f"workloadIdentityConfig.workloadPool {pool!r} is not <project>.svc.id.goog"]
    return []


def _secure_boot(node_config: Any, where: str) -> list[str]:
    if _get(node_config, "shieldedInstanceConfig.enableSecureBoot") is not True:
        return [f"{where}.shieldedInstanceConfig.enableSecureBoot must be true"]
    return []


@rule(
    "gke-shielded-nodes",
    "GKE uses shielded nodes with secure boot",
    [GKE_CLUSTER, GKE_NODE_POOL],
)
def gke_shielded_nodes(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if type_ == GKE_NODE_POOL:
        return _secure_boot(props.get("nodeConfig"), "nodeConfig")
    out = []
    if props.get("enableShieldedNodes") is not True:
        out.append("enableShieldedNodes must be true")
    if props.get("nodeConfig"):  # the default pool, when the cluster declares one
        out += _secure_boot(props["nodeConfig"], "nodeConfig")
    return out


# A set of authorized blocks that together covers this much of the public IPv4 internet is the
# internet in slices, however each block is judged alone (0.0.0.0/1 + 128.0.0.0/1 is all of
# it): no bank network needs a /8 worth of public addresses.
PUBLIC_SHARE_LIMIT = 1 / 256


def _global_addresses(net: ipaddress.IPv4Network) -> int:
    """Public (global) addresses in ``net``, counted per /8 for blocks larger than a /8."""
    pieces = net.subnets(new_prefix=8) if net.prefixlen < 8 else [net]
    return sum(p.num_addresses for p in pieces if p.is_global)


_PUBLIC_IPV4 = _global_addresses(ipaddress.IPv4Network("0.0.0.0/0"))


def _public_share(nets: Iterable[ipaddress.IPv4Network]) -> float:
    """The share of the public IPv4 internet that ``nets`` together cover (overlaps once)."""
    merged = ipaddress.collapse_addresses(nets)
    return sum(_global_addresses(n) for n in merged) / _PUBLIC_IPV4


@rule(
    "gke-authorized-networks",
    "the GKE control plane is reachable only from listed private networks, never the internet",
    [GKE_CLUSTER],
)
def gke_authorized_networks(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    config = props.get("masterAuthorizedNetworksConfig")
    if not config:
        return ["masterAuthorizedNetworksConfig must list the networks allowed in"]
    out = []
    nets: list[ipaddress.IPv4Network] = []
    for block in _list(_get(config, "cidrBlocks")):
        cidr = str(_get(block, "cidrBlock", ""))
        if cidr == UNKNOWN:
            continue  # judged when the value is known
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            out.append(f"masterAuthorizedNetworksConfig: {cidr!r} is not a CIDR block")
            continue
        if isinstance(net, ipaddress.IPv4Network):
            nets.append(net)
        if net.prefixlen == 0:
            out.append(f"masterAuthorizedNetworksConfig allows {cidr} (the whole internet)")
        elif not net.is_private:
            out.append(
                f"masterAuthorizedNetworksConfig allows {cidr}, which is not a private range; "
                "list only private networks (RFC 1918)"
            )
    share = _public_share(nets)
    if share >= PUBLIC_SHARE_LIMIT and all(n.prefixlen for n in nets):  # a /0 is said above
        out.append(
            f"masterAuthorizedNetworksConfig blocks together cover {share:.1%} of the public "
            "IPv4 internet; list only private networks (RFC 1918)"
        )
    if _get(config, "gcpPublicCidrsAccessEnabled") is True:
        out.append("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled must not be true")
    return out


def _service_account(node_config: Any, where: str) -> list[str]:
    account = str(_get(node_config, "serviceAccount", ""))
    if not account:
        return [f"{where}.serviceAccount must be set (not the Compute Engine default)"]
    if account == "default" or account.endswith("-compute@developer.gserviceaccount.com"):
        return [f"{where}.serviceAccount {account!r} is the Compute Engine default account"]
    return []


@rule(
    "gke-no-default-service-account",
    "GKE nodes run as a dedicated service account, not the Compute Engine default",
    [GKE_CLUSTER, GKE_NODE_POOL],
)
def gke_no_default_service_account(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if type_ == GKE_NODE_POOL:
        return _service_account(props.get("nodeConfig"), "nodeConfig")
    if props.get("nodeConfig"):
        return _service_account(props["nodeConfig"], "nodeConfig")
    # removeDefaultNodePool does not help: the default pool's nodes run until it is removed.
    return [
        "the default node pool runs as the Compute Engine default account (even when "
        "removeDefaultNodePool deletes it after creation); set nodeConfig.serviceAccount"
    ]


@rule("gke-deletion-protection", "GKE clusters carry deletion protection", [GKE_CLUSTER])
def gke_deletion_protection(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if props.get("deletionProtection") is not True:
        return ["deletionProtection must be true"]
    return []


# --------------------------------------------------------------------------------------------
# Data loss
# --------------------------------------------------------------------------------------------


@rule(
    "stateful-protect",
    "stateful resources (Spanner, Kafka clusters and topics, buckets, KMS, Cloud SQL, "
    "Memorystore, Filestore, secrets) carry protect",
    STATEFUL,
)
def stateful_protect(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not ctx.protect:
        return ["stateful resource without protect=True (pulumi would delete it on removal)"]
    return []


@rule(
    "spanner-deletion-protection",
    "Spanner databases carry deletion and drop protection; instances are never force-destroyed",
    [SPANNER_INSTANCE, SPANNER_DATABASE],
)
def spanner_deletion_protection(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if type_ == SPANNER_INSTANCE:
        if props.get("forceDestroy") is True:
            return ["forceDestroy must not be true (it deletes the instance's backups)"]
        return []
    out = []
    if props.get("deletionProtection") is not True:
        out.append("deletionProtection must be true")
    if props.get("enableDropProtection") is not True:
        out.append("enableDropProtection must be true (guards against DROP in the API too)")
    return out


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration_seconds(text: str) -> int | None:
    """Spanner's duration syntax (``7d``, ``24h``, ``1440m``, ``86400s``); None if not one."""
    match = _DURATION.match(str(text).strip())
    return int(match.group(1)) * _UNIT[match.group(2)] if match else None


@rule(
    "spanner-pitr",
    "Spanner databases keep at least one day of point-in-time recovery",
    [SPANNER_DATABASE],
)
def spanner_pitr(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    period = props.get("versionRetentionPeriod")
    if not period:
        return ["versionRetentionPeriod must be set to at least 1d (the default is 1h)"]
    seconds = duration_seconds(period)
    if seconds is None:
        return [] if period == UNKNOWN else [f"versionRetentionPeriod {period!r} is not a duration"]
    if seconds < 86_400:
        return [f"versionRetentionPeriod {period} is under 1d"]
    return []


@rule(
    "bucket-deletion-protection",
    "buckets are never force-destroyed and keep object versions",
    [BUCKET],
)
def bucket_deletion_protection(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    out = []
    if props.get("forceDestroy") is True:
        out.append("forceDestroy must not be true (it deletes every object with the bucket)")
    if _get(props, "versioning.enabled") is not True:
        out.append("versioning.enabled must be true")
    return out


def _short(name: Any) -> str:
    """The last path segment: ``projects/p/instances/i/databases/d`` -> ``d``."""
    return str(name or "").rsplit("/", 1)[-1]


@stack_rule("spanner-backup-schedule", "every Spanner database has a backup schedule")
def spanner_backup_schedule(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    schedules = [n for n in nodes if n.type == SPANNER_BACKUP_SCHEDULE]
    out = []
    for db in (n for n in nodes if n.type == SPANNER_DATABASE):
        db_name = _short(db.props.get("name") or db.name)
        db_instance = _short(db.props.get("instance"))
        covered = any(
            db.urn in s.dependencies
            or (
                _short(s.props.get("database")) == db_name
                and _short(s.props.get("instance")) == db_instance
            )
            for s in schedules
        )
        if not covered:
            out.append((db.urn, f"database {db_name!r} has no {SPANNER_BACKUP_SCHEDULE}"))
    return out


# --------------------------------------------------------------------------------------------
# Residency
# --------------------------------------------------------------------------------------------

# type -> the property that places it: every type a regional stack builds with a location
# (a test holds every located type of the shipped plans to this table). Buckets and log
# buckets keep data; KMS key rings hold the keys to it; the rest place its processing.
LOCATION_PROPS: dict[str, str] = {
    SPANNER_INSTANCE: "config",
    KAFKA_CLUSTER: "location",
    KAFKA_TOPIC: "location",
    KAFKA_ACL: "location",
    SUBNETWORK: "region",
    ADDRESS: "region",
    ROUTER: "region",
    ROUTER_NAT: "region",
    REGION_SECURITY_POLICY: "region",
    GKE_CLUSTER: "location",
    GKE_NODE_POOL: "location",
    KMS_KEY_RING: "location",
    BUCKET: "location",
    LOG_BUCKET: "location",
    # A cell's load balancer: where TLS ends, the origin key and the trust anchor live
    catalog.REGION_HEALTH_CHECK: "region",
    REGION_BACKEND_SERVICE: "region",
    REGION_URL_MAP: "region",
    catalog.REGION_SSL_CERTIFICATE: "region",
    REGION_TARGET_HTTPS_PROXY: "region",
    FORWARDING_RULE: "region",
    catalog.TRUST_CONFIG: "location",
    SERVER_TLS_POLICY: "location",
    # Weblate's, in the global stack (components/weblate.py)
    catalog.SQL_INSTANCE: "region",
    catalog.REDIS_INSTANCE: "region",
    catalog.FILESTORE_INSTANCE: "location",
    catalog.CLOUD_RUN_SERVICE: "location",
    catalog.CLOUD_RUN_JOB: "location",
}
# Types the provider would place somewhere of its own choosing (its default region, or
# `global`) when the location is left out: a regional stack must set it.
MUST_BE_PLACED = frozenset(
    {SPANNER_INSTANCE, KAFKA_CLUSTER, KMS_KEY_RING, BUCKET, LOG_BUCKET, GKE_CLUSTER}
    | {catalog.SQL_INSTANCE, catalog.REDIS_INSTANCE, catalog.FILESTORE_INSTANCE}
    # the origin key and the TLS it terminates; a trust config or TLS policy left unplaced is
    # global, and the load balancer's regional proxy could not use it
    | {catalog.REGION_SSL_CERTIFICATE, REGION_TARGET_HTTPS_PROXY, FORWARDING_RULE}
    | {catalog.TRUST_CONFIG, SERVER_TLS_POLICY}
)


SQL_BACKUP_LOCATION = "settings.backupConfiguration.location"


def _sql_backups(props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(SQL_BACKUP_LOCATION, _get(props, SQL_BACKUP_LOCATION))]


def _secret_replicas(props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    replicas = _list(_get(props, "replication.userManaged.replicas"))
    return [
        (f"replication.userManaged.replicas[{i}].location", _get(r, "location"))
        for i, r in enumerate(replicas)
    ]


# Types that keep copies in more places than LOCATION_PROPS says; each place is judged. Cloud
# SQL's backups have a location of their own, by default the nearest multi-region: for London,
# the EU (https://cloud.google.com/sql/docs/postgres/backup-recovery/backups#custom-backup-location).
# A secret's user-managed replicas each name theirs; automatic replication lets Google choose
# (https://cloud.google.com/secret-manager/docs/choosing-replication).
EXTRA_PLACEMENTS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, Any]]]] = {
    catalog.SQL_INSTANCE: _sql_backups,
    catalog.SECRET: _secret_replicas,
}
# What an unset extra placement means: the provider's default, somewhere the rule cannot hold.
UNPLACED = {
    catalog.SQL_INSTANCE: "is unset, so Cloud SQL keeps backups in the nearest multi-region",
    catalog.SECRET: "has no user-managed replicas, so Google places the copies (automatic)",
}


def placements(type_: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every (property path, location) that places a copy of the resource's data."""
    key = LOCATION_PROPS.get(type_)
    found = [(key, props.get(key))] if key else []
    if type_ in EXTRA_PLACEMENTS:
        found += EXTRA_PLACEMENTS[type_](props)
    return found


def _expected(type_: str, region: str) -> str:
    return f"regional-{region}" if type_ == SPANNER_INSTANCE else region


@rule(
    "data-residency",
    "a regional stack's stateful and network resources sit in the stack's region",
    LOCATION_PROPS,
    needs_region=True,
)
def data_residency(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not ctx.region:
        return []
    key = LOCATION_PROPS[type_]
    value = props.get(key)
    if value is None or value == UNKNOWN:
        if type_ in MUST_BE_PLACED:
            return [f"{key} must be set to {_expected(type_, ctx.region)!r} (region residency)"]
        return []  # subnets etc. default to the provider's region
    want = _expected(type_, ctx.region).lower()
    got = str(value).lower()
    zonal = type_ != SPANNER_INSTANCE and got.startswith(f"{want}-")  # a zone of the region
    if got != want and not zonal:
        residency = _expected(type_, ctx.region)
        return [f"{key} is {value!r}; the {ctx.stack or 'stack'} residency is {residency!r}"]
    return []


def _codes(found: Iterable[str]) -> str:
    return ", ".join(sorted(found))


@rule(
    "residency-jurisdiction",
    "data stays under the law of the region it belongs to: London is the UK, not the EU; "
    "Singapore is Singapore (rollout.catalog.REGION_JURISDICTIONS)",
    set(LOCATION_PROPS) | set(EXTRA_PLACEMENTS),
    needs_region=True,
)
def residency_jurisdiction(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    """The resource's region (the stack's, else its region label) fixes one jurisdiction; every
    copy its placements keep (its location; a Cloud SQL instance's backups, a secret's replicas)
    must be under it. A location whose jurisdictions are not known (an unlisted multi-region) is
    refused for data that has a region: it cannot be shown to stay.
    """
    labels = _get(props, LABELABLE.get(type_, "labels")) or {}
    declared = ctx.region or (labels.get("region") if isinstance(labels, Mapping) else None)
    if not declared:
        return []
    want = jurisdictions_of(declared)
    if want is None:
        return []  # `global` resources belong to no one region
    out = []
    where = placements(type_, props)
    if type_ in UNPLACED and not [v for _, v in EXTRA_PLACEMENTS[type_](props) if v]:
        extra = SQL_BACKUP_LOCATION if type_ == catalog.SQL_INSTANCE else "replication"
        out.append(f"{extra} {UNPLACED[type_]}; data of {declared} stays: place it in {declared}")
    for key, value in where:
        if not value or value == UNKNOWN:
            continue
        got = jurisdictions_of(value)
        if got is None:
            out.append(
                f"{key} {value!r} has no known jurisdiction (rollout.catalog); data of {declared} "
                f"must stay under {_codes(want)} law: place it in {declared}"
            )
        elif got != want:
            out.append(
                f"{key} {value!r} is under {_codes(got)} law; data of {declared} must stay under "
                f"{_codes(want)} law"
            )
    return out


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def cell_of(urn: str, by_urn: Mapping[str, Node]) -> str | None:
    """The urn of the nearest ``demobank:cell:Cell`` at or above ``urn``."""
    seen = set()
    node = by_urn.get(urn)
    while node is not None and node.urn not in seen:
        if node.type == CELL:
            return node.urn
        seen.add(node.urn)
        node = by_urn.get(node.parent) if node.parent else None
    return None


@stack_rule(
    "cell-isolation",
    "cells share nothing: no dependency path between cells, nothing shared depends on a cell, "
    "no principal is granted in two cells, and no cell uses a shared resource of a kind it owns",
)
def cell_isolation(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    """The one definition of cell isolation (the tests use it too): three ways to share.

    Dependencies: a resource's reach is every resource it depends on, transitively. A cell's
    resource may reach the shared substrate and its own cell, never another cell; a substrate
    resource may reach no cell at all. Identity: a principal granted inside one cell (an IAM
    member, a Kafka ACL principal) is granted in no other. Ownership: where a cell owns a
    resource of some kind (its own subnet), none of its resources uses a shared one of that
    kind instead (the cluster must run in the cell's subnet, not the substrate's).
    """
    by_urn = {n.urn: n for n in nodes}
    cell = {n.urn: cell_of(n.urn, by_urn) for n in nodes}
    return [
        *_paths_between_cells(nodes, by_urn, cell),
        *_principals_in_two_cells(nodes, by_urn, cell),
        *_shared_where_owned(nodes, by_urn, cell),
    ]


def _paths_between_cells(
    nodes: Sequence[Node], by_urn: Mapping[str, Node], cell: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    reach: dict[str, dict[str, str]] = {}  # urn -> {cell urn: first resource reached in it}

    def cells_reached(urn: str) -> dict[str, str]:
        if urn in reach:
            return reach[urn]
        reach[urn] = {}  # a cycle (never in a real plan) ends here
        found: dict[str, str] = {}
        for dep in by_urn[urn].dependencies if urn in by_urn else ():
            if dep not in by_urn:
                continue
            if (theirs := cell[dep]) is not None:
                found.setdefault(theirs, dep)
            for c, first in cells_reached(dep).items():
                found.setdefault(c, first)
        reach[urn] = found
        return found

    out = []
    for node in nodes:
        mine = cell[node.urn]
        for theirs, dep in sorted(cells_reached(node.urn).items()):
            if theirs == mine:
                continue
            who = f"cell {by_urn[mine].name!r}" if mine else "the shared substrate"
            out.append((node.urn, f"{who} depends on {dep} of cell {by_urn[theirs].name!r}"))
    return out


def principals(node: Node) -> list[str]:
    """Who a grant names: IAM ``member``/``members``, Kafka ACL entries' principals."""
    found = [node.props.get("member"), *_list(node.props.get("members"))]
    found += [_get(e, "principal") for e in _list(node.props.get("aclEntries"))]
    return [p for p in found if isinstance(p, str) and p and p != UNKNOWN]


def _principals_in_two_cells(
    nodes: Sequence[Node], by_urn: Mapping[str, Node], cell: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    first: dict[str, tuple[str, str]] = {}  # principal -> (cell urn, granting urn)
    out = []
    for node in nodes:
        mine = cell[node.urn]
        if mine is None or (node.type not in IAM_GRANTS and node.type != KAFKA_ACL):
            continue
        for principal in principals(node):
            if re.match(SERVICE_AGENT_MEMBER, principal):
                continue  # Google's own agent, granted per cell resource: see the catalog
            other, where = first.setdefault(principal, (mine, node.urn))
            if other != mine:
                out.append(
                    (
                        node.urn,
                        f"{principal} is granted in cell {by_urn[mine].name!r} and in cell "
                        f"{by_urn[other].name!r} ({where}); give each cell its own identity",
                    )
                )
    return out


def _kind(node: Node) -> str:
    """What a resource is for: its type, and for a subnet its purpose. A cell's subnet is a
    private one; the region's proxy-only subnet (REGIONAL_MANAGED_PROXY, one per region and
    VPC) is another kind, which a cell's load balancer needs and no cell can own."""
    if node.type == SUBNETWORK:
        return f"{node.type}/{node.props.get('purpose') or 'PRIVATE'}"
    return node.type


def _shared_where_owned(
    nodes: Sequence[Node], by_urn: Mapping[str, Node], cell: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    owned: dict[str, set[str]] = {}  # cell urn -> the kinds of resource it owns
    for node in nodes:
        if (mine := cell[node.urn]) is not None:
            owned.setdefault(mine, set()).add(_kind(node))
    out = []
    for node in nodes:
        mine = cell[node.urn]
        if mine is None:
            continue
        for dep in node.dependencies:
            used = by_urn.get(dep)
            if used is not None and cell[dep] is None and _kind(used) in owned[mine]:
                out.append(
                    (
                        node.urn,
                        f"uses the shared {used.type} {used.name!r} while cell "
                        f"{by_urn[mine].name!r} has its own; use the cell's",
                    )
                )
    return out


@rule("no-basic-roles", "no basic role (owner, editor, viewer) is granted anywhere", IAM_GRANTS)
def no_basic_roles(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    role = props.get("role")
    if role in BASIC_ROLES:
        return [
            f"role {role} is a basic role (it spans every resource of its scope); grant the "
            "predefined role the job needs, e.g. roles/container.clusterViewer"
        ]
    return []


@stack_rule(
    "workload-no-ddl",
    "a workload identity (a Google account pods act as) holds no role that can change a schema",
)
def workload_no_ddl(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    """Accounts bound with roles/iam.workloadIdentityUser are workloads; none may hold DDL."""
    accounts = {n.urn: n for n in nodes if n.type == SERVICE_ACCOUNT}
    workloads: set[str] = set()
    for node in nodes:
        role = node.props.get("role")
        if node.type == SERVICE_ACCOUNT_IAM_MEMBER and role == WORKLOAD_IDENTITY_USER:
            for dep in node.dependencies:
                if dep in accounts:
                    workloads.add(_member_of(accounts[dep]))
    out = []
    for node in nodes:
        if node.type in IAM_GRANTS and node.props.get("role") in DDL_ROLES:
            for principal in principals(node):
                if principal in workloads:
                    out.append(
                        (
                            node.urn,
                            f"{principal} runs a workload and is granted {node.props['role']}, "
                            "which can change the schema; grant the database role through "
                            "roles/spanner.fineGrainedAccessUser and leave DDL to the cell's "
                            "migration identity",
                        )
                    )
    return out


def _member_of(account: Node) -> str:
    """``serviceAccount:<email>`` of a service account resource, as grants name it."""
    email = account.props.get("email")
    if isinstance(email, str) and email:
        return f"serviceAccount:{email}"
    return f"serviceAccount:{account.props.get('accountId')}@"


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


def _is_everywhere(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _is_public(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).is_global
    except ValueError:
        return False


@rule(
    "firewall-no-open-ingress",
    "nothing is allowed in from the internet but Google's health checks to ingress nodes",
    [FIREWALL],
)
def firewall_no_open_ingress(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if str(props.get("direction") or "INGRESS").upper() != "INGRESS" or not props.get("allows"):
        return []  # denies, and egress rules, open nothing
    if props.get("disabled") is True:
        return []
    sources = [str(s) for s in _list(props.get("sourceRanges"))]
    if not sources and not props.get("sourceTags") and not props.get("sourceServiceAccounts"):
        return ["an allow rule without sources admits 0.0.0.0/0; list sourceRanges"]
    out = []
    for cidr in sources:
        if cidr in HEALTH_CHECK_RANGES:
            if INGRESS_TAG not in _list(props.get("targetTags")):
                out.append(f"health-check range {cidr} must target only {INGRESS_TAG!r} nodes")
        elif _is_everywhere(cidr):
            out.append(f"allows traffic from {cidr} (the whole internet)")
        elif _is_public(cidr):
            out.append(f"allows traffic from public range {cidr}")
    return out


# --------------------------------------------------------------------------------------------
# Edge (Cloudflare)
# --------------------------------------------------------------------------------------------


def _setting(props: Mapping[str, Any], setting: str) -> bool:
    return props.get("settingId") == setting


@rule("cloudflare-min-tls", "the zone refuses TLS below 1.2", [CF_ZONE_SETTING])
def cloudflare_min_tls(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if _setting(props, "min_tls_version") and str(props.get("value")) not in ("1.2", "1.3"):
        return [f"min_tls_version is {props.get('value')!r}; use '1.2' or '1.3'"]
    return []


@rule("cloudflare-ssl-strict", "Cloudflare validates origin certificates", [CF_ZONE_SETTING])
def cloudflare_ssl_strict(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if _setting(props, "ssl") and props.get("value") != "strict":
        return [f"ssl is {props.get('value')!r}; use 'strict' (Full strict)"]
    return []


def _either(obj: Any, camel: str, snake: str) -> Any:
    """ZoneSetting.value is free-form: accept the API's snake_case or camelCase keys."""
    if not isinstance(obj, Mapping):
        return None
    return obj.get(camel, obj.get(snake))


@rule(
    "cloudflare-hsts",
    "HSTS is on with a max-age of at least 180 days",
    [CF_ZONE_SETTING],
)
def cloudflare_hsts(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not _setting(props, "security_header"):
        return []
    hsts = _either(props.get("value"), "strictTransportSecurity", "strict_transport_security")
    if _either(hsts, "enabled", "enabled") is not True:
        return ["security_header.strict_transport_security.enabled must be true"]
    age = _either(hsts, "maxAge", "max_age")
    if not isinstance(age, (int, float)) or age < HSTS_MIN_AGE:
        return [f"HSTS max_age {age!r} is under 180 days ({HSTS_MIN_AGE} s)"]
    return []


@rule("cloudflare-dnssec", "DNSSEC is active on the zone", [CF_DNSSEC])
def cloudflare_dnssec(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if props.get("status") != "active":
        return [f"status is {props.get('status')!r}; set 'active'"]
    return []


def _executes_managed(props: Mapping[str, Any]) -> bool:
    return any(
        _get(r, "action") == "execute"
        and _get(r, "actionParameters.id")
        and _get(r, "enabled", True) is not False
        for r in _list(props.get("rules"))
    )


@rule(
    "cloudflare-waf-managed",
    "the zone's managed WAF phase executes managed rulesets",
    [CF_RULESET],
)
def cloudflare_waf_managed(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if props.get("phase") == MANAGED_WAF_PHASE and not _executes_managed(props):
        return [f"a {MANAGED_WAF_PHASE} ruleset must execute at least one managed ruleset"]
    return []


@rule("cloudflare-pool-monitor", "every load-balancer pool has a health monitor", [CF_POOL])
def cloudflare_pool_monitor(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not props.get("monitor") and not props.get("monitorGroup"):
        return ["pool has no monitor; unhealthy origins would keep receiving traffic"]
    return []


@rule("cloudflare-lb-fallback", "every load balancer names a fallback pool", [CF_LB])
def cloudflare_lb_fallback(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not props.get("fallbackPool"):
        return ["load balancer has no fallbackPool"]
    return []


@rule(
    "cloudflare-monitor-secure",
    "health monitors validate origin certificates",
    [CF_MONITOR],
)
def cloudflare_monitor_secure(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if props.get("allowInsecure") is True:
        return ["allowInsecure must not be true"]
    return []


# Settings, and resources, a hardened zone must declare (not just get right when present).
REQUIRED_ZONE_SETTINGS = ("min_tls_version", "ssl", "security_header")


@stack_rule(
    "cloudflare-zone-hardening",
    "a stack with Cloudflare resources declares min TLS, strict SSL, HSTS, DNSSEC and the WAF",
)
def cloudflare_zone_hardening(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    cloudflare = [n for n in nodes if n.type.startswith("cloudflare:")]
    if not cloudflare:
        return []
    anchor = next((n.urn for n in nodes if n.type == STACK), cloudflare[0].urn)
    declared = {n.props.get("settingId") for n in nodes if n.type == CF_ZONE_SETTING}
    out = [
        (anchor, f"no {CF_ZONE_SETTING} for {s!r}")
        for s in REQUIRED_ZONE_SETTINGS
        if s not in declared
    ]
    if not any(n.type == CF_DNSSEC for n in nodes):
        out.append((anchor, f"no {CF_DNSSEC}"))
    if not any(n.type == CF_RULESET and n.props.get("phase") == MANAGED_WAF_PHASE for n in nodes):
        out.append((anchor, f"no {CF_RULESET} in phase {MANAGED_WAF_PHASE}"))
    return out


# Cloud Armor's default rule: the lowest priority, evaluated when nothing else matched.
ARMOR_DEFAULT_PRIORITY = 2_147_483_647


@stack_rule(
    "cell-ingress-cloudflare-only",
    "every cell's ingress has a Cloud Armor policy that admits only Cloudflare's published ranges",
)
def cell_ingress_cloudflare_only(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    by_urn = {n.urn: n for n in nodes}
    cells = [n for n in nodes if n.type == CELL]
    allowed = set(cloudflare_ips.load().all)
    guarded: set[str] = set()
    out: list[tuple[str, str]] = []
    for policy in (n for n in nodes if n.type == REGION_SECURITY_POLICY):
        mine = cell_of(policy.urn, by_urn)
        if mine is not None:
            guarded.add(mine)
        rules = [r for r in _list(policy.props.get("rules")) if isinstance(r, Mapping)]
        default = [r for r in rules if r.get("priority") == ARMOR_DEFAULT_PRIORITY]
        if not default or not str(default[0].get("action", "")).startswith("deny"):
            out.append((policy.urn, "the default rule must deny; only Cloudflare is admitted"))
        for r in rules:
            if r.get("action") != "allow":
                continue
            ranges = [str(x) for x in _list(_get(r, "match.config.srcIpRanges"))]
            outside = [x for x in ranges if x not in allowed]
            if outside or not ranges:
                found = ", ".join(outside) or "no ranges"
                out.append(
                    (
                        policy.urn,
                        f"rule {r.get('priority')} allows {found}, not Cloudflare's published "
                        "ranges (edge/cloudflare-ips.json)",
                    )
                )
    for c in cells:
        if c.urn not in guarded:
            out.append((c.urn, f"cell {c.name!r} has no Cloud Armor policy admitting Cloudflare"))
    return out


# Frontend mTLS on a regional external Application Load Balancer: a ServerTlsPolicy on the
# target HTTPS proxy, REJECT_INVALID with a Certificate Manager trust config
# (https://cloud.google.com/load-balancing/docs/mtls; REJECT_INVALID requires a non-empty
# trust config: https://cloud.google.com/load-balancing/docs/reference/network-security/rest/v1/projects.locations.serverTlsPolicies).
MTLS_REJECT_INVALID = "REJECT_INVALID"
EXTERNAL_SCHEMES = ("EXTERNAL", "EXTERNAL_MANAGED")


@stack_rule(
    "cell-ingress-mtls",
    "every cell's external forwarding rule leads to a target HTTPS proxy whose ServerTlsPolicy "
    "rejects a client without the bank's certificate (REJECT_INVALID, a trust config), and to "
    "backend services that carry a Cloud Armor policy",
)
def cell_ingress_mtls(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    by_urn = {n.urn: n for n in nodes}

    def deps(node: Node, type_: str) -> list[Node]:
        return [by_urn[d] for d in node.dependencies if d in by_urn and by_urn[d].type == type_]

    out: list[tuple[str, str]] = []
    served: set[str] = set()
    for rule in (n for n in nodes if n.type == FORWARDING_RULE):
        scheme = str(rule.props.get("loadBalancingScheme") or "EXTERNAL").upper()
        mine = cell_of(rule.urn, by_urn)
        if mine is None or scheme not in EXTERNAL_SCHEMES:
            continue
        served.add(mine)
        proxies = deps(rule, REGION_TARGET_HTTPS_PROXY)
        if not proxies:
            out.append((rule.urn, "forwards to no target HTTPS proxy, so no client certificate "
                        "is asked for; target the cell's RegionTargetHttpsProxy"))  # fmt: skip
        for proxy in proxies:
            out += _proxy_mtls(proxy, deps)
    for c in (n for n in nodes if n.type == CELL):
        if c.urn not in served:
            out.append((c.urn, f"cell {c.name!r} has no external forwarding rule demanding the "
                        "bank's client certificate"))  # fmt: skip
    return out


def _proxy_mtls(proxy: Node, deps: Callable[[Node, str], list[Node]]) -> list[tuple[str, str]]:
    """A cell's target HTTPS proxy: its ServerTlsPolicy demands a valid client certificate, and
    every backend service behind its URL map carries a Cloud Armor policy."""
    out: list[tuple[str, str]] = []
    policies = deps(proxy, SERVER_TLS_POLICY)
    if not proxy.props.get("serverTlsPolicy") or not policies:
        out.append((proxy.urn, "has no ServerTlsPolicy: any client reaches the cell without the "
                    "bank's certificate; set server_tls_policy (REJECT_INVALID)"))  # fmt: skip
    for policy in policies:
        mode = _get(policy.props, "mtlsPolicy.clientValidationMode")
        if mode != MTLS_REJECT_INVALID:
            out.append((policy.urn, f"mtlsPolicy.clientValidationMode is {mode!r}; use "
                        f"{MTLS_REJECT_INVALID!r} so a client without the certificate is "
                        "refused"))  # fmt: skip
        trust = _get(policy.props, "mtlsPolicy.clientValidationTrustConfig")
        if not trust or not deps(policy, catalog.TRUST_CONFIG):
            out.append((policy.urn, "mtlsPolicy.clientValidationTrustConfig names no trust "
                        "config of the cell; point it at the bank's origin-pull CA"))  # fmt: skip
    services = [b for m in deps(proxy, REGION_URL_MAP) for b in deps(m, REGION_BACKEND_SERVICE)]
    if not services:
        out.append((proxy.urn, "routes to no backend service through a URL map"))
    for service in services:
        if not service.props.get("securityPolicy") or not deps(service, REGION_SECURITY_POLICY):
            out.append((service.urn, "carries no Cloud Armor policy; set security_policy to the "
                        "cell's Cloudflare-only policy"))  # fmt: skip
    return out


@stack_rule(
    "cloudflare-origin-pulls",
    "every cell origin host demands the bank's own client certificate (per-hostname origin pulls)",
)
def cloudflare_origin_pulls(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    origins = [
        n for n in nodes if n.type == CF_DNS_RECORD and ".origin." in str(n.props.get("name", ""))
    ]
    if not origins:
        return []
    enabled = {
        str(_get(c, "hostname"))
        for n in nodes
        if n.type == CF_ORIGIN_PULLS
        for c in _list(n.props.get("configs"))
        if _get(c, "enabled") is True and _get(c, "certId")
    }
    out = [
        (
            o.urn,
            f"origin {o.props.get('name')} has no per-hostname authenticated origin pull; "
            "list it in an AuthenticatedOriginPulls config with the bank's certificate",
        )
        for o in origins
        if o.props.get("name") not in enabled
    ]
    if not any(n.type == CF_ORIGIN_PULLS_HOSTNAME_CERTIFICATE for n in nodes):
        out.append(
            (
                origins[0].urn,
                "no AuthenticatedOriginPullsHostnameCertificate: the cells would accept "
                "Cloudflare's shared certificate, which any Cloudflare customer presents",
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# What the providers accept (the config models check the YAML; these check the plan, so a
# preview of a hand-edited program is held to the same rules). Sources: rollout.catalog.
# --------------------------------------------------------------------------------------------


@rule(
    "cloudflare-hsts-preload",
    "HSTS with preload carries a max-age of at least one year (the preload list's rule)",
    [CF_ZONE_SETTING],
)
def cloudflare_hsts_preload(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if not _setting(props, "security_header"):
        return []
    hsts = _either(props.get("value"), "strictTransportSecurity", "strict_transport_security")
    age = _either(hsts, "maxAge", "max_age")
    if _either(hsts, "preload", "preload") is not True or not isinstance(age, (int, float)):
        return []
    if age < catalog.HSTS_PRELOAD_MIN_AGE:
        return [
            f"HSTS preload with max_age {age}: the preload list needs at least "
            f"{catalog.HSTS_PRELOAD_MIN_AGE} s (one year)"
        ]
    return []


def _pu_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None  # unknown during preview
    step = (
        catalog.SPANNER_PU_STEP_SMALL
        if value < catalog.SPANNER_PU_STEP_LARGE
        else (catalog.SPANNER_PU_STEP_LARGE)
    )
    if value <= 0 or value % step:
        return f"{where} {value:g} is not a multiple of {step} (100s below 1000, 1000s above)"
    return None


@rule(
    "spanner-capacity",
    "Spanner processing units come in hundreds below 1000 and thousands above; the autoscaler "
    "needs the Enterprise or Enterprise Plus edition",
    [SPANNER_INSTANCE],
)
def spanner_capacity(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    limits = _get(props, "autoscalingConfig.autoscalingLimits") or {}
    out = [
        problem
        for key in ("minProcessingUnits", "maxProcessingUnits")
        if (problem := _pu_problem(_get(limits, key), f"autoscalingLimits.{key}"))
    ]
    if (problem := _pu_problem(props.get("processingUnits"), "processingUnits")) is not None:
        out.append(problem)
    edition = props.get("edition")
    if (
        props.get("autoscalingConfig")
        and edition not in (None, UNKNOWN)
        and edition not in catalog.SPANNER_AUTOSCALING_EDITIONS
    ):
        out.append(
            f"edition {edition!r} with autoscalingConfig: the managed autoscaler needs "
            f"{' or '.join(catalog.SPANNER_AUTOSCALING_EDITIONS)}"
        )
    return out


# --------------------------------------------------------------------------------------------
# Hygiene
# --------------------------------------------------------------------------------------------


@rule(
    "required-labels",
    "labelable resources carry hub, region, owner, cost-center (and cell, inside a cell)",
    LABELABLE,
    mandatory=False,  # cost attribution and paging, not security: advisory
    needs_region=True,
)
def required_labels(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    key = LABELABLE[type_]
    labels = _get(props, key) or {}  # a dotted path for nested labels (Cloud SQL's settings)
    if not isinstance(labels, Mapping):
        return []  # unknown during preview
    wanted = list(REQUIRED_LABELS) + (["cell"] if ctx.in_cell else [])
    missing = [k for k in wanted if not labels.get(k)]
    out = [f"{key} lacks {', '.join(missing)}"] if missing else []
    if ctx.cell and labels.get("cell") and labels["cell"] != ctx.cell:
        out.append(f"{key}.cell is {labels['cell']!r}; the resource is in cell {ctx.cell!r}")
    if ctx.region and labels.get("region") and labels["region"] != ctx.region:
        out.append(f"{key}.region is {labels['region']!r}; the stack's region is {ctx.region!r}")
    for k, v in labels.items():
        if "label_key" in names.LIMITS and (problem := names.check("label_key", str(k))):
            out.append(f"{key}: {problem}")
        if v != UNKNOWN and (problem := names.check("label_value", str(v))):
            out.append(f"{key}.{k}: {problem}")
    return out


@rule("resource-names", "cloud names are within their service's limits", NAME_KINDS)
def resource_names(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    checks = [NAME_KINDS[type_]] + [(k, p) for t, k, p in EXTRA_NAMES if t == type_]
    out = []
    for kind, key in checks:
        value = props.get(key)
        if not isinstance(value, str) or value == UNKNOWN or kind not in names.LIMITS:
            continue  # autonamed by the engine, or a kind rollout.names does not know
        problem = names.check(kind, _short(value) if kind != "kafka_topic" else value)
        if problem:
            out.append(f"{key}: {problem}")
    return out


# --------------------------------------------------------------------------------------------
# Weblate's managed services (components/weblate.py): Cloud SQL, Memorystore, Filestore,
# Secret Manager, Cloud Run. Each rule names the hardening the component sets as a constant,
# so a hand-edited program or a second user of these services is held to it too.
# --------------------------------------------------------------------------------------------

SQL_TLS_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


@rule(
    "cloudsql-private-ip",
    "Cloud SQL has no public IP, sits on a private network and accepts encrypted connections only",
    [catalog.SQL_INSTANCE],
)
def cloudsql_private_ip(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/sql/docs/postgres/configure-private-ip,
    # https://cloud.google.com/sql/docs/postgres/configure-ssl-instance#enforcing-ssl
    ip = _get(props, "settings.ipConfiguration") or {}
    out = []
    if _get(ip, "ipv4Enabled", True) is not False:
        out.append("settings.ipConfiguration.ipv4Enabled must be false (no public IP)")
    if not _get(ip, "privateNetwork"):
        out.append("settings.ipConfiguration.privateNetwork must name the VPC (private IP)")
    if _list(_get(ip, "authorizedNetworks")):
        out.append("settings.ipConfiguration.authorizedNetworks must be empty")
    mode = _get(ip, "sslMode")
    if mode != UNKNOWN and mode not in SQL_TLS_MODES:
        out.append(
            f"settings.ipConfiguration.sslMode is {mode!r}; use one of {', '.join(SQL_TLS_MODES)}"
        )
    return out


@rule(
    "cloudsql-backups",
    "Cloud SQL keeps daily backups and point-in-time recovery, and carries deletion protection",
    [catalog.SQL_INSTANCE],
)
def cloudsql_backups(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/sql/docs/postgres/backup-recovery/backups,
    # https://cloud.google.com/sql/docs/postgres/backup-recovery/pitr,
    # https://cloud.google.com/sql/docs/postgres/deletion-protection
    backup = _get(props, "settings.backupConfiguration") or {}
    out = []
    if _get(backup, "enabled") is not True:
        out.append("settings.backupConfiguration.enabled must be true")
    if _get(backup, "pointInTimeRecoveryEnabled") is not True:
        out.append("settings.backupConfiguration.pointInTimeRecoveryEnabled must be true")
    if not _get(backup, "backupRetentionSettings.retainedBackups"):
        out.append(
            "settings.backupConfiguration.backupRetentionSettings.retainedBackups must be set"
        )
    if props.get("deletionProtection") is False:
        out.append("deletionProtection must not be false (the provider would delete it)")
    if _get(props, "settings.deletionProtectionEnabled") is not True:
        out.append("settings.deletionProtectionEnabled must be true (the API refuses deletes)")
    return out


@rule(
    "redis-auth-tls",
    "Memorystore for Redis requires AUTH and TLS and is reached by private services access",
    [catalog.REDIS_INSTANCE],
)
def redis_auth_tls(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/memorystore/docs/redis/about-redis-auth,
    # https://cloud.google.com/memorystore/docs/redis/in-transit-encryption
    out = []
    if props.get("authEnabled") is not True:
        out.append("authEnabled must be true")
    if props.get("transitEncryptionMode") != "SERVER_AUTHENTICATION":
        out.append("transitEncryptionMode must be SERVER_AUTHENTICATION (TLS)")
    if props.get("connectMode") != "PRIVATE_SERVICE_ACCESS":
        out.append("connectMode must be PRIVATE_SERVICE_ACCESS")
    return out


def _secret_keys(props: Mapping[str, Any]) -> list[Any]:
    replicas = _list(_get(props, "replication.userManaged.replicas"))
    keys = [_get(r, "customerManagedEncryption.kmsKeyName") for r in replicas]
    return keys or [_get(props, "replication.auto.customerManagedEncryption.kmsKeyName")]


# Where each type takes its customer-managed key.
CMEK_PROPS: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {
    catalog.SQL_INSTANCE: lambda p: [p.get("encryptionKeyName")],
    catalog.REDIS_INSTANCE: lambda p: [p.get("customerManagedKey")],
    catalog.FILESTORE_INSTANCE: lambda p: [p.get("kmsKeyName")],
    catalog.SECRET: _secret_keys,
}


@rule(
    "customer-managed-keys",
    "Cloud SQL, Memorystore, Filestore and Secret Manager data is under the bank's own keys",
    CMEK_PROPS,
)
def customer_managed_keys(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/sql/docs/postgres/cmek, https://cloud.google.com/memorystore/docs/redis/cmek,
    # https://cloud.google.com/filestore/docs/cmek, https://cloud.google.com/secret-manager/docs/cmek
    if all(key for key in CMEK_PROPS[type_](props)):
        return []
    return ["no customer-managed key: encrypt it with the region's HSM key (CMEK)"]


# Where each type carries the provider's (or the API's) own deletion guard.
DELETION_GUARDS = {
    catalog.REDIS_INSTANCE: "deletionProtection",
    catalog.FILESTORE_INSTANCE: "deletionProtectionEnabled",
    catalog.SECRET: "deletionProtection",
    catalog.CLOUD_RUN_SERVICE: "deletionProtection",
}


@rule(
    "deletion-protection",
    "Memorystore, Filestore, secrets and Cloud Run services carry their provider's deletion guard",
    DELETION_GUARDS,
)
def deletion_protection(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    key = DELETION_GUARDS[type_]
    if props.get(key) is not True:
        return [f"{key} must be true"]
    return []


@rule(
    "cloud-run-iap",
    "a Cloud Run service open to the internet is behind IAP, and checks who invokes it",
    [catalog.CLOUD_RUN_SERVICE],
)
def cloud_run_iap(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run,
    # https://cloud.google.com/run/docs/securing/managing-access#invoker_check
    out = []
    ingress = props.get("ingress") or "INGRESS_TRAFFIC_ALL"
    if ingress == "INGRESS_TRAFFIC_ALL" and props.get("iapEnabled") is not True:
        out.append(
            "ingress INGRESS_TRAFFIC_ALL without iapEnabled: anyone on the internet reaches it"
        )
    if props.get("invokerIamDisabled") is True:
        out.append("invokerIamDisabled must not be true (no IAM check on who invokes it)")
    return out


# Grants above a single secret (a project, folder or organization).
WIDE_GRANTS = frozenset(
    t for t in IAM_GRANTS if t.startswith(("gcp:projects/", "gcp:folder/", "gcp:organizations/"))
)
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"


@rule(
    "secret-access-per-secret",
    "secrets are read through grants on each secret, never project-wide",
    WIDE_GRANTS,
)
def secret_access_per_secret(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    # https://cloud.google.com/secret-manager/docs/manage-access-to-secrets
    if props.get("role") == SECRET_ACCESSOR:
        return [
            f"{SECRET_ACCESSOR} granted on a whole project, folder or organization reads every "
            "secret in it; grant it on each secret the workload needs"
        ]
    return []


def ancestor_of(urn: str, type_: str, by_urn: Mapping[str, Node]) -> str | None:
    """The urn of the nearest resource of ``type_`` at or above ``urn``."""
    seen = set()
    node = by_urn.get(urn)
    while node is not None and node.urn not in seen:
        if node.type == type_:
            return node.urn
        seen.add(node.urn)
        node = by_urn.get(node.parent) if node.parent else None
    return None


# Inputs that place a resource (a region or a location), and the types that must have one (a
# database sits in its instance, a key in its ring).
PLACING_INPUTS = ("location", "region")
WEBLATE_PLACED = (catalog.WEBLATE_STATEFUL - {catalog.SQL_DATABASE}) | {KMS_KEY_RING}


@stack_rule(
    "weblate-residency",
    "everything Weblate places somewhere is in the UK (rollout.catalog.WEBLATE_JURISDICTION): "
    "its database and backups, cache, data volume, secrets' replicas, keys and Cloud Run",
)
def weblate_residency(nodes: Sequence[Node], ctx: Ctx) -> list[tuple[str, str]]:
    """Every resource under the Weblate component, labelled or not, by each input that places
    it. Key rings and subnets carry no labels, so residency-jurisdiction cannot see their
    region: this rule holds the whole component to one jurisdiction instead."""
    by_urn = {n.urn: n for n in nodes}
    want = frozenset({catalog.WEBLATE_JURISDICTION})
    out = []
    region = catalog.WEBLATE_REGION
    for n in nodes:
        component = ancestor_of(n.urn, catalog.WEBLATE_COMPONENT, by_urn)
        if component is None or component == n.urn:
            continue
        extras = [(k, v) for k, v in EXTRA_PLACEMENTS.get(n.type, lambda p: [])(n.props) if v]
        where = [(k, n.props[k]) for k in PLACING_INPUTS if n.props.get(k)] + extras
        if n.type in UNPLACED and not extras:
            out.append((n.urn, f"{n.type}: its placement {UNPLACED[n.type]}; place it in {region}"))
        elif not where and n.type in WEBLATE_PLACED:
            out.append((n.urn, f"{n.type} is not placed: set its location to {region}"))
        for key, value in where:
            if value == UNKNOWN:
                continue
            got = jurisdictions_of(value)
            if got != want:
                law = _codes(got) if got else "no known"
                out.append(
                    (
                        n.urn,
                        f"{key} {value!r} is under {law} law; Weblate's data stays under "
                        f"{catalog.WEBLATE_JURISDICTION} law: place it in {region}",
                    )
                )
    return out


# --------------------------------------------------------------------------------------------
# Running the rules over an offline plan
# --------------------------------------------------------------------------------------------


def check_resource(type_: str, props: Mapping[str, Any], ctx: Ctx) -> list[tuple[Rule, str]]:
    """Every resource rule's messages for one resource."""
    return [(r, msg) for r in RULES if type_ in r.types for msg in r.check(type_, props, ctx)]


def nodes_of(plan: Plan) -> list[Node]:
    return [
        Node(
            urn=r.urn,
            type=r.type,
            name=r.name,
            props=r.inputs,
            parent=r.parent,
            dependencies=tuple(r.dependencies),
            protect=r.protect,
        )
        for r in plan.resources
    ]


def plan_ctx(plan: Plan) -> Ctx:
    """The stack's context: its name and, for a regional stack, its exported region."""
    return Ctx(stack=plan.stack, region=region_of(plan.outputs))


def check_plan(plan: Plan, ctx: Ctx | None = None) -> list[Violation]:
    """Every resource rule on every cloud resource, then every stack rule."""
    base = ctx or plan_ctx(plan)
    nodes = nodes_of(plan)
    by_urn = {n.urn: n for n in nodes}
    found: list[Violation] = []
    for res in plan.resources:
        if not res.custom:
            continue
        cell = cell_of(res.urn, by_urn)
        rctx = replace(
            base,
            protect=res.protect,
            in_cell=cell is not None,
            cell=by_urn[cell].name if cell else None,
        )
        for r, msg in check_resource(res.type, res.inputs, rctx):
            found.append(Violation(r.name, res.urn, msg, r.mandatory))
    for sr in STACK_RULES:
        for urn, msg in sr.check(nodes, base):
            found.append(Violation(sr.name, urn, msg, sr.mandatory))
    return found


def all_rules() -> list[Rule | StackRule]:
    return [*RULES, *STACK_RULES]


__all__ = [
    "RULES",
    "STACK_RULES",
    "Ctx",
    "Node",
    "Rule",
    "StackRule",
    "Violation",
    "all_rules",
    "check_plan",
    "check_resource",
]
