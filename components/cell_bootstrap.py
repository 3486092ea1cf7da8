"""Inside a cell's cluster, and at its edge: what the cell needs before its workload can serve.

A Kubernetes provider built from the cell's own cluster (same stack, parented to the cell), and
through it: the cell's namespace and its service account annotated for Workload Identity (so
the cell's Google identity is its own), a default-deny ingress and egress NetworkPolicy with
only the allows the workload needs, read-only access for the hub's on-call group and write
access for the audited break-glass group, and Service bank-app (owned here: the app's deploy
creates its pods, never the Service) whose annotation has GKE's NEG controller create a zonal
NEG of the app's pods in each of the cluster's zones.

In front of them, a regional external Application Load Balancer this code owns (Google's
standalone zonal NEG pattern) on the cell's reserved ingress address: its backend service
carries the Cloud Armor policy that admits only Cloudflare, and its target HTTPS proxy presents
the cell's Cloudflare Origin CA certificate and demands the bank's client certificate (a
ServerTlsPolicy, REJECT_INVALID, whose trust config holds only the CA of the certificate
Cloudflare presents on every pull, components/edge.py). A client that cannot present that
certificate fails the TLS handshake; one from outside Cloudflare's ranges gets a 403.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
from pulumi_kubernetes.meta import v1 as meta
from pulumi_kubernetes.networking import v1 as net

from rollout import catalog
from rollout.args import CellBootstrapArgs, CellBootstrapConfig

# Cloud Armor takes at most 10 source ranges per rule's srcIpRanges
# (https://cloud.google.com/armor/quotas#limits): Cloudflare's list spans several rules.
ARMOR_RANGES_PER_RULE = 10
ARMOR_DEFAULT_PRIORITY = 2_147_483_647  # the lowest: the rule every other rule overrides
ARMOR_FIRST_PRIORITY = 1000

# Google's restricted VIP (restricted.googleapis.com): the only Google API endpoints the
# workload reaches, so VPC Service Controls apply (https://cloud.google.com/vpc/docs/configure-private-google-access#config-domain).
GOOGLE_APIS_VIP = "199.36.153.4/30"
KAFKA_PORT = 9092  # Managed Kafka's bootstrap and broker port on the substrate subnet

# The workload's Service, owned by this stack (the app's deploy creates its pods, never the
# Service): the load balancer's NEGs come from its annotation.
APP_SERVICE = "bank-app"
APP_PORT = catalog.APP_PORT
# The label the app's pods carry, which the Service selects.
APP_SELECTOR = {"app.kubernetes.io/name": APP_SERVICE}
# Standalone zonal NEGs (https://cloud.google.com/kubernetes-engine/docs/how-to/standalone-neg).
NEG_ANNOTATION = "cloud.google.com/neg"
# RATE balancing needs a target rate: requests per second per pod before the load balancer
# prefers another zone's pods (https://cloud.google.com/load-balancing/docs/backend-service#balancing-mode).
MAX_RATE_PER_ENDPOINT = 100.0
# Frontend mTLS: a client without a certificate that chains to the trust config is refused.
MTLS_MODE = "REJECT_INVALID"

# Pod Security Standards: the namespace runs only pods that meet "restricted".
POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


class CellBootstrap(pulumi.ComponentResource):
    """The cell's Kubernetes objects and its edge admission policy."""

    provider: k8s.Provider
    """The Kubernetes provider of the cell's own cluster."""
    namespace: k8s.core.v1.Namespace
    """The namespace the cell's workload runs in."""
    service_account: k8s.core.v1.ServiceAccount
    """The workload's Kubernetes service account, bound to the cell's Google account."""
    security_policy: gcp.compute.RegionSecurityPolicy
    """Cloud Armor: only Cloudflare's ranges reach the cell's backend service."""
    service: k8s.core.v1.Service
    """Service bank-app: its annotation has GKE create the zonal NEGs the load balancer uses."""
    forwarding_rule: gcp.compute.ForwardingRule
    """The cell's HTTPS (mTLS) entry on its reserved ingress address."""

    def __init__(
        self, name: str, args: CellBootstrapArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.CELL_BOOTSTRAP_COMPONENT, name, None, opts)
        config = args.config
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig(args.cluster),
            # Replace the provider (and so re-read the cluster) only if the cluster itself is
            # replaced; an endpoint or certificate rotation is an update.
            cluster_identifier=args.cluster.id,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": config.namespace,
                "labels": {**POD_SECURITY, catalog.CELL_LABEL: config.cell},
            },
            opts=in_cluster,
        )
        in_namespace = pulumi.ResourceOptions(
            parent=self, provider=self.provider, depends_on=[self.namespace]
        )
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-ksa",
            metadata={
                "name": config.service_account,
                "namespace": config.namespace,
                # Workload Identity: pods of this account act as the cell's Google account.
                "annotations": {"iam.gke.io/gcp-service-account": args.app_email},
            },
            opts=in_namespace,
        )
        for policy_name, spec in network_policies(config).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata={"name": policy_name, "namespace": config.namespace},
                spec=spec,
                opts=in_namespace,
            )
        # People: on-call reads every namespace; break-glass may write, and every use is in
        # the cluster's audit log (Kubernetes audit logging is on for GKE).
        for binding, (group, cluster_role) in {
            "oncall-view": (config.oncall_group, "view"),
            "breakglass-edit": (config.breakglass_group, "edit"),
        }.items():
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-{binding}",
                metadata={"name": f"demobank-{binding}"},
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_role
                ),
                subjects=[
                    k8s.rbac.v1.SubjectArgs(
                        api_group="rbac.authorization.k8s.io", kind="Group", name=group
                    )
                ],
                opts=in_cluster,
            )

        self.security_policy = gcp.compute.RegionSecurityPolicy(
            f"{name}-armor",
            name=config.security_policy_name,
            region=config.region,
            type="CLOUD_ARMOR",
            description=f"Only Cloudflare reaches cell {config.cell}",
            rules=armor_rules(config.cloudflare_ranges),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.apis)),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={
                "name": APP_SERVICE,
                "namespace": config.namespace,
                # Standalone zonal NEGs: GKE's NEG controller creates a GCE_VM_IP_PORT NEG of
                # this name in every zone where the cluster has nodes, holding the pods' IPs.
                "annotations": {NEG_ANNOTATION: neg_annotation(config.ingress.neg)},
            },
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=APP_SELECTOR,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="http", protocol="TCP", port=APP_PORT, target_port=APP_PORT
                    )
                ],
            ),
            opts=in_namespace,
        )
        self._load_balancer(name, args)
        self.register_outputs({"namespace": config.namespace})

    def _load_balancer(self, name: str, args: CellBootstrapArgs) -> None:
        """The cell's regional external Application Load Balancer: TLS with the origin
        certificate, the bank's client certificate demanded (mTLS, REJECT_INVALID), Cloud
        Armor on the backend service, the zonal NEGs of Service bank-app as its backends."""
        config, names = args.config, args.config.ingress
        compute = pulumi.ResourceOptions(parent=self, depends_on=list(args.apis))
        health_check = gcp.compute.RegionHealthCheck(
            f"{name}-health-check",
            name=names.health_check,
            region=config.region,
            description=f"The app's health endpoint in cell {config.cell}",
            http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                port=APP_PORT, request_path=config.health_path
            ),
            log_config=gcp.compute.RegionHealthCheckLogConfigArgs(enable=True),
            opts=compute,
        )
        project, neg = config.project, names.neg
        backends = pulumi.Output.from_input(args.zones).apply(
            lambda zones: [
                gcp.compute.RegionBackendServiceBackendArgs(
                    group=f"projects/{project}/zones/{zone}/networkEndpointGroups/{neg}",
                    balancing_mode="RATE",
                    max_rate_per_endpoint=MAX_RATE_PER_ENDPOINT,
                    capacity_scaler=1.0,
                )
                for zone in sorted(zones)
            ]
        )
        backend_service = gcp.compute.RegionBackendService(
            f"{name}-backend-service",
            name=names.backend_service,
            region=config.region,
            description=f"Service {APP_SERVICE} of cell {config.cell} (its zonal NEGs)",
            load_balancing_scheme="EXTERNAL_MANAGED",
            protocol="HTTP",
            health_checks=health_check.id,
            # Only Cloudflare's ranges: the same policy the GKE Gateway attached before.
            security_policy=self.security_policy.self_link,
            backends=backends,
            log_config=gcp.compute.RegionBackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
            # The NEGs must exist before they can be backends. This waits for the Service, and
            # the Service's await (pulumi_kubernetes' Service docstring: its Endpoints object
            # exists, then 10 s for stragglers, and no endpoint not ready) usually gives the NEG
            # controller time to make them. It is no guarantee: if a NEG is not there yet, this
            # create fails and a second `pulumi up` completes it. Whether that await passes
            # before the app's pods exist is the provider's behaviour, not checked here.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*args.apis, self.service, self.security_policy]
            ),
        )
        url_map = gcp.compute.RegionUrlMap(
            f"{name}-url-map",
            name=names.url_map,
            region=config.region,
            description=f"Everything to cell {config.cell}'s app",
            default_service=backend_service.id,
            opts=compute,
        )
        # The server certificate: a Cloudflare Origin CA certificate, which Cloudflare's Full
        # (strict) mode trusts. Compute Engine certificates are immutable, so a rotation is a new
        # one (a name from the prefix), created before the old one is deleted.
        certificate = gcp.compute.RegionSslCertificate(
            f"{name}-certificate",
            name_prefix=f"{names.cert}-",
            region=config.region,
            description=f"Cloudflare Origin CA certificate of {config.origin_hostname}",
            certificate=args.origin_tls.certificate,
            private_key=args.origin_tls.private_key,
            opts=compute,
        )
        # Frontend mTLS: the regional external Application Load Balancer validates client
        # certificates against a Certificate Manager trust config in its own region, through
        # a ServerTlsPolicy on its target HTTPS proxy (https://cloud.google.com/load-balancing/docs/mtls,
        # https://cloud.google.com/load-balancing/docs/https/setting-up-mtls-reg-ext-http-lb).
        # The only trust anchor: the CA of the bank's origin-pull certificate, which Cloudflare
        # presents on every pull (components/edge.py); no Cloudflare-hosted client holds it.
        trust_config = gcp.certificatemanager.TrustConfig(
            f"{name}-trust-config",
            name=names.trust_config,
            location=config.region,
            description=f"The bank's origin-pull CA, the only client CA of cell {config.cell}",
            trust_stores=[
                gcp.certificatemanager.TrustConfigTrustStoreArgs(
                    trust_anchors=[
                        gcp.certificatemanager.TrustConfigTrustStoreTrustAnchorArgs(
                            pem_certificate=args.origin_tls.client_ca
                        )
                    ]
                )
            ],
            opts=compute,
        )
        # REJECT_INVALID: no certificate, or one that does not chain to the trust config, and
        # the handshake fails before any request reaches Cloud Armor or the app; it requires a
        # non-empty trust config (https://cloud.google.com/load-balancing/docs/reference/network-security/rest/v1/projects.locations.serverTlsPolicies).
        # client_validation_cas stays empty: it is for Traffic Director only (the SDK's
        # ServerTlsPolicyMtlsPolicyArgs), as is allow_open.
        server_tls_policy = gcp.networksecurity.ServerTlsPolicy(
            f"{name}-server-tls-policy",
            name=names.server_tls_policy,
            location=config.region,
            description=f"Cell {config.cell} demands the bank's client certificate",
            mtls_policy=gcp.networksecurity.ServerTlsPolicyMtlsPolicyArgs(
                client_validation_mode=MTLS_MODE,
                client_validation_trust_config=trust_config.id,
            ),
            opts=compute,
        )
        # ssl_certificates (a regional Compute Engine certificate) with server_tls_policy: the
        # pairing of the SDK's "Region Target Https Proxy Mtls" example
        # (pulumi_gcp/compute/region_target_https_proxy.py); the two certificate fields are
        # exclusive.
        proxy = gcp.compute.RegionTargetHttpsProxy(
            f"{name}-proxy",
            name=names.proxy,
            region=config.region,
            description=f"TLS and mTLS of cell {config.cell}",
            url_map=url_map.id,
            ssl_certificates=[certificate.self_link],
            server_tls_policy=server_tls_policy.id,
            opts=compute,
        )
        # The reserved address Cloudflare's origin record points at; a regional managed proxy's
        # forwarding rule needs the region's proxy-only subnet to exist first.
        self.forwarding_rule = gcp.compute.ForwardingRule(
            f"{name}-forwarding-rule",
            name=names.forwarding_rule,
            region=config.region,
            description=f"HTTPS (mTLS) into cell {config.cell}",
            load_balancing_scheme="EXTERNAL_MANAGED",
            ip_protocol="TCP",
            port_range="443",
            ip_address=args.address,
            network=args.network,
            network_tier=args.network_tier,
            target=proxy.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.apis, args.proxy_only]),
        )


