"""The event bus: the region's Managed Kafka cluster, and each cell's topics on it."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import CellTopicsArgs, EventBusArgs

# Three replicas: a record survives the loss of a zone (Managed Kafka spreads brokers over
# three zones). Not a knob: fewer replicas would lose acknowledged payments.
REPLICATION_FACTOR = 3


class EventBus(pulumi.ComponentResource):
    """The region's Managed Kafka cluster, reachable only from the region's VPC."""

    cluster: gcp.managedkafka.Cluster
    """The Managed Kafka cluster every cell's topics live on."""
    cluster_id: pulumi.Output[str]
    """The cluster's short id (what topics and ACLs name)."""
    resource_id: pulumi.Output[str]
    """The cluster's full resource id (projects/P/locations/L/clusters/C)."""

    def __init__(self, name: str, args: EventBusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.EVENT_BUS_COMPONENT, name, None, opts)
        config = args.config
        self.cluster = gcp.managedkafka.Cluster(
            f"{name}-kafka",
            cluster_id=config.cluster_id,
            location=config.region,
            capacity_config=gcp.managedkafka.ClusterCapacityConfigArgs(
                vcpu_count=str(config.vcpu),
                memory_bytes=str(config.memory_bytes),
            ),
            # Private access only: brokers get addresses in the substrate subnet, no public
            # endpoint is configured.
            gcp_config=gcp.managedkafka.ClusterGcpConfigArgs(
                # Messages at rest under the region's HSM key (fixed at creation: Managed Kafka
                # cannot change it later); the agent's grant comes first.
                kms_key=args.key.key,
                access_config=gcp.managedkafka.ClusterGcpConfigAccessConfigArgs(
                    network_configs=[
                        gcp.managedkafka.ClusterGcpConfigAccessConfigNetworkConfigArgs(
                            subnet=args.subnet
                        )
                    ]
                ),
            ),
            # Spread partitions onto new brokers when the cluster is scaled up.
            rebalance_config=gcp.managedkafka.ClusterRebalanceConfigArgs(
                mode="AUTO_REBALANCE_ON_SCALE_UP"
            ),
            labels=config.labels,
            # Managed Kafka has no deletion_protection field; PREVENT is the provider's guard.
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, depends_on=[*args.apis, *args.key.grants]
            ),
        )
        self.cluster_id = self.cluster.cluster_id
        self.resource_id = self.cluster.id
        self.register_outputs({"cluster_id": self.cluster_id, "resource_id": self.resource_id})


class CellTopics(pulumi.ComponentResource):
    """A cell's copy of the shared topic catalog: ``<cell>.<topic>`` for every topic."""

    topics: dict[str, gcp.managedkafka.Topic]
    """Catalog topic name -> the cell's topic."""
    topic_ids: list[str]
    """The cell's topic ids, in catalog order."""

    def __init__(self, name: str, args: CellTopicsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.CELL_TOPICS_COMPONENT, name, None, opts)
        config = args.config
        self.topics = {}
        for topic, settings in config.topics.items():
            self.topics[topic] = gcp.managedkafka.Topic(
                f"{name}-{topic}",
                topic_id=settings.topic_id,
                cluster=args.cluster_id,
                location=config.region,
                partition_count=settings.partitions,
                replication_factor=REPLICATION_FACTOR,
                configs={
                    "cleanup.policy": settings.cleanup_policy,
                    "retention.ms": str(settings.retention_ms),
                    # With 3 replicas, a write is acknowledged only once 2 have it.
                    "min.insync.replicas": "2",
                },
                # A topic holds acknowledged events until retention: stateful (catalog), so
                # protected, with the provider's own guard too.
                deletion_policy=catalog.PREVENT,
                opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=list(args.apis)),
            )
        self.topic_ids = [settings.topic_id for settings in config.topics.values()]
        self.register_outputs({"topics": self.topic_ids})
