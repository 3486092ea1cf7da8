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

import bisect
import ipaddress
import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from rollout import catalog
from rollout.catalog import CELL_NAME_MAX, CELL_NAME_MIN, CELL_NAME_PATTERN, PROJECT_NAME
from rollout.config.problems import describe, is_credential_key

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
SERVICE_ACCOUNT_DOMAIN = ".iam.gserviceaccount.com"
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


# --- Expanding a recurrence: what GKE's maintenance availability rule needs ----------------
#
# GKE requires at least 48 h of maintenance availability in every rolling 32 days, counting
# only contiguous periods of 4 h or more
# (https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions#maintenance-window,
# https://cloud.google.com/kubernetes-engine/docs/how-to/maintenance-window). It refuses a policy
# below that at `pulumi up`; here the rule is expanded offline instead. GKE starts a window of
# end_time - start_time at every instance of the RRULE, the first at start_time
# (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#recurringtimewindow).
# The expansion below follows RFC 5545 section 3.3.10 for the subset the pattern accepts,
# FREQ=DAILY and FREQ=WEEKLY with INTERVAL, COUNT, UNTIL, WKST, BYMONTH, BYMONTHDAY, BYDAY,
# BYHOUR, BYMINUTE, BYSECOND and BYSETPOS (python-dateutil would do it, but is not installed):
# BYMONTH, BYMONTHDAY and (daily) BYDAY keep days, (weekly) BYDAY and BYHOUR/BYMINUTE/BYSECOND
# expand them, BYSETPOS picks from each period's set, and DTSTART is always the first instance.

# How far the rule is expanded: two years cover every weekday, month length and leap day a
# daily or weekly rule can meet, plus one more 32-day window at the end.
HORIZON_DAYS = 2 * 366 + catalog.GKE_MAINTENANCE_PERIOD_DAYS
# More window starts a day than this is no maintenance window GKE means (windows are hours long).
MAX_STARTS_PER_DAY = 24 * 60
_DAY_INDEX = {d: i for i, d in enumerate(WEEKDAYS)}  # MO=0, as date.weekday()


def _rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";"))


def _numbers(parts: dict[str, str], name: str) -> list[int] | None:
    return [int(x) for x in parts[name].split(",")] if name in parts else None


def _until(text: str) -> datetime:
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S"):
        if _parses(text, fmt):
            return datetime.strptime(text, fmt)
    return datetime.strptime(text, "%Y%m%d") + timedelta(days=1, seconds=-1)  # the whole day


def _month_day_matches(day: date, wanted: list[int]) -> bool:
    length = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    return any(day.day == (n if n > 0 else length + 1 + n) for n in wanted)


def rrule_starts(rule: str, dtstart: datetime, until: datetime) -> list[datetime]:
    """Every instance of ``rule`` (an RRULE the models accept) from ``dtstart`` to ``until``."""
    parts = _rule_parts(rule)
    interval = int(parts.get("INTERVAL", "1"))
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    end = min(until, _until(parts["UNTIL"])) if "UNTIL" in parts else until
    months, month_days = _numbers(parts, "BYMONTH"), _numbers(parts, "BYMONTHDAY")
    positions = _numbers(parts, "BYSETPOS")
    weekdays = {_DAY_INDEX[d] for d in parts["BYDAY"].split(",")} if "BYDAY" in parts else None
    times = sorted(
        time(h, m, s)
        for h in _numbers(parts, "BYHOUR") or [dtstart.hour]
        for m in _numbers(parts, "BYMINUTE") or [dtstart.minute]
        for s in _numbers(parts, "BYSECOND") or [dtstart.second]
        if s < 60  # a leap second never starts a window
    )
    if parts["FREQ"] == "WEEKLY":
        week_start = _DAY_INDEX[parts.get("WKST", "MO")]
        first = dtstart.date() - timedelta(days=(dtstart.weekday() - week_start) % 7)
        span, step = 7, 7 * interval
        if weekdays is None:
            weekdays = {dtstart.weekday()}
    else:
        first, span, step = dtstart.date(), 1, interval
    found = [dtstart]
    period = first
    while period <= end.date():
        chosen = [
            datetime.combine(day, t)
            for day in (period + timedelta(days=i) for i in range(span))
            if (months is None or day.month in months)
            and (month_days is None or _month_day_matches(day, month_days))
            and (weekdays is None or day.weekday() in weekdays)
            for t in times
        ]
        if positions:
            size = len(chosen)
            picked = {chosen[p - 1 if p > 0 else p] for p in positions if -size <= p <= size}
            chosen = sorted(picked)
        for instance in chosen:
            if instance <= dtstart:
                continue
            if instance > end or (count is not None and len(found) >= count):
                return found
            found.append(instance)
        period += timedelta(days=step)
    return found


