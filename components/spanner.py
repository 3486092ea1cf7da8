"""Spanner: the region's autoscaled instance, and each cell's database (its shard) on it."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import (
    BackupSchedule,
    CellDatabaseArgs,
    SpannerAutoscaling,
    SpannerInstanceArgs,
)


class SpannerInstance(pulumi.ComponentResource):
    """The region's Spanner instance: regional configuration, so data stays in the region."""

    instance: gcp.spanner.Instance
    """The autoscaled instance every cell database lives on."""
    name: pulumi.Output[str]
    """The instance id."""

    def __init__(
        self, name: str, args: SpannerInstanceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.SPANNER_INSTANCE_COMPONENT, name, None, opts)
        config = args.config
        self.instance = gcp.spanner.Instance(
            f"{name}-instance",
            name=config.name,
            config=config.config,  # regional-<region>: the region's data residency
            display_name=config.display_name,
            edition=config.edition,
            autoscaling_config=autoscaling_config(config.autoscaling),
            # Each cell database has its own reviewed backup schedule (CellDatabase); the
            # instance-level automatic one would only double the backups.
            default_backup_schedule_type="NONE",
            # Never delete the instance's backups along with it.
            force_destroy=False,
            # The Spanner instance has no deletion_protection field; PREVENT is its guard, and
            # the databases' enable_drop_protection also blocks deleting the instance.
            deletion_policy=catalog.PREVENT,
            labels=config.labels,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=list(args.apis)),
        )
        self.name = self.instance.name
        self.register_outputs({"name": self.name})


class CellDatabase(pulumi.ComponentResource):
    """One cell's shard: a database on the region's instance with PITR and scheduled backups."""

    database: gcp.spanner.Database
    """The cell's database."""
    database_id: pulumi.Output[str]
    """The database id within the instance."""

    def __init__(
        self, name: str, args: CellDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.CELL_DATABASE_COMPONENT, name, None, opts)
        config = args.config
        self.database = gcp.spanner.Database(
            f"{name}-db",
            name=config.name,
            instance=args.instance,
            ddls=list(config.ddl),
            # Customer-managed encryption with the region's HSM key: the bank can revoke
            # Google's access to the data (and backups follow the database's encryption). The
            # key sits in the instance's region, as Spanner requires, and its agent's grant
            # comes first (https://cloud.google.com/spanner/docs/cmek).
            encryption_config=gcp.spanner.DatabaseEncryptionConfigArgs(kms_key_name=args.key.key),
            # Point-in-time recovery window (config guarantees >= 1 day).
            version_retention_period=config.version_retention_period,
            # Spanner-side: no API, console or gcloud call may drop the database (or its
            # instance) while this is on.
            enable_drop_protection=True,
            # Provider-side: a destroy or replacing update fails.
            deletion_protection=True,
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, depends_on=[*args.apis, *args.key.grants]
            ),
        )
        backup_schedule(f"{name}-backups", config.backup, args.instance, self.database, self)
        self.database_id = self.database.name
        self.register_outputs({"database_id": self.database_id})


def autoscaling_config(
    scaling: SpannerAutoscaling,
) -> gcp.spanner.InstanceAutoscalingConfigArgs:
    """Processing units between the configured limits, steered by CPU and storage targets."""
    return gcp.spanner.InstanceAutoscalingConfigArgs(
        autoscaling_limits=gcp.spanner.InstanceAutoscalingConfigAutoscalingLimitsArgs(
            min_processing_units=scaling.min_processing_units,
            max_processing_units=scaling.max_processing_units,
        ),
        autoscaling_targets=gcp.spanner.InstanceAutoscalingConfigAutoscalingTargetsArgs(
            high_priority_cpu_utilization_percent=scaling.high_priority_cpu_target,
            storage_utilization_percent=scaling.storage_target,
        ),
    )


def backup_schedule(
    resource_name: str,
    backup: BackupSchedule,
    instance: pulumi.Input[str],
    database: gcp.spanner.Database,
    parent: pulumi.Resource,
) -> gcp.spanner.BackupSchedule:
    """Full backups on the configured cron, kept for the configured number of days."""
    return gcp.spanner.BackupSchedule(
        resource_name,
        name="full-backups",
        instance=instance,
        database=database.name,
        spec=gcp.spanner.BackupScheduleSpecArgs(
            cron_spec=gcp.spanner.BackupScheduleSpecCronSpecArgs(text=backup.cron),
        ),
        # Full (not incremental) backups: each restores on its own.
        full_backup_spec=gcp.spanner.BackupScheduleFullBackupSpecArgs(),
        retention_duration=f"{backup.retention_days * 86_400}s",
        opts=pulumi.ResourceOptions(parent=parent),
    )