def kubeconfig(cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    """A kubeconfig for the cell's cluster that authenticates with IAM (gke-gcloud-auth-plugin),
    so no credential is ever written into the state. It reaches the control plane through its
    DNS-based endpoint (IAM-authorized, no network path needed: the deploy runs on hosted
    runners), whose certificate is publicly trusted, so no CA is pinned."""

    def render(values: list[Any]) -> str:
        name, endpoints = values
        config = endpoints or {}
        dns = config.get("dns_endpoint_config") if isinstance(config, dict) else None
        dns = dns if dns is not None else getattr(config, "dns_endpoint_config", None)
        endpoint = (dns or {}).get("endpoint") if isinstance(dns, dict) else None
        endpoint = endpoint if endpoint is not None else getattr(dns, "endpoint", None)
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": name,
                        "cluster": {"server": f"https://{endpoint}" if endpoint else ""},
                    }
                ],
                "users": [
                    {
                        "name": name,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "gke-gcloud-auth-plugin",
                                "provideClusterInfo": True,
                                "interactiveMode": "Never",
                            }
                        },
                    }
                ],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
            },
            sort_keys=True,
        )

    return pulumi.Output.all(cluster.name, cluster.control_plane_endpoints_config).apply(render)


def network_policies(config: CellBootstrapConfig) -> dict[str, net.NetworkPolicySpecArgs]:
    """Default deny both ways, then exactly what the workload needs, by policy name."""
    every_pod = meta.LabelSelectorArgs()

    def egress(peers: list[net.NetworkPolicyPeerArgs], *ports: tuple[str, int]) -> Any:
        return net.NetworkPolicySpecArgs(
            pod_selector=every_pod,
            policy_types=["Egress"],
            egress=[
                net.NetworkPolicyEgressRuleArgs(
                    to=peers,
                    ports=[net.NetworkPolicyPortArgs(protocol=p, port=n) for p, n in ports],
                )
            ],
        )

    def block(cidr: str) -> net.NetworkPolicyPeerArgs:
        return net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=cidr))

    kube_dns = net.NetworkPolicyPeerArgs(
        namespace_selector=meta.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": "kube-system"}
        ),
        pod_selector=meta.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
    )
    return {
        "default-deny": net.NetworkPolicySpecArgs(
            pod_selector=every_pod, policy_types=["Ingress", "Egress"]
        ),
        "allow-dns": egress([kube_dns], ("UDP", 53), ("TCP", 53)),
        # Spanner, Secret Manager, logging: all through the restricted Google APIs VIP.
        "allow-google-apis": egress([block(GOOGLE_APIS_VIP)], ("TCP", 443)),
        "allow-kafka": egress([block(config.kafka_cidr)], ("TCP", KAFKA_PORT)),
        # The load balancer's proxies (the region's proxy-only subnet) and Google's health
        # checkers; the name is the one the GKE Gateway had.
        "allow-gateway": net.NetworkPolicySpecArgs(
            pod_selector=every_pod,
            policy_types=["Ingress"],
            ingress=[
                net.NetworkPolicyIngressRuleArgs(
                    from_=[block(c) for c in config.gateway_sources],
                    ports=[net.NetworkPolicyPortArgs(protocol="TCP", port=APP_PORT)],
                )
            ],
        ),
    }