@lru_cache(maxsize=64)
def maintenance_shortfall(start: datetime, end: datetime, rule: str) -> str | None:
    """Why GKE would refuse this recurring window (too little availability), or None."""
    parts = _rule_parts(rule)
    times = 1
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        times *= len(parts[name].split(",")) if name in parts else 1
    if times > MAX_STARTS_PER_DAY:
        return (
            f"BYHOUR x BYMINUTE x BYSECOND start {times} windows a day; GKE's windows are hours "
            "long: give the time of day in start_time and drop BYMINUTE and BYSECOND"
        )
    length = end - start
    horizon = start + timedelta(days=HORIZON_DAYS)
    merged: list[list[datetime]] = []
    for at in rrule_starts(rule, start, horizon):
        if merged and at <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], at + length)
        else:
            merged.append([at, at + length])
    least = timedelta(hours=catalog.GKE_MAINTENANCE_MIN_WINDOW_HOURS)
    periods = [(a, b) for a, b in merged if b - a >= least]
    window = timedelta(days=catalog.GKE_MAINTENANCE_PERIOD_DAYS)
    last = horizon - window
    starts = [a for a, _ in periods]
    ends = [b for _, b in periods]
    totals = [timedelta(0)]
    for a, b in periods:
        totals.append(totals[-1] + (b - a))

    def covered(lo: datetime) -> timedelta:
        hi = lo + window
        i, j = bisect.bisect_right(ends, lo), bisect.bisect_left(starts, hi)
        if i >= j:
            return timedelta(0)
        return (
            totals[j]
            - totals[i]
            - max(timedelta(0), lo - starts[i])
            - max(timedelta(0), ends[j - 1] - hi)
        )

    # The covered time is piecewise linear in the window's start: its least value is at an end
    # of the range or where the window's edge meets a period's edge.
    candidates = {start, last} | {b for b in ends if start <= b <= last}
    candidates |= {a - window for a in starts if start <= a - window <= last}
    worst = min(sorted(candidates), key=covered)
    hours = covered(worst) / timedelta(hours=1)
    need = catalog.GKE_MAINTENANCE_MIN_HOURS
    if hours >= need:
        return None
    notes = []
    if length < least and not periods:
        notes.append(
            f"each window, start_time to end_time, is {_hours(length)} h, and windows under "
            f"{catalog.GKE_MAINTENANCE_MIN_WINDOW_HOURS} h count for nothing"
        )
    if ("COUNT" in parts or "UNTIL" in parts) and worst >= (ends[-1] if ends else start):
        notes.append("after its COUNT or UNTIL the rule starts no more windows")
    note = f" ({'; '.join(notes)})" if notes else ""
    return (
        f"{_hours(hours)} h of maintenance in the {catalog.GKE_MAINTENANCE_PERIOD_DAYS} days "
        f"from {worst:%Y-%m-%dT%H:%M:%SZ}{note}; GKE needs at least {need} h in every rolling "
        f"{catalog.GKE_MAINTENANCE_PERIOD_DAYS} days, counting only windows of "
        f"{catalog.GKE_MAINTENANCE_MIN_WINDOW_HOURS} h or more: add days or lengthen the window "
        "(e.g. FREQ=DAILY with a 4 h window)"
    )


def _hours(value: float | timedelta) -> str:
    hours = value / timedelta(hours=1) if isinstance(value, timedelta) else value
    return f"{hours:.1f}".removesuffix(".0")


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
        description="RRULE (RFC 5545), e.g. FREQ=DAILY; with the window's length it must give "
        "GKE 48 h of maintenance in every 32 days, counting windows of 4 h or more",
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

    @field_validator("recurrence")
    @classmethod
    def _availability(cls, value: str, info: ValidationInfo) -> str:
        start, end = info.data.get("start_time"), info.data.get("end_time")
        if start is None or end is None:
            return value  # judged once the times themselves are valid
        problem = maintenance_shortfall(
            datetime.strptime(start, TIME_FORMAT), datetime.strptime(end, TIME_FORMAT), value
        )
        if problem:
            raise ValueError(problem)
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
    binary_authorization_attestor: str = Field(
        description="the bank's release attestor, projects/<project>/attestors/<name>: every "
        "image a cell runs must carry its attestation (Binary Authorization)",
        pattern=r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/attestors/[A-Za-z0-9_-]{1,64}$",
    )

    @field_validator("machine_type")
    @classmethod
    def _known_machine_type(cls, value: str) -> str:
        # The quota pre-flight multiplies the type's vCPUs out (rollout.quota).
        if value not in catalog.MACHINE_TYPE_VCPUS:
            families = ", ".join(catalog.MACHINE_FAMILIES)
            raise ValueError(
                f"not a machine type the catalog knows the vCPUs of (rollout.catalog."
                f"MACHINE_TYPE_VCPUS: the predefined {families} types, e.g. n2-standard-4): "
                "use one of them, or add it there"
            )
        return value

    @model_validator(mode="after")
    def _nodes(self) -> ClusterSettings:
        if self.min_nodes_per_zone > self.max_nodes_per_zone:
            raise ValueError(
                f"min_nodes_per_zone {self.min_nodes_per_zone} is above max_nodes_per_zone "
                f"{self.max_nodes_per_zone}; keep min <= max"
            )
        return self


