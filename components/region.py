"""A region: the project's foundation (APIs, agents, HSM keys, logs, admission policy), the
shared substrate (network, Spanner instance, Managed Kafka) and its cells."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.cell import Cell
from components.event_bus import EventBus
from components.foundation import Foundation
from components.network import Network
from components.spanner import SpannerInstance
from rollout import catalog
from rollout.args import (
    CellArgs,
    EventBusArgs,
    FoundationArgs,
    NetworkArgs,
    RegionArgs,
    SpannerInstanceArgs,
)
from rollout.contract import RegionOutputs

# What the hub's on-call group may do in the region's project: see the clusters
# (roles/container.clusterViewer: get credentials, list clusters, nothing inside them). What it
# may see inside each cluster is Kubernetes RBAC through Google Groups, read-only
# (CellBootstrap); write access is the audited break-glass group's. No basic role: viewer would
# read every resource of the project, editor change it.
HUB_ONCALL_ROLES = ("roles/container.clusterViewer",)

# The APIs each part of the region calls (its resources wait for them to be on).
NETWORK_APIS = (catalog.API_COMPUTE, catalog.API_DNS)
CELL_APIS = (
    catalog.API_COMPUTE,
    catalog.API_CONTAINER,
    catalog.API_KMS,
    catalog.API_IAM,
    catalog.API_RESOURCE_MANAGER,
    catalog.API_SPANNER,
    catalog.API_MANAGED_KAFKA,
    catalog.API_BINARY_AUTHORIZATION,
    catalog.API_CERTIFICATE_MANAGER,
    catalog.API_NETWORK_SECURITY,
)


class Region(pulumi.ComponentResource):
    """Everything one regional stack builds."""

    foundation: Foundation
    """The project's APIs, service agents, HSM keys, log bucket and admission policy."""
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
        # A data source, not a resource: the service agents' addresses need the number.
        project_number = gcp.organizations.get_project_output(project_id=args.project).number
        self.foundation = Foundation(
            "foundation",
            FoundationArgs(config=args.foundation, project_number=project_number),
            child,
        )
        apis = self.foundation.apis
        keys = self.foundation.keys.keys
        self.network = Network(
            "network", NetworkArgs(config=args.network, apis=apis.needs(*NETWORK_APIS)), child
        )
        self.spanner = SpannerInstance(
            "spanner",
            SpannerInstanceArgs(config=args.spanner, apis=apis.needs(catalog.API_SPANNER)),
            child,
        )
        substrate = self.network.substrate.id
        self.event_bus = EventBus(
            "event-bus",
            EventBusArgs(
                config=args.event_bus,
                subnet=substrate,
                key=keys["kafka"],
                apis=apis.needs(catalog.API_MANAGED_KAFKA),
            ),
            child,
        )
        for role in HUB_ONCALL_ROLES:
            gcp.projects.IAMMember(
                f"hub-oncall-{role.removeprefix('roles/').replace('.', '-')}",
                project=args.project,
                role=role,
                member=f"group:{args.oncall_group}",
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(apis.needs(catalog.API_RESOURCE_MANAGER))
                ),
            )
        self.cells = {
            cell: Cell(
                cell,
                CellArgs(
                    config=config,
                    network=self.network.vpc.id,
                    spanner_instance=self.spanner.name,
                    kafka_cluster_id=self.event_bus.cluster_id,
                    project_number=project_number,
                    origin_tls=args.origin_tls,
                    proxy_only=self.network.proxy_only,
                    apis=apis.needs(*CELL_APIS),
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
