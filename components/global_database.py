"""The global directory: a multi-region Spanner instance holding customer id -> region and cell.

Only pseudonymous routing data lives here (see schema/directory.sql); personal data stays in
the cell databases inside each region's residency. Where the directory sits on a custom
configuration (a base such as eur5, its leader, and optional read-only replicas), that
configuration is created first and the instance is placed on it.

The database is encrypted with customer-managed HSM keys, one in each region that holds a
replica (read-only and witness replicas included): Spanner takes a list of regional keys that
must cover every region of a multi-region or custom configuration
(https://cloud.google.com/spanner/docs/use-cmek). Spanner's service agent holds each key
before the database is created.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.foundation import HsmKeys, ProjectApis
from components.spanner import autoscaling_config, backup_schedule
from rollout import catalog
from rollout.args import GlobalDatabaseArgs

# The provider refuses to destroy the instance and the database (catalog.PREVENT) and Spanner
# refuses to drop the database (drop protection); with protect=True on both, three locks guard
# the only copy of every customer's routing entry.
ENABLE_DROP_PROTECTION = True
DELETION_PROTECTION = True

# Our explicit schedule below is the one that is reviewed; no second, implicit default one.
DEFAULT_BACKUP_SCHEDULE_TYPE = "NONE"


class GlobalDatabase(pulumi.ComponentResource):
    """Multi-region Spanner instance and the protected, backed-up directory database."""

    keys: dict[str, HsmKeys]
    """Replica region -> its key ring and the directory's HSM key there."""
    instance_config: gcp.spanner.InstanceConfig | None
    """The custom configuration the instance sits on (None on a Google-managed one)."""
    instance: gcp.spanner.Instance
    """The multi-region (Enterprise Plus) Spanner instance."""
    database: gcp.spanner.Database
    """The directory database."""
    backup_schedule: gcp.spanner.BackupSchedule
    """Full backups of the directory on the configured cron."""

    def __init__(
        self,
        name: str,
        args: GlobalDatabaseArgs,
        apis: ProjectApis,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``apis``: the global project's APIs (the stack turns each on once)."""
        super().__init__(catalog.GLOBAL_DATABASE_COMPONENT, name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        spanner = list(apis.needs(catalog.API_SPANNER))
        stateful = pulumi.ResourceOptions(parent=self, protect=True, depends_on=spanner)
        # A data source, not a resource: the service agent's address needs the number.
        number = gcp.organizations.get_project_output(project_id=args.project).number
        self.keys = {
            region: HsmKeys(
                f"directory-{region}",
                ring,
                number,
                apis.needs(catalog.API_KMS, catalog.API_SPANNER),
                child,
            )
            for region, ring in args.keys.items()
        }
        keys = [k for ring in self.keys.values() for k in ring.keys.values()]

        self.instance_config = None
        config: pulumi.Input[str] = s.instance_config
        if args.custom_config is not None:
            custom = args.custom_config
            # The instance cannot exist without it, and moving the instance off it is a
            # migration: guarded like the instance itself. The API refuses replicas that do not
            # include every replica of the base (rollout.catalog.SPANNER_BASE_CONFIGS), and an
            # optional read-only region the base does not offer (`gcloud spanner
            # instance-configs describe <base>`: optionalReplicas) - both known only at apply.
            self.instance_config = gcp.spanner.InstanceConfig(
                "instance-config",
                name=custom.name,
                display_name=custom.display_name,
                base_config=custom.base_config,
                replicas=[
                    gcp.spanner.InstanceConfigReplicaArgs(
                        location=r.location, type=r.type, default_leader_location=r.default_leader
                    )
                    for r in custom.replicas
                ],
                labels=args.labels,
                deletion_policy=catalog.PREVENT,
                opts=stateful,
            )
            config = self.instance_config.name
        self.instance = gcp.spanner.Instance(
            "instance",
            name=args.instance_name,
            display_name="Demo Bank global directory",
            config=config,
            edition=s.edition,
            autoscaling_config=autoscaling_config(s.autoscaling),
            default_backup_schedule_type=DEFAULT_BACKUP_SCHEDULE_TYPE,
            deletion_policy=catalog.PREVENT,
            force_destroy=False,
            labels=args.labels,
            opts=stateful,
        )
        self.database = gcp.spanner.Database(
            "database",
            instance=self.instance.name,
            name=args.database_name,
            database_dialect="GOOGLE_STANDARD_SQL",
            ddls=list(args.ddl),
            version_retention_period=s.version_retention_period,
            # One key per replica region (fixed at creation; backups follow the database's).
            encryption_config=gcp.spanner.DatabaseEncryptionConfigArgs(
                kms_key_names=[k.key for k in keys]
            ),
            enable_drop_protection=ENABLE_DROP_PROTECTION,
            deletion_protection=DELETION_PROTECTION,
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions.merge(
                stateful,
                pulumi.ResourceOptions(depends_on=[g for k in keys for g in k.grants]),
            ),
        )
        self.backup_schedule = backup_schedule(
            "backup", s.backup, self.instance.name, self.database, self
        )
        self.register_outputs({"instance": self.instance.name, "database": self.database.name})