def neg_annotation(neg: str) -> str:
    """The NEG controller's annotation: one named NEG per zone for the app's port."""
    return json.dumps({"exposed_ports": {str(APP_PORT): {"name": neg}}}, sort_keys=True)


def armor_rules(ranges: tuple[str, ...]) -> list[gcp.compute.RegionSecurityPolicyRuleArgs]:
    """Allow Cloudflare's ranges (a rule per 10), deny everything else."""
    chunks = [
        list(ranges[i : i + ARMOR_RANGES_PER_RULE])
        for i in range(0, len(ranges), ARMOR_RANGES_PER_RULE)
    ]
    rules = [
        gcp.compute.RegionSecurityPolicyRuleArgs(
            action="allow",
            priority=ARMOR_FIRST_PRIORITY + i,
            description=f"Cloudflare ranges, part {i + 1} of {len(chunks)}",
            match=gcp.compute.RegionSecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1",
                config=gcp.compute.RegionSecurityPolicyRuleMatchConfigArgs(src_ip_ranges=chunk),
            ),
        )
        for i, chunk in enumerate(chunks)
    ]
    rules.append(
        gcp.compute.RegionSecurityPolicyRuleArgs(
            action="deny(403)",
            priority=ARMOR_DEFAULT_PRIORITY,
            description="anything that did not come through Cloudflare",
            match=gcp.compute.RegionSecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1",
                config=gcp.compute.RegionSecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
            ),
        )
    )
    return rules
