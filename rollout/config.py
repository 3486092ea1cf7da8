"""The shared YAML model: load, merge, validate; one place for all of it.

Files and their shapes (each a pydantic model with ``extra="forbid"``, exported as JSON
Schema by ``rollout schema``):

- ``regions/defaults.yaml``      -> :class:`DefaultsFile`
- ``regions/<gcp-region>.yaml``  -> :class:`RegionFile`
- ``regions/global.yaml``        -> :class:`GlobalFile`
- ``stacks/Pulumi.<stack>.yaml`` -> :class:`StackFile`
  (its ``demobank:*`` keys: :class:`StackConfig`)

Merge order for a region: defaults < region file < the stack's ``demobank:overrides``,
done once, here (:func:`merge`). Every problem is reported as a one-line
:class:`~rollout.errors.Problem` naming the file that set the value, the key path, what was
found and what is accepted.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from rollout import yamlfile
from rollout.errors import InputError, Problem, format_path
from rollout.yamlfile import KeyPath, YamlDoc

PROJECT_NAME = "demobank"
CONFIG_NS = f"{PROJECT_NAME}:"

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

NAME_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"


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


PrivateCidr = Annotated[str, AfterValidator(_network)]
Cidr = Annotated[str, AfterValidator(_any_network)]
IpAddress = Annotated[str, AfterValidator(_ip)]
Name = Annotated[str, Field(pattern=NAME_RE, min_length=2, max_length=12)]
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

    cidr: PrivateCidr = Field(description="a /14 to /20 inside network.cidr")


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


# --------------------------------------------------------------------------------------------
# Loaded project
# --------------------------------------------------------------------------------------------


@dataclass
class StackSpec:
    name: str
    file: str
    config: StackConfig
    raw: dict[str, Any]  # every config key as Pulumi would see it (all namespaces)
    region: RegionSpec | None = None

    @property
    def role(self) -> str:
        return self.config.role


@dataclass
class Project:
    root: Path
    defaults: DefaultsFile
    regions: dict[str, RegionSpec]  # keyed by GCP region name (the region file's name)
    global_: GlobalFile
    stacks: dict[str, StackSpec]
    docs: dict[str, YamlDoc] = field(default_factory=dict)

    def stack(self, name: str) -> StackSpec:
        if name not in self.stacks:
            known = ", ".join(sorted(self.stacks))
            raise InputError.one(
                f"stacks/Pulumi.{name}.yaml",
                "(file)",
                f"no stack named {name!r}; known stacks: {known}",
            )
        return self.stacks[name]

    def regional_stacks(self) -> list[StackSpec]:
        return [s for s in self.stacks.values() if s.role == "regional"]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def duration_seconds(text: str) -> int:
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86_400}[text[-1]]
    return int(text[:-1]) * unit


def find_root(start: Path | None = None) -> Path:
    """The project that holds ``start``: the nearest folder upward with a Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise InputError.one(
        str(here),
        "(project)",
        "no Pulumi.yaml here or in any parent folder; run inside the project",
    )


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether it sits inside a mapping (keyed by names)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = getattr(annotation, "__args__", ())
    origin = getattr(annotation, "__origin__", None)
    for arg in args:
        model, _ = _model_of(arg)
        if model is not None:
            return model, origin is dict
    return None, False


