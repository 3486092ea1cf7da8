"""The shape of every YAML file, as pydantic models (``extra="forbid"``, immutable).

- ``regions/defaults.yaml``      -> :class:`DefaultsFile`
- ``regions/<gcp-region>.yaml``  -> :class:`RegionFile`
- ``regions/global.yaml``        -> :class:`GlobalFile`
- ``stacks/Pulumi.<stack>.yaml`` -> :class:`StackFile` (its ``demobank:*`` keys:
  :class:`StackConfig`)

- ``Pulumi.yaml``                 -> :class:`ProjectFile` (only what rollout relies on)

and :class:`RegionSpec`, one region merged (defaults < region file < stack overrides). A rule
about one shape lives on that shape's model; rules that need several files are in
``rollout.config.rules``.

Every model is strict: a boolean is not an integer (pydantic's lax mode reads ``true`` as 1),
a float with a fraction is not an integer, and a number is not a string; an integer is still
accepted where a float belongs (``max_cell_share: 1``).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from rollout.catalog import CELL_NAME_MAX, CELL_NAME_MIN, CELL_NAME_PATTERN, PROJECT_NAME
from rollout.config.problems import describe

CONFIG_NS = f"{PROJECT_NAME}:"

# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


# The private IPv4 ranges (RFC 1918, https://datatracker.ietf.org/doc/html/rfc1918#section-3).
# Containment in one of them is the test, not ipaddress's is_private: that also covers loopback,
# documentation and reserved space, and on some Python versions judges a network by its two
# ends only (0.0.0.0/1 runs from 0.0.0.0 to 127.255.255.255, both "private").
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        pass
    try:  # a network with host bits set: say which network was meant
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("not a CIDR block; write it like 10.16.0.0/12") from None
    raise ValueError(f"host bits are set; the network is {loose}") from None


def _is_rfc1918(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(r) for r in RFC1918)


def _network(value: str) -> str:
    if not _is_rfc1918(_cidr(value)):
        raise ValueError("expected a private IPv4 range (RFC 1918), e.g. 10.16.0.0/12")
    return value


def _authorized_network(value: str) -> str:
    net = _cidr(value)
    if net.prefixlen == 0:
        raise ValueError("0.0.0.0/0 is never accepted here; name the networks that need access")
    if not _is_rfc1918(net):
        raise ValueError(
            "the control plane is reachable only from private networks: expected a range "
            "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918)"
        )
    return value


# RFC 5737 and RFC 3849 documentation ranges. The shipped home_origin.address (203.0.113.10) is
# a placeholder from one of them until the real address is known (a separate issue), so they
# stay accepted; Cloudflare would not reach them, but nor would it reach a private address.
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _public_ip(value: str) -> str:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("not an IP address, e.g. 198.51.100.10") from None
    if any(addr.version == net.version and addr in net for net in DOCUMENTATION_RANGES):
        return value
    kinds = (
        (addr.is_unspecified, "an unspecified"),
        (addr.is_loopback, "a loopback"),
        (addr.is_link_local, "a link-local"),
        (addr.is_multicast, "a multicast"),
        (addr.is_reserved, "a reserved"),
        (addr.is_private, "a private"),
        (not addr.is_global, "a non-public"),
    )
    for found, kind in kinds:
        if found:
            raise ValueError(
                f"{kind} address; the home origin is the home region's public ingress, which "
                "Cloudflare reaches over the internet: write its public IP"
            )
    return value


def _proxy_size(value: str) -> str:
    # Google recommends a /23 and accepts down to a /26 for a proxy-only subnet.
    prefix = ipaddress.ip_network(value).prefixlen
    if not 23 <= prefix <= 26:
        raise ValueError(f"{value} is a /{prefix}; a proxy-only subnet takes a /23 to /26")
    return value


def _cell_size(value: str) -> str:
    prefix = ipaddress.ip_network(value).prefixlen
    if not 14 <= prefix <= 20:
        raise ValueError(f"{value} is a /{prefix}; a cell takes a /14 to /20")
    return value


PrivateCidr = Annotated[str, AfterValidator(_network)]
AuthorizedCidr = Annotated[str, AfterValidator(_authorized_network)]
PublicIp = Annotated[str, AfterValidator(_public_ip)]
# Keys that become Pulumi logical names and parts of cloud names: cells, authorized networks.
NAME_RE = CELL_NAME_PATTERN
Name = Annotated[
    str, Field(pattern=CELL_NAME_PATTERN, min_length=CELL_NAME_MIN, max_length=CELL_NAME_MAX)
]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*[smhd]$")]
LabelValue = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,63}$")]


class Model(BaseModel):
    """Base of every YAML shape: unknown keys are errors, values are immutable, types strict."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --------------------------------------------------------------------------------------------
