"""The global stack: Cloudflare edge, failover proven offline, the global directory, no secrets.

The shipped plan comes from the session ``plans`` fixture (built once). One extra plan of the
global stack runs against synthetic regional outputs that follow the regional contract
(``cells: {cell: {"ingress_address": ...}}``), so the StackReference path is tested even while
the regional stacks do not export cells yet.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout import catalog, program
from rollout.catalog import CLOUDFLARE_REGIONS, HOME_POOL
from rollout.config import Project, Steering, load_project
from rollout.config.problems import is_credential_key
from rollout.ddl import read_ddl
from rollout.engine import offline_config, run_program
from rollout.failover import (
    check_failover,
    check_plan_failover,
    failover_problems,
    project_pools,
)
from rollout.plan import Plan
from tests.inventory import assert_inventory

ROOT = Path(__file__).resolve().parent.parent
POOL = catalog.CF_POOL
LB = catalog.CF_LB
RULESET = catalog.CF_RULESET
ZONE_SETTING = catalog.CF_ZONE_SETTING

SYNTHETIC: dict[str, dict[str, Any]] = {
    "eu": {
        "region": "europe-west2",
        "hub": "london",
        "spanner_instance": "demobank-euw2-spanner",
        "kafka_cluster": "demobank-euw2-kafka",
        "cells": {
            "eu-2": {
                "ingress_address": "198.51.100.12",
                "cluster_name": "c2",
                "database_id": "d2",
                "origin_hostname": "eu-2.euw2.origin.demobank.example",
            },
            "eu-1": {
                "ingress_address": "198.51.100.11",
                "cluster_name": "c1",
                "database_id": "d1",
                "origin_hostname": "eu-1.euw2.origin.demobank.example",
            },
        },
    },
    "apac": {
        "region": "asia-southeast1",
        "hub": "singapore",
        "spanner_instance": "demobank-ase1-spanner",
        "kafka_cluster": "demobank-ase1-kafka",
        "cells": {
            f"apac-{i}": {
                "ingress_address": f"198.51.100.2{i}",
                "cluster_name": f"c{i}",
                "database_id": f"d{i}",
                "origin_hostname": f"apac-{i}.ase1.origin.demobank.example",
            }
            for i in (1, 2)
        },
    },
}

BROKEN_LINE = (
    "regions/global.yaml: edge.steering.region_pools.WEU: [eu] with fallback eu: losing pool eu "
    "leaves no pool with origins; add a second pool (e.g. home) or a different fallback_pool"
)


@pytest.fixture(scope="module")
def glob(plans: dict[str, Plan]) -> Plan:
    return plans["global"]


@pytest.fixture(scope="module")
def synthetic(project: Project) -> Plan:
    """The global stack planned against regional outputs that follow the full contract."""
    spec = project.stack("global")
    config, secret_keys = offline_config(spec, project.global_)
    return run_program(
        lambda: program.build(project),
        stack="global",
        config=config,
        secret_keys=secret_keys,
        project_id="demobank-global-test",
        stack_outputs=copy.deepcopy(SYNTHETIC),
    )


def pool_addresses(plan: Plan, pool: str) -> list[str]:
    return [o["address"] for o in plan.one(POOL, pool).inputs["origins"]]


def ids_to_names(plan: Plan, ids: list[str]) -> list[str]:
    name_of = {v: k for k, v in plan.outputs["pools"].items()}
    return [name_of[i] for i in ids]


# --------------------------------------------------------------------------- inventory


def test_golden_inventory(glob: Plan) -> None:
    assert_inventory(glob)


def test_outputs(glob: Plan) -> None:
    out = glob.outputs
    assert out["load_balancer_hostname"] == "app.demobank.example"
    assert set(out["pools"]) == {"eu", "apac", HOME_POOL}
    assert out["directory_instance"] == "demobank-global-directory"
    assert out["directory_database"] == "directory"
    assert re.fullmatch(r"[0-9a-f]{32}", out["zone_id"])


def test_every_resource_sits_in_its_component(glob: Plan, project: Project) -> None:
    components = {r.urn: r.type for r in glob.resources if r.is_component}
    regions = 3 + len(project.global_.directory.read_only_replicas)  # eur5's, and Singapore
    assert sorted(components.values()) == sorted(
        [
            catalog.CELL_ROUTER_COMPONENT,
            catalog.EDGE_COMPONENT,
            catalog.GLOBAL_DATABASE_COMPONENT,
            catalog.LOCALIZATION_COMPONENT,
            catalog.SHARD_MAPS_COMPONENT,
            catalog.WEBLATE_COMPONENT,
            catalog.PROJECT_APIS_COMPONENT,  # the stack's APIs, each once, and the agents
            *[catalog.HSM_KEYS_COMPONENT] * (regions + 1),  # per replica region; Weblate's
        ]
    )
    directory = {u for u, t in components.items() if t == catalog.GLOBAL_DATABASE_COMPONENT}
    for r in glob.resources:
        if r.is_component and r.type == catalog.HSM_KEYS_COMPONENT:
            # the directory's keys, one per replica region, and Weblate's ring
            assert r.parent in directory or components[r.parent or ""] == catalog.WEBLATE_COMPONENT
        elif r.is_component and r.type != catalog.GLOBAL_DATABASE_COMPONENT:
            assert r.parent not in directory, r.urn
        if not r.custom:
            continue
        owner = components.get(r.parent or "", "")
        if r.type.startswith("gcp:spanner/"):
            assert owner == catalog.GLOBAL_DATABASE_COMPONENT, r.urn
        elif owner == catalog.PROJECT_APIS_COMPONENT:  # the stack's APIs and agents
            assert r.type.startswith("gcp:projects/"), r.urn
        elif owner == catalog.HSM_KEYS_COMPONENT:  # the directory's keys
            assert r.type.startswith("gcp:kms/"), r.urn
        elif r.type.startswith("gcp:storage/"):
            assert owner.startswith(("demobank:localization:", "demobank:shards:")), r.urn
        elif r.name.startswith("l10n-"):  # the CDN path to the bundle bucket
            assert owner == catalog.LOCALIZATION_COMPONENT, r.urn
        elif r.type.startswith("cloudflare:index/workers"):
            assert owner == catalog.CELL_ROUTER_COMPONENT, r.urn
        elif r.type.startswith("gcp:"):  # every other Google resource is Weblate's
            assert owner == catalog.WEBLATE_COMPONENT, r.urn
        else:
            assert owner == catalog.EDGE_COMPONENT, r.urn


# --------------------------------------------------------------------------- edge


def test_load_balancer_follows_the_yaml(glob: Plan, project: Project) -> None:
    steering = project.global_.edge.steering
    lb = glob.one(LB, "load-balancer").inputs
    assert lb["steeringPolicy"] == "geo" and lb["proxied"] is True
    assert {k: ids_to_names(glob, v) for k, v in lb["regionPools"].items()} == steering.region_pools
    assert {
        k: ids_to_names(glob, v) for k, v in lb["countryPools"].items()
    } == steering.country_pools
    assert ids_to_names(glob, lb["defaultPools"]) == steering.default_pools
    assert ids_to_names(glob, [lb["fallbackPool"]]) == [steering.fallback_pool]
    assert lb["sessionAffinity"] == "none"  # signed-in traffic goes by the cell router
    assert lb["adaptiveRouting"] == {"failoverAcrossPools": True}


def test_every_pool_is_monitored_and_checked_near_its_users(glob: Plan) -> None:
    monitor = glob.one(catalog.CF_MONITOR, "monitor")
    assert monitor.inputs["allowInsecure"] is False
    assert monitor.inputs["type"] == "https"
    pools = glob.of_type(POOL)
    cells = {f"cell-{c}" for c in ("eu-1", "eu-2", "apac-1", "apac-2")}
    assert {p.name for p in pools} == {"eu", "apac", HOME_POOL} | cells
    for p in pools:
        expected = f"monitor-{p.name.removeprefix('cell-')}-id" if p.name in cells else "monitor-id"
        assert p.inputs["monitor"] == expected, p.name
        assert p.inputs["minimumOrigins"] == 1 and p.inputs["enabled"] is True
        assert p.inputs["checkRegions"] and set(p.inputs["checkRegions"]) <= set(CLOUDFLARE_REGIONS)
    assert "WEU" in glob.one(POOL, "eu").inputs["checkRegions"]
    assert "SEAS" in glob.one(POOL, "apac").inputs["checkRegions"]
    assert pool_addresses(glob, HOME_POOL) == ["203.0.113.10"]


def test_zone_hardening(glob: Plan) -> None:
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in glob.of_type(ZONE_SETTING)}
    assert settings["min_tls_version"] == "1.2"
    assert settings["tls_1_3"] == "on"
    assert settings["ssl"] == "strict"
    assert settings["always_use_https"] == "on"
    # snake_case keys, or the provider shows a diff on every refresh (pulumi-cloudflare#1579)
    hsts = settings["security_header"]["strict_transport_security"]
    assert hsts["enabled"] and hsts["include_subdomains"] and hsts["preload"]
    assert hsts["max_age"] >= 15_552_000
    assert glob.one(catalog.CF_DNSSEC, "dnssec").inputs["status"] == "active"


def test_waf_cache_and_rate_limit_rules(glob: Plan, project: Project) -> None:
    waf = glob.one(RULESET, "waf-managed").inputs
    assert waf["phase"] == "http_request_firewall_managed"
    assert [r["actionParameters"]["id"] for r in waf["rules"]] == [
        "efb7b8c949ac4650a09736fc376e9aee",
        "4814384a9e5d4991b9815dcfc25d2f1f",
    ]
    cache = glob.one(RULESET, "cache-rules").inputs
    assert cache["phase"] == "http_request_cache_settings"
    by_ref = {r["ref"]: r for r in cache["rules"]}
    assert by_ref["l10n"]["actionParameters"]["cache"] is True
    assert project.global_.localization.path in by_ref["l10n"]["expression"]
    # the API bypass is last, so no broader rule can make account data cacheable
    assert cache["rules"][-1]["ref"] == "api-bypass"
    assert cache["rules"][-1]["actionParameters"] == {"cache": False}
    for path in project.global_.edge.api_paths:
        assert path in cache["rules"][-1]["expression"]
    limit = glob.one(RULESET, "sign-in-rate-limit").inputs
    assert limit["phase"] == "http_ratelimit"
    (rule,) = limit["rules"]
    assert rule["action"] == "block"
    assert rule["ratelimit"]["characteristics"] == ["ip.src", "cf.colo.id"]
    assert rule["ratelimit"]["period"] == 60
    assert rule["ratelimit"]["requestsPerPeriod"] == project.global_.edge.sign_in_rate_limit
    for path in project.global_.edge.sign_in_paths:
        assert f'"{path}"' in rule["expression"]


def origin_records(plan: Plan, pool: str) -> dict[str, str]:
    """A regional pool's origins, each host name resolved through its proxied record."""
    by_host = {r.inputs["name"]: r.inputs["content"] for r in plan.of_type(catalog.CF_DNS_RECORD)}
    return {host: by_host[host] for host in pool_addresses(plan, pool)}


