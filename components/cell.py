"""A cell: a complete, self-sufficient copy of the bank's workload inside a region.

Its own subnet, GKE cluster, Spanner database, Kafka topics, identities and ingress address.
It depends on the region's substrate (VPC, Spanner instance, Kafka cluster) and on nothing of
any other cell, so a cell can be added, drained or lost on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.cluster import Cluster, ClusterArgs
from components.event_bus import CellTopics, CellTopicsArgs
from components.identity import WorkloadIdentity, WorkloadIdentityArgs
from components.network import flow_logs
from components.spanner import CellDatabase, CellDatabaseArgs
from rollout import names
from rollout.config import RegionSpec, carve

# Secondary range names inside the cell's own subnet (unique per subnet, so constant).
PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass
class CellArgs:
    spec: RegionSpec
    network: pulumi.Input[str]
    """The region's VPC id."""
    spanner_instance: pulumi.Input[str]
    """The region's Spanner instance id."""
    kafka_cluster_id: pulumi.Input[str]
    """The region's Managed Kafka cluster (short id)."""
    project_number: pulumi.Input[str]
    """The project's number (for the GKE service agent)."""


class Cell(pulumi.ComponentResource):
    """One cell, named by its key in the region file (the Pulumi logical name)."""

    subnet: gcp.compute.Subnetwork
    """The cell's own subnet (nodes, with pods and services as secondary ranges)."""
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
    ingress_address: pulumi.Output[str]
    """The ingress IP address."""
    cluster_name: pulumi.Output[str]
    """The GKE cluster's name."""
    database_id: pulumi.Output[str]
    """The cell database's id within the region's instance."""

    def __init__(self, name: str, args: CellArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("demobank:cell:Cell", name, None, opts)
        spec, cell = args.spec, name
        if cell not in spec.cells:
            raise ValueError(f"cell {cell!r} is not in the region's cells: {sorted(spec.cells)}")
        ranges = carve(spec.cells[cell].cidr)
        labels = {**spec.base_labels(), "cell": cell}
        child = pulumi.ResourceOptions(parent=self)

        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=names.cell_name(spec.short, cell, "subnet"),
            network=args.network,
            region=spec.region,
            ip_cidr_range=ranges["nodes"],
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=PODS_RANGE, ip_cidr_range=ranges["pods"]
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=SERVICES_RANGE, ip_cidr_range=ranges["services"]
                ),
            ],
            private_ip_google_access=True,  # private nodes reach Google APIs without NAT
            log_config=flow_logs(),
            opts=child,
        )
        self.cluster = Cluster(
            name,
            ClusterArgs(
                spec=spec,
                cell=cell,
                network=args.network,
                subnet=self.subnet.id,
                pods_range=PODS_RANGE,
                services_range=SERVICES_RANGE,
                project_number=args.project_number,
                labels=labels,
            ),
            child,
        )
        self.database = CellDatabase(
            name, CellDatabaseArgs(spec=spec, cell=cell, instance=args.spanner_instance), child
        )
        self.topics = CellTopics(
            name, CellTopicsArgs(spec=spec, cell=cell, cluster_id=args.kafka_cluster_id), child
        )
        self.identity = WorkloadIdentity(
            name,
            WorkloadIdentityArgs(
                spec=spec,
                cell=cell,
                instance=args.spanner_instance,
                database=self.database.database_id,
                kafka_cluster_id=args.kafka_cluster_id,
                cluster=self.cluster.cluster,
            ),
            child,
        )
        # Reserved, so the address Cloudflare points at survives ingress re-creation.
        self.ingress = gcp.compute.Address(
            f"{name}-ingress",
            name=names.cell_name(spec.short, cell, "ingress"),
            region=spec.region,
            address_type="EXTERNAL",
            network_tier="PREMIUM",
            description=f"Ingress of cell {cell} ({spec.hub.name} hub)",
            labels=labels,
            opts=child,
        )
        self.ingress_address = self.ingress.address
        self.cluster_name = self.cluster.cluster_name
        self.database_id = self.database.database_id
        self.register_outputs(
            {
                "ingress_address": self.ingress_address,
                "cluster_name": self.cluster_name,
                "database_id": self.database_id,
            }
        )