# Sections shared by defaults.yaml, region files and stack overrides
# --------------------------------------------------------------------------------------------


class Labels(Model):
    """Labels every labelable resource carries (plus hub, region and cell)."""

    owner: LabelValue
    cost_center: LabelValue = Field(description="becomes the cost-center label")


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# RRULE (RFC 5545 section 3.3.10, https://datatracker.ietf.org/doc/html/rfc5545#section-3.3.10),
# as GKE's recurring maintenance window takes it
# (https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions).
# python-dateutil's rrulestr would parse it, but it is not installed in this project, so the
# rule parts are checked here: every part known and given once, every value in its range.
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_RRULE_LISTS = {
    "BYSECOND": (0, 60),
    "BYMINUTE": (0, 59),
    "BYHOUR": (0, 23),
    "BYMONTHDAY": (1, 31),  # also -31..-1
    "BYYEARDAY": (1, 366),  # also negative
    "BYWEEKNO": (1, 53),  # also negative
    "BYMONTH": (1, 12),
    "BYSETPOS": (1, 366),  # also negative
}
_RRULE_SIGNED = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
# Parts RFC 5545 forbids with a daily or weekly rule (the only FREQs the pattern accepts).
_RRULE_NOT_WITH = {
    "DAILY": {"BYWEEKNO", "BYYEARDAY"},
    "WEEKLY": {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY"},
}


def _rrule_problem(rule: str) -> str | None:
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        name, eq, value = part.partition("=")
        if not eq or not name or not value:
            return f"{describe(part)} is not NAME=VALUE"
        if name in parts:
            return f"{name} is given twice"
        parts[name] = value
    freq = parts["FREQ"]
    for name, value in parts.items():
        if name in _RRULE_NOT_WITH.get(freq, ()):
            return f"{name} cannot be used with FREQ={freq}"
        if name in ("INTERVAL", "COUNT"):
            if not value.isdigit() or int(value) < 1:
                return f"{name} {describe(value)} is not a whole number of at least 1"
        elif name == "UNTIL":
            if "COUNT" in parts:
                return "UNTIL and COUNT cannot both be given"
            if not any(_parses(value, f) for f in ("%Y%m%d", "%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S")):
                return f"UNTIL {describe(value)} is not a date (e.g. 20261231 or 20261231T000000Z)"
        elif name == "WKST":
            if value not in WEEKDAYS:
                return f"WKST {describe(value)} is not a day ({', '.join(WEEKDAYS)})"
        elif name == "BYDAY":
            # a numbered day (1MO, -1FR) is for monthly and yearly rules only
            bad = [d for d in value.split(",") if d not in WEEKDAYS]
            if bad:
                return f"BYDAY {describe(bad[0])} is not a day ({', '.join(WEEKDAYS)})"
        elif name in _RRULE_LISTS:
            low, high = _RRULE_LISTS[name]
            for item in value.split(","):
                number = item[1:] if name in _RRULE_SIGNED and item[:1] in "+-" else item
                if not number.isdigit() or not low <= int(number) <= high:
                    return f"{name} {describe(item)} is outside {low}..{high}"
        elif name != "FREQ":
            return f"unknown rule part {describe(name)}"
    if "BYSETPOS" in parts and not any(n.startswith("BY") and n != "BYSETPOS" for n in parts):
        return "BYSETPOS needs another BY... part to pick from"
    return None


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _rrule(value: str) -> str:
    problem = _rrule_problem(value)
    if problem:
        raise ValueError(
            f"not a valid RRULE: {problem}; write it like FREQ=WEEKLY;BYDAY=SA,SU (RFC 5545)"
        )
    return value


class MaintenanceWindow(Model):
    start_time: str = Field(
        description="RFC 3339 start of the recurring window, e.g. 2026-01-03T02:00:00Z",
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    )
    end_time: str = Field(
        description="RFC 3339 end of the first window, after start_time",
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    )
    recurrence: Annotated[str, AfterValidator(_rrule)] = Field(
        description="RRULE (RFC 5545), e.g. FREQ=WEEKLY;BYDAY=SA,SU",
        pattern=r"^FREQ=(DAILY|WEEKLY)(;.*)?$",
    )

    @field_validator("start_time", "end_time")
    @classmethod
    def _real_time(cls, value: str) -> str:
        if not _parses(value, TIME_FORMAT):
            raise ValueError("not a real date and time (UTC), e.g. 2026-01-03T02:00:00Z")
        return value

    @field_validator("end_time")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start_time")  # absent when start_time itself is invalid
        if start is not None and datetime.strptime(value, TIME_FORMAT) <= datetime.strptime(
            start, TIME_FORMAT
        ):
            raise ValueError(
                f"the window must end after it starts (start_time {start}); GKE takes "
                "start_time to end_time as the length of every window"
            )
        return value


class ClusterSettings(Model):
    """Knobs a real user needs for a cell's GKE cluster; hardening is constant in code."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE"]
    machine_type: str = Field(pattern=r"^[a-z0-9]+-[a-z]+-[0-9]+$")
    disk_size_gb: int = Field(ge=50, le=2000)
    min_nodes_per_zone: int = Field(ge=0, le=100)
    max_nodes_per_zone: int = Field(ge=1, le=100)
    maintenance_window: MaintenanceWindow
    authorized_networks: dict[Name, AuthorizedCidr] = Field(
        description="control-plane access: name -> private CIDR (RFC 1918); never 0.0.0.0/0",
        min_length=1,
    )
    rbac_security_group: Email = Field(
        description="the gke-security-groups@<domain> Google group; Kubernetes RBAC may name "
        "the groups nested in it (https://cloud.google.com/kubernetes-engine/docs/how-to/"
        "google-groups-rbac)",
        pattern=r"^gke-security-groups@",
    )

    @model_validator(mode="after")
    def _nodes(self) -> ClusterSettings:
        if self.min_nodes_per_zone > self.max_nodes_per_zone:
            raise ValueError(
                f"min_nodes_per_zone {self.min_nodes_per_zone} is above max_nodes_per_zone "
                f"{self.max_nodes_per_zone}; keep min <= max"
            )
        return self


class SpannerAutoscaling(Model):
    min_processing_units: int = Field(ge=100, multiple_of=100)
    max_processing_units: int = Field(ge=100, multiple_of=100)
    high_priority_cpu_target: int = Field(ge=10, le=90)
    storage_target: int = Field(ge=10, le=99)

    @model_validator(mode="after")
    def _range(self) -> SpannerAutoscaling:
        if self.min_processing_units > self.max_processing_units:
            raise ValueError(
                f"min_processing_units {self.min_processing_units} is above "
                f"max_processing_units {self.max_processing_units}; keep min <= max"
            )
        return self


# Spanner's backup schedule takes a five-field crontab in UTC
# (https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.backupSchedules#crontabspec):
# each field a list of `*`, N or N-M, each optionally /STEP, within the field's range (day of
# week 0-7, both 0 and 7 Sunday). Names (JAN, MON) are not accepted: Spanner's examples use
# numbers only.
CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_CRON_ITEM = re.compile(r"^(?:\*|(?P<low>\d+)(?:-(?P<high>\d+))?)(?:/(?P<step>\d+))?$")


def _cron_problem(field: str, low: int, high: int) -> str | None:
    for item in field.split(","):
        m = _CRON_ITEM.match(item)
        if m is None:
            return f"{describe(item)} is not *, N or N-M (each optionally /STEP)"
        first = int(m["low"]) if m["low"] else low
        last = int(m["high"]) if m["high"] else first
        if not (low <= first <= high and low <= last <= high):
            return f"{describe(item)} is outside {low}-{high}"
        if first > last:
            return f"{describe(item)} runs backwards"
        if m["step"] is not None and not 1 <= int(m["step"]) <= high:
            return f"step {m['step']} is outside 1-{high}"
    return None


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError("a crontab has 5 fields: minute hour day-of-month month day-of-week")
    for field, (name, low, high) in zip(fields, CRON_FIELDS, strict=True):
        problem = _cron_problem(field, low, high)
        if problem:
            raise ValueError(f"{name} field: {problem}; write it like '0 2 * * *' (UTC)")
    return value


class BackupSchedule(Model):
    cron: Annotated[str, AfterValidator(_cron)] = Field(
        description="crontab in UTC, e.g. '0 2 * * *'", pattern=r"^(\S+\s+){4}\S+$"
    )
    retention_days: int = Field(ge=1, le=366)


class SpannerSettings(Model):
    edition: Literal["STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS"]
    autoscaling: SpannerAutoscaling
    version_retention_period: Duration = Field(
        description="point-in-time recovery window, 1h to 7d, e.g. 7d"
    )
    backup: BackupSchedule

    @model_validator(mode="after")
    def _pitr(self) -> SpannerSettings:
        seconds = duration_seconds(self.version_retention_period)
        if not 86_400 <= seconds <= 7 * 86_400:
            raise ValueError(
                f"version_retention_period {self.version_retention_period} is outside 1d..7d; "
                "point-in-time recovery must keep at least a day"
            )
        return self


class KafkaSettings(Model):
    vcpu: int = Field(ge=3, le=1000, description="vCPUs of the Managed Kafka cluster (>= 3)")
    memory_gib: int = Field(ge=3, description="memory, 1-8 GiB per vCPU")

    @model_validator(mode="after")
    def _ratio(self) -> KafkaSettings:
        if not self.vcpu <= self.memory_gib <= 8 * self.vcpu:
            raise ValueError(
                f"memory_gib {self.memory_gib} for {self.vcpu} vCPU is outside "
                f"{self.vcpu}..{8 * self.vcpu}; Managed Kafka needs 1-8 GiB per vCPU"
            )
        return self


class Topic(Model):
    partitions: int = Field(ge=1, le=1000)
    retention_hours: int = Field(ge=-1, description="-1 keeps records forever, else >= 1")
    cleanup_policy: Literal["delete", "compact"]

    @field_validator("retention_hours")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        # Kafka's retention.ms: -1 is no limit, 0 would delete each segment as soon as it
        # rolls (https://kafka.apache.org/documentation/#topicconfigs_retention.ms).
        if value == 0:
            raise ValueError("0 hours keeps nothing; use -1 (keep forever) or at least 1")
        return value


class ShardSettings(Model):
    buckets: int = Field(ge=1, le=65536, description="fixed at go-live; never change it")
    max_cell_share: float = Field(
        gt=0, le=1, description="largest share of buckets one cell may hold"
    )


TopicName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*([.-][a-z0-9]+)*$", max_length=40)]


class DefaultsFile(Model):
    """regions/defaults.yaml: the values every region starts from."""

    labels: Labels
    cluster: ClusterSettings
    spanner: SpannerSettings
    kafka: KafkaSettings
    topics: dict[TopicName, Topic] = Field(min_length=1)
    shards: ShardSettings


# --------------------------------------------------------------------------------------------
# Region files
# --------------------------------------------------------------------------------------------


class Hub(Model):
    """The community hub that runs the region (London for EMEA, Singapore for APAC)."""

    name: LabelValue
    oncall_group: Email = Field(
        description="Google group that is paged for this region; read-only in the clusters"
    )
    breakglass_group: Email = Field(
        description="Google group with audited write access to the clusters, for incidents"
    )


class NetworkSettings(Model):
    cidr: PrivateCidr = Field(description="the region's whole range; every cell lies inside")
    substrate_cidr: PrivateCidr = Field(
        description="the region's shared subnet (Managed Kafka, internal services)"
    )
    proxy_cidr: Annotated[PrivateCidr, AfterValidator(_proxy_size)] = Field(
        description="the region's proxy-only subnet for the cells' Gateways, a /23 to /26 "
        "(https://cloud.google.com/load-balancing/docs/proxy-only-subnets#proxy_only_subnet_size)"
    )


class CellSpec(Model):
    """One cell. Its single range is carved into nodes, pods, services and control plane."""

    cidr: Annotated[PrivateCidr, AfterValidator(_cell_size)] = Field(
        description="a /14 to /20 inside network.cidr"
    )


Locale = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?-[A-Z]{2}$")]


def _partial(model: type[BaseModel]) -> type[BaseModel]:
    """The same shape with every key optional: what a region file or stack may override."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _partial(annotation)
        fields[name] = (Optional[annotation], Field(None, description=info.description))  # noqa: UP045
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{model.__name__}Override", __base__=Model, **fields
    )


