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

# Least privilege in Kafka: produce and consume the cell's topics, join its consumer groups.
TOPIC_OPERATIONS = ("READ", "WRITE", "DESCRIBE")
GROUP_OPERATIONS = ("READ", "DESCRIBE")


class WorkloadIdentity(pulumi.ComponentResource):
    """The cell workload's Google identity and its grants."""

    account: gcp.serviceaccount.Account
    """The workload's Google service account."""
    email: pulumi.Output[str]
    """The workload service account's email."""

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.WORKLOAD_IDENTITY_COMPONENT, name, None, opts)
        config = args.config
        cell = config.cell
        child = pulumi.ResourceOptions(parent=self)
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cluster]),
        )
        # Read and write the cell's own database only (database-level, not instance-level).
        gcp.spanner.DatabaseIAMMember(
            f"{name}-app-database-user",
            instance=args.instance,
            database=args.database,
            role="roles/spanner.databaseUser",
            member=self.account.member,
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