def _processing_units(value: int) -> int:
    # Spanner allocates compute in processing units: hundreds below 1000, thousands from 1000
    # (https://cloud.google.com/spanner/docs/compute-capacity); the managed autoscaler's limits
    # are the same units.
    small, large = catalog.SPANNER_PU_STEP_SMALL, catalog.SPANNER_PU_STEP_LARGE
    step = small if value < large else large
    if value % step:
        lower, upper = value - value % step, value - value % step + step
        raise ValueError(
            f"Spanner takes processing units in steps of {small} below {large} and of {large} "
            f"from {large} (100, ..., 900, 1000, 2000, ...): write {lower} or {upper}"
        )
    return value


ProcessingUnits = Annotated[int, Field(ge=100), AfterValidator(_processing_units)]


class SpannerAutoscaling(Model):
    min_processing_units: ProcessingUnits
    max_processing_units: ProcessingUnits
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


class DirectoryAutoscaling(SpannerAutoscaling):
    """The directory's autoscaling: a multi-region instance, so a lower CPU target."""

    @field_validator("high_priority_cpu_target")
    @classmethod
    def _multi_region_cpu(cls, value: int) -> int:
        # Google recommends at most 45% high-priority CPU on a multi-region instance (65% on a
        # regional one): the headroom that lets a region's share move to the others when it
        # fails (https://cloud.google.com/spanner/docs/cpu-utilization#recommended-max).
        ceiling = catalog.SPANNER_MULTI_REGION_CPU_MAX
        if value > ceiling:
            raise ValueError(
                f"a multi-region instance should run at most {ceiling}% high-priority CPU "
                f"(Google's recommendation, so a lost region's load fits): write {ceiling} or less"
            )
        return value


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


def _cron_values(field: str, low: int, high: int) -> set[int]:
    """The values a (valid) crontab field matches: `*`, N, N-M, each optionally /STEP (N/STEP
    runs from N to the field's end, as in cron)."""
    values: set[int] = set()
    for item in field.split(","):
        m = _CRON_ITEM.match(item)
        assert m is not None  # _cron_problem has judged the field
        first = int(m["low"]) if m["low"] else low
        last = int(m["high"]) if m["high"] else (high if m["step"] or not m["low"] else first)
        values |= set(range(first, last + 1, int(m["step"] or 1)))
    return values


# A crontab's day fields repeat with the calendar: 28 years hold every weekday of every date.
CRON_YEARS = 28
CRON_FIRST_DAY = date(2026, 1, 1)


