"""The providers' own apply-time rules, checked offline: each on a violating example, with the
one line `rollout validate` prints for it (file, line, key path, what was found, what to write).

The rules live on the config models and in the cross-file rules (``rollout.config``); the
source of each is beside it there and in ``rollout.catalog``. What only the cloud can judge
(quotas, a base configuration's optional regions, IAM propagation) is not here: it is in
comments beside the resources.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from rollout import catalog
from rollout.args import carve
from rollout.config import load_project
from rollout.config.models import backup_gap_problem, maintenance_shortfall, rrule_starts
from rollout.errors import InputError
from rollout.plan import Plan, Resource

GKE_RULE = (
    "GKE needs at least 48 h in every rolling 32 days, counting only windows of 4 h or more: "
    "add days or lengthen the window (e.g. FREQ=DAILY with a 4 h window)"
)
PU_RULE = (
    "Spanner takes processing units in steps of 100 below 1000 and of 1000 from 1000 "
    "(100, ..., 900, 1000, 2000, ...)"
)
WINDOW = '    start_time: "2026-01-03T00:00:00Z"\n    end_time: "2026-01-03T08:00:00Z"\n'


def only_error(root: Path) -> str:
    with pytest.raises(InputError) as info:
        load_project(root)
    [line] = [str(p) for p in info.value.problems]
    return line


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


# --------------------------------------------------------------------------------------------
# One violating example per rule, with its exact line
# --------------------------------------------------------------------------------------------

CASES = [
    # GKE maintenance availability: the shipped window of the last release (Sat+Sun 02:00-06:00)
    pytest.param(
        "regions/defaults.yaml",
        WINDOW,
        '    start_time: "2026-01-03T02:00:00Z"\n    end_time: "2026-01-03T06:00:00Z"\n',
        "regions/defaults.yaml:18:5: cluster.maintenance_window.recurrence: found "
        "'FREQ=WEEKLY;BYDAY=SA,SU': 32 h of maintenance in the 32 days from "
        f"2026-01-04T06:00:00Z; {GKE_RULE}",
        id="gke-maintenance-weekend-4h",
    ),
    pytest.param(
        "regions/defaults.yaml",
        '"FREQ=WEEKLY;BYDAY=SA,SU"',
        '"FREQ=WEEKLY;BYDAY=SA"',
        "regions/defaults.yaml:18:5: cluster.maintenance_window.recurrence: found "
        "'FREQ=WEEKLY;BYDAY=SA': 32 h of maintenance in the 32 days from 2026-01-03T08:00:00Z; "
        f"{GKE_RULE}",
        id="gke-maintenance-one-day",
    ),
    pytest.param(
        "regions/defaults.yaml",
        WINDOW + '    recurrence: "FREQ=WEEKLY;BYDAY=SA,SU"',
        WINDOW.replace("T08:00", "T03:00") + '    recurrence: "FREQ=DAILY"',
        "regions/defaults.yaml:18:5: cluster.maintenance_window.recurrence: found 'FREQ=DAILY': "
        "0 h of maintenance in the 32 days from 2026-01-03T00:00:00Z (each window, start_time "
        f"to end_time, is 3 h, and windows under 4 h count for nothing); {GKE_RULE}",
        id="gke-maintenance-short-windows",
    ),
    pytest.param(
        "regions/defaults.yaml",
        '"FREQ=WEEKLY;BYDAY=SA,SU"',
        '"FREQ=DAILY;COUNT=30"',
        "regions/defaults.yaml:18:5: cluster.maintenance_window.recurrence: found "
        "'FREQ=DAILY;COUNT=30': 0 h of maintenance in the 32 days from 2026-02-01T08:00:00Z "
        f"(after its COUNT or UNTIL the rule starts no more windows); {GKE_RULE}",
        id="gke-maintenance-rule-ends",
    ),
    # Spanner processing units: hundreds below 1000, thousands from 1000
    pytest.param(
        "regions/defaults.yaml",
        "max_processing_units: 5000",
        "max_processing_units: 1500",
        "regions/defaults.yaml:31:5: spanner.autoscaling.max_processing_units: found 1500: "
        f"{PU_RULE}: write 1000 or 2000",
        id="spanner-processing-units-thousands",
    ),
    pytest.param(
        "regions/defaults.yaml",
        "min_processing_units: 1000",
        "min_processing_units: 150",
        "regions/defaults.yaml:30:5: spanner.autoscaling.min_processing_units: found 150: "
        f"{PU_RULE}: write 100 or 200",
        id="spanner-processing-units-hundreds",
    ),
    # Spanner's managed autoscaler: Enterprise or Enterprise Plus
    pytest.param(
        "regions/defaults.yaml",
        "edition: ENTERPRISE",
        "edition: STANDARD",
        "regions/defaults.yaml:28:3: spanner.edition: found 'STANDARD': spanner.autoscaling is "
        "set, and Spanner's managed autoscaler needs ENTERPRISE or ENTERPRISE_PLUS: write "
        "ENTERPRISE",
        id="spanner-autoscaling-edition",
    ),
    # Spanner full backups at least 12 h apart
    pytest.param(
        "regions/defaults.yaml",
        'cron: "0 2 * * *"',
        'cron: "0 2,12 * * *"',
        "regions/defaults.yaml:36:5: spanner.backup.cron: found '0 2,12 * * *': two full "
        "backups 10 h apart (2026-01-01 02:00 and 2026-01-01 12:00 UTC); Spanner takes full "
        "backups at least 12 h apart: write e.g. '0 2 * * *' (daily) or '0 2,14 * * *'",
        id="spanner-backup-12h",
    ),
    pytest.param(
        "regions/global.yaml",
        'cron: "30 2 * * *"',
        'cron: "30 22,2 * * *"',
        "regions/global.yaml:81:5: directory.backup.cron: found '30 22,2 * * *': two full "
        "backups 4 h apart (2026-01-01 22:30 and 2026-01-02 02:30 UTC); Spanner takes full "
        "backups at least 12 h apart: write e.g. '0 2 * * *' (daily) or '0 2,14 * * *'",
        id="spanner-backup-12h-across-midnight",
    ),
    pytest.param(
        "regions/defaults.yaml",
        'cron: "0 2 * * *"',
        'cron: "0 2 30 2 *"',
        "regions/defaults.yaml:36:5: spanner.backup.cron: found '0 2 30 2 *': no day from 2026 "
        "to 2053 matches, so no backup is ever taken: write e.g. '0 2 * * *' (daily at 02:00 "
        "UTC)",
        id="spanner-backup-never",
    ),
    # A cell's pod range holds 3 zones x (max nodes per zone + 1 surge) nodes of 110 pods
    pytest.param(
        "regions/europe-west2.yaml",
        "cidr: 10.16.0.0/17",
        "cidr: 10.16.0.0/19",
        "regions/europe-west2.yaml:16:5: cells.eu-1.cidr: 10.16.0.0/19 carves the pod range "
        "10.16.0.0/20: 16 nodes of 110 pods (a /24 each), but the cluster may run 3 zones x "
        "(6 max_nodes_per_zone + 1 surge) = 21 nodes; give the cell a larger range or lower "
        "cluster.max_nodes_per_zone",
        id="gke-pod-range",
    ),
    # HSTS preload needs a max-age of a year
    pytest.param(
        "regions/global.yaml",
        "hsts_max_age: 31536000",
        "hsts_max_age: 15552000",
        "regions/global.yaml:61:3: edge.hsts_max_age: found 15552000: the edge preloads HSTS, "
        "and the preload list needs a max-age of at least 31536000 s (one year): write 31536000",
        id="hsts-preload-age",
    ),
    # The directory: multi-region CPU target, edition, custom configuration
    pytest.param(
        "regions/global.yaml",
        "high_priority_cpu_target: 45",
        "high_priority_cpu_target: 65",
        "regions/global.yaml:77:5: directory.autoscaling.high_priority_cpu_target: found 65: a "
        "multi-region instance should run at most 45% high-priority CPU (Google's "
        "recommendation, so a lost region's load fits): write 45 or less",
        id="spanner-multi-region-cpu",
    ),
    pytest.param(
        "regions/global.yaml",
        "edition: ENTERPRISE_PLUS",
        "edition: ENTERPRISE",
        "regions/global.yaml:73:3: directory.edition: found 'ENTERPRISE': the directory spans "
        "regions, and multi-region needs ENTERPRISE_PLUS",
        id="spanner-multi-region-edition",
    ),
    pytest.param(
        "regions/global.yaml",
        "default_leader: europe-west2",
        "default_leader: europe-west4",
        "regions/global.yaml:71:3: directory.default_leader: found 'europe-west4': the leader "
        "of a eur5-based configuration is one of its read-write regions: europe-west1, "
        "europe-west2",
        id="spanner-custom-config-leader",
    ),
    pytest.param(
        "regions/global.yaml",
        "read_only_replicas: [asia-southeast1]",
        "read_only_replicas: [europe-west1]",
        'regions/global.yaml:72:3: directory.read_only_replicas: found ["europe-west1"]: '
        "europe-west1 is already in eur5; an optional read-only replica goes in a region "
        "outside the base configuration",
        id="spanner-custom-config-read-only",
    ),
    pytest.param(
        "regions/global.yaml",
        "instance_config: custom-demobank-directory",
        "instance_config: demobank-directory",
        "regions/global.yaml:70:3: directory.instance_config: found 'demobank-directory': a "
        "custom configuration's name starts with 'custom-' (Spanner's rule for user-managed "
        "configurations): write custom-demobank-directory",
        id="spanner-custom-config-name",
    ),
    pytest.param(
        "regions/global.yaml",
        "base_config: eur5",
        "base_config: eur3",
        "regions/global.yaml:69:3: directory.base_config: found 'eur3': a custom configuration "
        "lists every replica of its base, and the catalog knows those of eur5 only "
        "(rollout.catalog.SPANNER_BASE_CONFIGS): use one of them, or add the base's replicas "
        "there",
        id="spanner-custom-config-base",
    ),
    # Machine types whose vCPUs the catalog knows (the quota pre-flight multiplies them out)
    pytest.param(
        "regions/defaults.yaml",
        "machine_type: n2-standard-4",
        "machine_type: n2-standard-5",
        "regions/defaults.yaml:10:3: cluster.machine_type: found 'n2-standard-5': not a "
        "machine type the catalog knows the vCPUs of (rollout.catalog.MACHINE_TYPE_VCPUS: the "
        "predefined n2, n2d, e2, c3 types, e.g. n2-standard-4): use one of them, or add it there",
        id="machine-type-vcpus",
    ),
    # Residency: each region file declares the jurisdiction the catalog gives its region
    pytest.param(
        "regions/europe-west2.yaml",
        "jurisdiction: uk",
        "jurisdiction: eu",
        "regions/europe-west2.yaml:3:1: jurisdiction: found 'eu': europe-west2 is in "
        "jurisdiction 'uk' (rollout.catalog.REGION_JURISDICTIONS), not 'eu': write "
        "jurisdiction: uk",
        id="region-jurisdiction",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), CASES)
def test_provider_rule_is_one_line(
    project_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(project_copy, file, old, new)
    assert only_error(project_copy) == expected


def test_a_stack_override_is_judged_on_the_merged_region(project_copy: Path) -> None:
    """The rule runs on the merged window: a stack override that shortens it is caught (the
    line names the recurrence, the rule's key, wherever it was written)."""
    with (project_copy / "stacks/Pulumi.apac.yaml").open("a") as f:
        f.write(
            "  demobank:overrides:\n    cluster:\n      maintenance_window:\n"
            '        end_time: "2026-01-02T18:00:00Z"\n'
        )
    assert only_error(project_copy) == (
        "regions/asia-southeast1.yaml:25:5: cluster.maintenance_window.recurrence: found "
        "'FREQ=WEEKLY;BYDAY=FR,SA': 0 h of maintenance in the 32 days from 2026-01-02T16:00:00Z "
        "(each window, start_time to end_time, is 2 h, and windows under 4 h count for "
        f"nothing); {GKE_RULE}"
    )


def test_pod_range_follows_the_stack_override(project_copy: Path) -> None:
    """max_nodes_per_zone from the stack file (6 for eu) sizes the check, not the default."""
    edit(project_copy, "regions/europe-west2.yaml", "cidr: 10.16.0.0/17", "cidr: 10.16.0.0/18")
    load_project(project_copy)  # /19 of pods: 32 nodes >= 3 x (6 + 1)
    edit(project_copy, "stacks/Pulumi.eu.yaml", "max_nodes_per_zone: 6", "max_nodes_per_zone: 10")
    assert "= 33 nodes" in only_error(project_copy)


# --------------------------------------------------------------------------------------------
# The expansions themselves
# --------------------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=SA,SU", "2026-01-03T02:00",
         ["2026-01-03T02:00", "2026-01-04T02:00", "2026-01-10T02:00", "2026-01-11T02:00"]),
        # DTSTART is the first instance even off the rule; INTERVAL counts weeks from its week
        ("FREQ=WEEKLY;BYDAY=MO;INTERVAL=2", "2026-01-03T02:00",
         ["2026-01-03T02:00", "2026-01-12T02:00", "2026-01-26T02:00"]),
        ("FREQ=DAILY;BYDAY=MO,FR", "2026-01-01T01:00",
         ["2026-01-01T01:00", "2026-01-02T01:00", "2026-01-05T01:00", "2026-01-09T01:00"]),
        ("FREQ=DAILY;BYHOUR=1,13;BYMINUTE=30", "2026-01-01T00:00",
         ["2026-01-01T00:00", "2026-01-01T01:30", "2026-01-01T13:30", "2026-01-02T01:30"]),
        ("FREQ=DAILY;BYMONTHDAY=-1", "2026-01-31T00:00",
         ["2026-01-31T00:00", "2026-02-28T00:00", "2026-03-31T00:00"]),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE;BYSETPOS=-1", "2026-01-05T00:00",
         ["2026-01-05T00:00", "2026-01-07T00:00", "2026-01-14T00:00"]),
        ("FREQ=DAILY;COUNT=2", "2026-01-01T00:00", ["2026-01-01T00:00", "2026-01-02T00:00"]),
        ("FREQ=DAILY;UNTIL=20260102", "2026-01-01T05:00", ["2026-01-01T05:00", "2026-01-02T05:00"]),
    ],
)  # fmt: skip
def test_rrule_expansion_follows_rfc_5545(rule: str, start: str, expected: list[str]) -> None:
    found = rrule_starts(rule, at(start), at("2026-04-01T00:00"))
    assert [f"{t:%Y-%m-%dT%H:%M}" for t in found[: len(expected)]] == expected


