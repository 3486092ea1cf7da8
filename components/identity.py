"""A cell's workload identity: the Google service account its pods act as, and only its grants.

Pods run as the Kubernetes service account ``config.kubernetes_account``; Workload Identity
maps it to this Google service account, which may use the cell's own database and the cell's
own topics, nothing else.

Managed Kafka has no per-topic IAM: ``roles/managedkafka.client`` only lets a principal
connect to a cluster. So the grant is conditioned on the region's cluster, and per-topic
access is enforced inside Kafka with ACLs on the cell's topic and consumer-group prefix
(``<cell>.``). Once a resource pattern has an ACL, principals not listed are denied, so
another cell's identity cannot read or write these topics.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import WorkloadIdentityArgs

# Spanner roles (https://cloud.google.com/spanner/docs/iam#roles): the app's two, which carry
# no DDL, and the migration identity's one, which does.
FGAC_USER_ROLE = "roles/spanner.fineGrainedAccessUser"
DATABASE_ROLE_USER = "roles/spanner.databaseRoleUser"
MIGRATION_ROLE = "roles/spanner.databaseAdmin"

# Least privilege in Kafka: produce and consume the cell's topics, join its consumer groups.
TOPIC_OPERATIONS = ("READ", "WRITE", "DESCRIBE")
GROUP_OPERATIONS = ("READ", "DESCRIBE")


class WorkloadIdentity(pulumi.ComponentResource):
    """The cell workload's Google identity and its grants."""

    account: gcp.serviceaccount.Account
    """The workload's Google service account."""
    email: pulumi.Output[str]
    """The workload service account's email."""
    migration_account: gcp.serviceaccount.Account
    """The cell's migration identity (DDL on the cell's database, nothing else)."""

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.WORKLOAD_IDENTITY_COMPONENT, name, None, opts)
        config = args.config
        cell = config.cell
        # IAM, Spanner and Managed Kafka API calls: each after its API is on
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.apis))
        self.account = gcp.serviceaccount.Account(
            f"{name}-app",
            account_id=config.account_id,
            display_name=f"Workload of cell {cell}",
            description=f"Workload Identity of {config.kubernetes_account} in {cell}.",
            opts=child,
        )
        # Only the cell's Kubernetes SA may act as this account. The pool exists once the
        # cluster does, hence the explicit dependency.
        gcp.serviceaccount.IAMMember(
            f"{name}-app-workload-identity",
            service_account_id=self.account.name,
            role="roles/iam.workloadIdentityUser",
            member=config.workload_member,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cluster, *args.apis]),
        )
        # The cell's own database only, through fine-grained access control: the app may
        # connect with the database role that schema/cell_roles.sql grants table privileges,
        # and with no other (https://cloud.google.com/spanner/docs/grant-permissions-fgac).
        # roles/spanner.databaseUser would include spanner.databases.updateDdl: never the app's.
        gcp.spanner.DatabaseIAMMember(
            f"{name}-app-fgac-user",
            instance=args.instance,
            database=args.database,
            role=FGAC_USER_ROLE,
            member=self.account.member,
            opts=child,
        )
        gcp.spanner.DatabaseIAMMember(
            f"{name}-app-database-role",
            instance=args.instance,
            database=args.database,
            role=DATABASE_ROLE_USER,
            member=self.account.member,
            condition=gcp.spanner.DatabaseIAMMemberConditionArgs(
                title=f"only-role-{config.database_role}",
                description="Only the app's database role (fine-grained access control).",
                expression=(
                    'resource.type == "spanner.googleapis.com/DatabaseRole" && '
                    f'resource.name.endsWith("/databaseRoles/{config.database_role}")'
                ),
            ),
            opts=child,
        )
        # The migration identity: the only holder of DDL on the cell's database, impersonated
        # by the deploy pipeline when it applies schema changes, never by the workload.
        self.migration_account = gcp.serviceaccount.Account(
            f"{name}-migration",
            account_id=config.migration_account_id,
            display_name=f"Schema migrations of cell {cell}",
            description="Applies the cell database's DDL; used only by the deploy pipeline.",
            opts=child,
        )
        gcp.spanner.DatabaseIAMMember(
            f"{name}-migration-ddl",
            instance=args.instance,
            database=args.database,
            role=MIGRATION_ROLE,
            member=self.migration_account.member,
            opts=child,
        )
        # Connect to the region's Kafka cluster, and to no other cluster in the project.
        cluster_path = pulumi.Output.concat(
            "projects/",
            config.project,
            "/locations/",
            config.region,
            "/clusters/",
            args.kafka_cluster_id,
        )
        gcp.projects.IAMMember(
            f"{name}-app-kafka-client",
            project=config.project,
            role="roles/managedkafka.client",
            member=self.account.member,
            condition=gcp.projects.IAMMemberConditionArgs(
                title=config.kafka_condition_title,
                description="Connect only to the region's Managed Kafka cluster.",
                expression=pulumi.Output.concat(
                    'resource.name == "',
                    cluster_path,
                    '" || ',
                    'resource.name.startsWith("',
                    cluster_path,
                    '/")',
                ),
            ),
            opts=child,
        )
        # Inside Kafka: the cell's topics and consumer groups, for this identity only.
        principal = pulumi.Output.concat("User:", self.account.email)
        prefix = config.topic_prefix
        for kind, operations in (("topic", TOPIC_OPERATIONS), ("consumerGroup", GROUP_OPERATIONS)):
            gcp.managedkafka.Acl(
                f"{name}-{kind.lower()}-acl",
                acl_id=f"{kind}Prefixed/{prefix}",
                cluster=args.kafka_cluster_id,
                location=config.region,
                acl_entries=[
                    gcp.managedkafka.AclAclEntryArgs(
                        principal=principal, permission_type="ALLOW", operation=op, host="*"
                    )
                    for op in operations
                ],
                opts=child,
            )
        self.email = self.account.email
        self.register_outputs({"email": self.email})
