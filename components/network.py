"""The region's shared network: custom-mode VPC, substrate subnet, Router + NAT, firewall, and
the restricted path to Google APIs (a route and private DNS to the restricted VIP)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import NetworkArgs, NetworkConfig, PrivateZone


class Network(pulumi.ComponentResource):
    """A custom-mode VPC with nothing open to the internet but health checks to ingress, and
    nothing going out but to the region's own range and Google's restricted APIs."""

    vpc: gcp.compute.Network
    """The region's VPC; cells add their own subnets to it."""
    substrate: gcp.compute.Subnetwork
    """The region's shared subnet (Managed Kafka, internal services)."""
    proxy_only: gcp.compute.Subnetwork
    """The region's proxy-only subnet (the Envoy proxies of the cells' load balancers)."""
    router: gcp.compute.Router
    """Cloud Router carrying the NAT."""
    zones: dict[str, gcp.dns.ManagedZone]
    """Private zones sending Google's API and image domains to the restricted VIP."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.NETWORK_COMPONENT, name, None, opts)
        config = args.config
        names = config.names
        # every resource here calls the Compute Engine (or Cloud DNS) API
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.apis))

        # Custom mode: every subnet is declared here, so no range appears that was not reviewed.
        self.vpc = gcp.compute.Network(
            "vpc",
            name=names.vpc,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=False,
            description=config.description,
            opts=child,
        )
        self.substrate = gcp.compute.Subnetwork(
            "substrate",
            name=names.substrate,
            network=self.vpc.id,
            region=config.region,
            ip_cidr_range=config.substrate_cidr,
            private_ip_google_access=True,  # reach Google APIs without public IPs
            log_config=flow_logs(),
            opts=child,
        )
        # The proxy-only subnet of the region's managed Envoy proxies: every cell's regional
        # external Application Load Balancer terminates there
        # (https://cloud.google.com/load-balancing/docs/proxy-only-subnets).
        self.proxy_only = gcp.compute.Subnetwork(
            "proxy-only",
            name=names.proxy_only,
            network=self.vpc.id,
            region=config.region,
            ip_cidr_range=config.proxy_cidr,
            purpose="REGIONAL_MANAGED_PROXY",
            role="ACTIVE",
            opts=child,
        )
        self.router = gcp.compute.Router(
            "router",
            name=names.router,
            network=self.vpc.id,
            region=config.region,
            opts=child,
        )
        # Egress for private nodes; no inbound path is created by NAT.
        gcp.compute.RouterNat(
            "nat",
            name=names.nat,
            router=self.router.name,
            region=config.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        # From outside, only Google's health checkers reach cell ingress nodes (this rule and
        # the next).
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
        # The cells' load balancers reach the workload's pods (zonal NEGs of GCE_VM_IP_PORT
        # endpoints) from the proxy-only subnet, and their health checks from Google's ranges,
        # on the app's port. GKE's Gateway controller used to create this rule; the cells' load
        # balancers are this code's now (https://cloud.google.com/load-balancing/docs/proxy-only-subnets,
        # https://cloud.google.com/kubernetes-engine/docs/how-to/standalone-neg).
        gcp.compute.Firewall(
            "allow-load-balancers",
            name=names.allow_load_balancers,
            network=self.vpc.id,
            direction="INGRESS",
            source_ranges=[config.proxy_cidr, *catalog.HEALTH_CHECK_RANGES],
            target_tags=[catalog.INGRESS_TAG],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(catalog.APP_PORT)])],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            priority=1000,
            opts=child,
        )
        deny_all("deny-all-ingress", names.deny_all_ingress, self.vpc.id, "INGRESS", child)
        self._egress(config, child)
        self.zones = {
            key: self._zone(key, zone, config, child) for key, zone in config.zones.items()
        }
        self.register_outputs({"vpc": self.vpc.id, "substrate": self.substrate.id})

    def _egress(self, config: NetworkConfig, child: pulumi.ResourceOptions) -> None:
        """Default-deny egress: out only to the region's own range and the restricted VIP.

        The region's range holds every cell's nodes, pods, services and control plane, the
        substrate (Managed Kafka) and the proxy-only subnet; the VIP serves the Google APIs the
        workloads and nodes call, images included (the private zones below). The metadata
        server (169.254.169.254) is always reachable, whatever the firewall says. Replies to
        inbound traffic (health checks, the load balancers) are stateful and need no rule.
        """
        names = config.names
        logged = gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
        gcp.compute.Firewall(
            "allow-internal-egress",
            name=names.allow_internal_egress,
            network=self.vpc.id,
            direction="EGRESS",
            destination_ranges=[config.cidr],
            allows=[gcp.compute.FirewallAllowArgs(protocol="all")],
            log_config=logged,
            priority=1000,
            opts=child,
        )
        gcp.compute.Firewall(
            "allow-google-apis-egress",
            name=names.allow_google_apis_egress,
            network=self.vpc.id,
            direction="EGRESS",
            destination_ranges=[catalog.RESTRICTED_VIP],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["443"])],
            log_config=logged,
            priority=1000,
            opts=child,
        )
        # Everything else out is refused (the NAT stays for an allow that may follow, and
        # changes nothing until one does), logged so an attempt shows in the audit.
        deny_all("deny-all-egress", names.deny_all_egress, self.vpc.id, "EGRESS", child)
        # The VIP is reached through the default internet gateway but never leaves Google's
        # network; an explicit route keeps that path if the default route is ever removed.
        gcp.compute.Route(
            "google-apis-route",
            name=names.google_apis_route,
            network=self.vpc.id,
            dest_range=catalog.RESTRICTED_VIP,
            next_hop_gateway="default-internet-gateway",
            priority=1000,
            description="Google's restricted APIs (restricted.googleapis.com)",
            opts=child,
        )

    def _zone(
        self, key: str, zone: PrivateZone, config: NetworkConfig, child: pulumi.ResourceOptions
    ) -> gcp.dns.ManagedZone:
        """A private zone answering the domain with the restricted VIP, for this VPC only."""
        managed = gcp.dns.ManagedZone(
            f"{key}-zone",
            name=zone.name,
            dns_name=zone.dns_name,
            description=f"{zone.dns_name} to Google's restricted VIP ({config.region})",
            visibility="private",
            private_visibility_config=gcp.dns.ManagedZonePrivateVisibilityConfigArgs(
                networks=[
                    gcp.dns.ManagedZonePrivateVisibilityConfigNetworkArgs(network_url=self.vpc.id)
                ]
            ),
            labels=config.labels,
            opts=child,
        )
        zone_opts = pulumi.ResourceOptions(parent=self, depends_on=[managed])
        gcp.dns.RecordSet(
            f"{key}-vip",
            managed_zone=managed.name,
            name=zone.vip_name,
            type="A",
            ttl=300,
            rrdatas=list(catalog.RESTRICTED_VIP_ADDRESSES),
            opts=zone_opts,
        )
        gcp.dns.RecordSet(
            f"{key}-wildcard",
            managed_zone=managed.name,
            name=f"*.{zone.dns_name}",
            type="CNAME",
            ttl=300,
            rrdatas=[zone.vip_name],
            opts=zone_opts,
        )
        return managed


# Below every allow (the lowest priority but the implied rules' 65535), and logged, so the
# baseline a VPC refuses is visible in audits.
DENY_ALL_PRIORITY = 65534


def deny_all(
    resource_name: str,
    name: str,
    network: pulumi.Input[str],
    direction: str,
    opts: pulumi.ResourceOptions,
) -> gcp.compute.Firewall:
    """The logged deny-all rule of a VPC, INGRESS or EGRESS; every allow sits above it."""
    everything = ["0.0.0.0/0"]
    return gcp.compute.Firewall(
        resource_name,
        name=name,
        network=network,
        direction=direction,
        source_ranges=everything if direction == "INGRESS" else None,
        destination_ranges=everything if direction == "EGRESS" else None,
        denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
        log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
        priority=DENY_ALL_PRIORITY,
        opts=opts,
    )


def flow_logs() -> gcp.compute.SubnetworkLogConfigArgs:
    """VPC flow logs on every subnet: 5-second aggregation, half the flows, all metadata."""
    return gcp.compute.SubnetworkLogConfigArgs(
        aggregation_interval="INTERVAL_5_SEC",
        flow_sampling=0.5,
        metadata="INCLUDE_ALL_METADATA",
    )