@pytest.mark.parametrize(
    ("start", "end", "rule", "ok"),
    [
        ("2026-01-03T00:00", "2026-01-03T08:00", "FREQ=WEEKLY;BYDAY=SA,SU", True),  # shipped
        ("2026-01-02T16:00", "2026-01-03T00:00", "FREQ=WEEKLY;BYDAY=FR,SA", True),  # Singapore
        ("2026-01-03T02:00", "2026-01-03T06:00", "FREQ=DAILY", True),  # 4 h daily: ~128 h
        # windows that touch merge into one period: two 2 h halves make a 4 h window
        ("2026-01-03T02:00", "2026-01-03T04:00", "FREQ=DAILY;BYHOUR=2,4", True),
        ("2026-01-03T02:00", "2026-01-03T04:00", "FREQ=DAILY;BYHOUR=2,5", False),
        # a whole weekend, once a week: 2 x 48 h at the least
        ("2026-01-03T00:00", "2026-01-05T00:00", "FREQ=WEEKLY;BYDAY=SA", True),
        ("2026-01-03T00:00", "2026-01-03T12:00", "FREQ=WEEKLY;BYDAY=SA", True),  # 4 x 12 h
        ("2026-01-03T00:00", "2026-01-03T11:00", "FREQ=WEEKLY;BYDAY=SA", False),  # 4 x 11 h
    ],
)
def test_maintenance_availability(start: str, end: str, rule: str, ok: bool) -> None:
    assert (maintenance_shortfall(at(start), at(end), rule) is None) is ok


