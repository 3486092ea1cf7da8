"""Weblate in the global stack (components/weblate.py): what the plan builds, who may do what,
where every copy of its data sits, and every rule of its YAML on a violating example.

The global plan comes from the session ``plans`` fixture (built once); the config examples
each break one line of a throwaway copy of the project.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from policies import rules
from policies.rules import check_plan
from rollout import catalog, diff, names
from rollout.args import DIRECTORY_APIS, SA_EMAIL_SUFFIX
from rollout.config import Project, load_project
from rollout.engine import offline_config
from rollout.errors import InputError
from rollout.plan import Plan, Resource

GLOBAL_FILE = "regions/global.yaml"
WEBLATE = catalog.WEBLATE_COMPONENT
UK = frozenset({catalog.WEBLATE_JURISDICTION})


@pytest.fixture(scope="module")
def glob(plans: dict[str, Plan]) -> Plan:
    return plans["global"]


@pytest.fixture(scope="module")
def mine(glob: Plan) -> list[Resource]:
    """Every resource under the Weblate component."""
    (component,) = glob.of_type(WEBLATE)
    return [r for r in glob.resources if component in glob.ancestors(r)]


def one(glob: Plan, type_: str, name: str) -> Resource:
    found = glob.one(type_, name)
    assert WEBLATE in {a.type for a in glob.ancestors(found)}, found.urn
    return found


def service(glob: Plan) -> Resource:
    return one(glob, catalog.CLOUD_RUN_SERVICE, "service")


def container(glob: Plan, name: str) -> dict[str, Any]:
    (found,) = [c for c in service(glob).inputs["template"]["containers"] if c["name"] == name]
    return found


def env(glob: Plan) -> dict[str, Any]:
    """The Weblate container's environment: name -> value, or its secretKeyRef."""
    out = {}
    for e in container(glob, "weblate")["envs"]:
        out[e["name"]] = e["value"] if "value" in e else e["valueSource"]["secretKeyRef"]
    return out


def account_email(project: Project) -> str:
    return f"dbk-weblate-run@{project.stacks['global'].project_id}.iam.gserviceaccount.com"


def granted(glob: Plan) -> dict[str, list[Resource]]:
    """principal -> every grant that names it."""
    out: dict[str, list[Resource]] = {}
    for r in glob.resources:
        if r.type in catalog.IAM_GRANTS:
            for p in rules.principals(rules.Node(r.urn, r.type, r.name, r.inputs)):
                out.setdefault(p, []).append(r)
    return out


# --------------------------------------------------------------------------------------------
# Shape
# --------------------------------------------------------------------------------------------


def test_weblate_is_in_the_global_stack_only(plans: dict[str, Plan]) -> None:
    assert [p for p, plan in plans.items() if plan.of_type(WEBLATE)] == ["global"]


def test_every_resource_is_the_components_or_its_key_rings(
    glob: Plan, mine: list[Resource]
) -> None:
    (component,) = glob.of_type(WEBLATE)
    (ring,) = [r for r in mine if not r.custom]  # the one nested component: its HSM keys
    assert ring.type == catalog.HSM_KEYS_COMPONENT and ring.parent == component.urn
    assert all(r.parent in (component.urn, ring.urn) for r in mine)
    assert {r.type for r in mine if r.parent == ring.urn} == {
        catalog.KMS_KEY_RING,
        catalog.KMS_CRYPTO_KEY,
        catalog.KMS_CRYPTO_KEY_IAM_MEMBER,
    }


def test_outputs(glob: Plan, project: Project) -> None:
    number = "123456789012"  # the offline engine's project number
    site = f"demobank-weblate-{number}.{catalog.WEBLATE_REGION}.run.app"
    assert glob.outputs["weblate_url"] == f"https://{site}"
    assert glob.outputs["weblate_sql_instance"] == "demobank-weblate-sql"
    # Weblate's site domain is the service's deterministic run.app address
    assert env(glob)["WEBLATE_SITE_DOMAIN"] == site
    assert env(glob)["WEBLATE_ALLOWED_HOSTS"] == site


def test_every_name_meets_its_service_rules(mine: list[Resource]) -> None:
    kinds = rules.NAME_KINDS
    checked = 0
    for r in mine:
        if r.type in kinds:
            kind, key = kinds[r.type]
            assert names.check(kind, str(r.inputs[key])) is None, r.urn
            checked += 1
    assert checked >= 12  # SQL, Redis, Filestore, Cloud Run, secrets, accounts, keys, network


# --------------------------------------------------------------------------------------------
# Stateful resources: protected twice, backed up
# --------------------------------------------------------------------------------------------


def test_stateful_resources_are_protected(mine: list[Resource]) -> None:
    stateful = [r for r in mine if r.type in catalog.STATEFUL]
    assert {r.type for r in stateful} == catalog.WEBLATE_STATEFUL | {
        catalog.KMS_KEY_RING,
        catalog.KMS_CRYPTO_KEY,
    }
    assert [r.urn for r in stateful if not r.protect] == []
    # secret versions are rebuilt from config: a rotation disables the old one, never deletes
    versions = [r for r in mine if r.type == catalog.SECRET_VERSION]
    assert len(versions) == 4
    assert all(not v.protect and v.inputs["deletionPolicy"] == "DISABLE" for v in versions)


