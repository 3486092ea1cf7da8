"""A cell: a complete, self-sufficient copy of the bank's workload inside a region.

Its own subnet, GKE cluster, Spanner database, Kafka topics, identities and ingress address.
It depends on the region's substrate (VPC, Spanner instance, Kafka cluster) and on nothing of
any other cell, so a cell can be added, drained or lost on its own.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.cell_bootstrap import CellBootstrap
from components.cluster import Cluster
from components.event_bus import CellTopics
from components.foundation import HsmKeys
from components.identity import WorkloadIdentity
from components.network import flow_logs
from components.spanner import CellDatabase
from rollout import catalog
from rollout.args import (
    CellArgs,
    CellBootstrapArgs,
    CellDatabaseArgs,
    CellTopicsArgs,
    ClusterArgs,
    WorkloadIdentityArgs,
)
from rollout.contract import CellOutputs

# The ingress address's tier; the forwarding rule that uses it must be in the same tier.
INGRESS_TIER = "PREMIUM"


class Cell(pulumi.ComponentResource):
    """One cell, named by its key in the region file (the Pulumi logical name)."""

    subnet: gcp.compute.Subnetwork
    """The cell's own subnet (nodes, with pods and services as secondary ranges)."""
    keys: HsmKeys
    """The cell's own HSM keys (its database, its nodes' boot disks, its Kubernetes secrets)."""
    cluster: Cluster
    """The cell's private GKE cluster."""
    database: CellDatabase
    """The cell's Spanner database (its shard)."""
    topics: CellTopics
    """The cell's Kafka topics."""
    identity: WorkloadIdentity
    """The cell workload's Google service account and grants."""
    ingress: gcp.compute.Address
    """The cell's reserved external ingress address."""
    bootstrap: CellBootstrap
    """Inside the cell's cluster: namespace, identity, network policy, Service, and the cell's
    mTLS load balancer."""
    outputs: CellOutputs[pulumi.Output[str]]
    """What the global stack reads of this cell (ingress address, cluster, database)."""

    def __init__(self, name: str, args: CellArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.CELL, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        # Compute Engine API calls (the subnet, the ingress address) wait for it to be on.
        compute = pulumi.ResourceOptions(parent=self, depends_on=list(args.apis))

        subnet = config.subnet
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=subnet.name,
            network=args.network,
            region=config.region,
            ip_cidr_range=subnet.ranges.nodes,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=subnet.pods_range, ip_cidr_range=subnet.ranges.pods
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=subnet.services_range, ip_cidr_range=subnet.ranges.services
                ),
            ],
            private_ip_google_access=True,  # private nodes reach Google APIs without NAT
            log_config=flow_logs(),
            opts=compute,
        )
        self.keys = HsmKeys(f"{name}-keys", config.keys, args.project_number, args.apis, child)
        self.cluster = Cluster(
            name,
            ClusterArgs(
                config=config.cluster,
                network=args.network,
                subnet=self.subnet.id,
                project_number=args.project_number,
                boot_disk_key=self.keys.keys["boot-disks"],
                secrets_key=self.keys.keys["gke-secrets"],
                apis=args.apis,
            ),
            child,
        )
        self.database = CellDatabase(
            name,
            CellDatabaseArgs(
                config=config.database,
                instance=args.spanner_instance,
                key=self.keys.keys["spanner"],
                apis=args.apis,
            ),
            child,
        )
        self.topics = CellTopics(
            name,
            CellTopicsArgs(config=config.topics, cluster_id=args.kafka_cluster_id, apis=args.apis),
            child,
        )
        self.identity = WorkloadIdentity(
            name,
            WorkloadIdentityArgs(
                config=config.identity,
                instance=args.spanner_instance,
                database=self.database.database_id,
                kafka_cluster_id=args.kafka_cluster_id,
                cluster=self.cluster.cluster,
                apis=args.apis,
            ),
            child,
        )
        # Reserved, so the address Cloudflare points at survives ingress re-creation.
        self.ingress = gcp.compute.Address(
            f"{name}-ingress",
            name=config.ingress.name,
            region=config.region,
            address_type="EXTERNAL",
            network_tier=INGRESS_TIER,
            description=config.ingress.description,
            labels=config.labels,
            opts=compute,
        )
        self.bootstrap = CellBootstrap(
            name,
            CellBootstrapArgs(
                config=config.bootstrap,
                cluster=self.cluster.cluster,
                app_email=self.identity.email,
                zones=self.cluster.node_pool.node_locations,
                network=args.network,
                address=self.ingress.self_link,
                network_tier=INGRESS_TIER,
                origin_tls=args.origin_tls,
                proxy_only=args.proxy_only,
                apis=args.apis,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.ingress]),
        )
        self.outputs = CellOutputs(
            ingress_address=self.ingress.address,
            cluster_name=self.cluster.cluster_name,
            database_id=self.database.database_id,
            origin_hostname=pulumi.Output.from_input(config.bootstrap.origin_hostname),
        )
        self.register_outputs(self.outputs.exports())
