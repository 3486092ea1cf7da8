"""Weblate, where the bank's translators work: the official image on Cloud Run in London.

Weblate is part of the Localization Platform, which the global stack owns (the bundle bucket,
the CDN's localization rules): it serves every region's locales and belongs to none of them,
so it is built here rather than in a regional stack. Its data still has one home: translators'
accounts, their work and unreleased text stay in London (europe-west2), under UK law, beside
the London hub's regional stack; every regional resource below sits there, and the
``weblate-residency`` policy holds them to it.

What it builds, all on private addresses and under HSM keys in europe-west2:

- a small VPC of its own (the global stack has none): a subnet for Cloud Run's Direct VPC
  egress, a private services access range and its peering, egress denied but to that range;
- Cloud SQL for PostgreSQL (regional HA, no public IP, CMEK, encrypted connections only,
  daily backups kept in London, point-in-time recovery, deletion protection), reached only
  through the Cloud SQL Auth Proxy as Weblate's own service account (IAM database
  authentication: no database password exists);
- Memorystore for Redis (Standard tier, HA, AUTH, TLS, CMEK, private services access): the
  cache, the sessions and the Celery queue;
- Filestore (Regional tier, CMEK): ``/app/data``, which every Weblate container must share
  (repositories, media, the Django secret; https://docs.weblate.org/en/latest/admin/install/docker.html#docker-scaling);
- Secret Manager secrets, replicated in europe-west2 only under an HSM key, from Pulumi secret
  config (the Django secret key, the identity provider's client secret, the code host token)
  and from Memorystore (its AUTH string); Weblate's account may read those and nothing else;
- Cloud Run: Weblate (pinned by digest) with the Auth Proxy beside it, behind IAP (only the
  configured group gets through), signing people in through the bank's OpenID Connect
  provider only: e-mail and password sign-in and open registration are off.

What only ``pulumi up`` can show, and so is not tested offline: the images' digests (the
shipped ones are placeholders), IAP's OAuth brand and the group's membership, the identity
provider accepting ``https://<site>/accounts/complete/oidc/`` as a redirect, quotas, and the
one-time ownership step of the data volume (the ``data-init`` job; README "Deploying Weblate").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pulumi
import pulumi_gcp as gcp

from components.foundation import (
    HsmKeys,
    ProjectApis,
    agent_member,
)
from components.network import deny_all, flow_logs
from rollout import catalog
from rollout.args import WeblateArgs, WeblateConfig

Needs = Callable[..., list[pulumi.Resource]]
"""The API services (and agents) a resource depends on, for the APIs it calls."""

# --- Cloud SQL -------------------------------------------------------------------------------

# Regional HA: a standby in another zone of the region takes over on a zone's loss
# (https://cloud.google.com/sql/docs/postgres/high-availability).
SQL_AVAILABILITY = "REGIONAL"
# Only TLS connections are accepted; the Auth Proxy always speaks TLS to the instance
# (https://cloud.google.com/sql/docs/postgres/configure-ssl-instance#enforcing-ssl).
SQL_SSL_MODE = "ENCRYPTED_ONLY"
# Every connection must come through the Auth Proxy or a connector, never a bare client
# (https://cloud.google.com/sql/docs/postgres/connect-auth-proxy#connector-enforcement).
SQL_CONNECTOR_ENFORCEMENT = "REQUIRED"
# IAM database authentication: Weblate's service account signs in with a short-lived token,
# so no database password exists anywhere (https://cloud.google.com/sql/docs/postgres/iam-authentication),
# and connections are logged for the audit trail (https://cloud.google.com/sql/docs/postgres/flags).
SQL_FLAGS = {
    "cloudsql.iam_authentication": "on",
    "log_connections": "on",
    "log_disconnections": "on",
}
SQL_DISK_TYPE = "PD_SSD"
# Maintenance on Sunday 03:00 UTC, when translators are least likely to be working
# (https://cloud.google.com/sql/docs/postgres/set-maintenance-window).
SQL_MAINTENANCE_DAY = 7
SQL_MAINTENANCE_HOUR = 3
# Weblate's migrations create the pg_trgm extension and own its tables: on Cloud SQL only a
# member of cloudsqlsuperuser may create extensions
# (https://cloud.google.com/sql/docs/postgres/extensions#installing_an_extension). The instance
# holds Weblate's database alone, so the role reaches nothing else.
SQL_USER_ROLES = ("cloudsqlsuperuser",)
SQL_USER_TYPE = "CLOUD_IAM_SERVICE_ACCOUNT"
# The Auth Proxy listens on the loopback of Weblate's instance; the proxy's own hop to the
# instance is TLS with an ephemeral certificate.
PROXY_PORT = 5432
PROXY_HEALTH_PORT = 9090

# --- Memorystore -----------------------------------------------------------------------------

# A replica in another zone, failover automatic (https://cloud.google.com/memorystore/docs/redis/redis-tiers).
REDIS_TIER = "STANDARD_HA"
# TLS with the server's certificate checked by the client; AUTH on top
# (https://cloud.google.com/memorystore/docs/redis/in-transit-encryption,
# https://cloud.google.com/memorystore/docs/redis/about-redis-auth).
REDIS_TRANSIT_ENCRYPTION = "SERVER_AUTHENTICATION"
# Reached over the private services access range, like Cloud SQL and Filestore
# (https://cloud.google.com/memorystore/docs/redis/networking#private_services_access).
REDIS_CONNECT_MODE = "PRIVATE_SERVICE_ACCESS"
# Snapshots every 12 hours, so queued tasks and sessions survive a restart of both nodes
# (https://cloud.google.com/memorystore/docs/redis/about-rdb-snapshots).
REDIS_PERSISTENCE = "RDB"
REDIS_SNAPSHOT_PERIOD = "TWELVE_HOURS"
# Maintenance on Sunday 04:00 UTC, an hour after Cloud SQL's
# (https://cloud.google.com/memorystore/docs/redis/about-maintenance).
REDIS_MAINTENANCE_DAY = "SUNDAY"
REDIS_MAINTENANCE_HOUR = 4

# --- Filestore -------------------------------------------------------------------------------

# Replicated across the region's zones, like Cloud SQL and Memorystore
# (https://cloud.google.com/filestore/docs/service-tiers-regional).
FILESTORE_TIER = "REGIONAL"
FILESTORE_CONNECT_MODE = "PRIVATE_SERVICE_ACCESS"
# Exported to Cloud Run's subnet only. Root keeps root: the one-time init job (root) hands the
# share to Weblate's uid; Filestore lets only root write a new share
# (https://cloud.google.com/run/docs/configuring/services/nfs-volume-mounts#before_you_begin).
NFS_SQUASH = "NO_ROOT_SQUASH"
# The Weblate image runs as uid 1000 (https://docs.weblate.org/en/latest/admin/install/docker.html#docker-volume).
WEBLATE_UID = 1000

# --- Cloud Run -------------------------------------------------------------------------------

# Reachable on its run.app address, through IAP only: IAP checks the caller before Cloud Run
# does, and only IAP's agent may invoke the service
# (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run).
RUN_INGRESS = "INGRESS_TRAFFIC_ALL"
IAP_ACCESSOR = "roles/iap.httpsResourceAccessor"
RUN_INVOKER = "roles/run.invoker"
# Only private ranges go into the VPC (Cloud SQL, Redis, Filestore); the identity provider and
# the code host are reached over Cloud Run's own egress
# (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc).
RUN_VPC_EGRESS = "PRIVATE_RANGES_ONLY"
# NFS volumes need the second generation environment
# (https://cloud.google.com/run/docs/configuring/services/nfs-volume-mounts).
RUN_EXECUTION_ENVIRONMENT = "EXECUTION_ENVIRONMENT_GEN2"
# The container runs Celery beside the web server: CPU stays allocated between requests
# (https://cloud.google.com/run/docs/configuring/billing-settings).
RUN_CPU_IDLE = False
WEBLATE_PORT = 8080  # the image's nginx (EXPOSE 8080)
DATA_DIR = "/app/data"
# Weblate's migrations run at container start (the image's start script) and can take minutes:
# the start-up probe allows four (Cloud Run's most: 240 s,
# https://cloud.google.com/run/docs/configuring/healthchecks#startup-probes).
STARTUP_PERIOD_S = 10
STARTUP_FAILURES = 24

# The image's settings read the Django secret from /app/data/secret only (it generates one if
# absent: https://github.com/WeblateOrg/docker/blob/main/start, ensure_django_secret): the
# secret from Secret Manager is written there, atomically and readable by Weblate alone, before
# the image's own start script runs. Memorystore's server certificate is signed by its own CA
# (the instance's server_ca_certs): it joins the system bundle, so REDIS_TLS verifies it.
STARTUP = """set -euo pipefail
umask 077
tmp="$(mktemp /app/data/.secret.XXXXXX)"
printf '%s' "$DEMOBANK_DJANGO_SECRET_KEY" > "$tmp"
mv -f "$tmp" /app/data/secret
unset DEMOBANK_DJANGO_SECRET_KEY
cat /etc/ssl/certs/ca-certificates.crt > /tmp/ca-bundle.pem
printf '%s\\n' "$DEMOBANK_REDIS_CA" >> /tmp/ca-bundle.pem
export SSL_CERT_FILE=/tmp/ca-bundle.pem
exec /app/bin/start runserver
"""

# Secret config purpose (regions/global.yaml weblate.secrets) -> the environment variable that
# carries it (https://docs.weblate.org/en/latest/admin/install/docker.html#docker-environment).
SECRET_ENV = {
    "django_secret_key": "DEMOBANK_DJANGO_SECRET_KEY",  # written to /app/data/secret (STARTUP)
    "oidc_client_secret": "WEBLATE_SOCIAL_AUTH_OIDC_SECRET",
    "vcs_token": "WEBLATE_GITHUB_TOKEN",
}
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
# What Weblate's account may do in the project, each only on Weblate's instance (the IAM
# condition): connect through the Auth Proxy, and sign in to the database as itself
# (https://cloud.google.com/sql/docs/postgres/iam-conditions).
SQL_ROLES = ("roles/cloudsql.client", "roles/cloudsql.instanceUser")


def weblate_env(config: WeblateConfig) -> dict[str, str]:
    """Weblate's plain settings (https://docs.weblate.org/en/latest/admin/install/docker.html):
    sign-in only through the bank's OpenID Connect provider, HTTPS behind Cloud Run's proxy."""
    w = config.settings
    return {
        "WEBLATE_DEBUG": "0",
        "WEBLATE_SITE_TITLE": "Demo Bank translations",
        "WEBLATE_ENABLE_HTTPS": "1",  # Cloud Run terminates TLS in front of the container
        "WEBLATE_IP_PROXY_HEADER": "HTTP_X_FORWARDED_FOR",
        "WEBLATE_TIME_ZONE": "Europe/London",
        # Nothing is shown to anyone signed out.
        "WEBLATE_REQUIRE_LOGIN": "1",
        # No e-mail and password sign-in (https://docs.weblate.org/en/latest/admin/auth.html#disable-email-auth);
        # accounts are created by the identity provider's sign-in alone.
        "WEBLATE_NO_EMAIL_AUTH": "1",
        "WEBLATE_REGISTRATION_OPEN": "0",
        "WEBLATE_REGISTRATION_ALLOW_BACKENDS": "oidc",
        "WEBLATE_SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": w.sign_in.oidc_issuer,
        "WEBLATE_SOCIAL_AUTH_OIDC_KEY": w.sign_in.oidc_client_id,
        "WEBLATE_SOCIAL_AUTH_OIDC_TITLE": "Demo Bank sign-in",
        "WEBLATE_ADMIN_NAME": "Localization admins",
        "WEBLATE_ADMIN_EMAIL": w.sign_in.admin_email,
        "WEBLATE_GITHUB_HOST": w.vcs.host,
        "WEBLATE_GITHUB_USERNAME": w.vcs.username,
        # Through the Auth Proxy on loopback, as the IAM database user: the proxy fetches the
        # token (--auto-iam-authn), so the password is empty and the local hop is plain TCP;
        # the hop to the instance is TLS (https://cloud.google.com/sql/docs/postgres/iam-logins).
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(PROXY_PORT),
        "POSTGRES_DB": config.database,
        "POSTGRES_USER": config.database_user,
        "POSTGRES_PASSWORD": "",
        "POSTGRES_SSL_MODE": "disable",
        "REDIS_TLS": "1",
        "REDIS_VERIFY_SSL": "1",
    }


class Weblate(pulumi.ComponentResource):
    """Weblate on Cloud Run with its database, cache, data volume and secrets, in London."""

    service: gcp.cloudrunv2.Service
    """The Cloud Run service (Weblate and the Cloud SQL Auth Proxy)."""
    url: pulumi.Output[str]
    """Where translators sign in: the service's run.app address, behind IAP."""
    sql_instance: gcp.sql.DatabaseInstance
    """Weblate's PostgreSQL instance."""
    database: gcp.sql.Database
    """Weblate's database."""
    redis: gcp.redis.Instance
    """The cache, sessions and Celery queue."""
    data: gcp.filestore.Instance
    """Weblate's /app/data, shared by every instance."""
    secrets: dict[str, gcp.secretmanager.Secret]
    """Purpose -> its secret (weblate.secrets' purposes, and redis_auth)."""
    account: gcp.serviceaccount.Account
    """Weblate's own identity."""
    keys: HsmKeys
    """Weblate's key ring in its region and an HSM key per purpose (sql, redis, data, secrets)."""

    def __init__(
        self,
        name: str,
        args: WeblateArgs,
        apis: ProjectApis,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``apis``: the global project's APIs (the stack turns each on once)."""
        super().__init__(catalog.WEBLATE_COMPONENT, name, None, opts)
        config = args.config
        w = config.settings
        names = config.names
        child = pulumi.ResourceOptions(parent=self)
        # A data source, not a resource: the agents' addresses and the service's URL need it.
        number = gcp.organizations.get_project_output(project_id=config.project).number

        def needs(*used: str) -> list[pulumi.Resource]:
            return list(apis.needs(*used))

        # An HSM key per purpose in Weblate's own ring, each granted to its agent before use.
        key_apis = tuple(config.keys.keys[p].agent for p in sorted(config.keys.keys))
        self.keys = HsmKeys(
            "weblate-keys", config.keys, number, apis.needs(catalog.API_KMS, *key_apis), child
        )
        keys = {purpose: k.key for purpose, k in self.keys.keys.items()}
        grants = {purpose: list(k.grants) for purpose, k in self.keys.keys.items()}
        vpc, subnet, peering, psa = self._network(config, needs)

        # --- identity: Weblate's own account; the init job's, with no role -----------------
        self.account = gcp.serviceaccount.Account(
            "account",
            account_id=names.account_id,
            display_name="Weblate (Cloud Run)",
            description="Weblate's identity: its database user and its secrets, nothing else",
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_IAM)),
        )
        init_account = gcp.serviceaccount.Account(
            "init-account",
            account_id=names.init_account_id,
            display_name="Weblate data volume init",
            description="Runs the one-time ownership job on Weblate's data volume; no role",
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_IAM)),
        )
        member = self.account.email.apply(lambda e: f"serviceAccount:{e}")

        # --- Cloud SQL ----------------------------------------------------------------------
        stateful_sql = pulumi.ResourceOptions(
            parent=self,
            protect=True,
            depends_on=[peering, *grants["sql"], *needs(catalog.API_SQL_ADMIN)],
        )
        d = w.database
        self.sql_instance = gcp.sql.DatabaseInstance(
            "sql",
            name=names.sql_instance,
            region=config.region,
            database_version=d.version,
            encryption_key_name=keys["sql"],
            # Two guards: the provider refuses to delete it (deletion_protection, PREVENT), and
            # so does the API from any client (settings.deletion_protection_enabled)
            # (https://cloud.google.com/sql/docs/postgres/deletion-protection).
            deletion_protection=True,
            deletion_policy=catalog.PREVENT,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=d.tier,
                edition=d.edition,
                availability_type=SQL_AVAILABILITY,
                disk_type=SQL_DISK_TYPE,
                disk_size=d.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=True,
                # Backups outlive the instance: a mistaken delete still leaves them
                # (https://cloud.google.com/sql/docs/postgres/backup-recovery/backups#retained-backups).
                retain_backups_on_delete=True,
                connector_enforcement=SQL_CONNECTOR_ENFORCEMENT,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    # Private IP only, in the private services access range
                    # (https://cloud.google.com/sql/docs/postgres/configure-private-ip).
                    ipv4_enabled=False,
                    private_network=vpc.id,
                    allocated_ip_range=psa.name,
                    enable_private_path_for_google_cloud_services=False,
                    ssl_mode=SQL_SSL_MODE,
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    start_time=d.backup_start_time,
                    # Kept in London: the default is the nearest multi-region, which for London
                    # is the EU (https://cloud.google.com/sql/docs/postgres/backup-recovery/backups#custom-backup-location).
                    location=config.region,
                    point_in_time_recovery_enabled=True,
                    transaction_log_retention_days=d.log_retention_days,
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=d.retained_backups, retention_unit="COUNT"
                    ),
                ),
                database_flags=[
                    gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=k, value=v)
                    for k, v in SQL_FLAGS.items()
                ],
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(
                    day=SQL_MAINTENANCE_DAY, hour=SQL_MAINTENANCE_HOUR
                ),
                user_labels=config.labels,
            ),
            opts=stateful_sql,
        )
        self.database = gcp.sql.Database(
            "database",
            name=config.database,
            instance=self.sql_instance.name,
            charset="UTF8",
            collation="en_US.UTF8",
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        # The service account as an IAM database user. Postgres refuses to drop a user that
        # owns objects, so a removal abandons it rather than fail
        # (https://cloud.google.com/sql/docs/postgres/add-manage-iam-users).
        gcp.sql.User(
            "database-user",
            name=config.database_user,
            instance=self.sql_instance.name,
            type=SQL_USER_TYPE,
            database_roles=list(SQL_USER_ROLES),
            deletion_policy="ABANDON",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account]),
        )
        access: list[pulumi.Resource] = []  # what Weblate's account must hold before it starts
        instance_path = pulumi.Output.concat(
            "projects/", config.project, "/instances/", self.sql_instance.name
        )
        for role in SQL_ROLES:
            grant = gcp.projects.IAMMember(
                f"account-{role.removeprefix('roles/').replace('.', '-')}",
                project=config.project,
                role=role,
                member=member,
                condition=gcp.projects.IAMMemberConditionArgs(
                    title="weblate-instance-only",
                    description="Weblate's own Cloud SQL instance and no other",
                    expression=instance_path.apply(lambda p: f'resource.name == "{p}"'),
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=needs(catalog.API_RESOURCE_MANAGER)
                ),
            )
            access.append(grant)

        # --- Memorystore --------------------------------------------------------------------
        r = w.redis
        self.redis = gcp.redis.Instance(
            "redis",
            name=names.redis,
            display_name="Weblate cache, sessions and queue",
            region=config.region,
            tier=REDIS_TIER,
            memory_size_gb=r.memory_size_gb,
            redis_version=r.version,
            auth_enabled=True,
            transit_encryption_mode=REDIS_TRANSIT_ENCRYPTION,
            connect_mode=REDIS_CONNECT_MODE,
            authorized_network=vpc.id,
            reserved_ip_range=psa.name,
            customer_managed_key=keys["redis"],
            persistence_config=gcp.redis.InstancePersistenceConfigArgs(
                persistence_mode=REDIS_PERSISTENCE, rdb_snapshot_period=REDIS_SNAPSHOT_PERIOD
            ),
            maintenance_policy=gcp.redis.InstanceMaintenancePolicyArgs(
                weekly_maintenance_windows=[
                    gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowArgs(
                        day=REDIS_MAINTENANCE_DAY,
                        start_time=gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowStartTimeArgs(
                            hours=REDIS_MAINTENANCE_HOUR, minutes=0
                        ),
                    )
                ]
            ),
            labels=config.labels,
            deletion_protection=True,
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                depends_on=[peering, *grants["redis"], *needs(catalog.API_REDIS)],
            ),
        )

        # --- Filestore: /app/data -----------------------------------------------------------
        self.data = gcp.filestore.Instance(
            "data",
            name=names.filestore,
            location=config.region,
            tier=FILESTORE_TIER,
            description="Weblate's /app/data: repositories, media, the Django secret",
            file_shares=gcp.filestore.InstanceFileSharesArgs(
                name=names.file_share,
                capacity_gb=w.data.capacity_gb,
                nfs_export_options=[
                    gcp.filestore.InstanceFileSharesNfsExportOptionArgs(
                        ip_ranges=[w.network.run_cidr],
                        access_mode="READ_WRITE",
                        squash_mode=NFS_SQUASH,
                    )
                ],
            ),
            networks=[
                gcp.filestore.InstanceNetworkArgs(
                    network=vpc.name,
                    modes=["MODE_IPV4"],
                    connect_mode=FILESTORE_CONNECT_MODE,
                    reserved_ip_range=psa.name,
                )
            ],
            kms_key_name=keys["data"],
            deletion_protection_enabled=True,
            deletion_protection_reason="Weblate's repositories and media",
            deletion_policy=catalog.PREVENT,
            labels=config.labels,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                depends_on=[peering, *grants["data"], *needs(catalog.API_FILESTORE)],
            ),
        )
        nfs_server = self.data.networks.apply(
            lambda nets: (nets[0].ip_addresses or [""])[0] if nets else ""
        )

        # --- Secrets ------------------------------------------------------------------------
        self.secrets = {}
        versions: dict[str, gcp.secretmanager.SecretVersion] = {}
        redis_auth = pulumi.Output.secret(self.redis.auth_string)
        values: dict[str, tuple[str, pulumi.Input[str]]] = {
            purpose: (s.secret_id, args.secrets[purpose]) for purpose, s in config.secrets.items()
        }
        values["redis_auth"] = (config.redis_auth_secret_id, redis_auth)
        for purpose, (secret_id, value) in values.items():
            key = purpose.replace("_", "-")
            secret = gcp.secretmanager.Secret(
                f"secret-{key}",
                secret_id=secret_id,
                # In London alone, under the HSM key there: never the automatic (global)
                # replication (https://cloud.google.com/secret-manager/docs/cmek).
                replication=gcp.secretmanager.SecretReplicationArgs(
                    user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                        replicas=[
                            gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                                location=config.region,
                                customer_managed_encryption=gcp.secretmanager.SecretReplicationUserManagedReplicaCustomerManagedEncryptionArgs(
                                    kms_key_name=keys["secrets"]
                                ),
                            )
                        ]
                    )
                ),
                labels=config.labels,
                deletion_protection=True,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=True,
                    depends_on=[*grants["secrets"], *needs(catalog.API_SECRET_MANAGER)],
                ),
            )
            # A new value is a new version; the old one is disabled, not destroyed, so a
            # rotation can be rolled back (https://cloud.google.com/secret-manager/docs/disable-secret-version).
            versions[purpose] = gcp.secretmanager.SecretVersion(
                f"secret-{key}-version",
                secret=secret.id,
                secret_data=pulumi.Output.secret(value),
                deletion_policy="DISABLE",
                opts=child,
            )
            # Secret-level, never project-level: Weblate reads its own secrets and no other
            # (https://cloud.google.com/secret-manager/docs/manage-access-to-secrets).
            access.append(
                gcp.secretmanager.SecretIamMember(
                    f"secret-{key}-accessor",
                    secret_id=secret.id,
                    role=SECRET_ACCESSOR,
                    member=member,
                    opts=child,
                )
            )
            self.secrets[purpose] = secret

        # --- the data volume's one-time ownership job ---------------------------------------
        volume = "data"
        vpc_access = gcp.cloudrunv2.JobTemplateTemplateVpcAccessArgs(
            network_interfaces=[
                gcp.cloudrunv2.JobTemplateTemplateVpcAccessNetworkInterfaceArgs(
                    network=vpc.id, subnetwork=subnet.id
                )
            ],
            egress=RUN_VPC_EGRESS,
        )
        gcp.cloudrunv2.Job(
            "data-init",
            name=names.init_job,
            location=config.region,
            deletion_protection=True,
            labels=config.labels,
            template=gcp.cloudrunv2.JobTemplateArgs(
                task_count=1,
                template=gcp.cloudrunv2.JobTemplateTemplateArgs(
                    service_account=init_account.email,
                    execution_environment=RUN_EXECUTION_ENVIRONMENT,
                    max_retries=0,
                    vpc_access=vpc_access,
                    volumes=[
                        gcp.cloudrunv2.JobTemplateTemplateVolumeArgs(
                            name=volume,
                            nfs=gcp.cloudrunv2.JobTemplateTemplateVolumeNfsArgs(
                                server=nfs_server, path=f"/{names.file_share}"
                            ),
                        )
                    ],
                    containers=[
                        gcp.cloudrunv2.JobTemplateTemplateContainerArgs(
                            image=w.init_image,
                            commands=["chown"],
                            args=[f"{WEBLATE_UID}:{WEBLATE_UID}", "/mnt/data"],
                            volume_mounts=[
                                gcp.cloudrunv2.JobTemplateTemplateContainerVolumeMountArgs(
                                    name=volume, mount_path="/mnt/data"
                                )
                            ],
                        )
                    ],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_RUN)),
        )

        # --- Cloud Run ----------------------------------------------------------------------
        site = pulumi.Output.concat(names.service, "-", number, f".{config.region}.run.app")
        env = [
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v)
            for k, v in weblate_env(config).items()
        ]
        env += [
            # The service's deterministic URL, https://<service>-<project number>.<region>.run.app
            # (https://cloud.google.com/run/docs/triggering/https-request#deterministic).
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name="WEBLATE_SITE_DOMAIN", value=site),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name="WEBLATE_ALLOWED_HOSTS", value=site
            ),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name="REDIS_HOST", value=self.redis.host
            ),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name="REDIS_PORT", value=self.redis.port.apply(str)
            ),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name="DEMOBANK_REDIS_CA",
                value=self.redis.server_ca_certs.apply(
                    lambda certs: "\n".join(c.cert or "" for c in certs or [])
                ),
            ),
        ]
        secret_env = {**SECRET_ENV, "redis_auth": "REDIS_PASSWORD"}
        env += [
            # From Secret Manager at start: the value never sits in the service's definition.
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=secret_env[purpose],
                value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=secret.secret_id, version=versions[purpose].version
                    )
                ),
            )
            for purpose, secret in self.secrets.items()
        ]
        proxy = "cloud-sql-proxy"
        self.service = gcp.cloudrunv2.Service(
            "service",
            name=names.service,
            location=config.region,
            description="Weblate, where the bank's translators work",
            ingress=RUN_INGRESS,
            iap_enabled=True,
            invoker_iam_disabled=False,
            deletion_protection=True,
            labels=config.labels,
            template=gcp.cloudrunv2.ServiceTemplateArgs(
                service_account=self.account.email,
                execution_environment=RUN_EXECUTION_ENVIRONMENT,
                scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                    min_instance_count=w.run.min_instances,
                    max_instance_count=w.run.max_instances,
                ),
                vpc_access=gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
                    network_interfaces=[
                        gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                            network=vpc.id, subnetwork=subnet.id
                        )
                    ],
                    egress=RUN_VPC_EGRESS,
                ),
                volumes=[
                    gcp.cloudrunv2.ServiceTemplateVolumeArgs(
                        name=volume,
                        nfs=gcp.cloudrunv2.ServiceTemplateVolumeNfsArgs(
                            server=nfs_server, path=f"/{names.file_share}"
                        ),
                    )
                ],
                containers=[
                    gcp.cloudrunv2.ServiceTemplateContainerArgs(
                        name="weblate",
                        image=w.image,
                        commands=["/bin/bash", "-c"],
                        args=[STARTUP],
                        ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(
                            container_port=WEBLATE_PORT, name="http1"
                        ),
                        envs=env,
                        resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": w.run.cpu, "memory": w.run.memory},
                            cpu_idle=RUN_CPU_IDLE,
                            startup_cpu_boost=True,
                        ),
                        startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                            tcp_socket=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeTcpSocketArgs(
                                port=WEBLATE_PORT
                            ),
                            period_seconds=STARTUP_PERIOD_S,
                            failure_threshold=STARTUP_FAILURES,
                        ),
                        volume_mounts=[
                            gcp.cloudrunv2.ServiceTemplateContainerVolumeMountArgs(
                                name=volume, mount_path=DATA_DIR
                            )
                        ],
                        depends_ons=[proxy],
                    ),
                    # The Cloud SQL Auth Proxy: TLS to the instance's private address, as
                    # Weblate's account (https://cloud.google.com/sql/docs/postgres/connect-run#sidecar,
                    # flags: https://cloud.google.com/sql/docs/postgres/connect-auth-proxy#start-proxy).
                    gcp.cloudrunv2.ServiceTemplateContainerArgs(
                        name=proxy,
                        image=w.sql_proxy_image,
                        args=self.sql_instance.connection_name.apply(
                            lambda c: [
                                "--private-ip",
                                "--auto-iam-authn",
                                "--structured-logs",
                                f"--port={PROXY_PORT}",
                                "--health-check",
                                "--http-address=0.0.0.0",
                                f"--http-port={PROXY_HEALTH_PORT}",
                                c,
                            ]
                        ),
                        resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": "1", "memory": "512Mi"}, cpu_idle=RUN_CPU_IDLE
                        ),
                        startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                            http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(
                                path="/startup", port=PROXY_HEALTH_PORT
                            ),
                            period_seconds=STARTUP_PERIOD_S,
                            failure_threshold=6,
                        ),
                    ),
                ],
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *needs(catalog.API_RUN, catalog.API_IAP),
                    *versions.values(),
                    *access,
                ],
            ),
        )
        # Only IAP's agent invokes the service; people reach it through IAP, and only the
        # configured group does (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run).
        gcp.cloudrunv2.ServiceIamMember(
            "iap-invoker",
            name=self.service.name,
            location=config.region,
            role=RUN_INVOKER,
            member=agent_member(catalog.API_IAP, number),
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_IAP)),
        )
        gcp.iap.WebCloudRunServiceIamMember(
            "iap-access",
            cloud_run_service_name=self.service.name,
            location=config.region,
            role=IAP_ACCESSOR,
            member=f"group:{w.sign_in.access_group}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_IAP)),
        )
        if w.sign_in.ci_account:
            # The CI job of Weblate's pull request reads Weblate's API (who translated and who
            # approved) through IAP with the account's ID token (README, Working in Weblate).
            gcp.iap.WebCloudRunServiceIamMember(
                "iap-ci",
                cloud_run_service_name=self.service.name,
                location=config.region,
                role=IAP_ACCESSOR,
                member=f"serviceAccount:{w.sign_in.ci_account}",
                opts=pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_IAP)),
            )
        self.url = pulumi.Output.concat("https://", site)
        self.register_outputs(
            {"url": self.url, "sql_instance": self.sql_instance.name, "service": self.service.name}
        )

    def _network(
        self, config: WeblateConfig, needs: Needs
    ) -> tuple[
        gcp.compute.Network,
        gcp.compute.Subnetwork,
        gcp.servicenetworking.Connection,
        gcp.compute.GlobalAddress,
    ]:
        """Weblate's VPC: Cloud Run's subnet, the private services access range and its
        peering, and egress denied but to that range."""
        names = config.names
        net = config.settings.network
        child = pulumi.ResourceOptions(parent=self, depends_on=needs(catalog.API_COMPUTE))
        # No default route: nothing in this VPC goes to the internet (Cloud Run sends only
        # private ranges into it).
        vpc = gcp.compute.Network(
            "vpc",
            name=names.vpc,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=True,
            description="Weblate's network (Cloud Run, Cloud SQL, Memorystore, Filestore)",
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            "run-subnet",
            name=names.run_subnet,
            network=vpc.id,
            region=config.region,
            ip_cidr_range=net.run_cidr,
            private_ip_google_access=True,
            log_config=flow_logs(),
            opts=child,
        )
        services = ipaddress.ip_network(net.services_cidr)
        # The range Google's managed services take their addresses from
        # (https://cloud.google.com/vpc/docs/configure-private-services-access#allocating-range).
        psa = gcp.compute.GlobalAddress(
            "services-range",
            name=names.services_range,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(services.network_address),
            prefix_length=services.prefixlen,
            network=vpc.id,
            labels=config.labels,
            opts=child,
        )
        peering = gcp.servicenetworking.Connection(
            "services-peering",
            network=vpc.id,
            service=catalog.API_SERVICE_NETWORKING,
            reserved_peering_ranges=[psa.name],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=needs(catalog.API_SERVICE_NETWORKING)
            ),
        )
        logged = gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
        # Out only to the managed services' range (Cloud SQL, Memorystore, Filestore);
        # everything else is denied and logged.
        gcp.compute.Firewall(
            "allow-services-egress",
            name=names.allow_services_egress,
            network=vpc.id,
            direction="EGRESS",
            destination_ranges=[net.services_cidr],
            allows=[
                gcp.compute.FirewallAllowArgs(protocol="tcp"),
                gcp.compute.FirewallAllowArgs(protocol="udp"),  # NFS
            ],
            log_config=logged,
            priority=1000,
            opts=child,
        )
        deny_all("deny-all-egress", names.deny_egress, vpc.id, "EGRESS", child)
        return vpc, subnet, peering, psa