def test_cloud_sql_is_private_encrypted_backed_up_and_guarded(glob: Plan, project: Project) -> None:
    d = project.global_.weblate.database
    sql = one(glob, catalog.SQL_INSTANCE, "sql")
    i, s = sql.inputs, sql.inputs["settings"]
    assert i["region"] == catalog.WEBLATE_REGION and i["databaseVersion"] == d.version
    assert (s["tier"], s["edition"], s["diskSize"]) == (d.tier, d.edition, d.disk_size_gb)
    assert s["availabilityType"] == "REGIONAL"
    ip = s["ipConfiguration"]
    vpc = one(glob, catalog.NETWORK, "vpc")
    psa = one(glob, catalog.GLOBAL_ADDRESS, "services-range")
    assert ip["ipv4Enabled"] is False and "authorizedNetworks" not in ip
    assert ip["privateNetwork"] == f"{vpc.name}-id"  # the VPC's id (the offline engine's)
    assert ip["allocatedIpRange"] == psa.inputs["name"]
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert ip["enablePrivatePathForGoogleCloudServices"] is False
    assert s["connectorEnforcement"] == "REQUIRED"
    b = s["backupConfiguration"]
    assert b["enabled"] is True and b["pointInTimeRecoveryEnabled"] is True
    assert b["location"] == catalog.WEBLATE_REGION  # not the EU multi-region default
    assert b["startTime"] == d.backup_start_time
    assert b["transactionLogRetentionDays"] == d.log_retention_days
    assert b["backupRetentionSettings"] == {
        "retainedBackups": d.retained_backups,
        "retentionUnit": "COUNT",
    }
    assert i["deletionProtection"] is True and s["deletionProtectionEnabled"] is True
    assert i["deletionPolicy"] == catalog.PREVENT and s["retainBackupsOnDelete"] is True
    flags = {f["name"]: f["value"] for f in s["databaseFlags"]}
    assert flags["cloudsql.iam_authentication"] == "on"
    key = one(glob, catalog.KMS_CRYPTO_KEY, "weblate-keys-sql")
    assert i["encryptionKeyName"] == key.outputs["id"]
    # created only once its key is granted to Cloud SQL's agent and the peering exists
    grant = one(glob, catalog.KMS_CRYPTO_KEY_IAM_MEMBER, "weblate-keys-sql-agent")
    peering = one(glob, catalog.SERVICE_NETWORKING_CONNECTION, "services-peering")
    assert {grant.urn, peering.urn} <= set(sql.dependencies)
    database = one(glob, catalog.SQL_DATABASE, "database")
    assert database.protect and database.inputs["deletionPolicy"] == catalog.PREVENT