def test_stack_reference_feeds_the_cell_origins(synthetic: Plan) -> None:
    """Each regional pool lists that stack's cells by origin host, each record pointing at the
    cell's ingress address as the StackReference reports it."""
    for pool, outputs in SYNTHETIC.items():
        cells = outputs["cells"]
        assert origin_records(synthetic, pool) == {
            cells[c]["origin_hostname"]: cells[c]["ingress_address"] for c in sorted(cells)
        }
    assert check_plan_failover(synthetic) == []


def test_shipped_regional_outputs_feed_the_cell_origins(plans: dict[str, Plan]) -> None:
    """Same, against the regional stacks' own offline plans."""
    for pool in ("eu", "apac"):
        cells = plans[pool].outputs["cells"]
        assert origin_records(plans["global"], pool) == {
            cells[c]["origin_hostname"]: cells[c]["ingress_address"] for c in sorted(cells)
        }
    assert check_plan_failover(plans["global"]) == []


# --------------------------------------------------------------------------- failover


def test_failover_holds_on_the_shipped_yaml(project: Project) -> None:
    pools = project_pools(project)
    assert pools[HOME_POOL] == 1 and pools["eu"] >= 1 and pools["apac"] >= 1
    assert check_failover(project.global_.edge.steering, pools) == []
    assert failover_problems(project) == []