@pytest.mark.parametrize(
    ("cron", "ok"),
    [
        ("0 2 * * *", True),
        ("0 2/12 * * *", True),  # 02:00 and 14:00
        ("0 2/11 * * *", False),  # 02:00, 13:00: 11 h
        ("0 14 * * 1-5", True),
        ("*/30 2 * * *", False),
        ("0 0 * * 0,7", True),  # Sunday twice is Sunday once
        ("0 23 1 * 1", True),  # day 1 or a Monday: never within 12 h of each other at 23:00
    ],
)
def test_backup_gap(cron: str, ok: bool) -> None:
    assert (backup_gap_problem(cron) is None) is ok


def test_the_pod_rule_uses_the_programs_carving() -> None:
    # a /17 cell gives its first half to pods: 64 node ranges of /24
    pods = carve("10.16.0.0/17").pods
    assert pods == "10.16.0.0/18"
    assert catalog.gke_node_pod_prefix() == 24 and catalog.gke_node_pod_prefix(32) == 26
    assert catalog.gke_node_pod_prefix(256) == 23


def test_every_gcp_region_has_a_jurisdiction() -> None:
    assert set(catalog.REGION_JURISDICTIONS) == set(catalog.GCP_REGIONS)
    assert catalog.REGION_JURISDICTIONS["europe-west2"] == "uk"
    assert catalog.REGION_JURISDICTIONS["europe-west6"] == "ch"
    assert catalog.REGION_JURISDICTIONS["asia-southeast1"] == "sg"
    assert catalog.jurisdictions_of("regional-europe-west2") == {"uk"}
    assert catalog.jurisdictions_of("europe-west2-b") == {"uk"}
    assert catalog.jurisdictions_of("EU") == {"eu"}
    assert catalog.jurisdictions_of("eur5") == {"uk", "eu"}
    assert catalog.jurisdictions_of("custom-demobank-directory") is None
    assert catalog.jurisdictions_of("ASIA") is None


