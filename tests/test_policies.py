"""Policies: every rule on a compliant and a violating resource, check_plan, the shipped
stacks, `rollout check`, and the CrossGuard wrapping (without starting a policy server)."""

from __future__ import annotations

import copy
import ipaddress
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies import crossguard, rules
from policies.rules import Ctx, Node, Violation, check_plan, nodes_of
from rollout import catalog, cli
from rollout.plan import Plan, Resource

ROOT = Path(__file__).resolve().parent.parent
R = rules

LABELS = {"hub": "london", "region": "europe-west2", "owner": "platform", "cost-center": "cc-1"}
EU = Ctx(stack="eu", region="europe-west2")


# --------------------------------------------------------------------------------------------
# Compliant resources, as the engine sees them (camelCase inputs)
# --------------------------------------------------------------------------------------------


def cluster() -> dict[str, Any]:
    return {
        "name": "demobank-euw2-eu-1-gke",
        "location": "europe-west2",
        "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": True},
        "workloadIdentityConfig": {"workloadPool": "demobank-eu.svc.id.goog"},
        "enableShieldedNodes": True,
        "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "10.200.0.0/16"}]},
        "deletionProtection": True,
        "resourceLabels": {**LABELS, "cell": "eu-1"},
        "removeDefaultNodePool": True,
        "nodeConfig": {
            "serviceAccount": "dbk-euw2-eu-1-node@demobank-eu.iam.gserviceaccount.com",
            "shieldedInstanceConfig": {"enableSecureBoot": True},
        },
    }


def node_pool() -> dict[str, Any]:
    return {
        "name": "demobank-euw2-eu-1-pool",
        "location": "europe-west2",
        "nodeConfig": {
            "serviceAccount": "dbk-euw2-eu-1-node@demobank-eu.iam.gserviceaccount.com",
            "shieldedInstanceConfig": {"enableSecureBoot": True},
        },
    }


def spanner_instance() -> dict[str, Any]:
    return {
        "name": "demobank-euw2-spanner",
        "config": "regional-europe-west2",
        "forceDestroy": False,
        "labels": dict(LABELS),
    }


def spanner_database() -> dict[str, Any]:
    return {
        "name": "eu-1-db",
        "instance": "demobank-euw2-spanner",
        "deletionProtection": True,
        "enableDropProtection": True,
        "versionRetentionPeriod": "7d",
    }


def bucket() -> dict[str, Any]:
    return {
        "name": "demobank-euw2-data",
        "location": "EUROPE-WEST2",
        "forceDestroy": False,
        "versioning": {"enabled": True},
        "labels": dict(LABELS),
    }


def kafka() -> dict[str, Any]:
    return {"clusterId": "demobank-euw2-kafka", "location": "europe-west2", "labels": LABELS}


def firewall() -> dict[str, Any]:
    return {
        "name": "demobank-euw2-allow-health-checks",
        "direction": "INGRESS",
        "sourceRanges": ["35.191.0.0/16", "130.211.0.0/22"],
        "targetTags": ["demobank-ingress"],
        "allows": [{"protocol": "tcp", "ports": ["443"]}],
    }


def hsts(**value: Any) -> dict[str, Any]:
    sts = {"enabled": True, "max_age": 31536000, **value}
    return {"settingId": "security_header", "value": {"strict_transport_security": sts}}