def test_weblate_signs_in_to_postgres_as_its_service_account(glob: Plan, project: Project) -> None:
    user = one(glob, catalog.SQL_USER, "database-user")
    email = account_email(project)
    assert user.inputs["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert user.inputs["name"] == email.removesuffix(SA_EMAIL_SUFFIX)
    assert "password" not in user.inputs
    e = env(glob)
    assert e["POSTGRES_USER"] == user.inputs["name"] and e["POSTGRES_PASSWORD"] == ""
    assert (e["POSTGRES_HOST"], e["POSTGRES_PORT"]) == ("127.0.0.1", "5432")  # the proxy
    proxy = container(glob, "cloud-sql-proxy")
    sql = one(glob, catalog.SQL_INSTANCE, "sql")
    assert proxy["image"] == project.global_.weblate.sql_proxy_image
    assert {"--private-ip", "--auto-iam-authn", "--port=5432"} <= set(proxy["args"])
    assert proxy["args"][-1] == sql.outputs["connectionName"]
    assert container(glob, "weblate")["dependsOns"] == ["cloud-sql-proxy"]


def test_redis_is_ha_authenticated_encrypted_and_private(glob: Plan, project: Project) -> None:
    r = project.global_.weblate.redis
    redis = one(glob, catalog.REDIS_INSTANCE, "redis").inputs
    assert redis["tier"] == "STANDARD_HA"
    assert (redis["memorySizeGb"], redis["redisVersion"]) == (r.memory_size_gb, r.version)
    assert redis["authEnabled"] is True
    assert redis["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert redis["authorizedNetwork"] == "vpc-id"
    key = one(glob, catalog.KMS_CRYPTO_KEY, "weblate-keys-redis")
    assert redis["customerManagedKey"] == key.outputs["id"]
    assert redis["deletionProtection"] is True
    e = env(glob)
    assert (e["REDIS_TLS"], e["REDIS_VERIFY_SSL"], e["REDIS_PORT"]) == ("1", "1", "6378")
    # its AUTH string goes through Secret Manager, never into the service's definition
    assert e["REDIS_PASSWORD"]["secret"] == "demobank-weblate-redis-auth"


def test_the_data_volume_is_shared_regional_encrypted_and_exported_to_cloud_run_only(
    glob: Plan, project: Project
) -> None:
    w = project.global_.weblate
    data = one(glob, catalog.FILESTORE_INSTANCE, "data").inputs
    assert data["tier"] == "REGIONAL" and data["location"] == catalog.WEBLATE_REGION
    key = one(glob, catalog.KMS_CRYPTO_KEY, "weblate-keys-data")
    assert data["kmsKeyName"] == key.outputs["id"]
    assert data["fileShares"]["capacityGb"] == w.data.capacity_gb
    (export,) = data["fileShares"]["nfsExportOptions"]
    assert export["ipRanges"] == [w.network.run_cidr]
    (net,) = data["networks"]
    assert net["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert data["deletionProtectionEnabled"] is True
    (volume,) = service(glob).inputs["template"]["volumes"]
    assert volume["nfs"]["path"] == "/weblate"
    mounts = container(glob, "weblate")["volumeMounts"]
    assert mounts == [{"mountPath": "/app/data", "name": volume["name"]}]
    # the one-time job that hands the share to Weblate's uid runs as an account with no role
    job = one(glob, catalog.CLOUD_RUN_JOB, "data-init").inputs["template"]["template"]
    (c,) = job["containers"]
    assert (c["image"], c["commands"], c["args"]) == (
        w.init_image,
        ["chown"],
        ["1000:1000", "/mnt/data"],
    )
    init = one(glob, catalog.SERVICE_ACCOUNT, "init-account")
    assert job["serviceAccount"] == init.outputs["email"]
    assert f"serviceAccount:{init.outputs['email']}" not in granted(glob)


# --------------------------------------------------------------------------------------------
# Secrets: from Pulumi secret config, in London, under the HSM key, read by Weblate alone
# --------------------------------------------------------------------------------------------


def test_secrets_come_from_secret_config_and_stay_in_london(glob: Plan, project: Project) -> None:
    w = project.global_.weblate
    key = one(glob, catalog.KMS_CRYPTO_KEY, "weblate-keys-secrets").outputs["id"]
    config_keys = w.secrets.model_dump()
    for purpose in [*config_keys, "redis_auth"]:
        tag = purpose.replace("_", "-")
        secret = one(glob, catalog.SECRET, f"secret-{tag}")
        assert secret.inputs["replication"] == {
            "userManaged": {
                "replicas": [
                    {
                        "location": catalog.WEBLATE_REGION,
                        "customerManagedEncryption": {"kmsKeyName": key},
                    }
                ]
            }
        }
        assert secret.inputs["deletionProtection"] is True and secret.protect
        version = one(glob, catalog.SECRET_VERSION, f"secret-{tag}-version")
        assert version.secrets == ["secretData"]  # redacted when the plan is saved
        if purpose in config_keys:
            assert version.inputs["secretData"] == f"offline placeholder for {config_keys[purpose]}"
    # no secret's value appears in the service: only references to Secret Manager
    text = json.dumps(service(glob).inputs)
    assert "offline placeholder for weblate:" not in text
    assert "Memorystore AUTH" not in text
    e = env(glob)
    assert e["WEBLATE_SOCIAL_AUTH_OIDC_SECRET"]["secret"] == "demobank-weblate-oidc-client-secret"
    assert e["WEBLATE_GITHUB_TOKEN"]["secret"] == "demobank-weblate-vcs-token"
    assert e["DEMOBANK_DJANGO_SECRET_KEY"]["secret"] == "demobank-weblate-django-secret-key"


def test_a_saved_plan_redacts_the_secrets(glob: Plan) -> None:
    # the in-memory plan keeps them for the tests and the policies; what is saved does not
    assert "offline placeholder for weblate:" in json.dumps([r.inputs for r in glob.resources])
    saved = json.dumps(glob.to_json())  # what `rollout plan --json` writes
    assert "offline placeholder for weblate:" not in saved
    assert "Memorystore AUTH" not in saved


def test_offline_config_stands_in_every_weblate_secret(project: Project) -> None:
    config, secrets = offline_config(project.stack("global"), project.global_)
    for key in project.global_.weblate.secrets.model_dump().values():
        assert key in secrets and config[key] == f"offline placeholder for {key}"
    regional, secret = offline_config(project.stack("eu"), project.global_)
    assert not any(k.startswith("weblate:") for k in regional)
    # a regional stack's only secret is its cells' origin key (rollout.catalog.ORIGIN_TLS_CONFIG)
    assert secret == ["demobank:originKey"]
    assert config.get("demobank:originKey") is None  # and the global stack has none


# --------------------------------------------------------------------------------------------
# Least privilege
# --------------------------------------------------------------------------------------------


def test_weblate_account_holds_only_what_it_needs(glob: Plan, project: Project) -> None:
    member = f"serviceAccount:{account_email(project)}"
    grants = granted(glob)[member]
    by_type: dict[str, list[str]] = {}
    for g in grants:
        by_type.setdefault(g.type, []).append(g.inputs["role"])
    assert sorted(by_type[catalog.PROJECT_IAM_MEMBER]) == [
        "roles/cloudsql.client",
        "roles/cloudsql.instanceUser",
    ]
    assert by_type[catalog.SECRET_IAM_MEMBER] == ["roles/secretmanager.secretAccessor"] * 4
    assert set(by_type) == {catalog.PROJECT_IAM_MEMBER, catalog.SECRET_IAM_MEMBER}
    # each project-level role is held on Weblate's instance only
    project_id = project.stacks["global"].project_id
    for g in grants:
        if g.type == catalog.PROJECT_IAM_MEMBER:
            assert g.inputs["condition"]["expression"] == (
                f'resource.name == "projects/{project_id}/instances/demobank-weblate-sql"'
            )
    # and each secret grant names one of Weblate's own secrets
    secrets = {r.outputs["id"] for r in glob.of_type(catalog.SECRET)}
    assert {g.inputs["secretId"] for g in grants if g.type == catalog.SECRET_IAM_MEMBER} == secrets


def test_only_iap_invokes_the_service_and_only_the_group_and_ci_pass_iap(
    glob: Plan, project: Project
) -> None:
    s = service(glob).inputs
    assert s["ingress"] == "INGRESS_TRAFFIC_ALL" and s["iapEnabled"] is True
    assert s["invokerIamDisabled"] is False and s["deletionProtection"] is True
    (invoker,) = glob.of_type(catalog.CLOUD_RUN_SERVICE_IAM_MEMBER)
    assert invoker.inputs["role"] == "roles/run.invoker"
    assert re.fullmatch(
        r"serviceAccount:service-123456789012@gcp-sa-iap\.iam\.gserviceaccount\.com",
        invoker.inputs["member"],
    )
    sign_in = project.global_.weblate.sign_in
    passes = {
        r.inputs["member"]: r.inputs["role"] for r in glob.of_type(catalog.IAP_CLOUD_RUN_IAM_MEMBER)
    }
    assert passes == {
        f"group:{sign_in.access_group}": "roles/iap.httpsResourceAccessor",
        f"serviceAccount:{sign_in.ci_account}": "roles/iap.httpsResourceAccessor",
    }


def test_sign_in_is_the_banks_identity_provider_only(glob: Plan, project: Project) -> None:
    sign_in = project.global_.weblate.sign_in
    e = env(glob)
    assert e["WEBLATE_SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"] == sign_in.oidc_issuer
    assert e["WEBLATE_SOCIAL_AUTH_OIDC_KEY"] == sign_in.oidc_client_id
    assert e["WEBLATE_NO_EMAIL_AUTH"] == "1"  # no e-mail and password sign-in
    assert e["WEBLATE_REQUIRE_LOGIN"] == "1"
    assert (e["WEBLATE_REGISTRATION_OPEN"], e["WEBLATE_REGISTRATION_ALLOW_BACKENDS"]) == (
        "0",
        "oidc",
    )
    assert "WEBLATE_ADMIN_PASSWORD" not in e and e["WEBLATE_DEBUG"] == "0"


def test_service_key_grants_go_to_the_right_agents(glob: Plan) -> None:
    agents = {
        "sql": "gcp-sa-cloud-sql",
        "redis": "cloud-redis",
        "data": "cloud-filer",
        "secrets": "gcp-sa-secretmanager",
    }
    for purpose, domain in agents.items():
        grant = one(glob, catalog.KMS_CRYPTO_KEY_IAM_MEMBER, f"weblate-keys-{purpose}-agent").inputs
        assert grant["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert (
            grant["member"]
            == f"serviceAccount:service-123456789012@{domain}.iam.gserviceaccount.com"
        )
        assert re.match(catalog.SERVICE_AGENT_MEMBER, grant["member"])
        key = one(glob, catalog.KMS_CRYPTO_KEY, f"weblate-keys-{purpose}").inputs
        assert key["versionTemplate"]["protectionLevel"] == "HSM"
    explicit = {r.inputs["service"] for r in glob.of_type(catalog.SERVICE_IDENTITY)}
    weblate = set(catalog.explicit_agents(catalog.WEBLATE_APIS))
    assert explicit == weblate | {catalog.API_SPANNER}  # Spanner's is the directory's
    # Each API and each agent is declared once for the whole project.
    services = [r.inputs["service"] for r in glob.of_type(catalog.PROJECT_SERVICE)]
    assert len(services) == len(set(services)), services


# --------------------------------------------------------------------------------------------
# APIs, network, Cloud Run
# --------------------------------------------------------------------------------------------


def test_every_api_is_on_before_its_resources(glob: Plan) -> None:
    enabled = {r.inputs["service"]: r for r in glob.of_type(catalog.PROJECT_SERVICE)}
    assert set(enabled) == {*DIRECTORY_APIS, *catalog.WEBLATE_APIS}  # each once
    assert all(r.inputs["disableOnDestroy"] is False for r in enabled.values())
    waits = {
        (catalog.SQL_INSTANCE, "sql"): catalog.API_SQL_ADMIN,
        (catalog.REDIS_INSTANCE, "redis"): catalog.API_REDIS,
        (catalog.FILESTORE_INSTANCE, "data"): catalog.API_FILESTORE,
        (catalog.SECRET, "secret-vcs-token"): catalog.API_SECRET_MANAGER,
        (catalog.CLOUD_RUN_SERVICE, "service"): catalog.API_RUN,
        (catalog.KMS_KEY_RING, "weblate-keys-ring"): catalog.API_KMS,
        (catalog.NETWORK, "vpc"): catalog.API_COMPUTE,
        (catalog.SERVICE_NETWORKING_CONNECTION, "services-peering"): catalog.API_SERVICE_NETWORKING,
    }
    for (type_, name), api in waits.items():
        assert enabled[api].urn in one(glob, type_, name).dependencies, (name, api)


def test_network_is_private_with_egress_to_the_managed_services_only(
    glob: Plan, project: Project
) -> None:
    net = project.global_.weblate.network
    vpc = one(glob, catalog.NETWORK, "vpc").inputs
    assert vpc["autoCreateSubnetworks"] is False and vpc["deleteDefaultRoutesOnCreate"] is True
    subnet = one(glob, catalog.SUBNETWORK, "run-subnet").inputs
    assert (subnet["region"], subnet["ipCidrRange"]) == (catalog.WEBLATE_REGION, net.run_cidr)
    psa = one(glob, catalog.GLOBAL_ADDRESS, "services-range").inputs
    assert (psa["purpose"], psa["addressType"]) == ("VPC_PEERING", "INTERNAL")
    assert f"{psa['address']}/{int(psa['prefixLength'])}" == net.services_cidr
    peering = one(glob, catalog.SERVICE_NETWORKING_CONNECTION, "services-peering").inputs
    assert peering["reservedPeeringRanges"] == [psa["name"]]
    allow = one(glob, catalog.FIREWALL, "allow-services-egress").inputs
    deny = one(glob, catalog.FIREWALL, "deny-all-egress").inputs
    assert allow["destinationRanges"] == [net.services_cidr] and allow["direction"] == "EGRESS"
    assert deny["destinationRanges"] == ["0.0.0.0/0"] and deny["priority"] > allow["priority"]
    vpc_access = service(glob).inputs["template"]["vpcAccess"]
    assert vpc_access["egress"] == "PRIVATE_RANGES_ONLY"
    assert vpc_access["networkInterfaces"] == [{"network": "vpc-id", "subnetwork": "run-subnet-id"}]


def test_cloud_run_runs_the_pinned_image_kept_warm(glob: Plan, project: Project) -> None:
    w = project.global_.weblate
    t = service(glob).inputs["template"]
    weblate = container(glob, "weblate")
    assert weblate["image"] == w.image and "@sha256:" in weblate["image"]
    assert t["scaling"] == {
        "minInstanceCount": w.run.min_instances,
        "maxInstanceCount": w.run.max_instances,
    }
    assert weblate["resources"]["limits"] == {"cpu": w.run.cpu, "memory": w.run.memory}
    assert weblate["resources"]["cpuIdle"] is False  # Celery runs between requests
    assert t["serviceAccount"] == one(glob, catalog.SERVICE_ACCOUNT, "account").outputs["email"]
    assert t["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2"  # NFS volumes
    # the Django secret is written where the image reads it, then the image's own start runs
    (script,) = weblate["args"]
    assert weblate["commands"] == ["/bin/bash", "-c"]
    assert 'mv -f "$tmp" /app/data/secret' in script
    assert script.rstrip().endswith("exec /app/bin/start runserver")


# --------------------------------------------------------------------------------------------
# Residency and the policies
# --------------------------------------------------------------------------------------------


def test_every_copy_of_weblate_data_is_in_the_uk(mine: list[Resource]) -> None:
    placed = []
    for r in mine:
        for key in rules.PLACING_INPUTS:
            if key in r.inputs:
                placed.append((r.urn, key, r.inputs[key]))
        for key, value in rules.EXTRA_PLACEMENTS.get(r.type, lambda p: [])(r.inputs):
            placed.append((r.urn, key, value))
    assert len(placed) >= 12
    assert [p for p in placed if catalog.jurisdictions_of(p[2]) != UK] == []
    # and the residency rules judge every located type Weblate builds
    located = {r.type for r in mine if any(k in r.inputs for k in rules.PLACING_INPUTS)}
    judged = set(rules.LOCATION_PROPS) | {
        catalog.KMS_KEY_RING,
        catalog.SUBNETWORK,
        catalog.CLOUD_RUN_SERVICE_IAM_MEMBER,
        catalog.IAP_CLOUD_RUN_IAM_MEMBER,
    }
    assert located <= judged, located - judged


def test_the_shipped_plan_passes_every_rule(glob: Plan) -> None:
    assert [str(v) for v in check_plan(glob)] == []


def broken(glob: Plan, type_: str, name: str, path: str, value: Any) -> Plan:
    """A copy of the plan with one input of one resource changed (... removes it)."""
    plan = copy.deepcopy(glob)
    inputs = plan.one(type_, name).inputs
    *parents, last = path.split(".")
    for key in parents:
        inputs = inputs.setdefault(key, {})
    if value is ...:
        inputs.pop(last, None)
    else:
        inputs[last] = value
    return plan


def violations(plan: Plan) -> list[str]:
    return [f"{v.rule}: {v.message}" for v in check_plan(plan)]


@pytest.mark.parametrize(
    ("type_", "name", "path", "value", "expected"),
    [
        (catalog.SQL_INSTANCE, "sql", "settings.ipConfiguration.ipv4Enabled", True,
         ["cloudsql-private-ip: settings.ipConfiguration.ipv4Enabled must be false (no public "
          "IP)"]),
        (catalog.SQL_INSTANCE, "sql", "settings.backupConfiguration.pointInTimeRecoveryEnabled",
         False, ["cloudsql-backups: settings.backupConfiguration.pointInTimeRecoveryEnabled must "
                 "be true"]),
        (catalog.SQL_INSTANCE, "sql", "settings.backupConfiguration.location", "eu",
         ["residency-jurisdiction: settings.backupConfiguration.location 'eu' is under eu law; "
          "data of europe-west2 must stay under uk law",
          "weblate-residency: settings.backupConfiguration.location 'eu' is under eu law; "
          "Weblate's data stays under uk law: place it in europe-west2"]),
        (catalog.REDIS_INSTANCE, "redis", "transitEncryptionMode", "DISABLED",
         ["redis-auth-tls: transitEncryptionMode must be SERVER_AUTHENTICATION (TLS)"]),
        (catalog.FILESTORE_INSTANCE, "data", "kmsKeyName", ...,
         ["customer-managed-keys: no customer-managed key: encrypt it with the region's HSM key "
          "(CMEK)"]),
        (catalog.CLOUD_RUN_SERVICE, "service", "iapEnabled", False,
         ["cloud-run-iap: ingress INGRESS_TRAFFIC_ALL without iapEnabled: anyone on the internet "
          "reaches it"]),
        (catalog.SECRET, "secret-vcs-token", "replication", {"auto": {}},
         ["residency-jurisdiction: replication has no user-managed replicas, so Google places the "
          "copies (automatic); data of europe-west2 stays: place it in europe-west2",
          "customer-managed-keys: no customer-managed key: encrypt it with the region's HSM key "
          "(CMEK)",
          f"weblate-residency: {catalog.SECRET}: its placement has no user-managed replicas, so "
          "Google places the copies (automatic); place it in europe-west2"]),
        # unlabelled, so only the component-wide rule sees where a key ring is
        (catalog.KMS_KEY_RING, "weblate-keys-ring", "location", "europe-west1",
         ["weblate-residency: location 'europe-west1' is under eu law; Weblate's data stays "
          "under uk law: place it in europe-west2"]),
        (catalog.PROJECT_IAM_MEMBER, "account-cloudsql-client", "role",
         "roles/secretmanager.secretAccessor",
         ["secret-access-per-secret: roles/secretmanager.secretAccessor granted on a whole "
          "project, folder or organization reads every secret in it; grant it on each secret "
          "the workload needs"]),
    ],
)  # fmt: skip
def test_a_weakened_resource_is_a_violation(
    glob: Plan, type_: str, name: str, path: str, value: Any, expected: list[str]
) -> None:
    assert violations(broken(glob, type_, name, path, value)) == expected


def test_an_unprotected_database_is_a_violation(glob: Plan) -> None:
    plan = copy.deepcopy(glob)
    sql = plan.one(catalog.SQL_INSTANCE, "sql")
    sql.protect = False
    assert violations(plan) == [
        "stateful-protect: stateful resource without protect=True (pulumi would delete it on "
        "removal)"
    ]


@pytest.mark.parametrize(
    ("type_", "name", "change"),
    [
        (catalog.SQL_INSTANCE, "sql", None),
        (catalog.REDIS_INSTANCE, "redis", ("tier", "BASIC")),
        (catalog.FILESTORE_INSTANCE, "data", ("tier", "ZONAL")),
        (catalog.SECRET, "secret-django-secret-key", ("replication", {"auto": {}})),
    ],
)
def test_losing_weblate_data_is_flagged_by_the_diff(
    glob: Plan, type_: str, name: str, change: tuple[str, Any] | None
) -> None:
    head = copy.deepcopy(glob)
    target = head.one(type_, name)
    if change is None:
        head.resources.remove(target)
    else:
        target.inputs[change[0]] = change[1]
    report = diff.diff_plans([glob], [Plan(head.stack, head.project, head.resources, {})])
    assert [c.urn for c in report.data_loss] == [glob.one(type_, name).urn]


# --------------------------------------------------------------------------------------------
# The YAML: every rule of weblate: on a violating example, one line each
# --------------------------------------------------------------------------------------------

ZERO = "0" * 64
DIGEST_RULE = (
    "a tag can be moved to other content, so every image is pinned by digest: write "
    "<registry>/<repository>@sha256:<digest> (docker buildx imagetools inspect <image:tag> "
    "prints it)"
)


def at(text: str, needle: str) -> str:
    """``line:column`` of the key that starts ``needle`` in ``text``."""
    before, _, _ = text.partition(needle)
    line = before.count("\n") + 1
    column = len(needle) - len(needle.lstrip(" ")) + len(before) - before.rfind("\n")
    return f"{line}:{column}"


def case(old: str, new: str, key: str, expected: str, id: str) -> Any:  # noqa: A002
    """One violating edit: replace ``old`` by ``new``; the error sits on the line of ``key``
    (a line of the shipped file) and reads ``expected`` after the position."""
    return pytest.param(old, new, key, expected, id=id)


SECTION = '{"min_instances": %d, "max_instances": 3, "cpu": "2", "mem...'
CONFIG_CASES = [
    case(
        f"  image: docker.io/weblate/weblate@sha256:{ZERO}",
        "  image: docker.io/weblate/weblate:5.15.2.0",
        "  image:",
        "weblate.image: found 'docker.io/weblate/weblate:5.15.2.0': " + DIGEST_RULE,
        "image-tag-only",
    ),
    case(
        f"  sql_proxy_image: gcr.io/cloud-sql-connectors/cloud-sql-proxy@sha256:{ZERO}",
        "  sql_proxy_image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2",
        "  sql_proxy_image:",
        "weblate.sql_proxy_image: found 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2': "
        + DIGEST_RULE,
        "proxy-image-tag-only",
    ),
    case(
        f"  image: docker.io/weblate/weblate@sha256:{ZERO}",
        "  image: docker.io/weblate/weblate@sha256:abc",
        "  image:",
        "weblate.image: found 'docker.io/weblate/weblate@sha256:abc': a digest is sha256: and 64 "
        "lowercase hex digits after a registry path, e.g. docker.io/weblate/weblate@sha256:<64 "
        "hex>",
        "image-short-digest",
    ),
    case(
        "  region: europe-west2\n  image",
        "  region: europe-west1\n  image",
        "  region: europe-west2\n  image",
        "weblate.region: found 'europe-west1': europe-west1 is under eu law; Weblate's data "
        "stays in the UK: write europe-west2",
        "region-not-uk",
    ),
    case(
        "    run_cidr: 10.48.0.0/26",
        "    run_cidr: 10.48.0.0/28",
        "    run_cidr:",
        "weblate.network.run_cidr: found '10.48.0.0/28': 10.48.0.0/28 is a /28; Cloud Run's "
        "Direct VPC egress needs a /26 or larger",
        "run-subnet-too-small",
    ),
    case(
        "    services_cidr: 10.48.16.0/20",
        "    services_cidr: 10.48.16.0/26",
        "    services_cidr:",
        "weblate.network.services_cidr: found '10.48.16.0/26': 10.48.16.0/26 is a /26; a private "
        "services access range is a /16 to /24 (Cloud SQL, Memorystore and Filestore each take "
        "blocks of it)",
        "services-range-too-small",
    ),
    case(
        "    services_cidr: 10.48.16.0/20",
        "    services_cidr: 10.48.0.0/20",
        "  network:\n    run_cidr",
        'weblate.network: found {"run_cidr": "10.48.0.0/26", "services_cidr": "10.48.0.0/...: '
        "run_cidr 10.48.0.0/26 overlaps services_cidr 10.48.0.0/20; give each its own range",
        "ranges-overlap",
    ),
    case(
        "    tier: db-custom-2-7680",
        "    tier: db-f1-micro",
        "    tier: db-custom",
        "weblate.database.tier: found 'db-f1-micro': Enterprise takes a custom type "
        "db-custom-<vCPUs>-<MiB> (shared-core types have no SLA): write e.g. db-custom-2-7680",
        "sql-shared-core",
    ),
    case(
        "    tier: db-custom-2-7680",
        "    tier: db-custom-2-20000",
        "    tier: db-custom",
        "weblate.database.tier: found 'db-custom-2-20000': 20000 MiB: memory comes in steps of "
        "256 MiB",
        "sql-memory-step",
    ),
    case(
        "    tier: db-custom-2-7680",
        "    tier: db-custom-2-15360",
        "    tier: db-custom",
        "weblate.database.tier: found 'db-custom-2-15360': 15360 MiB for 2 vCPUs: write "
        "3840-13312 MiB (0.9-6.5 GiB per vCPU, >= 3840)",
        "sql-memory-per-vcpu",
    ),
    case(
        "    tier: db-custom-2-7680",
        "    tier: db-custom-3-7680",
        "    tier: db-custom",
        "weblate.database.tier: found 'db-custom-3-7680': 3 vCPUs: a custom type has 1 or an "
        "even number of vCPUs up to 96",
        "sql-odd-vcpus",
    ),
    case(
        "    edition: ENTERPRISE\n",
        "    edition: ENTERPRISE_PLUS\n",
        "    tier: db-custom",
        "weblate.database.tier: found 'db-custom-2-7680': Enterprise Plus runs "
        "db-perf-optimized-N-<vCPUs> types only (2, 4, 8, 16, 32, 48, 64, 80, 96 or 128 vCPUs): "
        "write e.g. db-perf-optimized-N-2",
        "sql-edition-tier",
    ),
    case(
        "    log_retention_days: 7",
        "    log_retention_days: 14",
        "    log_retention_days:",
        "weblate.database.log_retention_days: found 14: ENTERPRISE keeps at most 7 days of "
        "transaction logs for point-in-time recovery: write 7 or less",
        "sql-pitr-window",
    ),
    case(
        "    min_instances: 1",
        "    min_instances: 5",
        "  run:",
        f"weblate.run: found {SECTION % 5}: min_instances 5 is above max_instances 3; keep "
        "min <= max",
        "run-min-above-max",
    ),
    case(
        "    memory: 4Gi",
        "    memory: 12Gi",
        "  run:",
        f"weblate.run: found {SECTION % 1}: memory 12Gi needs at least 4 vCPUs on Cloud Run: "
        'write cpu: "4" or less memory',
        "run-memory-needs-cpus",
    ),
    case(
        "    memory: 4Gi",
        "    memory: 2Gi",
        "  run:",
        f"weblate.run: found {SECTION % 1}: memory 2Gi: Weblate needs 3Gi or more and Cloud "
        "Run gives 32Gi at most: write 3Gi to 32Gi",
        "run-memory-too-small",
    ),
    case(
        "    vcs_token: weblate:vcsToken",
        "    vcs_token: edge:vcsToken",
        "    vcs_token:",
        "weblate.secrets.vcs_token: found a value of 13 characters: Weblate's secrets are config "
        "in the 'weblate' namespace: write weblate:vcsToken",
        "secret-namespace",
    ),
    case(
        "    vcs_token: weblate:vcsToken",
        "    vcs_token: weblate:vcsUser",
        "    vcs_token:",
        "weblate.secrets.vcs_token: found a value of 15 characters: the key must name a "
        "credential (token, key, secret, password), so the stack file may hold it only as a "
        "secure: value: e.g. weblate:oidcClientSecret",
        "secret-not-credential-named",
    ),
    case(
        "    vcs_token: weblate:vcsToken",
        "    vcs_token: weblate:oidcClientSecret",
        "  secrets:",
        "weblate.secrets: found a mapping of 3 keys: two secrets name the same config key; give "
        "each its own",
        "secret-twice",
    ),
    case(
        "    ci_account: l10n-ci@demobank-global-prod.iam.gserviceaccount.com",
        "    ci_account: someone@demobank.example",
        "    ci_account:",
        "weblate.sign_in.ci_account: found 'someone@demobank.example': not a service account; "
        "accepted: an address ending .iam.gserviceaccount.com, the identity the CI job "
        "authenticates as",
        "ci-account-not-a-service-account",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "expected"), CONFIG_CASES)
def test_a_bad_weblate_setting_is_one_line(
    project_copy: Path, old: str, new: str, key: str, expected: str
) -> None:
    path = project_copy / GLOBAL_FILE
    text = path.read_text()
    assert old in text and key in text, (old, key)
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_project(project_copy)
    [line] = [str(p) for p in info.value.problems]
    assert line == f"{GLOBAL_FILE}:{at(text, key)}: {expected}"


def test_a_tag_only_image_is_refused_with_file_line_and_key(project_copy: Path) -> None:
    """The complete line, as `rollout validate` prints it."""
    path = project_copy / GLOBAL_FILE
    text = path.read_text()
    old = f"  image: docker.io/weblate/weblate@sha256:{ZERO}"
    path.write_text(text.replace(old, "  image: weblate/weblate:latest", 1))
    with pytest.raises(InputError) as info:
        load_project(project_copy)
    [line] = [str(p) for p in info.value.problems]
    assert line == (
        f"{GLOBAL_FILE}:{at(text, old)}: weblate.image: found 'weblate/weblate:latest': "
        + DIGEST_RULE
    )


def test_the_shipped_settings(project: Project) -> None:
    w = project.global_.weblate
    assert w.region == catalog.WEBLATE_REGION
    assert catalog.jurisdictions_of(w.region) == UK
    for image in (w.image, w.sql_proxy_image, w.init_image):
        assert re.fullmatch(r".+@sha256:[0-9a-f]{64}", image)
    # every secret config key names a credential, so a plain-text value is refused
    from rollout.config.problems import is_credential_key

    assert all(is_credential_key(k) for k in w.secrets.model_dump().values())


def test_the_deployed_image_is_the_release_the_end_to_end_test_runs() -> None:
    """The digest pins the image; the tag beside it must name the Weblate the e2e test ran."""
    root = Path(__file__).resolve().parent.parent
    pinned = re.search(
        r"^weblate\[postgres\]==(\S+)$",
        (root / "tools/weblate/requirements.txt").read_text(),
        re.M,
    )
    tag = re.search(
        r"^  image: \S+  # weblate/weblate:(\d+\.\d+\.\d+)\.\d+\b",
        (root / GLOBAL_FILE).read_text(),
        re.M,
    )
    assert pinned and tag and tag.group(1) == pinned.group(1), (pinned, tag)