def test_the_directory_sits_on_its_custom_configuration(plans: dict[str, Plan]) -> None:
    """London leads (both London replicas), Belgium votes, the Netherlands witnesses, Singapore
    reads: the base's replicas as the catalog lists them, plus one read-only replica."""
    glob = plans["global"]
    (config,) = glob.of_type(catalog.SPANNER_INSTANCE_CONFIG)
    (instance,) = glob.of_type(catalog.SPANNER_INSTANCE)
    assert config.protect and config.inputs["deletionPolicy"] == catalog.PREVENT
    assert config.inputs["baseConfig"] == "eur5"
    assert config.inputs["name"].startswith(catalog.SPANNER_CUSTOM_CONFIG_PREFIX)
    assert [
        (r["location"], r["type"], r["defaultLeaderLocation"]) for r in config.inputs["replicas"]
    ] == [
        ("europe-west2", "READ_WRITE", True),
        ("europe-west2", "READ_WRITE", True),
        ("europe-west1", "READ_WRITE", False),
        ("europe-west1", "READ_WRITE", False),
        ("europe-west4", "WITNESS", False),
        ("asia-southeast1", "READ_ONLY", False),
    ]
    assert instance.inputs["config"] == config.inputs["name"]
    assert config.urn in instance.dependencies
    assert instance.inputs["edition"] == catalog.SPANNER_MULTI_REGION_EDITION
    targets = instance.inputs["autoscalingConfig"]["autoscalingTargets"]
    assert targets["highPriorityCpuUtilizationPercent"] <= catalog.SPANNER_MULTI_REGION_CPU_MAX