def waf(rules_: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    execute = {"action": "execute", "actionParameters": {"id": "efb7b8c9"}, "expression": "true"}
    return {
        "phase": "http_request_firewall_managed",
        "rules": [execute] if rules_ is None else rules_,
    }


def changed(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy with ``a.b.c`` set (or removed when value is ...)."""
    out = copy.deepcopy(props)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return out


def run(rule: str, type_: str, props: dict[str, Any], ctx: Ctx = EU) -> list[str]:
    (found,) = [r for r in R.RULES if r.name == rule]
    assert type_ in found.types, f"{rule} does not look at {type_}"
    return found.check(type_, props, ctx)


# --- Weblate's managed services (components/weblate.py), as the global stack plans them ----

WL_LABELS = {"hub": "global", "region": "europe-west2", "owner": "platform", "cost-center": "cc-1"}
GLOBAL = Ctx(stack="global")
KEY = "projects/p/locations/europe-west2/keyRings/demobank-weblate-keys/cryptoKeys/sql"


def sql_instance() -> dict[str, Any]:
    return {
        "name": "demobank-weblate-sql",
        "region": "europe-west2",
        "deletionProtection": True,
        "encryptionKeyName": KEY,
        "settings": {
            "deletionProtectionEnabled": True,
            "userLabels": dict(WL_LABELS),
            "ipConfiguration": {
                "ipv4Enabled": False,
                "privateNetwork": "projects/p/global/networks/demobank-weblate-vpc",
                "sslMode": "ENCRYPTED_ONLY",
            },
            "backupConfiguration": {
                "enabled": True,
                "pointInTimeRecoveryEnabled": True,
                "location": "europe-west2",
                "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"},
            },
        },
    }


def redis_instance() -> dict[str, Any]:
    return {
        "name": "demobank-weblate-redis",
        "region": "europe-west2",
        "authEnabled": True,
        "transitEncryptionMode": "SERVER_AUTHENTICATION",
        "connectMode": "PRIVATE_SERVICE_ACCESS",
        "customerManagedKey": KEY,
        "deletionProtection": True,
        "labels": dict(WL_LABELS),
    }


def filestore_instance() -> dict[str, Any]:
    return {
        "name": "demobank-weblate-data",
        "location": "europe-west2",
        "kmsKeyName": KEY,
        "deletionProtectionEnabled": True,
        "labels": dict(WL_LABELS),
    }


def secret() -> dict[str, Any]:
    replica = {"location": "europe-west2", "customerManagedEncryption": {"kmsKeyName": KEY}}
    return {
        "secretId": "demobank-weblate-vcs-token",
        "deletionProtection": True,
        "labels": dict(WL_LABELS),
        "replication": {"userManaged": {"replicas": [replica]}},
    }


def run_service() -> dict[str, Any]:
    return {
        "name": "demobank-weblate",
        "location": "europe-west2",
        "ingress": "INGRESS_TRAFFIC_ALL",
        "iapEnabled": True,
        "invokerIamDisabled": False,
        "deletionProtection": True,
        "labels": dict(WL_LABELS),
    }


def wl_replica(location: str) -> dict[str, Any]:
    return {
        "userManaged": {
            "replicas": [{"location": location, "customerManagedEncryption": {"kmsKeyName": KEY}}]
        }
    }


PROTECTED = Ctx(stack="eu", region="europe-west2", protect=True)
IN_CELL = Ctx(stack="eu", region="europe-west2", in_cell=True, cell="eu-1")

# (rule, type, props, ctx, expected message fragment or None for compliant)
CASES: list[tuple[str, str, dict[str, Any], Ctx, str | None]] = [
    ("gke-private-nodes", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-private-nodes",
        R.GKE_CLUSTER,
        changed(cluster(), "privateClusterConfig.enablePrivateNodes", False),
        EU,
        "privateClusterConfig.enablePrivateNodes must be true",
    ),
    ("gke-workload-identity", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-workload-identity",
        R.GKE_CLUSTER,
        changed(cluster(), "workloadIdentityConfig", ...),
        EU,
        "workloadIdentityConfig.workloadPool must be set",
    ),
    (
        "gke-workload-identity",
        R.GKE_CLUSTER,
        changed(cluster(), "workloadIdentityConfig.workloadPool", "elsewhere"),
        EU,
        "is not <project>.svc.id.goog",
    ),
    ("gke-shielded-nodes", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-shielded-nodes",
        R.GKE_CLUSTER,
        changed(cluster(), "enableShieldedNodes", False),
        EU,
        "enableShieldedNodes must be true",
    ),
    ("gke-shielded-nodes", R.GKE_NODE_POOL, node_pool(), EU, None),
    (
        "gke-shielded-nodes",
        R.GKE_NODE_POOL,
        changed(node_pool(), "nodeConfig.shieldedInstanceConfig.enableSecureBoot", False),
        EU,
        "nodeConfig.shieldedInstanceConfig.enableSecureBoot must be true",
    ),
    ("gke-authorized-networks", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(
            cluster(),
            "masterAuthorizedNetworksConfig.cidrBlocks",
            [{"cidrBlock": "10.200.0.0/16"}, {"cidrBlock": "0.0.0.0/0"}],
        ),
        EU,
        "allows 0.0.0.0/0 (the whole internet)",
    ),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(cluster(), "masterAuthorizedNetworksConfig", ...),
        EU,
        "masterAuthorizedNetworksConfig must list",
    ),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(
            cluster(),
            "masterAuthorizedNetworksConfig.cidrBlocks",
            [
                {"cidrBlock": "10.200.0.0/16"},
                {"cidrBlock": "172.16.0.0/12"},
                {"cidrBlock": "192.168.10.0/24"},
                {"cidrBlock": R.UNKNOWN},
            ],
        ),
        EU,
        None,
    ),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(
            cluster(),
            "masterAuthorizedNetworksConfig.cidrBlocks",
            [{"cidrBlock": "10.200.0.0/16"}, {"cidrBlock": "8.8.8.0/24"}],
        ),
        EU,
        "allows 8.8.8.0/24, which is not a private range",
    ),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(
            cluster(),
            "masterAuthorizedNetworksConfig.cidrBlocks",
            [{"cidrBlock": "0.0.0.0/1"}, {"cidrBlock": "128.0.0.0/1"}],
        ),
        EU,
        "blocks together cover 100.0% of the public IPv4 internet",
    ),
    (
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(cluster(), "masterAuthorizedNetworksConfig.cidrBlocks", [{"cidrBlock": "10.x"}]),
        EU,
        "'10.x' is not a CIDR block",
    ),
    ("gke-no-default-service-account", R.GKE_NODE_POOL, node_pool(), EU, None),
    (
        "gke-no-default-service-account",
        R.GKE_NODE_POOL,
        changed(node_pool(), "nodeConfig.serviceAccount", ...),
        EU,
        "nodeConfig.serviceAccount must be set",
    ),
    (
        "gke-no-default-service-account",
        R.GKE_NODE_POOL,
        changed(node_pool(), "nodeConfig.serviceAccount", "default"),
        EU,
        "is the Compute Engine default account",
    ),
    (
        "gke-no-default-service-account",
        R.GKE_NODE_POOL,
        changed(
            node_pool(),
            "nodeConfig.serviceAccount",
            "123456789012-compute@developer.gserviceaccount.com",
        ),
        EU,
        "is the Compute Engine default account",
    ),
    ("gke-no-default-service-account", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-no-default-service-account",
        R.GKE_CLUSTER,
        changed(cluster(), "nodeConfig", ...),  # removeDefaultNodePool alone is not enough
        EU,
        "the default node pool runs as the Compute Engine default account",
    ),
    (
        "gke-no-default-service-account",
        R.GKE_CLUSTER,
        changed(cluster(), "nodeConfig.serviceAccount", "default"),
        EU,
        "nodeConfig.serviceAccount 'default' is the Compute Engine default account",
    ),
    (
        "gke-shielded-nodes",
        R.GKE_CLUSTER,
        changed(cluster(), "nodeConfig.shieldedInstanceConfig.enableSecureBoot", False),
        EU,
        "nodeConfig.shieldedInstanceConfig.enableSecureBoot must be true",
    ),
    ("gke-deletion-protection", R.GKE_CLUSTER, cluster(), EU, None),
    (
        "gke-deletion-protection",
        R.GKE_CLUSTER,
        changed(cluster(), "deletionProtection", False),
        EU,
        "deletionProtection must be true",
    ),
    ("stateful-protect", R.SPANNER_DATABASE, spanner_database(), PROTECTED, None),
    ("stateful-protect", R.KAFKA_CLUSTER, kafka(), EU, "without protect=True"),
    ("stateful-protect", R.BUCKET, bucket(), EU, "without protect=True"),
    ("spanner-deletion-protection", R.SPANNER_DATABASE, spanner_database(), EU, None),
    (
        "spanner-deletion-protection",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "enableDropProtection", ...),
        EU,
        "enableDropProtection must be true",
    ),
    (
        "spanner-deletion-protection",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "deletionProtection", False),
        EU,
        "deletionProtection must be true",
    ),
    ("spanner-deletion-protection", R.SPANNER_INSTANCE, spanner_instance(), EU, None),
    (
        "spanner-deletion-protection",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "forceDestroy", True),
        EU,
        "forceDestroy must not be true",
    ),
    ("spanner-pitr", R.SPANNER_DATABASE, spanner_database(), EU, None),
    (
        "spanner-pitr",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "versionRetentionPeriod", "1440m"),
        EU,
        None,
    ),
    (
        "spanner-pitr",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "versionRetentionPeriod", "12h"),
        EU,
        "versionRetentionPeriod 12h is under 1d",
    ),
    (
        "spanner-pitr",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "versionRetentionPeriod", ...),
        EU,
        "versionRetentionPeriod must be set",
    ),
    ("bucket-deletion-protection", R.BUCKET, bucket(), EU, None),
    (
        "bucket-deletion-protection",
        R.BUCKET,
        changed(bucket(), "forceDestroy", True),
        EU,
        "forceDestroy must not be true",
    ),
    (
        "bucket-deletion-protection",
        R.BUCKET,
        changed(bucket(), "versioning", ...),
        EU,
        "versioning.enabled must be true",
    ),
    ("data-residency", R.SPANNER_INSTANCE, spanner_instance(), EU, None),
    (
        "data-residency",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "config", "eur3"),
        EU,
        "config is 'eur3'; the eu residency is 'regional-europe-west2'",
    ),
    ("data-residency", R.KAFKA_CLUSTER, kafka(), EU, None),
    (
        "data-residency",
        R.KAFKA_CLUSTER,
        changed(kafka(), "location", "europe-west1"),
        EU,
        "location is 'europe-west1'",
    ),
    ("data-residency", R.BUCKET, bucket(), EU, None),
    (
        "data-residency",
        R.KMS_KEY_RING,
        {"name": "kr", "location": "global"},
        EU,
        "location is 'global'",
    ),
    ("data-residency", R.SUBNETWORK, {"name": "s", "region": "europe-west2"}, EU, None),
    (
        "no-basic-roles",
        catalog.PROJECT_IAM_MEMBER,
        {"role": "roles/container.clusterViewer", "member": "group:oncall@demobank.example"},
        EU,
        None,
    ),
    (
        "no-basic-roles",
        catalog.PROJECT_IAM_MEMBER,
        {"role": "roles/viewer", "member": "group:oncall@demobank.example"},
        EU,
        "role roles/viewer is a basic role",
    ),
    (
        "no-basic-roles",
        catalog.BUCKET_IAM_MEMBER,
        {"role": "roles/editor", "member": "user:x@demobank.example"},
        EU,
        "role roles/editor is a basic role",
    ),
    (
        "data-residency",
        R.ADDRESS,
        {"name": "a", "region": "asia-southeast1", "labels": LABELS},
        EU,
        "region is 'asia-southeast1'",
    ),
    # The global stack has no region: residency judges nothing there.
    (
        "data-residency",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "config", "eur3"),
        Ctx(),
        None,
    ),
    ("residency-jurisdiction", R.BUCKET, bucket(), Ctx(), None),
    ("residency-jurisdiction", R.BUCKET, bucket(), EU, None),
    (
        "residency-jurisdiction",
        R.BUCKET,
        changed(bucket(), "location", "ASIA-SOUTHEAST1"),
        Ctx(),
        "location 'ASIA-SOUTHEAST1' is under sg law; data of europe-west2 must stay under uk law",
    ),
    # London is not the EU: a European location is no home for the UK's data.
    (
        "residency-jurisdiction",
        R.BUCKET,
        changed(bucket(), "location", "EUROPE-WEST1"),
        Ctx(),
        "location 'EUROPE-WEST1' is under eu law; data of europe-west2 must stay under uk law",
    ),
    (
        "residency-jurisdiction",
        R.BUCKET,
        changed(bucket(), "location", "EU"),
        EU,
        "location 'EU' is under eu law; data of europe-west2 must stay under uk law",
    ),
    (
        "residency-jurisdiction",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "config", "eur5"),
        EU,
        "config 'eur5' is under eu, uk law; data of europe-west2 must stay under uk law",
    ),
    (
        "residency-jurisdiction",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "config", "regional-europe-west2"),
        Ctx(region="asia-southeast1"),
        "config 'regional-europe-west2' is under uk law; data of asia-southeast1 must stay "
        "under sg law",
    ),
    # Zurich is not the EU either, and an unlisted multi-region cannot be shown to stay.
    (
        "residency-jurisdiction",
        R.KMS_KEY_RING,
        {"name": "kr", "location": "europe-west6"},
        Ctx(region="europe-west1"),
        "location 'europe-west6' is under ch law; data of europe-west1 must stay under eu law",
    ),
    (
        "residency-jurisdiction",
        R.LOG_BUCKET,
        {"bucketId": "_Default", "location": "global"},
        EU,
        "location 'global' has no known jurisdiction (rollout.catalog); data of europe-west2 "
        "must stay under uk law: place it in europe-west2",
    ),
    ("residency-jurisdiction", R.LOG_BUCKET, {"location": "europe-west2"}, EU, None),
    (
        "data-residency",
        R.LOG_BUCKET,
        {"bucketId": "_Default"},
        EU,
        "location must be set to 'europe-west2' (region residency)",
    ),
    (
        "data-residency",
        R.KAFKA_ACL,
        {"aclId": "topicPrefixed/eu-1.", "location": "asia-southeast1"},
        EU,
        "location is 'asia-southeast1'; the eu residency is 'europe-west2'",
    ),
    ("cloudflare-hsts-preload", R.CF_ZONE_SETTING, hsts(preload=True), Ctx(), None),
    ("cloudflare-hsts-preload", R.CF_ZONE_SETTING, hsts(max_age=15552000), Ctx(), None),
    (
        "cloudflare-hsts-preload",
        R.CF_ZONE_SETTING,
        hsts(preload=True, max_age=15552000),
        Ctx(),
        "HSTS preload with max_age 15552000: the preload list needs at least 31536000 s",
    ),
    ("spanner-capacity", R.SPANNER_INSTANCE, spanner_instance(), EU, None),
    (
        "spanner-capacity",
        R.SPANNER_INSTANCE,
        {
            **spanner_instance(),
            "edition": "ENTERPRISE",
            "autoscalingConfig": {
                "autoscalingLimits": {"minProcessingUnits": 900, "maxProcessingUnits": 3000}
            },
        },
        EU,
        None,
    ),
    (
        "spanner-capacity",
        R.SPANNER_INSTANCE,
        {
            **spanner_instance(),
            "edition": "ENTERPRISE",
            "autoscalingConfig": {
                "autoscalingLimits": {"minProcessingUnits": 1000, "maxProcessingUnits": 2500}
            },
        },
        EU,
        "autoscalingLimits.maxProcessingUnits 2500 is not a multiple of 1000",
    ),
    (
        "spanner-capacity",
        R.SPANNER_INSTANCE,
        {**spanner_instance(), "processingUnits": 150},
        EU,
        "processingUnits 150 is not a multiple of 100",
    ),
    (
        "spanner-capacity",
        R.SPANNER_INSTANCE,
        {
            **spanner_instance(),
            "edition": "STANDARD",
            "autoscalingConfig": {"autoscalingLimits": {"minProcessingUnits": 1000}},
        },
        EU,
        "edition 'STANDARD' with autoscalingConfig: the managed autoscaler needs ENTERPRISE",
    ),
    ("firewall-no-open-ingress", R.FIREWALL, firewall(), EU, None),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        {"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"], "denies": [{"protocol": "all"}]},
        EU,
        None,
    ),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        changed(firewall(), "sourceRanges", ["0.0.0.0/0"]),
        EU,
        "allows traffic from 0.0.0.0/0 (the whole internet)",
    ),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        changed(firewall(), "targetTags", ...),
        EU,
        "health-check range 35.191.0.0/16 must target only 'demobank-ingress' nodes",
    ),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        changed(firewall(), "sourceRanges", ["8.8.8.0/24"]),
        EU,
        "allows traffic from public range 8.8.8.0/24",
    ),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        changed(firewall(), "sourceRanges", ...),
        EU,
        "an allow rule without sources admits 0.0.0.0/0",
    ),
    (
        "firewall-no-open-ingress",
        R.FIREWALL,
        changed(firewall(), "sourceRanges", ["10.0.0.0/8"]),
        EU,
        None,
    ),
    (
        "cloudflare-min-tls",
        R.CF_ZONE_SETTING,
        {"settingId": "min_tls_version", "value": "1.2"},
        Ctx(),
        None,
    ),
    (
        "cloudflare-min-tls",
        R.CF_ZONE_SETTING,
        {"settingId": "min_tls_version", "value": "1.0"},
        Ctx(),
        "min_tls_version is '1.0'; use '1.2' or '1.3'",
    ),
    (
        "cloudflare-ssl-strict",
        R.CF_ZONE_SETTING,
        {"settingId": "ssl", "value": "strict"},
        Ctx(),
        None,
    ),
    (
        "cloudflare-ssl-strict",
        R.CF_ZONE_SETTING,
        {"settingId": "ssl", "value": "flexible"},
        Ctx(),
        "ssl is 'flexible'; use 'strict'",
    ),
    ("cloudflare-hsts", R.CF_ZONE_SETTING, hsts(), Ctx(), None),
    (
        "cloudflare-hsts",
        R.CF_ZONE_SETTING,
        {
            "settingId": "security_header",
            "value": {"strictTransportSecurity": {"enabled": True, "maxAge": 15552000}},
        },
        Ctx(),
        None,
    ),
    (
        "cloudflare-hsts",
        R.CF_ZONE_SETTING,
        hsts(max_age=86400),
        Ctx(),
        "HSTS max_age 86400 is under 180 days",
    ),
    (
        "cloudflare-hsts",
        R.CF_ZONE_SETTING,
        hsts(enabled=False),
        Ctx(),
        "strict_transport_security.enabled must be true",
    ),
    ("cloudflare-dnssec", R.CF_DNSSEC, {"status": "active"}, Ctx(), None),
    (
        "cloudflare-dnssec",
        R.CF_DNSSEC,
        {"status": "disabled"},
        Ctx(),
        "status is 'disabled'; set 'active'",
    ),
    ("cloudflare-waf-managed", R.CF_RULESET, waf(), Ctx(), None),
    (
        "cloudflare-waf-managed",
        R.CF_RULESET,
        waf([{"action": "block", "expression": "true"}]),
        Ctx(),
        "must execute at least one managed ruleset",
    ),
    ("cloudflare-pool-monitor", R.CF_POOL, {"name": "eu", "monitor": "m-id"}, Ctx(), None),
    ("cloudflare-pool-monitor", R.CF_POOL, {"name": "eu"}, Ctx(), "pool has no monitor"),
    ("cloudflare-lb-fallback", R.CF_LB, {"fallbackPool": "home-id"}, Ctx(), None),
    ("cloudflare-lb-fallback", R.CF_LB, {"defaultPools": ["a"]}, Ctx(), "no fallbackPool"),
    ("cloudflare-monitor-secure", R.CF_MONITOR, {"type": "https"}, Ctx(), None),
    (
        "cloudflare-monitor-secure",
        R.CF_MONITOR,
        {"type": "https", "allowInsecure": True},
        Ctx(),
        "allowInsecure must not be true",
    ),
    ("required-labels", R.GKE_CLUSTER, cluster(), IN_CELL, None),
    (
        "required-labels",
        R.GKE_CLUSTER,
        changed(cluster(), "resourceLabels.cell", ...),
        IN_CELL,
        "resourceLabels lacks cell",
    ),
    (
        "required-labels",
        R.GKE_CLUSTER,
        changed(cluster(), "resourceLabels.cell", "eu-2"),
        IN_CELL,
        "resourceLabels.cell is 'eu-2'; the resource is in cell 'eu-1'",
    ),
    (
        "required-labels",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "labels", {"owner": "x"}),
        EU,
        "labels lacks hub, region, cost-center",
    ),
    (
        "required-labels",
        R.BUCKET,
        changed(bucket(), "labels.owner", "Platform Team"),
        EU,
        "labels.owner: 'Platform Team' does not match",
    ),
    ("resource-names", R.SPANNER_DATABASE, spanner_database(), EU, None),
    (
        "resource-names",
        R.SPANNER_DATABASE,
        changed(spanner_database(), "name", "a-database-name-far-over-thirty-chars"),
        EU,
        "spanner_database names take 2-30",
    ),
    (
        "resource-names",
        R.GKE_CLUSTER,
        changed(cluster(), "name", "Demobank_Cluster"),
        EU,
        "does not match",
    ),
    ("resource-names", R.KAFKA_TOPIC, {"topicId": "eu-1.payments.settled"}, EU, None),
    ("resource-names", R.SPANNER_INSTANCE, spanner_instance(), EU, None),
    (
        "resource-names",
        R.SPANNER_INSTANCE,
        changed(spanner_instance(), "displayName", "Demo Bank europe-west2 regional instance"),
        EU,
        "displayName: 'Demo Bank europe-west2 regional instance' is 40 characters",
    ),
    (
        "required-labels",
        R.BUCKET,
        changed(bucket(), "labels.Team", "x"),
        EU,
        "labels: 'Team' does not match",
    ),
    # --- Weblate's managed services (the global stack: no stack region, labels carry it) ----
    ("cloudsql-private-ip", catalog.SQL_INSTANCE, sql_instance(), GLOBAL, None),
    (
        "cloudsql-private-ip",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.ipConfiguration.ipv4Enabled", True),
        GLOBAL,
        "settings.ipConfiguration.ipv4Enabled must be false (no public IP)",
    ),
    (
        "cloudsql-private-ip",
        catalog.SQL_INSTANCE,
        changed(
            sql_instance(), "settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
        ),
        GLOBAL,
        "settings.ipConfiguration.sslMode is 'ALLOW_UNENCRYPTED_AND_ENCRYPTED'; use one of "
        "ENCRYPTED_ONLY, TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
    ),
    (
        "cloudsql-private-ip",
        catalog.SQL_INSTANCE,
        changed(
            sql_instance(), "settings.ipConfiguration.authorizedNetworks", [{"value": "1.2.3.4"}]
        ),
        GLOBAL,
        "settings.ipConfiguration.authorizedNetworks must be empty",
    ),
    ("cloudsql-backups", catalog.SQL_INSTANCE, sql_instance(), GLOBAL, None),
    (
        "cloudsql-backups",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.backupConfiguration.pointInTimeRecoveryEnabled", False),
        GLOBAL,
        "settings.backupConfiguration.pointInTimeRecoveryEnabled must be true",
    ),
    (
        "cloudsql-backups",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.backupConfiguration.enabled", ...),
        GLOBAL,
        "settings.backupConfiguration.enabled must be true",
    ),
    (
        "cloudsql-backups",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.deletionProtectionEnabled", False),
        GLOBAL,
        "settings.deletionProtectionEnabled must be true (the API refuses deletes)",
    ),
    ("redis-auth-tls", catalog.REDIS_INSTANCE, redis_instance(), GLOBAL, None),
    (
        "redis-auth-tls",
        catalog.REDIS_INSTANCE,
        changed(redis_instance(), "transitEncryptionMode", "DISABLED"),
        GLOBAL,
        "transitEncryptionMode must be SERVER_AUTHENTICATION (TLS)",
    ),
    (
        "redis-auth-tls",
        catalog.REDIS_INSTANCE,
        changed(redis_instance(), "authEnabled", False),
        GLOBAL,
        "authEnabled must be true",
    ),
    ("customer-managed-keys", catalog.SQL_INSTANCE, sql_instance(), GLOBAL, None),
    ("customer-managed-keys", catalog.REDIS_INSTANCE, redis_instance(), GLOBAL, None),
    ("customer-managed-keys", catalog.FILESTORE_INSTANCE, filestore_instance(), GLOBAL, None),
    ("customer-managed-keys", catalog.SECRET, secret(), GLOBAL, None),
    (
        "customer-managed-keys",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "encryptionKeyName", ...),
        GLOBAL,
        "no customer-managed key: encrypt it with the region's HSM key (CMEK)",
    ),
    (
        "customer-managed-keys",
        catalog.SECRET,
        changed(
            secret(), "replication", {"userManaged": {"replicas": [{"location": "europe-west2"}]}}
        ),
        GLOBAL,
        "no customer-managed key",
    ),
    ("deletion-protection", catalog.FILESTORE_INSTANCE, filestore_instance(), GLOBAL, None),
    ("deletion-protection", catalog.CLOUD_RUN_SERVICE, run_service(), GLOBAL, None),
    (
        "deletion-protection",
        catalog.REDIS_INSTANCE,
        changed(redis_instance(), "deletionProtection", False),
        GLOBAL,
        "deletionProtection must be true",
    ),
    (
        "deletion-protection",
        catalog.SECRET,
        changed(secret(), "deletionProtection", ...),
        GLOBAL,
        "deletionProtection must be true",
    ),
    ("cloud-run-iap", catalog.CLOUD_RUN_SERVICE, run_service(), GLOBAL, None),
    (
        "cloud-run-iap",
        catalog.CLOUD_RUN_SERVICE,
        changed(
            changed(run_service(), "iapEnabled", ...), "ingress", "INGRESS_TRAFFIC_INTERNAL_ONLY"
        ),
        GLOBAL,
        None,
    ),
    (
        "cloud-run-iap",
        catalog.CLOUD_RUN_SERVICE,
        changed(run_service(), "iapEnabled", False),
        GLOBAL,
        "ingress INGRESS_TRAFFIC_ALL without iapEnabled: anyone on the internet reaches it",
    ),
    (
        "cloud-run-iap",
        catalog.CLOUD_RUN_SERVICE,
        changed(run_service(), "invokerIamDisabled", True),
        GLOBAL,
        "invokerIamDisabled must not be true",
    ),
    (
        "secret-access-per-secret",
        catalog.PROJECT_IAM_MEMBER,
        {"role": "roles/cloudsql.client", "member": "serviceAccount:a@p.iam.gserviceaccount.com"},
        GLOBAL,
        None,
    ),
    (
        "secret-access-per-secret",
        catalog.PROJECT_IAM_MEMBER,
        {
            "role": "roles/secretmanager.secretAccessor",
            "member": "serviceAccount:a@p.iam.gserviceaccount.com",
        },
        GLOBAL,
        "roles/secretmanager.secretAccessor granted on a whole project, folder or organization",
    ),
    ("residency-jurisdiction", catalog.SQL_INSTANCE, sql_instance(), GLOBAL, None),
    ("residency-jurisdiction", catalog.SECRET, secret(), GLOBAL, None),
    ("residency-jurisdiction", catalog.CLOUD_RUN_SERVICE, run_service(), GLOBAL, None),
    (
        "residency-jurisdiction",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.backupConfiguration.location", "eu"),
        GLOBAL,
        "settings.backupConfiguration.location 'eu' is under eu law; data of europe-west2 must "
        "stay under uk law",
    ),
    (
        "residency-jurisdiction",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.backupConfiguration.location", ...),
        GLOBAL,
        "settings.backupConfiguration.location is unset, so Cloud SQL keeps backups in the "
        "nearest multi-region; data of europe-west2 stays: place it in europe-west2",
    ),
    (
        "residency-jurisdiction",
        catalog.SECRET,
        changed(secret(), "replication", wl_replica("europe-west1")),
        GLOBAL,
        "replication.userManaged.replicas[0].location 'europe-west1' is under eu law",
    ),
    (
        "residency-jurisdiction",
        catalog.SECRET,
        changed(secret(), "replication", {"auto": {}}),
        GLOBAL,
        "replication has no user-managed replicas, so Google places the copies (automatic)",
    ),
    (
        "residency-jurisdiction",
        catalog.REDIS_INSTANCE,
        changed(redis_instance(), "region", "europe-west1"),
        GLOBAL,
        "region 'europe-west1' is under eu law; data of europe-west2 must stay under uk law",
    ),
    ("required-labels", catalog.SQL_INSTANCE, sql_instance(), GLOBAL, None),
    (
        "required-labels",
        catalog.SQL_INSTANCE,
        changed(sql_instance(), "settings.userLabels", {"owner": "x"}),
        GLOBAL,
        "settings.userLabels lacks hub, region, cost-center",
    ),
    (
        "stateful-protect",
        catalog.SQL_INSTANCE,
        sql_instance(),
        Ctx(stack="global", protect=True),
        None,
    ),
    (
        "stateful-protect",
        catalog.FILESTORE_INSTANCE,
        filestore_instance(),
        GLOBAL,
        "stateful resource without protect=True",
    ),
    (
        "resource-names",
        catalog.REDIS_INSTANCE,
        changed(redis_instance(), "name", "demobank-weblate-redis-for-the-translators-x"),
        GLOBAL,
        "redis_instance names take 1-40",
    ),
]


@pytest.mark.parametrize(
    ("rule", "type_", "props", "ctx", "expected"),
    CASES,
    ids=[f"{c[0]}-{'ok' if c[4] is None else 'bad'}-{i}" for i, c in enumerate(CASES)],
)
def test_rule(rule: str, type_: str, props: dict[str, Any], ctx: Ctx, expected: str | None) -> None:
    messages = run(rule, type_, props, ctx)
    if expected is None:
        assert messages == []
    else:
        assert any(expected in m for m in messages), messages


def test_authorized_networks_in_slices_are_the_internet() -> None:
    """Blocks that each pass alone still add up: two /1s are everything, and many public /12s
    are a large share; overlaps count once, private space counts nothing."""
    halves = [{"cidrBlock": "0.0.0.0/1"}, {"cidrBlock": "128.0.0.0/1"}]
    found = run(
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(cluster(), "masterAuthorizedNetworksConfig.cidrBlocks", halves),
    )
    assert found == [
        "masterAuthorizedNetworksConfig allows 0.0.0.0/1, which is not a private range; list "
        "only private networks (RFC 1918)",
        "masterAuthorizedNetworksConfig allows 128.0.0.0/1, which is not a private range; list "
        "only private networks (RFC 1918)",
        "masterAuthorizedNetworksConfig blocks together cover 100.0% of the public IPv4 "
        "internet; list only private networks (RFC 1918)",
    ]
    net = ipaddress.IPv4Network
    assert R._public_share([net("10.0.0.0/8"), net("192.168.0.0/16")]) == 0
    assert R._public_share([net("8.0.0.0/9"), net("8.128.0.0/9")]) == R.PUBLIC_SHARE_LIMIT * (
        256 / 237
    )  # one /8 of the 237 public ones
    assert R._public_share([net("8.0.0.0/8"), net("8.0.0.0/9")]) == R._public_share(
        [net("8.0.0.0/8")]
    )
    # a single small public block is refused on its own, not as a share of the internet
    one_host = [{"cidrBlock": "8.8.8.8/32"}]
    small = run(
        "gke-authorized-networks",
        R.GKE_CLUSTER,
        changed(cluster(), "masterAuthorizedNetworksConfig.cidrBlocks", one_host),
    )
    assert small == [
        "masterAuthorizedNetworksConfig allows 8.8.8.8/32, which is not a private range; list "
        "only private networks (RFC 1918)"
    ]


def test_every_rule_has_a_compliant_and_a_violating_case() -> None:
    ok = {c[0] for c in CASES if c[4] is None}
    bad = {c[0] for c in CASES if c[4] is not None}
    names = {r.name for r in R.RULES}
    assert names <= ok and names <= bad, (names - ok, names - bad)


def test_rules_have_unique_names_and_descriptions() -> None:
    names = [r.name for r in R.all_rules()]
    assert len(names) == len(set(names))
    assert all(re_name(n) and r.description for n, r in zip(names, R.all_rules(), strict=True))


def re_name(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z][a-z0-9-]+", name) is not None


# --------------------------------------------------------------------------------------------
# Stack rules, on hand-built nodes
# --------------------------------------------------------------------------------------------


def node(
    urn: str, type_: str, parent: str | None = None, deps: tuple[str, ...] = (), **props: Any
) -> Node:
    return Node(urn=urn, type=type_, name=urn, props=props, parent=parent, dependencies=deps)


def stack_rule(name: str) -> R.StackRule:
    (found,) = [r for r in R.STACK_RULES if r.name == name]
    return found


def test_backup_schedule_by_name_or_dependency() -> None:
    db = node("db", R.SPANNER_DATABASE, name="eu-1-db", instance="inst")
    by_name = node("s1", R.SPANNER_BACKUP_SCHEDULE, database="eu-1-db", instance="inst")
    by_dep = node("s2", R.SPANNER_BACKUP_SCHEDULE, deps=("db",), database="unknown")
    other = node("s3", R.SPANNER_BACKUP_SCHEDULE, database="eu-1-db", instance="elsewhere")
    check = stack_rule("spanner-backup-schedule").check
    assert check([db, by_name], EU) == []
    assert check([db, by_dep], EU) == []
    assert check([db, other], EU) == [
        ("db", "database 'eu-1-db' has no gcp:spanner/backupSchedule:BackupSchedule")
    ]


def test_cell_isolation() -> None:
    nodes = [
        node("region", catalog.REGION),
        node("cell-a", R.CELL, parent="region"),
        node("cell-b", R.CELL, parent="region"),
        node("shared", R.SPANNER_INSTANCE, parent="region"),
        node("a-db", R.SPANNER_DATABASE, parent="cell-a", deps=("shared",)),
        node("b-db", R.SPANNER_DATABASE, parent="cell-b", deps=("shared",)),
        node("b-comp", catalog.CELL_DATABASE_COMPONENT, parent="cell-b"),
        node("b-gke", R.GKE_CLUSTER, parent="b-comp", deps=("b-db",)),
    ]
    check = stack_rule("cell-isolation").check
    assert check(nodes, EU) == []  # depending on the region's substrate, or within a cell, is fine
    crossing = [*nodes, node("a-gke", R.GKE_CLUSTER, parent="cell-a", deps=("b-db",))]
    assert check(crossing, EU) == [("a-gke", "cell 'cell-a' depends on b-db of cell 'cell-b'")]
    # Through a shared resource: cell-a -> the substrate -> cell-b is still a path between cells,
    # and the substrate itself must not depend on a cell.
    via = [
        *nodes,
        node("router", R.ROUTER, parent="region", deps=("b-db",)),
        node("a-sub", R.SUBNETWORK, parent="cell-a", deps=("router",)),
    ]
    assert sorted(check(via, EU)) == [
        ("a-sub", "cell 'cell-a' depends on b-db of cell 'cell-b'"),
        ("router", "the shared substrate depends on b-db of cell 'cell-b'"),
    ]


def test_cell_isolation_no_principal_in_two_cells() -> None:
    check = stack_rule("cell-isolation").check
    app_a = "serviceAccount:dbk-euw2-eu-1-app@p.iam.gserviceaccount.com"
    agent = "serviceAccount:service-123@container-engine-robot.iam.gserviceaccount.com"
    nodes = [
        node("cell-a", R.CELL),
        node("cell-b", R.CELL),
        node("a-grant", catalog.SPANNER_DATABASE_IAM_MEMBER, parent="cell-a", member=app_a),
        # Google's own service agent on each cell's key is not a cell identity
        node("a-key", catalog.KMS_CRYPTO_KEY_IAM_MEMBER, parent="cell-a", member=agent),
        node("b-key", catalog.KMS_CRYPTO_KEY_IAM_MEMBER, parent="cell-b", member=agent),
    ]
    assert check(nodes, EU) == []
    shared = [
        *nodes,
        node(
            "b-acl",
            catalog.KAFKA_ACL,
            parent="cell-b",
            aclEntries=[{"principal": "User:x@p.iam.gserviceaccount.com"}],
        ),
        node("b-wi", catalog.SERVICE_ACCOUNT_IAM_MEMBER, parent="cell-b", member=app_a),
    ]
    assert check(shared, EU) == [
        (
            "b-wi",
            f"{app_a} is granted in cell 'cell-b' and in cell 'cell-a' (a-grant); give each cell "
            "its own identity",
        )
    ]


def test_cell_isolation_a_cell_uses_its_own_kind_of_resource() -> None:
    """The cluster must run in the cell's own subnet, not the substrate's."""
    check = stack_rule("cell-isolation").check
    nodes = [
        node("region", catalog.REGION),
        node("vpc", R.NETWORK, parent="region"),
        node("substrate", R.SUBNETWORK, parent="region"),
        node("cell-a", R.CELL, parent="region"),
        node("a-subnet", R.SUBNETWORK, parent="cell-a", deps=("vpc",)),
    ]
    good = [*nodes, node("a-gke", R.GKE_CLUSTER, parent="cell-a", deps=("vpc", "a-subnet"))]
    assert check(good, EU) == []  # the VPC is shared and the cell has none of its own: fine
    bad = [*nodes, node("a-gke", R.GKE_CLUSTER, parent="cell-a", deps=("vpc", "substrate"))]
    assert check(bad, EU) == [
        (
            "a-gke",
            f"uses the shared {R.SUBNETWORK} 'substrate' while cell 'cell-a' has its own; "
            "use the cell's",
        )
    ]
    # The region's proxy-only subnet is another kind of subnet, which no cell can own: the
    # cell's forwarding rule waits for it.
    proxy_only = node("proxy-only", R.SUBNETWORK, parent="region", purpose="REGIONAL_MANAGED_PROXY")
    rule = node("a-rule", R.FORWARDING_RULE, parent="cell-a", deps=("vpc", "proxy-only"))
    assert check([*nodes, proxy_only, rule], EU) == []


def test_workload_identities_hold_no_ddl() -> None:
    check = stack_rule("workload-no-ddl").check
    app = "serviceAccount:dbk-euw2-eu-1-app@p.iam.gserviceaccount.com"
    mig = "serviceAccount:dbk-euw2-eu-1-mig@p.iam.gserviceaccount.com"
    nodes = [
        node("app", R.SERVICE_ACCOUNT, email="dbk-euw2-eu-1-app@p.iam.gserviceaccount.com"),
        node("mig", R.SERVICE_ACCOUNT, email="dbk-euw2-eu-1-mig@p.iam.gserviceaccount.com"),
        node(
            "wi",
            catalog.SERVICE_ACCOUNT_IAM_MEMBER,
            deps=("app",),
            role=catalog.WORKLOAD_IDENTITY_USER,
            member="serviceAccount:p.svc.id.goog[bank-eu-1/bank-workload]",
        ),
        node(
            "fgac",
            catalog.SPANNER_DATABASE_IAM_MEMBER,
            member=app,
            role="roles/spanner.fineGrainedAccessUser",
        ),  # fmt: skip
        node(
            "ddl",
            catalog.SPANNER_DATABASE_IAM_MEMBER,
            member=mig,
            role="roles/spanner.databaseAdmin",
        ),  # fmt: skip
    ]
    assert check(nodes, EU) == []  # the migration identity may hold DDL; it runs no pods
    app_ddl = node(
        "bad", catalog.SPANNER_DATABASE_IAM_MEMBER, member=app, role="roles/spanner.databaseUser"
    )
    [(urn, message)] = check([*nodes, app_ddl], EU)
    assert urn == "bad" and message.startswith(
        f"{app} runs a workload and is granted roles/spanner.databaseUser, which can change"
    )


def test_every_shipped_plan_binds_each_principal_in_one_cell(plans: dict[str, Plan]) -> None:
    for stack in ("eu", "apac"):
        violations = [v for v in R.check_plan(plans[stack]) if v.rule == "cell-isolation"]
        assert violations == []
        members = {
            r.inputs["member"]
            for r in plans[stack].of_type(catalog.SERVICE_ACCOUNT_IAM_MEMBER)
            if r.inputs.get("role") == catalog.WORKLOAD_IDENTITY_USER
        }
        assert len(members) == 2  # one Workload Identity principal per cell, not one shared


def test_cloudflare_zone_hardening_requires_presence() -> None:
    check = stack_rule("cloudflare-zone-hardening").check
    assert check([node("vpc", R.NETWORK)], Ctx()) == []  # no Cloudflare, nothing required
    complete = [
        node("stack", catalog.STACK),
        node("tls", R.CF_ZONE_SETTING, settingId="min_tls_version", value="1.2"),
        node("ssl", R.CF_ZONE_SETTING, settingId="ssl", value="strict"),
        node("hsts", R.CF_ZONE_SETTING, **hsts()),
        node("dnssec", R.CF_DNSSEC, status="active"),
        node("waf", R.CF_RULESET, **waf()),
    ]
    assert check(complete, Ctx()) == []
    missing = [n for n in complete if n.urn not in ("tls", "dnssec")]
    assert check(missing, Ctx()) == [
        ("stack", "no cloudflare:index/zoneSetting:ZoneSetting for 'min_tls_version'"),
        ("stack", "no cloudflare:index/zoneDnssec:ZoneDnssec"),
    ]


# --------------------------------------------------------------------------------------------
# check_plan on a tiny plan
# --------------------------------------------------------------------------------------------


def res(urn: str, type_: str, parent: str | None, inputs: dict[str, Any], **kw: Any) -> Resource:
    return Resource(
        urn=urn,
        type=type_,
        name=urn.rsplit("::", 1)[-1],
        parent=parent,
        inputs=inputs,
        dependencies=kw.get("deps", []),
        protect=kw.get("protect", False),
        retain_on_delete=False,
        custom=kw.get("custom", True),
    )


def tiny_plan(private_nodes: bool = True) -> Plan:
    stack = "urn:pulumi:eu::demobank::pulumi:pulumi:Stack::demobank-eu"
    region = "urn:pulumi:eu::demobank::demobank:region:Region::euw2"
    cell = "urn:pulumi:eu::demobank::demobank:cell:Cell::eu-1"
    gke = changed(cluster(), "privateClusterConfig.enablePrivateNodes", private_nodes)
    return Plan(
        "eu",
        "demobank",
        [
            res(stack, catalog.STACK, None, {}, custom=False),
            res(region, catalog.REGION, stack, {}, custom=False),
            res(cell, R.CELL, region, {}, custom=False),
            res("urn:gke::eu-1-gke", R.GKE_CLUSTER, cell, gke),
            res("urn:pool::eu-1-pool", R.GKE_NODE_POOL, cell, node_pool()),
            res("urn:db::eu-1-db", R.SPANNER_DATABASE, cell, spanner_database(), protect=True),
            res("urn:armor::eu-1-armor", catalog.REGION_SECURITY_POLICY, cell, cloudflare_only()),
            *mtls_ingress(cell),
            # last, so a test can pop it
            res(
                "urn:backup::eu-1-backup",
                R.SPANNER_BACKUP_SCHEDULE,
                cell,
                {"database": "eu-1-db", "instance": "demobank-euw2-spanner"},
                deps=["urn:db::eu-1-db"],
            ),
        ],
        {"region": "europe-west2"},
    )


def mtls_ingress(cell: str) -> list[Resource]:
    """A cell's load balancer as cell_bootstrap builds it: forwarding rule -> proxy (with a
    REJECT_INVALID ServerTlsPolicy and its trust config) -> URL map -> backend service (with
    the cell's Cloud Armor policy)."""
    where = {"region": "europe-west2"}
    return [
        res("urn:trust::eu-1-trust", catalog.TRUST_CONFIG, cell, {"location": "europe-west2"}),
        res(
            "urn:tls::eu-1-tls",
            catalog.SERVER_TLS_POLICY,
            cell,
            {
                "location": "europe-west2",
                "mtlsPolicy": {
                    "clientValidationMode": "REJECT_INVALID",
                    "clientValidationTrustConfig": "eu-1-trust-id",
                },
            },
            deps=["urn:trust::eu-1-trust"],
        ),
        res(
            "urn:backend::eu-1-backend",
            catalog.REGION_BACKEND_SERVICE,
            cell,
            {**where, "loadBalancingScheme": "EXTERNAL_MANAGED", "securityPolicy": "eu-1-armor"},
            deps=["urn:armor::eu-1-armor"],
        ),
        res(
            "urn:map::eu-1-map",
            catalog.REGION_URL_MAP,
            cell,
            where,
            deps=["urn:backend::eu-1-backend"],
        ),
        res(
            "urn:proxy::eu-1-proxy",
            catalog.REGION_TARGET_HTTPS_PROXY,
            cell,
            {**where, "serverTlsPolicy": "eu-1-tls-id", "urlMap": "eu-1-map-id"},
            deps=["urn:tls::eu-1-tls", "urn:map::eu-1-map"],
        ),
        res(
            "urn:rule::eu-1-rule",
            catalog.FORWARDING_RULE,
            cell,
            {**where, "loadBalancingScheme": "EXTERNAL_MANAGED", "target": "eu-1-proxy-id"},
            deps=["urn:proxy::eu-1-proxy"],
        ),
    ]


def _mtls_nodes(**changes: Any) -> list[Node]:
    """The tiny plan's cell and its load balancer as stack-rule nodes; ``changes`` maps a
    resource's name to the props it gets instead (None: the resource is dropped)."""
    plan = tiny_plan()
    out = []
    for n in nodes_of(plan):
        if n.name in changes:
            if changes[n.name] is None:
                continue
            n = replace(n, props=changes[n.name])
        out.append(n)
    return out


def test_cell_ingress_mtls() -> None:
    check = stack_rule("cell-ingress-mtls").check
    assert check(_mtls_nodes(), EU) == []

    def found(**changes: Any) -> list[str]:
        return [f"{urn.rsplit('::', 1)[-1]}: {m}" for urn, m in check(_mtls_nodes(**changes), EU)]

    tls = {"location": "europe-west2", "mtlsPolicy": {"clientValidationTrustConfig": "t"}}
    allow = {
        **tls,
        "mtlsPolicy": {
            **tls["mtlsPolicy"],
            "clientValidationMode": "ALLOW_INVALID_OR_MISSING_CLIENT_CERT",
        },
    }
    assert found(**{"eu-1-tls": allow}) == [
        "eu-1-tls: mtlsPolicy.clientValidationMode is 'ALLOW_INVALID_OR_MISSING_CLIENT_CERT'; "
        "use 'REJECT_INVALID' so a client without the certificate is refused"
    ]
    no_trust = {
        "location": "europe-west2",
        "mtlsPolicy": {"clientValidationMode": "REJECT_INVALID"},
    }
    assert found(**{"eu-1-tls": no_trust}) == [
        "eu-1-tls: mtlsPolicy.clientValidationTrustConfig names no trust config of the cell; "
        "point it at the bank's origin-pull CA"
    ]
    no_policy = {"region": "europe-west2", "urlMap": "eu-1-map-id"}
    assert found(**{"eu-1-proxy": no_policy}) == [
        "eu-1-proxy: has no ServerTlsPolicy: any client reaches the cell without the bank's "
        "certificate; set server_tls_policy (REJECT_INVALID)"
    ]
    unarmored = {"region": "europe-west2", "loadBalancingScheme": "EXTERNAL_MANAGED"}
    assert found(**{"eu-1-backend": unarmored}) == [
        "eu-1-backend: carries no Cloud Armor policy; set security_policy to the cell's "
        "Cloudflare-only policy"
    ]
    assert found(**{"eu-1-map": None}) == [
        "eu-1-proxy: routes to no backend service through a URL map"
    ]
    assert found(**{"eu-1-proxy": None}) == [
        "eu-1-rule: forwards to no target HTTPS proxy, so no client certificate is asked for; "
        "target the cell's RegionTargetHttpsProxy"
    ]
    # an internal forwarding rule is not the cell's ingress
    internal = {"region": "europe-west2", "loadBalancingScheme": "INTERNAL_MANAGED"}
    assert found(**{"eu-1-rule": internal}) == [
        "eu-1: cell 'eu-1' has no external forwarding rule demanding the bank's client certificate"
    ]


def cloudflare_only() -> dict[str, Any]:
    """A cell's Cloud Armor policy: Cloudflare's ranges allowed, everything else denied."""
    from rollout import cloudflare_ips

    ranges = list(cloudflare_ips.load().all)
    allow = [
        {"action": "allow", "priority": 1000 + i, "match": {"config": {"srcIpRanges": chunk}}}
        for i, chunk in enumerate(ranges[j : j + 10] for j in range(0, len(ranges), 10))
    ]
    deny = {
        "action": "deny(403)",
        "priority": 2_147_483_647,
        "match": {"config": {"srcIpRanges": ["*"]}},
    }
    return {"name": "demobank-euw2-eu-1-armor", "region": "europe-west2", "rules": [*allow, deny]}


def test_check_plan_on_a_tiny_plan() -> None:
    assert check_plan(tiny_plan()) == []
    found = check_plan(tiny_plan(private_nodes=False))
    assert found == [
        Violation(
            "gke-private-nodes",
            "urn:gke::eu-1-gke",
            "privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)",
            True,
        )
    ]
    assert str(found[0]) == (
        "gke-private-nodes: urn:gke::eu-1-gke: "
        "privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)"
    )


def test_check_plan_reads_the_region_and_the_cell_from_the_plan() -> None:
    plan = tiny_plan()
    plan.outputs["region"] = "asia-southeast1"
    plan.resources[3].inputs["resourceLabels"]["cell"] = "eu-9"
    by_rule = {(v.rule, v.message) for v in check_plan(plan)}
    assert (
        "data-residency",
        "location is 'europe-west2'; the eu residency is 'asia-southeast1'",
    ) in by_rule
    assert (
        "residency-jurisdiction",
        "location 'europe-west2' is under uk law; data of asia-southeast1 must stay under sg law",
    ) in by_rule
    assert (
        "required-labels",
        "resourceLabels.cell is 'eu-9'; the resource is in cell 'eu-1'",
    ) in by_rule
    advisory = [v for v in check_plan(plan) if v.rule == "required-labels"]
    assert advisory and not any(v.mandatory for v in advisory)


def test_check_plan_stack_rules_run() -> None:
    plan = tiny_plan()
    plan.resources.pop()  # the backup schedule
    assert [v.rule for v in check_plan(plan)] == ["spanner-backup-schedule"]


# --------------------------------------------------------------------------------------------
# The shipped stacks
# --------------------------------------------------------------------------------------------


def test_shipped_plans_pass_every_rule(plans: dict[str, Plan]) -> None:
    found = [str(v) for plan in plans.values() for v in check_plan(plan)]
    assert found == []


def test_shipped_plans_exercise_the_rules(plans: dict[str, Plan]) -> None:
    """Guard against a vacuous pass: the rules look at types the plans really hold."""
    types = {r.type for plan in plans.values() for r in plan.resources}
    idle = [r.name for r in R.RULES if not (r.types & types)]
    assert idle == []


def test_rollout_check_exits_1_on_a_public_node_cluster(
    plans: dict[str, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    data = plans["eu"].to_json()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(data))
    clusters = [r for r in data["resources"] if r["type"] == R.GKE_CLUSTER]
    assert clusters, "the eu plan has no GKE cluster"
    clusters[0]["inputs"]["privateClusterConfig"]["enablePrivateNodes"] = False
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    monkeypatch.chdir(ROOT)
    assert cli.main(["check", str(good)]) == 0
    assert cli.main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"gke-private-nodes: {clusters[0]['urn']}: privateClusterConfig" in out


# --------------------------------------------------------------------------------------------
# CrossGuard wrapping
# --------------------------------------------------------------------------------------------


def opts(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], None, [], parent)  # type: ignore[arg-type]


# What `rollout policy-config eu` hands the pack for each rule that needs the stack's region.
EU_POLICY_CONFIG = {"stackRole": "regional", "region": "europe-west2"}


def resource_args(
    type_: str,
    props: dict[str, Any],
    urn: str,
    protect: bool = False,
    config: dict[str, Any] | None = EU_POLICY_CONFIG,
) -> Any:
    return ResourceValidationArgs(
        type_,
        unknown_checking_proxy(props),
        urn,
        urn.rsplit("::", 1)[-1],
        opts(protect),
        None,
        config=config,
    )


class Collector:
    def __init__(self) -> None:
        self.violations: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.violations.append((message, urn))


def test_crossguard_policies_mirror_the_rules() -> None:
    policies = crossguard.build_policies()
    assert [p.name for p in policies] == [r.name for r in R.all_rules()]
    for p, r in zip(policies, R.all_rules(), strict=True):
        kind = ResourceValidationPolicy if isinstance(r, R.Rule) else StackValidationPolicy
        assert isinstance(p, kind)
        level = EnforcementLevel.MANDATORY if r.mandatory else EnforcementLevel.ADVISORY
        assert p.enforcement_level == level
        needs = isinstance(r, R.Rule) and r.needs_region
        assert (p.config_schema is crossguard.CONFIG_SCHEMA) == needs, p.name


def _policy(name: str) -> Any:
    (found,) = [p for p in crossguard.build_policies() if p.name == name]
    return found


@pytest.mark.parametrize(
    ("config", "found"),
    [
        (None, "policy config stackRole is None"),
        ({}, "policy config stackRole is None"),
        ({"stackRole": "regional"}, "policy config of a regional stack has no region"),
        ({"stackRole": "regional", "region": ""}, "has no region"),
        ({"stackRole": "edge", "region": "europe-west2"}, "stackRole is 'edge'"),
    ],
)
def test_crossguard_residency_fails_closed_without_the_stack_config(
    config: dict[str, Any] | None, found: str
) -> None:
    """A residency rule that cannot learn the stack's region reports it; it never skips."""
    report = Collector()
    args = resource_args(R.KAFKA_CLUSTER, kafka(), "urn:pulumi:eu::demobank::k", config=config)
    _policy("data-residency").validate(args, report)
    ((message, _),) = report.violations
    assert found in message and "rollout policy-config" in message


def test_crossguard_global_stack_config_judges_no_region() -> None:
    report = Collector()
    asia = changed(kafka(), "location", "asia-southeast1")
    args = resource_args(R.KAFKA_CLUSTER, asia, "urn:x::k", config={"stackRole": "global"})
    _policy("data-residency").validate(args, report)
    assert report.violations == []


def test_policy_config_command_writes_what_the_pack_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "eu.json"
    assert cli.main(["policy-config", "eu", "--out", str(out)]) == 0
    config = json.loads(out.read_text())
    assert set(config) == {r.name for r in R.RULES if r.needs_region}
    assert all(c == EU_POLICY_CONFIG for c in config.values())
    assert cli.main(["policy-config", "global"]) == 0
    printed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert all(c == {"stackRole": "global"} for c in printed.values())


# A real URN carries the type chain of its parents.
CELL_PARENTS = "urn:pulumi:eu::demobank::demobank:region:Region$demobank:cell:Cell"


def test_crossguard_resource_policy_reports_violations() -> None:
    urn = f"{CELL_PARENTS}$gcp:container/cluster:Cluster::gke"
    report = Collector()
    bad = changed(cluster(), "privateClusterConfig.enablePrivateNodes", False)
    _policy("gke-private-nodes").validate(resource_args(R.GKE_CLUSTER, bad, urn), report)
    assert report.violations == [
        ("privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)", None)
    ]
    report = Collector()
    _policy("gke-private-nodes").validate(resource_args(R.GKE_NODE_POOL, node_pool(), urn), report)
    assert report.violations == []  # other types are not this rule's business


def test_crossguard_passes_protect_cell_and_region() -> None:
    cell_urn = f"{CELL_PARENTS}$gcp:spanner/database:Database::db"
    report = Collector()
    _policy("stateful-protect").validate(
        resource_args(R.SPANNER_DATABASE, spanner_database(), cell_urn, protect=True), report
    )
    assert report.violations == []
    _policy("stateful-protect").validate(
        resource_args(R.SPANNER_DATABASE, spanner_database(), cell_urn), report
    )
    assert len(report.violations) == 1
    report = Collector()
    labels = changed(cluster(), "resourceLabels.cell", ...)
    _policy("required-labels").validate(resource_args(R.GKE_CLUSTER, labels, cell_urn), report)
    assert report.violations == [("resourceLabels lacks cell", None)]
    report = Collector()
    asia = changed(kafka(), "location", "asia-southeast1")
    _policy("data-residency").validate(resource_args(R.KAFKA_CLUSTER, asia, cell_urn), report)
    assert report.violations == [
        ("location is 'asia-southeast1'; the stack residency is 'europe-west2'", None)
    ]


def test_crossguard_unknown_values_do_not_abort_the_policy() -> None:
    pool = changed(node_pool(), "nodeConfig.serviceAccount", UNKNOWN_STRING_VALUE)
    report = Collector()
    _policy("gke-no-default-service-account").validate(
        resource_args(R.GKE_NODE_POOL, pool, "urn:pulumi:eu::demobank::x::pool"), report
    )
    assert report.violations == []  # a service account being created: its email comes later


def _policy_resources(plan: Plan) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for r in plan.resources:
        by_urn[r.urn] = PolicyResource(
            r.type,
            unknown_checking_proxy(r.inputs),
            r.urn,
            r.name,
            opts(r.protect, r.parent),
            None,
            None,
            [],
            {},
        )
    for r in plan.resources:
        pr = by_urn[r.urn]
        pr.parent = by_urn.get(r.parent) if r.parent else None
        pr.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return list(by_urn.values())


def test_crossguard_stack_policies_on_a_plan() -> None:
    plan = tiny_plan()
    for name in ("cell-isolation", "spanner-backup-schedule", "cloudflare-zone-hardening"):
        report = Collector()
        _policy(name).validate(StackValidationArgs(_policy_resources(plan)), report)
        assert report.violations == [], name
    plan.resources.pop()  # the backup schedule
    report = Collector()
    _policy("spanner-backup-schedule").validate(
        StackValidationArgs(_policy_resources(plan)), report
    )
    assert report.violations == [
        (
            "database 'eu-1-db' has no gcp:spanner/backupSchedule:BackupSchedule",
            "urn:db::eu-1-db",
        )
    ]


def test_policy_pack_project_file() -> None:
    doc = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"]["name"] == "python"
    venv = ROOT / "policies" / doc["runtime"]["options"]["virtualenv"]
    assert venv.resolve() == (ROOT / ".venv").resolve()
    main = (ROOT / "policies" / "__main__.py").read_text()
    assert "PolicyPack(" in main and "build_policies()" in main


def test_policy_pack_entry_point_wraps_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run policies/__main__.py with PolicyPack replaced (the real one serves and blocks)."""
    import runpy
    import sys

    import pulumi_policy

    packs: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: packs.append(kw))
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    (pack,) = packs
    assert pack["name"] == "demobank"
    assert [p.name for p in pack["policies"]] == [r.name for r in R.all_rules()]
