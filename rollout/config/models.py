"""The shape of every YAML file, as pydantic models (``extra="forbid"``, immutable).

- ``regions/defaults.yaml``      -> :class:`DefaultsFile`
- ``regions/<gcp-region>.yaml``  -> :class:`RegionFile`
- ``regions/global.yaml``        -> :class:`GlobalFile`
- ``stacks/Pulumi.<stack>.yaml`` -> :class:`StackFile` (its ``demobank:*`` keys:
  :class:`StackConfig`)

and :class:`RegionSpec`, one region merged (defaults < region file < stack overrides). A rule
about one shape lives on that shape's model; rules that need several files are in
``rollout.config.rules``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from rollout.catalog import CELL_NAME_MAX, CELL_NAME_MIN, CELL_NAME_PATTERN, PROJECT_NAME

CONFIG_NS = f"{PROJECT_NAME}:"

# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


def _network(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR block ({exc}); write it like 10.16.0.0/12") from None
    if net.version != 4 or not net.is_private:
        raise ValueError("expected a private IPv4 range (RFC 1918), e.g. 10.16.0.0/12")
    return value


def _any_network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR block ({exc})") from None
    if value.endswith("/0"):
        raise ValueError("0.0.0.0/0 is never accepted here; name the networks that need access")
    return value


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("not an IP address, e.g. 203.0.113.10") from None
    return value


def _cell_size(value: str) -> str:
    prefix = ipaddress.ip_network(value).prefixlen
    if not 14 <= prefix <= 20:
        raise ValueError(f"{value} is a /{prefix}; a cell takes a /14 to /20")
    return value


PrivateCidr = Annotated[str, AfterValidator(_network)]
Cidr = Annotated[str, AfterValidator(_any_network)]
IpAddress = Annotated[str, AfterValidator(_ip)]
# Keys that become Pulumi logical names and parts of cloud names: cells, authorized networks.
NAME_RE = CELL_NAME_PATTERN
Name = Annotated[
    str, Field(pattern=CELL_NAME_PATTERN, min_length=CELL_NAME_MIN, max_length=CELL_NAME_MAX)
]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*[smhd]$")]
LabelValue = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,63}$")]


class Model(BaseModel):
    """Base of every YAML shape: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Sections shared by defaults.yaml, region files and stack overrides
# --------------------------------------------------------------------------------------------


class Labels(Model):
    """Labels every labelable resource carries (plus hub, region and cell)."""

    owner: LabelValue
    cost_center: LabelValue = Field(description="becomes the cost-center label")


class MaintenanceWindow(Model):
    start_time: str = Field(
        description="RFC 3339 start of the recurring window, e.g. 2026-01-03T02:00:00Z",
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    )
    end_time: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    recurrence: str = Field(pattern=r"^FREQ=(DAILY|WEEKLY)(;.*)?$")


class ClusterSettings(Model):
    """Knobs a real user needs for a cell's GKE cluster; hardening is constant in code."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE"]
    machine_type: str = Field(pattern=r"^[a-z0-9]+-[a-z]+-[0-9]+$")
    disk_size_gb: int = Field(ge=50, le=2000)
    min_nodes_per_zone: int = Field(ge=0, le=100)
    max_nodes_per_zone: int = Field(ge=1, le=100)
    maintenance_window: MaintenanceWindow
    authorized_networks: dict[Name, Cidr] = Field(
        description="control-plane access: name -> CIDR; never 0.0.0.0/0", min_length=1
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


class BackupSchedule(Model):
    cron: str = Field(description="crontab in UTC, e.g. '0 2 * * *'", pattern=r"^(\S+\s+){4}\S+$")
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
    retention_hours: int = Field(ge=-1, description="-1 keeps records forever")
    cleanup_policy: Literal["delete", "compact"]


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
    oncall_group: Email = Field(description="Google group that is paged for this region")


class NetworkSettings(Model):
    cidr: PrivateCidr = Field(description="the region's whole range; every cell lies inside")
    substrate_cidr: PrivateCidr = Field(
        description="the region's shared subnet (Managed Kafka, internal services)"
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
    address: IpAddress = Field(description="the existing home region's public ingress")


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


class StackConfig(Model):
    """The ``demobank:*`` keys of a stack file (without the prefix)."""

    role: Literal["regional", "global"]
    region: str | None = Field(None, description="regional stacks: the region file's name")
    overrides: RegionOverrides | None = None
    regionalStacks: dict[PoolName, str] | None = Field(  # noqa: N815 (Pulumi config key)
        None, description="global stack: pool name -> fully qualified regional stack"
    )

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


def duration_seconds(text: str) -> int:
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86_400}[text[-1]]
    return int(text[:-1]) * unit