def test_failover_fails_on_a_single_pool_route(project: Project) -> None:
    steering = project.global_.edge.steering.model_copy(
        update={"region_pools": {**project.global_.edge.steering.region_pools, "WEU": ["eu"]},
                "fallback_pool": "eu"}
    )  # fmt: skip
    assert check_failover(steering, project_pools(project)) == [BROKEN_LINE]


def test_failover_problem_is_positioned_in_the_file(project_copy: Path) -> None:
    tmp_path = project_copy
    path = tmp_path / "regions" / "global.yaml"
    text = path.read_text()
    text = text.replace("      WEU: [eu, home]", "      WEU: [eu]")
    text = text.replace("    fallback_pool: home", "    fallback_pool: eu")
    path.write_text(text)
    problems = [str(p) for p in failover_problems(load_project(tmp_path))]
    line = 1 + text.splitlines().index("      WEU: [eu]")
    assert problems == [BROKEN_LINE.replace("global.yaml:", f"global.yaml:{line}:7:", 1)]


@pytest.mark.parametrize(
    ("steering", "pools", "expected"),
    [
        # the only pool anywhere is the fallback: the whole site rides on one pool
        (
            {"region_pools": {}, "default_pools": [HOME_POOL], "fallback_pool": HOME_POOL},
            {HOME_POOL: 1},
            ["edge.steering.fallback_pool: home is the only pool any route uses"],
        ),
        # a region whose pools have no origins at all, whatever is lost
        (
            {"region_pools": {"OC": ["apac"]}, "default_pools": [HOME_POOL, "eu"],
             "fallback_pool": "apac"},
            {HOME_POOL: 1, "eu": 1, "apac": 0},
            ["edge.steering.region_pools.OC: [apac] with fallback apac: no pool has origins "
             "(apac: 0)"],
        ),
        # regions left to default_pools are reported on one line naming them
        (
            {"region_pools": {r: ["eu", HOME_POOL] for r in CLOUDFLARE_REGIONS if r != "SAS"},
             "default_pools": ["apac"], "fallback_pool": "apac"},
            {HOME_POOL: 1, "eu": 1, "apac": 1},
            ["edge.steering.default_pools: (serving SAS) [apac] with fallback apac: losing pool "
             "apac leaves"],
        ),
        # a country override is checked like a region
        (
            {"region_pools": {}, "country_pools": {"SG": ["apac"]},
             "default_pools": [HOME_POOL, "eu"], "fallback_pool": "apac"},
            {HOME_POOL: 1, "eu": 1, "apac": 2},
            ["edge.steering.country_pools.SG: [apac] with fallback apac: losing pool apac"],
        ),
    ],
)  # fmt: skip
def test_failover_problem_kinds(
    steering: dict[str, Any], pools: dict[str, int], expected: list[str]
) -> None:
    found = check_failover(Steering(**steering), pools)
    assert len(found) == len(expected), found
    for line, want in zip(found, expected, strict=True):
        assert line.startswith(f"regions/global.yaml: {want}"), line
        assert "\n" not in line