# --------------------------------------------------------------------------------------------
# Cloudflare: the declared plan and add-ons hold every feature the edge uses
# --------------------------------------------------------------------------------------------

PLAN_LINE = "regions/global.yaml:11:3: zone.plan: found"
ADD_ONS_LINE = "regions/global.yaml:12:3: zone.add_ons: found"
SHIPPED_ADD_ONS = "add_ons: [load_balancing, workers_paid]"
ALL_ADD_ONS = "add_ons: [load_balancing, traffic_steering, workers_paid]"
PLANS = "(plans: free, pro, business, enterprise)"


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            [("plan: enterprise", "plan: pro"), (SHIPPED_ADD_ONS, ALL_ADD_ONS)],
            f"{PLAN_LINE} 'pro': the l10n origin rule (its Host header and DNS record "
            f"overrides) needs enterprise: write enterprise {PLANS}",
            id="origin-rule-overrides-need-enterprise",
        ),
        pytest.param(
            [("plan: enterprise", "plan: free"), (SHIPPED_ADD_ONS, ALL_ADD_ONS)],
            f"{PLAN_LINE} 'free': the managed WAF (the Cloudflare Managed and OWASP Core "
            "rulesets) needs pro; the sign-in rate limit (60 s period, 600 s block) needs pro; "
            "the l10n origin rule (its Host header and DNS record overrides) needs enterprise: "
            f"write enterprise {PLANS}",
            id="free-plan",
        ),
        pytest.param(
            [(SHIPPED_ADD_ONS, "add_ons: [workers_paid]")],
            f'{ADD_ONS_LINE} ["workers_paid"]: load balancing (the load balancer, its pools and '
            "monitors) needs the load_balancing add-on: add load_balancing",
            id="load-balancing-add-on",
        ),
        pytest.param(
            [(SHIPPED_ADD_ONS, "add_ons: [load_balancing]")],
            f'{ADD_ONS_LINE} ["load_balancing"]: the cell router on every request to the app '
            "host needs the workers_paid add-on: add workers_paid",
            id="workers-paid",
        ),
        pytest.param(
            [(SHIPPED_ADD_ONS, "add_ons: [load_balancing, workers_paid, load_balancing]")],
            f'{ADD_ONS_LINE} ["load_balancing", "workers_paid", "load_balancing"]: an add-on is '
            "listed twice; list each once",
            id="add-on-twice",
        ),
        pytest.param(
            [("plan: enterprise", "plan: premium")],
            f"{PLAN_LINE} 'premium': Input should be 'free', 'pro', 'business' or 'enterprise'",
            id="unknown-plan",
        ),
    ],
)
def test_the_cloudflare_plan_holds_every_feature(
    project_copy: Path, edits: list[tuple[str, str]], expected: str
) -> None:
    for old, new in edits:
        edit(project_copy, "regions/global.yaml", old, new)
    assert only_error(project_copy) == expected


