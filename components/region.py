"""A region: the shared substrate (network, Spanner instance, Managed Kafka) and its cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.cell import Cell, CellArgs
from components.event_bus import EventBus, EventBusArgs
from components.network import Network, NetworkArgs
from components.spanner import SpannerInstance, SpannerInstanceArgs
from rollout.config import RegionSpec

# What the hub's on-call group may do in the region's project: read everything (roles/viewer)
# and operate workloads in the cells' clusters (roles/container.developer). The project holds
# exactly one region, so project scope is region scope; no IAM condition is needed (and
# roles/viewer spans resource types whose names carry no region to condition on).
HUB_ONCALL_ROLES = ("roles/viewer", "roles/container.developer")


@dataclass
class RegionArgs:
    spec: RegionSpec


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

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("demobank:region:Region", name, None, opts)
        self.spec = spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network("network", NetworkArgs(spec=spec), child)
        self.spanner = SpannerInstance("spanner", SpannerInstanceArgs(spec=spec), child)
        self.event_bus = EventBus(
            "event-bus", EventBusArgs(spec=spec, subnet=self.network.substrate.id), child
        )
        for role in HUB_ONCALL_ROLES:
            gcp.projects.IAMMember(
                f"hub-oncall-{role.removeprefix('roles/').replace('.', '-')}",
                project=spec.project,
                role=role,
                member=f"group:{spec.hub.oncall_group}",
                opts=child,
            )
        # A data source, not a resource: the GKE service agent's address needs the number.
        project_number = gcp.organizations.get_project_output(project_id=spec.project).number
        self.cells = {
            cell: Cell(
                cell,
                CellArgs(
                    spec=spec,
                    network=self.network.vpc.id,
                    spanner_instance=self.spanner.name,
                    kafka_cluster_id=self.event_bus.cluster_id,
                    project_number=project_number,
                ),
                child,
            )
            for cell in spec.cells
        }
        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, Any]:
        """What the global stack reads through its StackReference; keep these keys stable."""
        return {
            "region": self.spec.region,
            "hub": self.spec.hub.name,
            "spanner_instance": self.spanner.name,
            "kafka_cluster": self.event_bus.resource_id,
            "cells": {
                name: {
                    "ingress_address": cell.ingress_address,
                    "cluster_name": cell.cluster_name,
                    "database_id": cell.database_id,
                }
                for name, cell in self.cells.items()
            },
        }