def test_plan_failover_flags_an_unmonitored_or_empty_pool(synthetic: Plan) -> None:
    broken = copy.deepcopy(synthetic)
    broken.one(POOL, "apac").inputs.pop("monitor")
    broken.one(POOL, HOME_POOL).inputs["origins"] = []
    found = check_plan_failover(broken)
    assert "plan global: pool apac: no health monitor; set monitor on the pool" in found
    assert any("losing pool apac leaves no pool with origins" in f for f in found), found


# --------------------------------------------------------------------------- directory


def test_directory_is_multi_region_protected_and_backed_up(glob: Plan, project: Project) -> None:
    d = project.global_.directory
    (instance,) = glob.of_type(catalog.SPANNER_INSTANCE)
    (database,) = glob.of_type(catalog.SPANNER_DATABASE)
    (backup,) = glob.of_type(catalog.SPANNER_BACKUP_SCHEDULE)
    assert instance.protect and database.protect
    assert instance.inputs["config"] == d.instance_config
    assert instance.inputs["edition"] == "ENTERPRISE_PLUS"
    assert instance.inputs["labels"]["hub"] == "global"
    assert database.inputs["enableDropProtection"] is True
    assert database.inputs["deletionProtection"] is True
    assert database.inputs["versionRetentionPeriod"] == d.version_retention_period
    assert database.inputs["ddls"] == read_ddl(ROOT / "schema" / "directory.sql")
    assert backup.inputs["spec"]["cronSpec"]["text"] == d.backup.cron
    assert backup.inputs["retentionDuration"] == f"{d.backup.retention_days * 86_400}s"