def test_geo_steering_below_enterprise_needs_traffic_steering(project_copy: Path) -> None:
    """Business has the origin rule's overrides short (plan) and geo steering short (add-on):
    one line each, the add-on line saying the Enterprise plan would include it."""
    edit(project_copy, "regions/global.yaml", "plan: enterprise", "plan: business")
    with pytest.raises(InputError) as info:
        load_project(project_copy)
    assert [str(p) for p in info.value.problems] == [
        f"{PLAN_LINE} 'business': the l10n origin rule (its Host header and DNS record "
        f"overrides) needs enterprise: write enterprise {PLANS}",
        f'{ADD_ONS_LINE} ["load_balancing", "workers_paid"]: geo steering needs the '
        "traffic_steering add-on (or the enterprise plan): add traffic_steering",
    ]


def cloudflare_features(resource: Resource) -> set[str]:
    """The catalog's feature keys one Cloudflare resource of the plan uses; an unknown type or
    phase raises, so a new kind of Cloudflare resource is classified when it is added."""
    t, inputs = resource.type, resource.inputs
    if t == catalog.CF_LB:
        policy = inputs["steeringPolicy"]
        assert policy in ("off", "random", "geo"), policy  # others: add them to the catalog
        return {"load_balancing"} | ({"geo_steering"} if policy == "geo" else set())
    if t in (catalog.CF_POOL, catalog.CF_MONITOR):
        return {"load_balancing"}
    if t in (catalog.CF_DNS_RECORD, catalog.CF_DNSSEC):
        return {"dns"}
    if t == catalog.CF_ZONE_SETTING:
        return {"zone_settings"}
    if t in (catalog.CF_ORIGIN_PULLS, catalog.CF_ORIGIN_PULLS_HOSTNAME_CERTIFICATE):
        return {"origin_pulls"}
    if t.startswith("cloudflare:index/workers"):
        return {"workers"}
    if t == catalog.CF_RULESET:
        phase, rules = inputs["phase"], inputs["rules"]
        if phase == "http_request_origin":
            overrides = [r["actionParameters"] for r in rules]
            assert all("hostHeader" in p or "host" in p.get("origin", {}) for p in overrides)
            return {"origin_overrides"}
        if phase == "http_ratelimit":
            for r in rules:
                assert r["ratelimit"]["period"] == catalog.SIGN_IN_RATE_LIMIT_PERIOD
                assert r["ratelimit"]["mitigationTimeout"] == catalog.SIGN_IN_RATE_LIMIT_TIMEOUT
            return {"rate_limit"}
        return {
            "http_request_firewall_managed": {"managed_waf"},
            "http_request_cache_settings": {"cache_rules"},
            "http_request_transform": {"url_rewrite"},
        }[phase]
    raise AssertionError(f"{resource.urn}: a Cloudflare type the catalog's features do not cover")


