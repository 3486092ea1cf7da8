"""The region's shared network: custom-mode VPC, substrate subnet, Router + NAT, firewall."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from rollout import names
from rollout.config import RegionSpec

# Google's load-balancer and health-check source ranges; the only sources ever allowed in from
# outside the VPC (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"]

# Tag carried by every cell's ingress nodes; the health-check rule targets only these.
INGRESS_TAG = "demobank-ingress"


@dataclass
class NetworkArgs:
    spec: RegionSpec


class Network(pulumi.ComponentResource):
    """A custom-mode VPC with nothing open to the internet but health checks to ingress."""

    vpc: gcp.compute.Network
    """The region's VPC; cells add their own subnets to it."""
    substrate: gcp.compute.Subnetwork
    """The region's shared subnet (Managed Kafka, internal services)."""
    router: gcp.compute.Router
    """Cloud Router carrying the NAT."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("demobank:network:Network", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)

        # Custom mode: every subnet is declared here, so no range appears that was not reviewed.
        self.vpc = gcp.compute.Network(
            "vpc",
            name=names.region_name(spec.short, "vpc"),
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=False,
            description=f"Demo Bank {spec.region} ({spec.hub.name} hub)",
            opts=child,
        )
        self.substrate = gcp.compute.Subnetwork(
            "substrate",
            name=names.region_name(spec.short, "substrate"),
            network=self.vpc.id,
            region=spec.region,
            ip_cidr_range=spec.network.substrate_cidr,
            private_ip_google_access=True,  # reach Google APIs without public IPs
            log_config=flow_logs(),
            opts=child,
        )
        self.router = gcp.compute.Router(
            "router",
            name=names.region_name(spec.short, "router"),
            network=self.vpc.id,
            region=spec.region,
            opts=child,
        )
        # Egress for private nodes; no inbound path is created by NAT.
        gcp.compute.RouterNat(
            "nat",
            name=names.region_name(spec.short, "nat"),
            router=self.router.name,
            region=spec.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        # The only ingress rule from outside: Google's health checkers to cell ingress nodes.
        gcp.compute.Firewall(
            "allow-health-checks",
            name=names.region_name(spec.short, "allow-health-checks"),
            network=self.vpc.id,
            direction="INGRESS",
            source_ranges=HEALTH_CHECK_RANGES,
            target_tags=[INGRESS_TAG],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["80", "443", "10256"])],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            priority=1000,
            opts=child,
        )
        # Explicit deny-all below every allow, logged, so the baseline is visible in audits.
        gcp.compute.Firewall(
            "deny-all-ingress",
            name=names.region_name(spec.short, "deny-all-ingress"),
            network=self.vpc.id,
            direction="INGRESS",
            source_ranges=["0.0.0.0/0"],
            denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            priority=65534,
            opts=child,
        )
        self.register_outputs({"vpc": self.vpc.id, "substrate": self.substrate.id})


def flow_logs() -> gcp.compute.SubnetworkLogConfigArgs:
    """VPC flow logs on every subnet: 5-second aggregation, half the flows, all metadata."""
    return gcp.compute.SubnetworkLogConfigArgs(
        aggregation_interval="INTERVAL_5_SEC",
        flow_sampling=0.5,
        metadata="INCLUDE_ALL_METADATA",
    )
