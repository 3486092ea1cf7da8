"""Inside a cell's cluster: what the cell needs before its workload can serve.

A Kubernetes provider built from the cell's own cluster (same stack, parented to the cell), and
through it: the cell's namespace and its service account annotated for Workload Identity (so
the cell's Google identity is its own), a default-deny ingress and egress NetworkPolicy with
only the allows the workload needs, read-only access for the hub's on-call group and write
access for the audited break-glass group, and a Gateway (GKE Gateway API) on the cell's
reserved ingress address behind a Cloud Armor policy that admits only Cloudflare.

Cloudflare presents the bank's client certificate on every pull (components/edge.py), but this
Gateway does not check it: the GKE Gateway controller owns the load balancer it creates, and
its policy (GCPGatewayPolicy: sslPolicy, allowGlobalAccess, region) has no client-certificate
validation. Checking it needs a load balancer of our own with a ServerTlsPolicy (README, Cells).
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

# The workload's Service the Gateway routes to: deployed with the app, named here once.
APP_SERVICE = "bank-app"
APP_PORT = 8080

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
    """Cloud Armor: only Cloudflare's ranges reach the cell's Gateway."""
    gateway: k8s.apiextensions.CustomResource
    """The cell's Gateway on its reserved ingress address."""

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
        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={"name": "ingress", "namespace": config.namespace},
            spec={
                "gatewayClassName": config.gateway_class,
                # The reserved address Cloudflare's origin record points at.
                "addresses": [{"type": "NamedAddress", "value": config.ingress_address_name}],
                "listeners": [
                    {
                        "name": "https",
                        "protocol": "HTTPS",
                        "port": 443,
                        "hostname": config.origin_hostname,
                        # The cell's origin certificate (Cloudflare Origin CA), a Secret
                        # delivered with the app's deploy, never by this stack.
                        "tls": {"mode": "Terminate", "certificateRefs": [{"name": "origin-tls"}]},
                    }
                ],
            },
            opts=in_namespace,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata={"name": APP_SERVICE, "namespace": config.namespace},
            spec={
                "parentRefs": [{"name": "ingress"}],
                "hostnames": [config.origin_hostname],
                "rules": [{"backendRefs": [{"name": APP_SERVICE, "port": APP_PORT}]}],
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[self.gateway]
            ),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-armor-attachment",
            api_version="networking.gke.io/v1",
            kind="GCPBackendPolicy",
            metadata={"name": APP_SERVICE, "namespace": config.namespace},
            spec={
                "default": {"securityPolicy": self.security_policy.name},
                "targetRef": {"group": "", "kind": "Service", "name": APP_SERVICE},
            },
            opts=in_namespace,
        )
        self.register_outputs({"namespace": config.namespace})


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
        # The Gateway's proxies (the region's proxy-only subnet) and Google's health checkers.
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