def test_directory_is_under_a_key_in_every_replica_region(glob: Plan, project: Project) -> None:
    """Spanner's keys for a custom configuration cover every region holding a replica: the
    base's (eur5: London, Belgium, the Netherlands' witness) and the read-only ones. Each key is
    an HSM key in its region, granted to the global project's Spanner agent before the
    database is created."""
    d = project.global_.directory
    assert d.base_config == "eur5"
    regions = {"europe-west2", "europe-west1", "europe-west4", *d.read_only_replicas}
    (database,) = glob.of_type(catalog.SPANNER_DATABASE)
    names = database.inputs["encryptionConfig"]["kmsKeyNames"]
    rings = {r.inputs["location"]: r for r in glob.of_type(catalog.KMS_KEY_RING)}
    assert set(rings) == regions and len(names) == len(regions)
    agent = one_agent(glob, catalog.API_SPANNER)
    member = catalog.service_agent_member(catalog.API_SPANNER, "123456789012")  # mock number
    for name in names:
        ring_id, _, key_name = name.rpartition("/cryptoKeys/")
        (key,) = [
            k
            for k in glob.of_type(catalog.KMS_CRYPTO_KEY)
            if k.inputs["keyRing"] == ring_id and k.inputs["name"] == key_name
        ]
        location = ring_id.split("/locations/")[1].split("/")[0]
        assert rings[location].protect and key.protect
        assert key.inputs["versionTemplate"]["protectionLevel"] == "HSM"
        (grant,) = [
            g for g in glob.of_type(catalog.KMS_CRYPTO_KEY_IAM_MEMBER) if key.urn in g.dependencies
        ]
        assert grant.inputs["member"] == member
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert grant.urn in database.dependencies
        assert agent.urn in grant.dependencies  # the agent exists before it is granted
    kms = [
        s
        for s in glob.of_type(catalog.PROJECT_SERVICE)
        if s.inputs["service"] == "cloudkms.googleapis.com"
    ]
    assert kms and all(kms[0].urn in r.dependencies for r in rings.values())


def one_agent(plan: Plan, api: str) -> Any:
    (agent,) = [a for a in plan.of_type(catalog.SERVICE_IDENTITY) if a.inputs["service"] == api]
    return agent


# --------------------------------------------------------------------------- secrets