def test_every_cloudflare_resource_uses_a_cataloged_feature(plans: dict[str, Plan]) -> None:
    """The features the config rule checks are exactly the ones the global stack uses."""
    used: set[str] = set()
    for r in plans["global"].resources:
        if r.custom and r.type.startswith("cloudflare:"):
            used |= cloudflare_features(r)
    assert used == set(catalog.CLOUDFLARE_FEATURES)
    rate_limit = catalog.CLOUDFLARE_FEATURES["rate_limit"]
    assert rate_limit.plan == "pro"  # 60 s counting and a 600 s block: more than Free's 10 s


def test_the_directory_needs_known_replica_regions_for_its_keys(project_copy: Path) -> None:
    """A Google-managed configuration whose replicas the catalog does not list cannot get its
    keys (one per replica region): refused, naming what the catalog knows."""
    edit(
        project_copy,
        "regions/global.yaml",
        "  base_config: eur5\n  instance_config: custom-demobank-directory\n"
        "  default_leader: europe-west2\n  read_only_replicas: [asia-southeast1]\n",
        "  instance_config: eur3\n",
    )
    assert only_error(project_copy) == (
        "regions/global.yaml:69:3: directory.instance_config: found 'eur3': the directory is "
        "encrypted with a key in each of its replica regions, and the catalog knows the "
        "replicas of eur5 only (rollout.catalog.SPANNER_BASE_CONFIGS): use one of them, or add "
        "its replicas there"
    )