def _allowed_keys(model: type[BaseModel] | None, loc: KeyPath) -> list[str]:
    """Walk ``loc`` through the model to list the keys accepted where an unknown key sits."""
    current = model
    skip = False
    for part in loc[:-1]:
        if skip:  # the name of a map entry; its value is `current`
            skip = False
            continue
        if current is None:
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current, skip = _model_of(info.annotation)
    return list(current.model_fields) if current is not None and not skip else []


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_problems(
    exc: ValidationError,
    model: type[BaseModel],
    locate: Any,
    prefix: KeyPath = (),
) -> list[Problem]:
    """Turn pydantic's errors into one-line problems; ``locate(path) -> (doc, path)``."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: KeyPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        # drop pydantic's union-branch markers such as 'function-after[...]'
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            allowed = _allowed_keys(model, loc)
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            accepted = f" accepted keys: {', '.join(allowed)}" if allowed else ""
            message = f"unknown key {key!r}{hint}{accepted}"
        elif kind == "missing":
            message = "missing required key; add it (see the file's JSON Schema in schema/json/)"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            message = f"found {_describe(err.get('input'))}: {msg}"
        doc, path = locate((*prefix, *loc))
        problems.append(doc.problem(path, message))
    return problems


def _validate(model: type[Model], doc: YamlDoc, data: Any = None) -> Any:
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, model, lambda p: (doc, p))) from None


def _deep_merge(
    layers: list[tuple[YamlDoc, KeyPath, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[KeyPath, tuple[YamlDoc, KeyPath]]]:
    """Merge mappings left to right; remember which file (and where in it) set each path."""
    merged: dict[str, Any] = {}
    origin: dict[KeyPath, tuple[YamlDoc, KeyPath]] = {}

    def put(
        target: dict[str, Any], src: Mapping[str, Any], doc: YamlDoc, at: KeyPath, path: KeyPath
    ) -> None:
        for key, value in src.items():
            if value is None:
                continue
            here = (*path, key)
            origin[here] = (doc, (*at, key))
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                put(target[key], value, doc, (*at, key), here)
            elif isinstance(value, Mapping):
                target[key] = {}
                put(target[key], value, doc, (*at, key), here)
            else:
                target[key] = value

    for doc, at, data in layers:
        put(merged, data, doc, at, ())
    return merged, origin


def _locator(origin: dict[KeyPath, tuple[YamlDoc, KeyPath]], fallback: YamlDoc) -> Any:
    def locate(path: KeyPath) -> tuple[YamlDoc, KeyPath]:
        probe = tuple(path)
        while probe:
            if probe in origin:
                doc, at = origin[probe]
                return doc, (*at, *path[len(probe) :])
            probe = probe[:-1]
        return fallback, path

    return locate


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

SECTIONS_FROM_DEFAULTS = ("labels", "cluster", "spanner", "kafka", "topics", "shards")


def merge(
    stack: str,
    project_id: str,
    defaults_doc: YamlDoc,
    region_doc: YamlDoc,
    stack_doc: YamlDoc | None,
    overrides: Mapping[str, Any] | None,
) -> RegionSpec:
    """defaults < region file < stack overrides, validated as one RegionSpec."""
    region_data = {k: v for k, v in region_doc.data.items()}
    layers: list[tuple[YamlDoc, KeyPath, Mapping[str, Any]]] = [
        (defaults_doc, (), {k: defaults_doc.data.get(k) for k in SECTIONS_FROM_DEFAULTS}),
        (region_doc, (), region_data),
    ]
    if stack_doc is not None and overrides:
        layers.append((stack_doc, ("config", f"{CONFIG_NS}overrides"), overrides))
    merged, origin = _deep_merge(layers)
    merged["stack"] = stack
    merged["project"] = project_id
    try:
        return RegionSpec.model_validate(merged)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, RegionSpec, _locator(origin, region_doc))) from None


def _stack_config(doc: YamlDoc) -> StackConfig:
    config = doc.data.get("config") or {}
    ours: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            problems.append(
                doc.problem(
                    ("config", key),
                    f"found key {key!r} without a namespace; write it as "
                    f"{CONFIG_NS}{key} (or gcp:..., cloudflare:...)",
                )
            )
            continue
        if key.startswith(CONFIG_NS):
            ours[key[len(CONFIG_NS) :]] = value
        if key == "cloudflare:apiToken" and not isinstance(value, dict):
            problems.append(
                doc.problem(
                    ("config", key),
                    "found a plain-text token; set it with `pulumi config set --secret "
                    "cloudflare:apiToken` (a secure: value) or CLOUDFLARE_API_TOKEN",
                )
            )
    if problems:
        raise InputError(problems)
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as exc:

        def locate(path: KeyPath) -> tuple[YamlDoc, KeyPath]:
            if not path:
                return doc, ("config",)
            return doc, ("config", f"{CONFIG_NS}{path[0]}", *path[1:])

        raise InputError(pydantic_problems(exc, StackConfig, locate)) from None


def _stack_value_to_config(value: Any) -> str:
    """Pulumi passes object config values to the program as JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def load_project(root: Path | None = None) -> Project:
    """Read, merge and validate every YAML file of the project, or raise InputError."""
    root = (root or find_root()).resolve()
    problems: list[Problem] = []
    docs: dict[str, YamlDoc] = {}

    def read(path: Path) -> YamlDoc | None:
        try:
            doc = yamlfile.read(path, root)
        except InputError as exc:
            problems.extend(exc.problems)
            return None
        docs[doc.file] = doc
        return doc

    def check(model: type[Model], doc: YamlDoc | None) -> Any:
        if doc is None:
            return None
        try:
            return _validate(model, doc)
        except InputError as exc:
            problems.extend(exc.problems)
            return None

    regions_dir = root / "regions"
    defaults_doc = read(regions_dir / "defaults.yaml")
    defaults = check(DefaultsFile, defaults_doc)
    global_doc = read(regions_dir / "global.yaml")
    global_ = check(GlobalFile, global_doc)

    region_docs: dict[str, YamlDoc] = {}
    region_files: dict[str, RegionFile] = {}
    for path in sorted(regions_dir.glob("*.yaml")):
        if path.stem in ("defaults", "global"):
            continue
        doc = read(path)
        parsed = check(RegionFile, doc)
        if doc is None or parsed is None:
            continue
        if parsed.region != path.stem:
            problems.append(
                doc.problem(
                    ("region",),
                    f"found {parsed.region!r} in a file named {path.name}; the file name and "
                    "region must match",
                )
            )
        if parsed.region not in GCP_REGIONS:
            close = difflib.get_close_matches(parsed.region, sorted(GCP_REGIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                doc.problem(("region",), f"found {parsed.region!r}: not a GCP region{hint}")
            )
        region_docs[path.stem] = doc
        region_files[path.stem] = parsed

    stacks_dir = root / "stacks"
    stack_paths = sorted(stacks_dir.glob("Pulumi.*.yaml"))
    if not stack_paths:
        problems.append(Problem("stacks/", "(folder)", "no Pulumi.<stack>.yaml files found"))
    stacks: dict[str, StackSpec] = {}
    for path in stack_paths:
        name = path.name[len("Pulumi.") : -len(".yaml")]
        doc = read(path)
        if doc is None or check(StackFile, doc) is None:
            continue
        try:
            config = _stack_config(doc)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        raw = {k: _stack_value_to_config(v) for k, v in (doc.data.get("config") or {}).items()}
        spec = StackSpec(name=name, file=doc.file, config=config, raw=raw)
        if config.role == "regional":
            assert config.region is not None
            if config.region not in region_files:
                if (regions_dir / f"{config.region}.yaml").exists():
                    continue  # the region file itself is broken; its problems are reported
                known = ", ".join(sorted(region_files)) or "none"
                problems.append(
                    doc.problem(
                        ("config", f"{CONFIG_NS}region"),
                        f"found {config.region!r}: no file regions/{config.region}.yaml "
                        f"(region files: {known})",
                    )
                )
            elif defaults_doc is not None and defaults is not None:
                project_id = str(doc.data["config"].get("gcp:project", f"demobank-{name}"))
                try:
                    spec.region = merge(
                        name,
                        project_id,
                        defaults_doc,
                        region_docs[config.region],
                        doc,
                        config.overrides.model_dump(exclude_none=True)
                        if config.overrides
                        else None,
                    )
                except InputError as exc:
                    problems.extend(exc.problems)
        stacks[name] = spec

    if problems:
        raise InputError(_dedupe(problems))

    regions = {s.region.region: s.region for s in stacks.values() if s.region is not None}
    project = Project(
        root=root,
        defaults=defaults,
        regions=regions,
        global_=global_,
        stacks=stacks,
        docs=docs,
    )
    cross = cross_checks(project, region_docs)
    if cross:
        raise InputError(cross)
    return project


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


# --------------------------------------------------------------------------------------------
# Cross-file rules
# --------------------------------------------------------------------------------------------


@cache
def carve(cidr: str) -> dict[str, str]:
    """A cell's single range split into its parts, deterministically.

    First half: pods (GKE secondary range). Second half: nodes, then services, each an eighth
    of the cell; the control plane's /28 is the last /28 of the cell. Only the cell's own
    range is used, so adding or removing a cell never renumbers another.
    """
    net = ipaddress.ip_network(cidr)
    halves = list(net.subnets(prefixlen_diff=1))
    eighths = list(halves[1].subnets(new_prefix=net.prefixlen + 3))
    master = ipaddress.ip_network((int(net.broadcast_address) - 15, 28))
    return {
        "pods": str(halves[0]),
        "nodes": str(eighths[0]),
        "services": str(eighths[1]),
        "master": str(master),
    }


def cross_checks(project: Project, region_docs: Mapping[str, YamlDoc]) -> list[Problem]:
    problems: list[Problem] = []
    cell_owner: dict[str, str] = {}
    region_nets: list[tuple[str, ipaddress.IPv4Network]] = []
    for stack in project.regional_stacks():
        spec = stack.region
        assert spec is not None
        doc = region_docs[spec.region]
        net = ipaddress.ip_network(spec.network.cidr)
        for other_region, other_net in region_nets:
            if net.overlaps(other_net):
                problems.append(
                    doc.problem(
                        ("network", "cidr"),
                        f"{net} overlaps the network of {other_region} ({other_net}); "
                        "give each region its own range",
                    )
                )
        region_nets.append((spec.region, net))  # type: ignore[arg-type]
        substrate = ipaddress.ip_network(spec.network.substrate_cidr)
        if not substrate.subnet_of(net):  # type: ignore[arg-type]
            problems.append(
                doc.problem(
                    ("network", "substrate_cidr"),
                    f"{substrate} is outside network.cidr {net}; put it inside the region's range",
                )
            )
        seen: list[tuple[str, ipaddress.IPv4Network]] = [("network.substrate_cidr", substrate)]  # type: ignore[list-item]
        for cell, cell_spec in spec.cells.items():
            path = ("cells", cell, "cidr")
            if cell in cell_owner:
                problems.append(
                    doc.problem(
                        ("cells", cell),
                        f"cell name {cell!r} is also used by region {cell_owner[cell]}; "
                        "cell names are unique across all regions",
                    )
                )
            cell_owner[cell] = spec.region
            cnet = ipaddress.ip_network(cell_spec.cidr)
            if not 14 <= cnet.prefixlen <= 20:
                problems.append(
                    doc.problem(path, f"{cnet} is a /{cnet.prefixlen}; a cell takes a /14 to /20")
                )
                continue
            if not cnet.subnet_of(net):  # type: ignore[arg-type]
                problems.append(
                    doc.problem(
                        path,
                        f"{cnet} is outside network.cidr {net}; give each cell its own range "
                        f"inside network.cidr {net}",
                    )
                )
            for other_name, other in seen:
                if cnet.overlaps(other):
                    problems.append(
                        doc.problem(
                            path,
                            f"{cnet} overlaps {other_name} ({other}); give each cell its own "
                            f"range inside network.cidr {net}",
                        )
                    )
            seen.append((f"cells.{cell}.cidr", cnet))  # type: ignore[arg-type]

    g = project.global_
    pools = {"home"}
    for s in project.stacks.values():
        if s.role == "global":
            pools |= set(s.config.regionalStacks or {})
            regional = ", ".join(sorted(x.name for x in project.regional_stacks()))
            for pool, ref in (s.config.regionalStacks or {}).items():
                target = ref.rsplit("/", 1)[-1]
                if target not in project.stacks or project.stacks[target].role != "regional":
                    problems.append(
                        Problem(
                            s.file,
                            f"config.{CONFIG_NS}regionalStacks.{pool}",
                            f"found {ref!r}: no regional stack {target!r} in stacks/ "
                            f"(regional stacks: {regional})",
                        )
                    )
    gdoc = project.docs.get("regions/global.yaml")
    if gdoc is not None:
        steering = g.edge.steering
        for region in steering.region_pools:
            if region not in CLOUDFLARE_REGIONS:
                close = difflib.get_close_matches(region, CLOUDFLARE_REGIONS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    gdoc.problem(
                        ("edge", "steering", "region_pools", region),
                        f"found {region!r}: not a Cloudflare region{hint} "
                        f"(accepted: {', '.join(CLOUDFLARE_REGIONS)})",
                    )
                )
        refs: list[tuple[KeyPath, str]] = [
            (("edge", "steering", "fallback_pool"), steering.fallback_pool)
        ]
        refs += [
            (("edge", "steering", "default_pools", i), p)
            for i, p in enumerate(steering.default_pools)
        ]
        for section in ("region_pools", "country_pools"):
            for key, names in getattr(steering, section).items():
                refs += [(("edge", "steering", section, key, i), p) for i, p in enumerate(names)]
        for path, pool in refs:
            if pool not in pools:
                problems.append(
                    gdoc.problem(
                        path,
                        f"found pool {pool!r}; accepted pools: {', '.join(sorted(pools))} "
                        "(home, or a key of demobank:regionalStacks)",
                    )
                )
        if g.directory.instance_config not in SPANNER_MULTI_REGION_CONFIGS:
            problems.append(
                gdoc.problem(
                    ("directory", "instance_config"),
                    f"found {g.directory.instance_config!r}: not a multi-region Spanner "
                    f"configuration (e.g. nam-eur-asia1, eur3, asia1)",
                )
            )
    return problems


# --------------------------------------------------------------------------------------------
# JSON Schema export
# --------------------------------------------------------------------------------------------

SCHEMAS: dict[str, type[BaseModel]] = {
    "defaults": DefaultsFile,
    "region": RegionFile,
    "global": GlobalFile,
    "stack": StackFile,
    "stack-config": StackConfig,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """name -> JSON Schema, for editors (yaml-language-server) and `rollout schema`."""
    out = {name: model.model_json_schema() for name, model in SCHEMAS.items()}
    # The stack file's demobank:* keys are typed; other namespaces pass through to Pulumi.
    stack_config = out.pop("stack-config")
    props = {f"{CONFIG_NS}{k}": v for k, v in stack_config.get("properties", {}).items()}
    out["stack"]["$defs"] = {**out["stack"].get("$defs", {}), **stack_config.get("$defs", {})}
    out["stack"]["properties"]["config"] = {
        "type": "object",
        "properties": props,
        "patternProperties": {f"^(?!{PROJECT_NAME}:)[a-z][a-zA-Z0-9-]*:": {}},
        "additionalProperties": False,
    }
    return out


__all__ = [
    "CLOUDFLARE_REGIONS",
    "GCP_REGIONS",
    "CellSpec",
    "DefaultsFile",
    "GlobalFile",
    "Project",
    "RegionFile",
    "RegionSpec",
    "StackFile",
    "StackSpec",
    "carve",
    "find_root",
    "format_path",
    "json_schemas",
    "load_project",
    "merge",
]
