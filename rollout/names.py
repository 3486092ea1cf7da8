"""Deterministic cloud names from stable keys, and each service's naming rules.

``demobank-<region short>-<cell>-<entity>``: a region's short code (``euw2``) and a cell's name
(``eu-1``) never change, so neither does any name built from them. LIMITS lists the rule for
every kind of name the program sets; tests check every name in every plan against it.
"""

from __future__ import annotations

import re

PREFIX = "demobank"
PREFIX_K8S = "bank"  # a cell's Kubernetes namespace: bank-<cell>

# kind -> (regex, min length, max length); sources: each service's API reference.
LIMITS: dict[str, tuple[str, int, int]] = {
    "compute": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 63),  # RFC 1035: networks, subnets, ...
    # A name_prefix the provider completes with a unique suffix; up to 37 characters it keeps
    # the full suffix (the SDK's RegionSslCertificate name_prefix docstring).
    "compute_prefix": (r"^[a-z][-a-z0-9]*-$", 1, 37),
    "gke_cluster": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 40),
    "gke_node_pool": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 40),
    "service_account": (r"^[a-z]([-a-z0-9]*[a-z0-9])$", 6, 30),
    "spanner_instance": (r"^[a-z][-a-z0-9]*[a-z0-9]$", 2, 64),
    "spanner_display_name": (r"^\S(.*\S)?$", 4, 30),
    "spanner_database": (r"^[a-z][a-z0-9_\-]*[a-z0-9]$", 2, 30),
    "spanner_backup_schedule": (r"^[a-z][a-z0-9_\-]*[a-z0-9]$", 2, 60),
    "kafka_cluster": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 63),
    "kafka_topic": (r"^[a-zA-Z0-9._-]+$", 1, 249),
    "kms": (r"^[a-zA-Z0-9_-]+$", 1, 63),
    "k8s_namespace": (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", 1, 63),  # RFC 1123 label
    "dns_name": (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$", 1, 253),
    "bucket": (r"^[a-z0-9][-a-z0-9_.]*[a-z0-9]$", 3, 63),
    "label_key": (r"^[a-z][a-z0-9_-]*$", 1, 63),
    "label_value": (r"^[a-z0-9_-]*$", 0, 63),
    # Weblate (components/weblate.py). Cloud SQL instance ids: lowercase letters, digits,
    # hyphens, from a letter (https://cloud.google.com/sql/docs/postgres/create-instance);
    # Memorystore ids 1-40 (https://cloud.google.com/memorystore/docs/redis/reference/rest/v1/projects.locations.instances/create);
    # Cloud Run services 49 at most (https://cloud.google.com/run/docs/deploying#service);
    # Secret Manager ids (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create);
    # Filestore shares (https://cloud.google.com/filestore/docs/reference/rest/v1/projects.locations.instances#FileShareConfig).
    "sql_instance": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 63),
    "sql_database": (r"^[a-z][a-z0-9_]*$", 1, 63),
    "redis_instance": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 40),
    "filestore_instance": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 63),
    "filestore_share": (r"^[a-z][a-z0-9_]*$", 1, 16),
    "cloud_run": (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 1, 49),
    "secret": (r"^[A-Za-z0-9_-]+$", 1, 255),
}


def check(kind: str, name: str) -> str | None:
    """None if ``name`` is valid for ``kind``; otherwise why not."""
    pattern, low, high = LIMITS[kind]
    if not low <= len(name) <= high:
        return f"{name!r} is {len(name)} characters; {kind} names take {low}-{high}"
    if not re.match(pattern, name):
        return f"{name!r} does not match {pattern} ({kind})"
    return None


def region_name(short: str, entity: str) -> str:
    return f"{PREFIX}-{short}-{entity}"


def cell_name(short: str, cell: str, entity: str) -> str:
    return f"{PREFIX}-{short}-{cell}-{entity}"


def account_id(short: str, cell: str | None, role: str) -> str:
    """Service account ids are 6-30 characters: the shortest form that stays unique."""
    parts = ["dbk", short, cell, role] if cell else ["dbk", short, role]
    return "-".join(p for p in parts if p)


def topic_name(cell: str, topic: str) -> str:
    return f"{cell}.{topic}"


def topic_prefix(cell: str) -> str:
    """What every topic of ``cell`` starts with: the cell's Kafka ACLs match on it."""
    return topic_name(cell, "")


def database_name(cell: str) -> str:
    """A cell's Spanner database id (2-30 characters): cell names are unique across regions,
    so the cell name alone identifies the shard; the prefixed form would not fit in 30."""
    return f"{cell}-db"


def origin_suffix(zone: str) -> str:
    """Where every cell's origin host lives in the edge's zone; the router refuses others."""
    return f"origin.{zone}"


def origin_hostname(cell: str, short: str, zone: str) -> str:
    """The cell's own origin host in the edge's zone: the cell router sends the cell's
    customers there and nowhere else (``<cell>.<region short>.origin.<zone>``)."""
    return f"{cell}.{short}.{origin_suffix(zone)}"


def l10n_origin_hostname(zone: str) -> str:
    """The localization bundles' origin host in the edge's zone: a proxied CNAME to Cloud
    Storage that the l10n origin rule resolves to (a DNS record override must name a hostname
    on the Cloudflare account)."""
    return f"l10n-origin.{zone}"


def namespace(cell: str) -> str:
    """The cell's Kubernetes namespace: part of its Workload Identity principal, so the
    principal is the cell's own (``<project>.svc.id.goog[<namespace>/<ksa>]``)."""
    return f"{PREFIX_K8S}-{cell}"


def spanner_display_name(short: str) -> str:
    """Spanner display names take 4-30 characters: the region's short code keeps it short."""
    return f"Demo Bank {short}"