SKIP_DIRS = {
    ".venv", ".weblate-venv", "venv", ".git", "node_modules", "__pycache__", "build", "dist",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis", ".tox", ".eggs",
}  # fmt: skip
TEXT_SUFFIXES = {
    ".yaml", ".yml", ".py", ".json", ".md", ".toml", ".cfg", ".ini", ".txt", ".sh", ".env",
}  # fmt: skip
_KEY = "cloudflare:" + "apiToken"  # split so this file does not match itself
_FAKE = "abcdefABCDEF0123456789" * 2  # a 44-character token shape, for the scanner's own test
# Config files (Pulumi reads stack config from YAML; JSON is how it is exported and passed):
# every key that names a credential (rollout.config.problems.is_credential_key, the loader's
# own rule) inside Pulumi config holds a `secure:` value, at any depth and in any style (block,
# flow, JSON). Pulumi config is a namespaced key (`gcp:credentials`), everything under one, and
# the keys of a `config:` mapping (Pulumi.yaml declares its keys without the namespace).
CONFIG_SUFFIXES = {".yaml", ".yml", ".json"}
CONFIG_KEY = re.compile(r"^[A-Za-z][\w-]*:[A-Za-z_][\w.-]*$")
# A Pulumi.yaml declaration without a default holds no value, so nothing to leak.
DECLARATION_KEYS = {"type", "description", "secret", "items"}
# A file that does not parse is read line by line: a namespaced key with a value on its line.
PLAIN_CONFIG = re.compile(
    r"""(?P<key>[A-Za-z][\w-]*:[\w.-]+)["']?[ \t]*[:=][ \t]*(?P<value>[^\s#].*)$""",
    re.MULTILINE,
)
# Something named like a credential, assigned a 37-40+ character token-shaped value (Cloudflare
# API tokens are 40 characters, global API keys 37). Real tokens are random; a value of few
# distinct characters ("abcabc...") is a test placeholder, not a credential.
MIN_DISTINCT_CHARACTERS = 16
TOKEN_ASSIGNMENT = re.compile(
    r"""(?ix) (?P<name>[\w.:-]*(?:token|key|secret|password|passphrase|credential)[\w.-]*)
    ["']? [ \t]* [:=] [ \t]* ["']? (?P<value>[A-Za-z0-9_-]{37,}) (?![A-Za-z0-9_-])"""
)


def _is_secure(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"secure"}
        and isinstance(value["secure"], str)
        and bool(value["secure"].strip())
    )


def _parsed(text: str, suffix: str) -> tuple[bool, Any]:
    """(parsed?, data): a config file that does not parse is scanned line by line instead."""
    try:
        return True, json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return False, None


def config_findings(data: Any) -> list[str]:
    """Every credential-named key inside Pulumi config that does not hold a `secure:` value."""
    found: list[str] = []

    def walk(node: Any, where: str, in_config: bool, under_config_key: bool) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]", in_config, False)
            return
        if not isinstance(node, dict):
            return
        for k, value in node.items():
            key = str(k)
            here = f"{where}.{key}" if where else key
            is_config = in_config or under_config_key or bool(CONFIG_KEY.match(key))
            if under_config_key and isinstance(value, dict) and set(value) <= DECLARATION_KEYS:
                continue  # a declaration (type, secret: true, ...) holds no value
            if is_config and is_credential_key(key):
                if not _is_secure(value):
                    found.append(f"{here}: a credential in plain text")
                continue
            walk(value, here, is_config, key == "config")

    walk(data, "", False, False)
    return found


def token_findings(text: str, suffix: str) -> list[str]:
    """What in ``text`` (from a file ending in ``suffix``) looks like a plain-text credential."""
    found = []
    if suffix in CONFIG_SUFFIXES:
        parsed, data = _parsed(text, suffix)
        if parsed:
            found += config_findings(data)
        else:
            for m in PLAIN_CONFIG.finditer(text):
                value = m.group("value").strip().strip("\"'")
                secure = value.startswith(("secure:", "{secure:", '{"secure"'))
                if is_credential_key(m.group("key")) and not secure:
                    found.append(f"{m.group('key')} with a plain-text value")
    for m in TOKEN_ASSIGNMENT.finditer(text):
        name = m.group("name")
        if is_credential_key(name) and len(set(m.group("value"))) >= MIN_DISTINCT_CHARACTERS:
            found.append(f"{name} assigned a token-like value")
    return found


