"""Spanner: the region's autoscaled instance, and each cell's database (its shard) on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from rollout import names
from rollout.config import BackupSchedule, RegionSpec, SpannerAutoscaling
from rollout.shards import read_ddl

# The cell database's schema; every cell gets the same tables.
CELL_SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "cell.sql"

# Terraform-side deletion guard offered by pulumi-gcp 10.x: a destroy or replace of the
# resource fails instead of deleting data ("DELETE" is the provider default).
PREVENT = "PREVENT"


@cache
def cell_ddl(path: Path = CELL_SCHEMA) -> tuple[str, ...]:
    """The cell schema's statements, read once per process."""
    return tuple(read_ddl(path))


@dataclass
class SpannerInstanceArgs:
    spec: RegionSpec


class SpannerInstance(pulumi.ComponentResource):
    """The region's Spanner instance: regional configuration, so data stays in the region."""

    instance: gcp.spanner.Instance
    """The autoscaled instance every cell database lives on."""
    name: pulumi.Output[str]
    """The instance id."""

    def __init__(
        self, name: str, args: SpannerInstanceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("demobank:spanner:SpannerInstance", name, None, opts)
        spec = args.spec
        scaling = spec.spanner.autoscaling
        self.instance = gcp.spanner.Instance(
            f"{name}-instance",
            name=names.region_name(spec.short, "spanner"),
            config=spec.spanner_config,  # regional-<region>: the region's data residency
            display_name=names.spanner_display_name(spec.short),
            edition=spec.spanner.edition,
            autoscaling_config=autoscaling_config(scaling),
            # Each cell database has its own reviewed backup schedule (CellDatabase); the
            # instance-level automatic one would only double the backups.
            default_backup_schedule_type="NONE",
            # Never delete the instance's backups along with it.
            force_destroy=False,
            # The Spanner instance has no deletion_protection field; PREVENT is its guard, and
            # the databases' enable_drop_protection also blocks deleting the instance.
            deletion_policy=PREVENT,
            labels=spec.base_labels(),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.name = self.instance.name
        self.register_outputs({"name": self.name})


@dataclass
class CellDatabaseArgs:
    spec: RegionSpec
    cell: str
    instance: pulumi.Input[str]
    """The region's Spanner instance id."""


class CellDatabase(pulumi.ComponentResource):
    """One cell's shard: a database on the region's instance with PITR and scheduled backups."""

    database: gcp.spanner.Database
    """The cell's database."""
    database_id: pulumi.Output[str]
    """The database id within the instance."""

    def __init__(
        self, name: str, args: CellDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("demobank:spanner:CellDatabase", name, None, opts)
        spec = args.spec
        self.database = gcp.spanner.Database(
            f"{name}-db",
            name=names.database_name(args.cell),
            instance=args.instance,
            ddls=list(cell_ddl()),
            # Point-in-time recovery window (config guarantees >= 1 day).
            version_retention_period=spec.spanner.version_retention_period,
            # Spanner-side: no API, console or gcloud call may drop the database (or its
            # instance) while this is on.
            enable_drop_protection=True,
            # Provider-side: a destroy or replacing update fails.
            deletion_protection=True,
            deletion_policy=PREVENT,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        backup_schedule(f"{name}-backups", spec.spanner.backup, args.instance, self.database, self)
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
