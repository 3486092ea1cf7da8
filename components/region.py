"""A region: the shared substrate (network, Spanner instance, Managed Kafka) and its cells."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.cell import Cell
from components.event_bus import EventBus
from components.network import Network
from components.spanner import SpannerInstance
from rollout import catalog
from rollout.args import CellArgs, EventBusArgs, RegionArgs
from rollout.contract import RegionOutputs

# What the hub's on-call group may do in the region's project: see the clusters
# (roles/container.clusterViewer: get credentials, list clusters, nothing inside them). What it
# may see inside each cluster is Kubernetes RBAC through Google Groups, read-only
# (CellBootstrap); write access is the audited break-glass group's. No basic role: viewer would
# read every resource of the project, editor change it.
HUB_ONCALL_ROLES = ("roles/container.clusterViewer",)


class Region(pulumi.ComponentResource):
    """Everything one regional stack builds."""

    network: Network
    """The region's VPC, NAT and baseline firewall."""
    spanner: SpannerInstance
    """The region's Spanner instance."""
    event_bus: EventBus
    """The region's Managed Kafka cluster."""
    cells: dict[str, Cell]
    """Cell name -> the cell."""
    outputs: RegionOutputs[pulumi.Output[str]]
    """What the regional stack exports: the contract the global stack reads."""

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.REGION, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network("network", args.network, child)
        self.spanner = SpannerInstance("spanner", args.spanner, child)
        substrate = self.network.substrate.id
        self.event_bus = EventBus(
            "event-bus", EventBusArgs(config=args.event_bus, subnet=substrate), child
        )
        for role in HUB_ONCALL_ROLES:
            gcp.projects.IAMMember(
                f"hub-oncall-{role.removeprefix('roles/').replace('.', '-')}",
                project=args.project,
                role=role,
                member=f"group:{args.oncall_group}",
                opts=child,
            )
        # A data source, not a resource: the GKE service agent's address needs the number.
        project_number = gcp.organizations.get_project_output(project_id=args.project).number
        self.cells = {
            cell: Cell(
                cell,
                CellArgs(
                    config=config,
                    network=self.network.vpc.id,
                    spanner_instance=self.spanner.name,
                    kafka_cluster_id=self.event_bus.cluster_id,
                    project_number=project_number,
                ),
                child,
            )
            for cell, config in args.cells.items()
        }
        self.outputs = RegionOutputs(
            region=args.region,
            hub=args.hub,
            spanner_instance=self.spanner.name,
            kafka_cluster=self.event_bus.resource_id,
            cells={name: cell.outputs for name, cell in self.cells.items()},
        )
        self.register_outputs(self.outputs.exports())