@lru_cache(maxsize=64)
def backup_gap_problem(cron: str) -> str | None:
    """Why Spanner would refuse ``cron`` (a valid crontab) for full backups, or None.

    Spanner schedules full backups at least 12 h apart (CrontabSpec.text,
    https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.backupSchedules#crontabspec).
    The day fields combine as cron's do: both restricted, a day matching either; else both.
    """
    fields = cron.split()
    minute, hour, mday, month, wday = (
        _cron_values(f, low, high) for f, (_, low, high) in zip(fields, CRON_FIELDS, strict=True)
    )
    wday = {d % 7 for d in wday}  # 7 is Sunday too; date.isoweekday() % 7 is 0 on Sunday
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    times = sorted(h * 60 + m for h in hour for m in minute)
    days = []
    for n in range(CRON_YEARS * 366):
        day = CRON_FIRST_DAY + timedelta(days=n)
        by_mday, by_wday = day.day in mday, day.isoweekday() % 7 in wday
        if day.month in month and ((by_mday or by_wday) if either else (by_mday and by_wday)):
            days.append(day)
    if not days:
        return (
            f"no day from {CRON_FIRST_DAY.year} to {CRON_FIRST_DAY.year + CRON_YEARS - 1} "
            "matches, so no backup is ever taken: write e.g. '0 2 * * *' (daily at 02:00 UTC)"
        )
    gaps = [(b - a, days[0], a, days[0], b) for a, b in zip(times, times[1:], strict=False)]
    gaps += [
        ((d2 - d1).days * 1440 + times[0] - times[-1], d1, times[-1], d2, times[0])
        for d1, d2 in zip(days, days[1:], strict=False)
    ]
    if not gaps:
        return None
    gap, d1, t1, d2, t2 = min(gaps)
    need = catalog.SPANNER_FULL_BACKUP_MIN_HOURS
    if gap >= need * 60:
        return None
    first = datetime.combine(d1, time(t1 // 60, t1 % 60))
    second = datetime.combine(d2, time(t2 // 60, t2 % 60))
    return (
        f"two full backups {_minutes(gap)} apart ({first:%Y-%m-%d %H:%M} and "
        f"{second:%Y-%m-%d %H:%M} UTC); Spanner takes full backups at least {need} h apart: "
        "write e.g. '0 2 * * *' (daily) or '0 2,14 * * *'"
    )


def _minutes(total: int) -> str:
    hours, minutes = divmod(total, 60)
    parts = (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "")
    return " ".join(p for p in parts if p)


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError("a crontab has 5 fields: minute hour day-of-month month day-of-week")
    for field, (name, low, high) in zip(fields, CRON_FIELDS, strict=True):
        problem = _cron_problem(field, low, high)
        if problem:
            raise ValueError(f"{name} field: {problem}; write it like '0 2 * * *' (UTC)")
    problem = backup_gap_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class BackupSchedule(Model):
    cron: Annotated[str, AfterValidator(_cron)] = Field(
        description="crontab in UTC, e.g. '0 2 * * *'; full backups at least 12 h apart",
        pattern=r"^(\S+\s+){4}\S+$",
    )
    retention_days: int = Field(ge=1, le=366)


class SpannerSettings(Model):
    # autoscaling comes first so the edition's rule can see it (fields validate in this order,
    # whatever the order in the file)
    autoscaling: SpannerAutoscaling
    edition: Literal["STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS"] = Field(
        description="ENTERPRISE or ENTERPRISE_PLUS: the managed autoscaler needs one of them"
    )
    version_retention_period: Duration = Field(
        description="point-in-time recovery window, 1h to 7d, e.g. 7d"
    )
    backup: BackupSchedule

    @field_validator("edition")
    @classmethod
    def _autoscaled_edition(cls, value: str, info: ValidationInfo) -> str:
        # The managed autoscaler runs in the Enterprise and Enterprise Plus editions only
        # (https://cloud.google.com/spanner/docs/managed-autoscaler); STANDARD takes a fixed size.
        if value not in catalog.SPANNER_AUTOSCALING_EDITIONS and "autoscaling" in info.data:
            raise ValueError(
                "spanner.autoscaling is set, and Spanner's managed autoscaler needs "
                f"{' or '.join(catalog.SPANNER_AUTOSCALING_EDITIONS)}: write ENTERPRISE"
            )
        return value

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


def _policy_id(value: Any) -> Any:
    # An id YAML reads as a number is the same id: keep it as text (a bool is not an id).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _digits(value: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise ValueError(
            "an access policy id is digits only, e.g. 123456789012 (gcloud "
            "access-context-manager policies list --organization=ORG shows it)"
        )
    return value


class FoundationSettings(Model):
    """Organization-level settings of each region's project."""

    access_policy_id: Optional[  # noqa: UP045 (pydantic reads the annotation at runtime)
        Annotated[str, BeforeValidator(_policy_id), AfterValidator(_digits)]
    ] = Field(
        None,
        description="the organization's Access Context Manager policy (digits): when set, "
        "each region's project sits in a VPC Service Controls perimeter around Spanner, "
        "Managed Kafka, Cloud KMS and Cloud Storage; absent, no perimeter",
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
    foundation: FoundationSettings | None = None


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
        description="the region's proxy-only subnet for the cells' load balancers, a /23 to /26 "
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
FoundationOverride = _partial(FoundationSettings)


def _jurisdiction(value: str, info: ValidationInfo) -> str:
    # Whose law governs the region's data: declared in the file, so a reader sees it, and held
    # to the catalog's one table of regions (rollout.catalog.REGION_JURISDICTIONS).
    region = info.data.get("region")
    known = catalog.REGION_JURISDICTIONS.get(region) if isinstance(region, str) else None
    if known is not None and value != known:
        raise ValueError(
            f"{region} is in jurisdiction {known!r} (rollout.catalog.REGION_JURISDICTIONS), "
            f"not {value!r}: write jurisdiction: {known}"
        )
    return value


class RegionFile(Model):
    """regions/<gcp-region>.yaml: one new region and its cells."""

    region: str = Field(description="GCP region name, e.g. europe-west2")
    jurisdiction: Annotated[str, Field(pattern=r"^[a-z]{2}$"), AfterValidator(_jurisdiction)] = (
        Field(
            description="whose data-protection law governs the region: uk for europe-west2 "
            "(London is not in the EU), sg for asia-southeast1, eu for the EU's regions"
        )
    )
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
    foundation: FoundationOverride | None = None  # type: ignore[valid-type]


class RegionOverrides(Model):
    """`demobank:overrides` of a regional stack: the last word on any default."""

    labels: LabelsOverride | None = None  # type: ignore[valid-type]
    cluster: ClusterOverride | None = None  # type: ignore[valid-type]
    spanner: SpannerOverride | None = None  # type: ignore[valid-type]
    kafka: KafkaOverride | None = None  # type: ignore[valid-type]
    foundation: FoundationOverride | None = None  # type: ignore[valid-type]


class RegionSpec(Model):
    """The merged, validated view of one region, as the components consume it."""

    stack: str
    project: str
    region: str
    jurisdiction: str
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
    foundation: FoundationSettings = FoundationSettings()

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
    plan: Literal[catalog.CLOUDFLARE_PLANS] = Field(  # type: ignore[valid-type]
        description="the zone's Cloudflare plan: every edge feature is checked against it"
    )
    add_ons: list[Literal[catalog.CLOUDFLARE_ADD_ONS]] = Field(  # type: ignore[valid-type]
        [], description="the paid add-ons bought for the account and zone"
    )

    @field_validator("add_ons")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an add-on is listed twice; list each once")
        return value


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
    hsts_max_age: int = Field(description="at least one year (31536000): the edge preloads HSTS")

    @field_validator("hsts_max_age")
    @classmethod
    def _preload_age(cls, value: int) -> int:
        # The edge sends HSTS with `preload` (components/edge.py), and the preload list takes a
        # site only with a max-age of at least one year (https://hstspreload.org/#submission-requirements).
        if value < catalog.HSTS_PRELOAD_MIN_AGE:
            raise ValueError(
                f"the edge preloads HSTS, and the preload list needs a max-age of at least "
                f"{catalog.HSTS_PRELOAD_MIN_AGE} s (one year): write {catalog.HSTS_PRELOAD_MIN_AGE}"
            )
        return value


class DirectorySettings(Model):
    """The global directory's Spanner instance: where the routing data lives, and its size.

    Either a Google-managed multi-region configuration (``instance_config: eur5``), or a
    custom one (``instance_config: custom-...``) built on ``base_config`` with its default
    leader and optional read-only replicas
    (https://cloud.google.com/spanner/docs/create-manage-configurations#create-configuration).
    """

    base_config: str | None = Field(
        None,
        description="base of a custom configuration: a multi-region configuration the "
        "catalog knows the replicas of (rollout.catalog.SPANNER_BASE_CONFIGS), e.g. eur5",
    )
    instance_config: str = Field(
        description="a multi-region configuration (e.g. eur5), or with base_config the custom "
        "configuration's name, custom-<name>",
        pattern=r"^[a-z][-a-z0-9]{1,63}$",
    )
    default_leader: str | None = Field(
        None, description="custom configuration: the base's read-write region that leads"
    )
    read_only_replicas: list[str] = Field(
        [], description="custom configuration: regions outside the base that get a read-only copy"
    )
    edition: Literal["STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS"] = Field(
        description="ENTERPRISE_PLUS: multi-region configurations need it"
    )
    autoscaling: DirectoryAutoscaling
    version_retention_period: Duration
    backup: BackupSchedule

    @field_validator("base_config")
    @classmethod
    def _known_base(cls, value: str | None) -> str | None:
        if value is not None and value not in catalog.SPANNER_BASE_CONFIGS:
            known = ", ".join(sorted(catalog.SPANNER_BASE_CONFIGS))
            raise ValueError(
                f"a custom configuration lists every replica of its base, and the catalog "
                f"knows those of {known} only (rollout.catalog.SPANNER_BASE_CONFIGS): use one "
                "of them, or add the base's replicas there"
            )
        return value

    @field_validator("instance_config")
    @classmethod
    def _placement(cls, value: str, info: ValidationInfo) -> str:
        prefix = catalog.SPANNER_CUSTOM_CONFIG_PREFIX
        if info.data.get("base_config") is not None:
            if not value.startswith(prefix):
                raise ValueError(
                    f"a custom configuration's name starts with {prefix!r} (Spanner's rule for "
                    f"user-managed configurations): write {prefix}{value}"
                )
        elif "base_config" in info.data and value not in catalog.SPANNER_MULTI_REGION_CONFIGS:
            raise ValueError(
                "not a multi-region Spanner configuration (e.g. eur5, eur3, nam-eur-asia1); "
                "for a custom one, set base_config too"
            )
        elif "base_config" in info.data and value not in catalog.SPANNER_BASE_CONFIGS:
            # The database takes one customer-managed key in each region holding a replica
            # (https://cloud.google.com/spanner/docs/use-cmek): those regions must be known.
            known = ", ".join(sorted(catalog.SPANNER_BASE_CONFIGS))
            raise ValueError(
                f"the directory is encrypted with a key in each of its replica regions, and the "
                f"catalog knows the replicas of {known} only "
                "(rollout.catalog.SPANNER_BASE_CONFIGS): use one of them, or add its replicas there"
            )
        return value

    @field_validator("default_leader")
    @classmethod
    def _leader(cls, value: str | None, info: ValidationInfo) -> str | None:
        base = info.data.get("base_config")
        if value is None or base is None:
            if value is not None and "base_config" in info.data:
                raise ValueError(
                    "default_leader belongs to a custom configuration: set base_config"
                )
            return value
        replicas = catalog.SPANNER_BASE_CONFIGS[base]
        voting = sorted({r for r, kind, _ in replicas if kind == "READ_WRITE"})
        if value not in voting:
            raise ValueError(
                f"the leader of a {base}-based configuration is one of its read-write regions: "
                f"{', '.join(voting)}"
            )
        return value

    @field_validator("read_only_replicas")
    @classmethod
    def _read_only(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            return value
        base = info.data.get("base_config")
        if base is None:
            if "base_config" in info.data:
                raise ValueError(
                    "read-only replicas are added by a custom configuration: set base_config"
                )
            return value
        inside = {r for r, _, _ in catalog.SPANNER_BASE_CONFIGS[base]}
        for region in value:
            if region not in catalog.GCP_REGIONS:
                raise ValueError(f"{region!r} is not a GCP region")
            if region in inside:
                raise ValueError(
                    f"{region} is already in {base}; an optional read-only replica goes in a "
                    "region outside the base configuration"
                )
        if len(set(value)) != len(value):
            raise ValueError("a region is listed twice; each region takes one read-only replica")
        return value

    @field_validator("edition")
    @classmethod
    def _multi_region_edition(cls, value: str) -> str:
        # Multi-region (and dual-region) configurations are an Enterprise Plus feature
        # (https://cloud.google.com/spanner/docs/editions-overview).
        want = catalog.SPANNER_MULTI_REGION_EDITION
        if value != want:
            raise ValueError(f"the directory spans regions, and multi-region needs {want}")
        return value


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
    weblate: WeblateSettings

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


# ============================================================================================
# Weblate (regions/global.yaml weblate:), built by components/weblate.py
# ============================================================================================
#
# The knobs a platform engineer needs: where, which image, how big, who may sign in and
# which secret config holds the credentials. Every security setting is a constant in the
# component. Defined after GlobalFile, which names it; GlobalFile.model_rebuild() below.

# An image pinned by digest (https://docs.docker.com/reference/cli/docker/image/pull/#pull-an-image-by-digest-immutable-identifier):
# a tag can be moved to other content, a digest cannot, so what was reviewed is what runs.
DIGEST_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)+@sha256:[0-9a-f]{64}$"
)


def _pinned_image(value: str) -> str:
    if DIGEST_IMAGE.match(value):
        return value
    if "@sha256:" in value:
        raise ValueError(
            "a digest is sha256: and 64 lowercase hex digits after a registry path, e.g. "
            "docker.io/weblate/weblate@sha256:<64 hex>"
        )
    raise ValueError(
        "a tag can be moved to other content, so every image is pinned by digest: write "
        "<registry>/<repository>@sha256:<digest> (docker buildx imagetools inspect <image:tag> "
        "prints it)"
    )


PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
SecretConfigKey = Annotated[str, Field(pattern=r"^[a-z][a-zA-Z0-9]*:[a-z][a-zA-Z0-9]*$")]


def _uk_region(value: str) -> str:
    # Weblate holds translators' accounts and unreleased text: it stays under UK law, beside the
    # London hub's regional stack (rollout.catalog.REGION_JURISDICTIONS).
    if value not in catalog.GCP_REGIONS:
        raise ValueError("not a GCP region (https://cloud.google.com/about/locations)")
    found = catalog.REGION_JURISDICTIONS.get(value)
    if found != catalog.WEBLATE_JURISDICTION:
        uk = sorted(
            r for r, j in catalog.REGION_JURISDICTIONS.items() if j == catalog.WEBLATE_JURISDICTION
        )
        raise ValueError(
            f"{value} is under {found} law; Weblate's data stays in the "
            f"{catalog.WEBLATE_JURISDICTION.upper()}: write {' or '.join(uk)}"
        )
    return value


def _run_subnet(value: str) -> str:
    # Direct VPC egress takes addresses from the subnet as instances scale: a /26 at least
    # (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc#limitations).
    prefix = ipaddress.ip_network(value).prefixlen
    if prefix > 26:
        raise ValueError(
            f"{value} is a /{prefix}; Cloud Run's Direct VPC egress needs a /26 or larger"
        )
    return value


def _services_range(value: str) -> str:
    # Private services access: one allocated range for every Google-managed service peered in,
    # a /24 at the least (https://cloud.google.com/vpc/docs/configure-private-services-access#allocating-range).
    prefix = ipaddress.ip_network(value).prefixlen
    if not 16 <= prefix <= 24:
        raise ValueError(
            f"{value} is a /{prefix}; a private services access range is a /16 to /24 "
            "(Cloud SQL, Memorystore and Filestore each take blocks of it)"
        )
    return value


class WeblateNetwork(Model):
    """Weblate's own small VPC: the global stack has no other."""

    run_cidr: Annotated[PrivateCidr, AfterValidator(_run_subnet)] = Field(
        description="Cloud Run's Direct VPC egress subnet, a /26 or larger"
    )
    services_cidr: Annotated[PrivateCidr, AfterValidator(_services_range)] = Field(
        description="private services access range (Cloud SQL, Memorystore, Filestore), /16-/24"
    )

    @model_validator(mode="after")
    def _apart(self) -> WeblateNetwork:
        run, services = (
            ipaddress.ip_network(self.run_cidr),
            ipaddress.ip_network(self.services_cidr),
        )
        if run.overlaps(services):
            raise ValueError(
                f"run_cidr {run} overlaps services_cidr {services}; give each its own range"
            )
        return self


# Cloud SQL machine types (https://cloud.google.com/sql/docs/postgres/instance-settings#machine-type-2ndgen):
# Enterprise takes custom types db-custom-<vCPUs>-<MiB> (1 or an even count up to 96 vCPUs,
# 0.9 to 6.5 GiB per vCPU, at least 3840 MiB, in 256 MiB steps); Enterprise Plus takes
# db-perf-optimized-N-<vCPUs> only. Shared-core types carry no SLA and are refused.
CUSTOM_TIER = re.compile(r"^db-custom-(?P<cpus>[0-9]+)-(?P<mib>[0-9]+)$")
PERF_TIER = re.compile(r"^db-perf-optimized-N-(?P<cpus>2|4|8|16|32|48|64|80|96|128)$")
# Point-in-time recovery keeps 1-7 days of transaction logs on Enterprise, 1-35 on Enterprise
# Plus (https://cloud.google.com/sql/docs/postgres/backup-recovery/pitr#log-retention).
SQL_LOG_RETENTION_DAYS = {"ENTERPRISE": 7, "ENTERPRISE_PLUS": 35}


def _custom_tier_problem(cpus: int, mib: int) -> str | None:
    if cpus != 1 and (cpus % 2 or not 2 <= cpus <= 96):
        return f"{cpus} vCPUs: a custom type has 1 or an even number of vCPUs up to 96"
    if mib % 256:
        return f"{mib} MiB: memory comes in steps of 256 MiB"
    low, high = max(3840, -(-cpus * 9216 // 10)), cpus * 6656
    if not low <= mib <= high:
        return f"{mib} MiB for {cpus} vCPUs: write {low}-{high} MiB (0.9-6.5 GiB per vCPU, >= 3840)"
    return None


class WeblateDatabase(Model):
    """Cloud SQL for PostgreSQL: Weblate's database. Private IP, CMEK, HA, backups and PITR are
    constants in the component."""

    version: Literal["POSTGRES_15", "POSTGRES_16", "POSTGRES_17"]
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"]
    tier: str = Field(
        description="db-custom-<vCPUs>-<MiB> (ENTERPRISE) or db-perf-optimized-N-<vCPUs> "
        "(ENTERPRISE_PLUS)"
    )
    disk_size_gb: int = Field(ge=10, le=65536, description="first size; the disk grows by itself")
    backup_start_time: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="UTC, HH:MM"
    )
    retained_backups: int = Field(ge=1, le=365, description="daily backups kept")
    log_retention_days: int = Field(
        ge=1, description="point-in-time recovery window in days: 1-7 (ENTERPRISE), 1-35 (PLUS)"
    )

    @field_validator("tier")
    @classmethod
    def _tier(cls, value: str, info: ValidationInfo) -> str:
        edition = info.data.get("edition")
        if edition == "ENTERPRISE_PLUS":
            if not PERF_TIER.match(value):
                raise ValueError(
                    "Enterprise Plus runs db-perf-optimized-N-<vCPUs> types only (2, 4, 8, 16, "
                    "32, 48, 64, 80, 96 or 128 vCPUs): write e.g. db-perf-optimized-N-2"
                )
        elif edition == "ENTERPRISE":
            m = CUSTOM_TIER.match(value)
            if m is None:
                raise ValueError(
                    "Enterprise takes a custom type db-custom-<vCPUs>-<MiB> (shared-core types "
                    "have no SLA): write e.g. db-custom-2-7680"
                )
            if problem := _custom_tier_problem(int(m["cpus"]), int(m["mib"])):
                raise ValueError(problem)
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int, info: ValidationInfo) -> int:
        edition = info.data.get("edition")
        most = SQL_LOG_RETENTION_DAYS.get(edition or "")
        if most is not None and value > most:
            raise ValueError(
                f"{edition} keeps at most {most} days of transaction logs for point-in-time "
                f"recovery: write {most} or less"
            )
        return value


class WeblateRedis(Model):
    """Memorystore for Redis: Weblate's cache, sessions and Celery queue (Standard tier, HA)."""

    version: Literal["REDIS_7_2", "REDIS_7_0", "REDIS_6_X"]
    # Standard tier: 1 to 300 GB (https://cloud.google.com/memorystore/docs/redis/redis-tiers)
    memory_size_gb: int = Field(ge=1, le=300)


class WeblateData(Model):
    """Filestore (Regional tier): Weblate's /app/data, shared by every instance."""

    # Regional tier, lower capacity range: 100 GiB to 10,239 GiB
    # (https://cloud.google.com/filestore/docs/service-tiers-regional).
    capacity_gb: int = Field(ge=100, le=10239)


class WeblateRun(Model):
    """Cloud Run: how many Weblate containers, and how large."""

    min_instances: int = Field(ge=1, le=10, description="kept warm: Celery runs in the container")
    max_instances: int = Field(ge=1, le=10)
    cpu: Literal["2", "4", "6", "8"] = Field(description="vCPUs per instance (Weblate wants 2+)")
    memory: str = Field(
        pattern=r"^[0-9]+Gi$",
        description="memory per instance, e.g. 4Gi (Weblate wants 3 GiB+)",
    )

    @model_validator(mode="after")
    def _range(self) -> WeblateRun:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances {self.min_instances} is above max_instances "
                f"{self.max_instances}; keep min <= max"
            )
        # Cloud Run: memory above 8, 16 and 24 GiB needs at least 4, 6 and 8 vCPUs, and 6 or 8
        # vCPUs need at least 4 GiB (https://cloud.google.com/run/docs/configuring/services/memory-limits,
        # https://cloud.google.com/run/docs/configuring/services/cpu).
        gib, cpus = int(self.memory[:-2]), int(self.cpu)
        if not 3 <= gib <= 32:
            raise ValueError(
                f"memory {self.memory}: Weblate needs 3Gi or more and Cloud Run gives 32Gi at "
                "most: write 3Gi to 32Gi"
            )
        need = next((c for limit, c in ((24, 8), (16, 6), (8, 4)) if gib > limit), 2)
        if cpus < need:
            raise ValueError(
                f"memory {self.memory} needs at least {need} vCPUs on Cloud Run: write cpu: "
                f'"{need}" or less memory'
            )
        if cpus >= 6 and gib < 4:
            raise ValueError(f"{cpus} vCPUs need at least 4Gi on Cloud Run: write memory: 4Gi")
        return self


class WeblateSignIn(Model):
    """Who may sign in: the bank's identity provider only, never a local password."""

    oidc_issuer: str = Field(
        pattern=r"^https://[a-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$",
        description="the bank's OpenID Connect issuer (its discovery document is at "
        "/.well-known/openid-configuration)",
    )
    oidc_client_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,255}$")
    access_group: Email = Field(
        description="Google group allowed through IAP (translators, localization managers)"
    )
    admin_email: Email = Field(
        description="where Weblate sends its error mail (WEBLATE_ADMIN_EMAIL)"
    )
    ci_account: Email | None = Field(
        None,
        description="the service account whose CI job (.github/workflows/weblate.yml) reads "
        "Weblate's API through IAP with an ID token; a service account, never a person",
    )

    @field_validator("ci_account")
    @classmethod
    def _service_account(cls, value: str | None) -> str | None:
        # IAP lets a service account through with a Google-issued ID token
        # (https://cloud.google.com/iap/docs/authentication-howto); a person signs in instead.
        if value is not None and not value.endswith(SERVICE_ACCOUNT_DOMAIN):
            raise ValueError(
                f"not a service account; accepted: an address ending {SERVICE_ACCOUNT_DOMAIN}, "
                "the identity the CI job authenticates as"
            )
        return value


class WeblateVcs(Model):
    """The code host Weblate opens pull requests on (the repository stays the truth)."""

    host: str = Field(pattern=r"^[a-z0-9.-]+$", description="API host, e.g. api.github.com")
    username: str = Field(pattern=r"^[A-Za-z0-9-]{1,39}$", description="the bot account")


def _weblate_secret(value: str) -> str:
    namespace, _, name = value.partition(":")
    if namespace != catalog.WEBLATE_SECRETS_NAMESPACE:
        raise ValueError(
            f"Weblate's secrets are config in the {catalog.WEBLATE_SECRETS_NAMESPACE!r} "
            f"namespace: write {catalog.WEBLATE_SECRETS_NAMESPACE}:{name or 'name'}"
        )
    # Named as a credential, so `rollout validate` holds its stack-file value to `secure:`.
    if not is_credential_key(value):
        raise ValueError(
            "the key must name a credential (token, key, secret, password), so the stack file "
            "may hold it only as a secure: value: e.g. weblate:oidcClientSecret"
        )
    return value


WeblateSecretKey = Annotated[SecretConfigKey, AfterValidator(_weblate_secret)]


class WeblateSecrets(Model):
    """The Pulumi secret config keys (`pulumi config set --secret <key> -s global`) that hold
    Weblate's credentials; each becomes a Secret Manager secret Weblate alone may read."""

    django_secret_key: WeblateSecretKey = Field(description="Django's SECRET_KEY (sessions, CSRF)")
    oidc_client_secret: WeblateSecretKey = Field(
        description="the identity provider's client secret"
    )
    vcs_token: WeblateSecretKey = Field(description="the bot's API token on the code host")

    @model_validator(mode="after")
    def _distinct(self) -> WeblateSecrets:
        keys = list(self.model_dump().values())
        if len(set(keys)) != len(keys):
            raise ValueError("two secrets name the same config key; give each its own")
        return self


class WeblateSettings(Model):
    """regions/global.yaml weblate: the Localization Platform's Weblate, in the global stack."""

    region: Annotated[str, AfterValidator(_uk_region)] = Field(
        description="a UK region (europe-west2): Weblate's data stays under UK law"
    )
    image: PinnedImage = Field(description="weblate/weblate pinned by digest")
    sql_proxy_image: PinnedImage = Field(description="the Cloud SQL Auth Proxy, pinned by digest")
    init_image: PinnedImage = Field(
        description="a root shell image (busybox) that hands the data volume to Weblate's uid once"
    )
    network: WeblateNetwork
    database: WeblateDatabase
    redis: WeblateRedis
    data: WeblateData
    run: WeblateRun
    sign_in: WeblateSignIn
    vcs: WeblateVcs
    secrets: WeblateSecrets


GlobalFile.model_rebuild()
