"""A region: the shared substrate (network, Spanner instance, Managed Kafka) and its cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.network import Network, NetworkArgs
from rollout.config import RegionSpec


@dataclass
class RegionArgs:
    spec: RegionSpec


class Region(pulumi.ComponentResource):
    """Everything one regional stack builds."""

    network: Network
    """The region's VPC, NAT and baseline firewall."""

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("demobank:region:Region", name, None, opts)
        self.spec = args.spec
        self.network = Network("network", NetworkArgs(spec=args.spec), pulumi.ResourceOptions(parent=self))
        self.register_outputs({"region": args.spec.region})

    def stack_outputs(self) -> dict[str, Any]:
        return {"region": self.spec.region, "hub": self.spec.hub.name}