ClusterOverride = _partial(ClusterSettings)
SpannerOverride = _partial(SpannerSettings)
KafkaOverride = _partial(KafkaSettings)
LabelsOverride = _partial(Labels)
ShardOverride = _partial(ShardSettings)


class RegionFile(Model):
    """regions/<gcp-region>.yaml: one new region and its cells."""

    region: str = Field(description="GCP region name, e.g. europe-west2")
    short: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,5}$")] = Field(
        description="short code used in resource names, e.g. euw2"
    )
    hub: Hub
    network: NetworkSettings
    locales: list[Locale] = Field(min_length=1, description="locales this region must serve")
    cells: dict[Name, CellSpec] = Field(min_length=1)
    labels: LabelsOverride | None = None  # type: ignore[valid-type]
    cluster: ClusterOverride | None = None  # type: ignore[valid-type]
    spanner: SpannerOverride | None = None  # type: ignore[valid-type]
    kafka: KafkaOverride | None = None  # type: ignore[valid-type]
    shards: ShardOverride | None = None  # type: ignore[valid-type]


class RegionOverrides(Model):
    """`demobank:overrides` of a regional stack: the last word on any default."""

    labels: LabelsOverride | None = None  # type: ignore[valid-type]
    cluster: ClusterOverride | None = None  # type: ignore[valid-type]
    spanner: SpannerOverride | None = None  # type: ignore[valid-type]
    kafka: KafkaOverride | None = None  # type: ignore[valid-type]


