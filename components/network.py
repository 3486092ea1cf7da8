"""The region's shared network: custom-mode VPC, substrate subnet, Router + NAT, firewall."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import NetworkArgs


class Network(pulumi.ComponentResource):
    """A custom-mode VPC with nothing open to the internet but health checks to ingress."""

    vpc: gcp.compute.Network
    """The region's VPC; cells add their own subnets to it."""
    substrate: gcp.compute.Subnetwork
    """The region's shared subnet (Managed Kafka, internal services)."""
    proxy_only: gcp.compute.Subnetwork
    """The region's proxy-only subnet (the cells' Gateways)."""
    router: gcp.compute.Router
    """Cloud Router carrying the NAT."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.NETWORK_COMPONENT, name, None, opts)
        names = args.names
        child = pulumi.ResourceOptions(parent=self)

        # Custom mode: every subnet is declared here, so no range appears that was not reviewed.
        self.vpc = gcp.compute.Network(
            "vpc",
            name=names.vpc,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=False,
            description=args.description,
            opts=child,
        )
        self.substrate = gcp.compute.Subnetwork(
            "substrate",
            name=names.substrate,
            network=self.vpc.id,
            region=args.region,
            ip_cidr_range=args.substrate_cidr,
            private_ip_google_access=True,  # reach Google APIs without public IPs
            log_config=flow_logs(),
            opts=child,
        )
        # The proxy-only subnet of the region's managed Envoy proxies: every cell's regional
        # Gateway terminates there (https://cloud.google.com/load-balancing/docs/proxy-only-subnets).
        self.proxy_only = gcp.compute.Subnetwork(
            "proxy-only",
            name=names.proxy_only,
            network=self.vpc.id,
            region=args.region,
            ip_cidr_range=args.proxy_cidr,
            purpose="REGIONAL_MANAGED_PROXY",
            role="ACTIVE",
            opts=child,
        )
        self.router = gcp.compute.Router(
            "router",
            name=names.router,
            network=self.vpc.id,
            region=args.region,
            opts=child,
        )
        # Egress for private nodes; no inbound path is created by NAT.
        gcp.compute.RouterNat(
            "nat",
            name=names.nat,
            router=self.router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        # The only ingress rule from outside: Google's health checkers to cell ingress nodes.
        gcp.compute.Firewall(
            "allow-health-checks",
            name=names.allow_health_checks,
            network=self.vpc.id,
            direction="INGRESS",
            source_ranges=list(catalog.HEALTH_CHECK_RANGES),
            target_tags=[catalog.INGRESS_TAG],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["80", "443", "10256"])],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            priority=1000,
            opts=child,
        )
        # Explicit deny-all below every allow, logged, so the baseline is visible in audits.
        gcp.compute.Firewall(
            "deny-all-ingress",
            name=names.deny_all_ingress,
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