def project_files(root: Path) -> Iterator[Path]:
    """Every text file of the project, without descending into virtualenvs, .git or builds."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            wanted = path.suffix in TEXT_SUFFIXES or name.startswith(".env")
            if wanted and path.stat().st_size <= 2_000_000:
                yield path


@pytest.mark.parametrize(
    ("suffix", "text", "leaks"),
    [
        (".yaml", f"config:\n  {_KEY}: {_FAKE}\n", True),
        (".yaml", f"config:\n  {_KEY}: hunter2\n", True),
        (".json", f'{{"config": {{"{_KEY}": "hunter2"}}}}', True),
        (".py", "api_token = '" + _FAKE + "'\n", True),
        (".env", "CLOUDFLARE_API_TOKEN=" + _FAKE + "\n", True),
        (".md", "export CLOUDFLARE_API_TOKEN=" + _FAKE + "\n", True),
        (".yaml", f"config:\n  {_KEY}:\n    secure: v1:AAAABBBBCCCCDDDDEEEE\n", False),
        (".json", f'{{"{_KEY}": {{"secure": "v1:AAAABBBB"}}}}', False),
        (".yaml", f"  {_KEY}: {{secure: v1:AAAABBBB}}\n", False),
        (".yaml", "CLOUDFLARE_API_TOKEN: ${{ secrets.CLOUDFLARE_API_TOKEN }}\n", False),
        (".md", f"pulumi config set --secret {_KEY}   (stores a secure value)\n", False),
        (".yaml", "account_id: 0123456789abcdef0123456789abcdef\n", False),
        (".py", f"api_token = '{'abcd' * 10}'  # a placeholder of four characters\n", False),
        # every credential-named key, not only the Cloudflare token
        (".yaml", "config:\n  gcp:credentials: hunter2\n", True),
        (".yaml", "config:\n  demobank:sessionKey: hunter2\n", True),
        (".yaml", "config:\n  aws:secretKey: ''\n", True),
        (".yaml", "config:\n  demobank:regionalStacks:\n    eu: demobank/demobank/eu\n", False),
        (".yaml", "config:\n  gcp:kmsKeyName: projects/p/locations/l/keyRings/r\n", False),
        (".yaml", f"config:\n  {_KEY}:\n    secure: ''\n", True),  # empty ciphertext
        # nested under another key, in a list, in flow style, in JSON
        (".yaml", "config:\n  custom:provider:\n    auth:\n      password: hunter2\n", True),
        (".yaml", "config:\n  custom:hosts:\n    - name: a\n      apiKey: hunter2\n", True),
        (".yaml", "config: {gcp:credentials: hunter2}\n", True),
        (".yaml", "config: {custom:provider: {apiKey: hunter2}}\n", True),
        (".json", '{"config": {"custom:provider": {"clientSecret": "hunter2"}}}', True),
        (".json", '[{"custom:provider": {"token": "hunter2"}}]', True),
        (".yaml", "config:\n  custom:provider:\n    password:\n      secure: v1:AAAA\n", False),
        (".json", '{"custom:provider": {"token": {"secure": "v1:AAAA"}}}', False),
        # Pulumi.yaml declares keys without a namespace; a declaration without default is fine
        (".yaml", "config:\n  apiToken:\n    type: string\n    secret: true\n", False),
        (".yaml", "config:\n  apiToken:\n    type: string\n    default: hunter2\n", True),
        # a file that does not parse is still read line by line
        (".yaml", "config:\n  gcp:credentials: hunter2\n  broken: [\n", True),
        (".yaml", "config:\n  gcp:credentials: {secure: v1:AAAA}\n  broken: [\n", False),
        # credential-sounding keys outside Pulumi config: a locale's label, a workflow's scope
        (".yaml", "password_label:\n  text: Password\n", False),
        (".yml", "permissions:\n  id-token: write\n", False),
        (".py", "session_key = '" + _FAKE + "'\n", True),
        (".py", "kms_key_name = '" + _FAKE + "'\n", False),  # names a key, holds none
    ],
)  # fmt: skip
def test_token_scanner(suffix: str, text: str, leaks: bool) -> None:
    assert bool(token_findings(text, suffix)) is leaks


def test_no_plain_text_cloudflare_token_in_the_repository() -> None:
    leaks = []
    for path in project_files(ROOT):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        leaks += [f"{path.relative_to(ROOT)}: {f}" for f in token_findings(text, path.suffix)]
    assert leaks == [], "plain-text credentials; use `pulumi config set --secret`:\n" + "\n".join(
        leaks
    )


def test_global_stack_file_holds_no_plain_token(project: Project) -> None:
    config = project.docs["stacks/Pulumi.global.yaml"].data["config"]
    value = config.get(_KEY)
    assert value is None or (isinstance(value, dict) and set(value) == {"secure"})