class RegionSpec(Model):
    """The merged, validated view of one region, as the components consume it."""

    stack: str
    project: str
    region: str
    short: str
    hub: Hub
    network: NetworkSettings
    locales: list[str]
    cells: dict[str, CellSpec]
    labels: Labels
    cluster: ClusterSettings
    spanner: SpannerSettings
    kafka: KafkaSettings
    topics: dict[str, Topic]
    shards: ShardSettings

    @property
    def spanner_config(self) -> str:
        """The regional instance configuration: the region's data residency."""
        return f"regional-{self.region}"

    def base_labels(self) -> dict[str, str]:
        return {
            "hub": self.hub.name,
            "region": self.region,
            "owner": self.labels.owner,
            "cost-center": self.labels.cost_center,
        }


# --------------------------------------------------------------------------------------------
# Global file
# --------------------------------------------------------------------------------------------


class Zone(Model):
    name: str = Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    id: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Cloudflare zone id; the zone exists already and is not managed here",
    )
    account_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Cloudflare account id")


class HomeOrigin(Model):
    address: PublicIp = Field(description="the existing home region's public ingress")


class Monitor(Model):
    path: str = Field(pattern=r"^/")
    expected_codes: str = Field(pattern=r"^[1-5]([0-9]{2}|xx)$")
    interval: int = Field(ge=10, le=3600)
    timeout: int = Field(ge=1, le=10)
    retries: int = Field(ge=0, le=5)


PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]


class Steering(Model):
    region_pools: dict[str, list[PoolName]] = Field(
        description="Cloudflare region code -> pools in failover order"
    )
    country_pools: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], list[PoolName]] = {}
    default_pools: list[PoolName] = Field(min_length=1)
    fallback_pool: PoolName
    session_affinity_ttl: int = Field(ge=1800, le=604800, default=3600)


class DnsRecord(Model):
    type: Literal["CNAME", "A", "AAAA", "TXT"]
    content: str
    proxied: bool = True


class EdgeSettings(Model):
    hostname: str = Field(pattern=r"^[a-z0-9-]+$", description="load-balanced host, e.g. app")
    monitor: Monitor
    steering: Steering
    dns: dict[str, DnsRecord] = {}
    static_paths: list[str] = Field(min_length=1)
    api_paths: list[str] = Field(min_length=1)
    sign_in_paths: list[str] = Field(min_length=1)
    sign_in_rate_limit: int = Field(ge=1, le=1000, description="requests per minute per IP")
    hsts_max_age: int = Field(ge=15_552_000, description="at least 180 days")


class DirectorySettings(Model):
    instance_config: str = Field(description="multi-region config, e.g. nam-eur-asia1")
    edition: Literal["ENTERPRISE_PLUS"] = Field(description="multi-region needs Enterprise Plus")
    autoscaling: SpannerAutoscaling
    version_retention_period: Duration
    backup: BackupSchedule


class Localization(Model):
    bucket_location: str = Field(description="GCS location of the bundle bucket, e.g. EU")
    path: Literal["/l10n/"] = Field(
        description="CDN path of the bundles; fixed, since the manifest names bundles under it"
    )


class GlobalFile(Model):
    """regions/global.yaml: the edge, the global directory and the localization platform."""

    zone: Zone
    home_origin: HomeOrigin
    edge: EdgeSettings
    directory: DirectorySettings
    localization: Localization
    labels: Labels

    def base_labels(self) -> dict[str, str]:
        """Labels of every labelable global resource: hub and region are both `global`."""
        return {
            "hub": "global",
            "region": "global",
            "owner": self.labels.owner,
            "cost-center": self.labels.cost_center,
        }


