"""The global directory: a multi-region Spanner instance holding customer id -> region and cell.

Only pseudonymous routing data lives here (see schema/directory.sql); personal data stays in
the cell databases inside each region's residency.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.spanner import autoscaling_config, backup_schedule
from rollout import names
from rollout.config import DirectorySettings

DATABASE_NAME = "directory"

# The provider refuses to destroy the instance and the database ("PREVENT") and Spanner
# refuses to drop the database (drop protection); with protect=True on both, three locks guard
# the only copy of every customer's routing entry.
INSTANCE_DELETION_POLICY = "PREVENT"
ENABLE_DROP_PROTECTION = True
DELETION_PROTECTION = True

# Our explicit schedule below is the one that is reviewed; no second, implicit default one.
DEFAULT_BACKUP_SCHEDULE_TYPE = "NONE"


@dataclass
class GlobalDatabaseArgs:
    settings: DirectorySettings
    """directory section of regions/global.yaml."""
    ddl: list[str]
    """the directory schema, one statement per item (schema/directory.sql)."""
    labels: dict[str, str]
    """owner, cost-center, hub and region labels."""


class GlobalDatabase(pulumi.ComponentResource):
    """Multi-region Spanner instance and the protected, backed-up directory database."""

    instance: gcp.spanner.Instance
    """The multi-region (Enterprise Plus) Spanner instance."""
    database: gcp.spanner.Database
    """The directory database."""
    backup_schedule: gcp.spanner.BackupSchedule
    """Full backups of the directory on the configured cron."""

    def __init__(
        self, name: str, args: GlobalDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("demobank:global_database:GlobalDatabase", name, None, opts)
        s = args.settings
        stateful = pulumi.ResourceOptions(parent=self, protect=True)

        self.instance = gcp.spanner.Instance(
            "instance",
            name=names.region_name("global", DATABASE_NAME),
            display_name="Demo Bank global directory",
            config=s.instance_config,
            edition=s.edition,
            autoscaling_config=autoscaling_config(s.autoscaling),
            default_backup_schedule_type=DEFAULT_BACKUP_SCHEDULE_TYPE,
            deletion_policy=INSTANCE_DELETION_POLICY,
            force_destroy=False,
            labels=args.labels,
            opts=stateful,
        )
        self.database = gcp.spanner.Database(
            "database",
            instance=self.instance.name,
            name=DATABASE_NAME,
            database_dialect="GOOGLE_STANDARD_SQL",
            ddls=args.ddl,
            version_retention_period=s.version_retention_period,
            enable_drop_protection=ENABLE_DROP_PROTECTION,
            deletion_protection=DELETION_PROTECTION,
            deletion_policy=INSTANCE_DELETION_POLICY,
            opts=stateful,
        )
        self.backup_schedule = backup_schedule(
            "backup", s.backup, self.instance.name, self.database, self
        )
        self.register_outputs({"instance": self.instance.name, "database": self.database.name})