# --------------------------------------------------------------------------------------------
# Stack files
# --------------------------------------------------------------------------------------------


class Secure(Model):
    secure: str


# Files in regions/ that hold no region, and what each holds instead; regions/shards/ holds
# the shard tables, which no file name without a folder can reach.
NOT_REGION_FILES = {"defaults": "every region's defaults", "global": "the global stack's edge"}
REGION_FILE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class StackConfig(Model):
    """The ``demobank:*`` keys of a stack file (without the prefix)."""

    role: Literal["regional", "global"]
    region: str | None = Field(None, description="regional stacks: the region file's name")
    overrides: RegionOverrides | None = Field(
        None, description="regional stacks: the last word on any default"
    )
    regionalStacks: dict[PoolName, str] | None = Field(  # noqa: N815 (Pulumi config key)
        None, description="global stack: pool name -> fully qualified regional stack"
    )

    @field_validator("region")
    @classmethod
    def _region_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return value  # unset: _role says whether the stack needs one
        if info.data.get("role") == "global":
            raise ValueError("the global stack spans every region; remove demobank:region")
        if "/" in value or "\\" in value or ".." in value or value.endswith(".yaml"):
            raise ValueError(
                "the name of a file in regions/, without folders or .yaml (e.g. europe-west2)"
            )
        if value in NOT_REGION_FILES:
            raise ValueError(
                f"regions/{value}.yaml holds {NOT_REGION_FILES[value]}, not a region; name a "
                "region file (e.g. europe-west2)"
            )
        if not REGION_FILE_NAME.match(value):
            raise ValueError(
                "a region file's name is lowercase letters, digits and hyphens (e.g. europe-west2)"
            )
        return value

    @field_validator("overrides")
    @classmethod
    def _regional_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("role") == "global":
            raise ValueError(
                "only a regional stack takes demobank:overrides (they override a region's "
                "defaults); remove it from the global stack"
            )
        return value

    @field_validator("regionalStacks")
    @classmethod
    def _global_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("role") == "regional":
            raise ValueError(
                "only the global stack takes demobank:regionalStacks; remove it from this "
                "regional stack"
            )
        return value

    @model_validator(mode="after")
    def _role(self) -> StackConfig:
        if self.role == "regional" and not self.region:
            raise ValueError("a regional stack needs demobank:region naming a file in regions/")
        if self.role == "global" and not self.regionalStacks:
            raise ValueError("the global stack needs demobank:regionalStacks (pool -> stack)")
        return self


class StackFile(Model):
    """stacks/Pulumi.<stack>.yaml as Pulumi reads it."""

    config: dict[str, Any]
    encryptionsalt: str | None = None
    secretsprovider: str | None = None
    encryptedkey: str | None = None
    environment: list[str] | None = None


# --------------------------------------------------------------------------------------------
# Pulumi.yaml
# --------------------------------------------------------------------------------------------


class ProjectFile(BaseModel):
    """Pulumi.yaml, as far as rollout relies on it; Pulumi's other keys are Pulumi's to judge."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    name: str
    runtime: Any
    stackConfigDir: str  # noqa: N815 (Pulumi's key)

    @field_validator("name")
    @classmethod
    def _project_name(cls, value: str) -> str:
        if value != PROJECT_NAME:
            raise ValueError(
                f"the project is {PROJECT_NAME}: its config keys ({CONFIG_NS}...), stack "
                f"references (<org>/{PROJECT_NAME}/<stack>) and cloud names are built from it; "
                f"name it {PROJECT_NAME}"
            )
        return value

    @field_validator("runtime")
    @classmethod
    def _python(cls, value: Any) -> Any:
        # https://www.pulumi.com/docs/iac/concepts/projects/project-file/#runtime-options
        name = value.get("name") if isinstance(value, dict) else value
        if name != "python":
            raise ValueError(
                "the program is Python (__main__.py): write runtime: python, or runtime: with "
                "name: python and its options"
            )
        return value

    @field_validator("stackConfigDir")
    @classmethod
    def _stacks(cls, value: str) -> str:
        if value != "stacks":
            raise ValueError(
                "rollout validates and plans the stack files in stacks/; Pulumi must read the "
                "same files: write stackConfigDir: stacks"
            )
        return value


def duration_seconds(text: str) -> int:
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86_400}[text[-1]]
    return int(text[:-1]) * unit
