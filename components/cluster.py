"""A cell's hardened, private, regional GKE cluster and its node pool.

Hardening follows terraform-google-modules' safer-cluster: every security setting below is a
constant with the reason next to it. Only what a platform engineer really tunes (release
channel, machine type, node counts, maintenance window, control-plane networks) comes from YAML.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import ClusterArgs

# Least privilege for nodes: GKE's own node role (logs, metrics, resource metadata: what a node
# needs and no more, https://cloud.google.com/kubernetes-engine/docs/how-to/service-accounts#default-gke-service-agent),
# and pulling images. Never the default compute service account (Editor on the whole project).
NODE_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/artifactregistry.reader",
)

# The kubelet's read-only port (10255) serves pod and node data without authentication: off.
KUBELET_READONLY_PORT = "FALSE"

# What GKE logs: system components and workloads (audit trail for the bank's workloads).
LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "WORKLOADS"]

# Only the node pool's own scopes matter once IAM decides; cloud-platform lets IAM decide.
OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def node_hardening(
    service_account: pulumi.Input[str], boot_disk_key: pulumi.Input[str]
) -> dict[str, Any]:
    """What every node of a cell runs with, the default pool's and the node pool's alike.

    One source for both SDK argument types (``ClusterNodeConfigArgs``,
    ``NodePoolNodeConfigArgs``), so the two can never drift apart.
    """
    return {
        "image_type": "COS_CONTAINERD",  # Container-Optimized OS: minimal, read-only root
        "service_account": service_account,
        # Boot disks under the region's HSM key (Compute Engine's agent holds the grant).
        "boot_disk_kms_key": boot_disk_key,
        "kubelet_config": {"insecure_kubelet_readonly_port_enabled": KUBELET_READONLY_PORT},
        "oauth_scopes": OAUTH_SCOPES,
        # Secure boot and integrity monitoring: only signed boot components run.
        "shielded_instance_config": {
            "enable_secure_boot": True,
            "enable_integrity_monitoring": True,
        },
        # Pods see the GKE metadata server (Workload Identity), never the node's credentials;
        # the legacy metadata endpoints are off.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "metadata": {"disable-legacy-endpoints": "true"},
    }


class Cluster(pulumi.ComponentResource):
    """A private regional GKE cluster with its own node identity, under the cell's HSM keys."""

    cluster: gcp.container.Cluster
    """The GKE cluster."""
    node_pool: gcp.container.NodePool
    """The cluster's autoscaled node pool."""
    node_account: gcp.serviceaccount.Account
    """The nodes' dedicated least-privilege service account."""
    cluster_name: pulumi.Output[str]
    """The cluster's name."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.CLUSTER_COMPONENT, name, None, opts)
        grants = self._node_identity(name, args)
        self.cluster = self._cluster(name, args)
        self.node_pool = self._node_pool(name, args, grants)
        self.cluster_name = self.cluster.name
        self.register_outputs({"cluster_name": self.cluster_name})

    def _node_identity(self, name: str, args: ClusterArgs) -> list[gcp.projects.IAMMember]:
        """The nodes' own least-privilege service account, and its project roles."""
        config = args.config
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.apis))
        self.node_account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=config.names.node_account,
            display_name=f"GKE nodes of cell {config.cell}",
            description="Least-privilege node identity; replaces the default compute SA.",
            opts=child,
        )
        return [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
                project=config.project,
                role=role,
                member=self.node_account.member,
                opts=child,
            )
            for role in NODE_ROLES
        ]

    def _cluster(self, name: str, args: ClusterArgs) -> gcp.container.Cluster:
        """The hardened, private, regional cluster (its default pool removed at once)."""
        config, settings = args.config, args.config.settings
        return gcp.container.Cluster(
            f"{name}-gke",
            name=config.names.cluster,
            location=config.region,  # regional: control plane and nodes in three zones
            network=args.network,
            subnetwork=args.subnet,
            networking_mode="VPC_NATIVE",
            # Explicit, not GKE's implicit default: the config rules size each cell's pod range
            # for this many pods per node (a /24 per node, rollout.config.rules.pod_capacity).
            default_max_pods_per_node=catalog.GKE_MAX_PODS_PER_NODE,
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=config.pods_range,
                services_secondary_range_name=config.services_range,
            ),
            # The default pool is deleted right after creation; nodes come only from the
            # node pool below. Until then its nodes run, so they get the same identity and
            # hardening (without a node_config they would run as the Compute Engine default
            # account, Editor on the project). GKE reports node_config from the pool that
            # remains, so later differences are ignored (opts below), as safer-cluster does.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                **node_hardening(self.node_account.email, args.boot_disk_key.key)
            ),
            # Pools created later (by anyone) start with the kubelet's read-only port off too.
            node_pool_defaults=gcp.container.ClusterNodePoolDefaultsArgs(
                node_config_defaults=gcp.container.ClusterNodePoolDefaultsNodeConfigDefaultsArgs(
                    insecure_kubelet_readonly_port_enabled=KUBELET_READONLY_PORT
                )
            ),
            # Private nodes and a private control-plane endpoint: nothing of the cluster has
            # a public address.
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=True,
                master_ipv4_cidr_block=config.master_range,
            ),
            # The DNS-based endpoint: CI and operators reach the control plane by its
            # Google-managed name, with no network path into the VPC, and every request is
            # authorized by IAM (container.clusters.connect) before Kubernetes RBAC; Kubernetes
            # tokens and client certificates are not accepted there (the enable_k8s_*_via_dns
            # flags stay off). The IP endpoint stays private, for the bank's networks below.
            # https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation#dns-based_endpoint
            control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
                dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                    allow_external_traffic=True
                ),
            ),
            # Control plane reachable only from the named bank networks (never 0.0.0.0/0,
            # enforced by the config model), and not from Google Cloud's public ranges.
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                        display_name=label, cidr_block=cidr
                    )
                    for label, cidr in sorted(settings.authorized_networks.items())
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            # Kubernetes RBAC may name the bank's Google Groups (on-call, break-glass): GKE
            # resolves members of groups nested in gke-security-groups@<domain>.
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(
                security_group=config.rbac_security_group
            ),
            # Pods get Google identities through Workload Identity, never the node's.
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=config.workload_pool
            ),
            # Shielded nodes: kubelets prove their identity with vTPM-backed credentials.
            enable_shielded_nodes=True,
            # No client certificate and no basic auth: access is IAM only.
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                )
            ),
            # RBAC only; legacy ABAC grants broad access.
            enable_legacy_abac=False,
            # Dataplane V2 (eBPF): Kubernetes network policy is enforced built in. Do not also
            # set network_policy.enabled: GKE rejects it with ADVANCED_DATAPATH.
            datapath_provider="ADVANCED_DATAPATH",
            # Pod-to-pod traffic on a node goes through the VPC, so flow logs see it.
            enable_intranode_visibility=True,
            # Only images signed per the project's Binary Authorization policy may run.
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE"
            ),
            # Kubernetes secrets envelope-encrypted at the application layer with the cell's HSM
            # key (in the cluster's region, as GKE requires; its agent holds the grant).
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(
                state="ENCRYPTED", key_name=args.secrets_key.key
            ),
            # Workload configuration audit (Security Posture dashboard), free tier.
            security_posture_config=gcp.container.ClusterSecurityPostureConfigArgs(mode="BASIC"),
            release_channel=gcp.container.ClusterReleaseChannelArgs(
                channel=settings.release_channel
            ),
            maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
                recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                    start_time=settings.maintenance_window.start_time,
                    end_time=settings.maintenance_window.end_time,
                    recurrence=settings.maintenance_window.recurrence,
                )
            ),
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=LOG_COMPONENTS),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(
                    enabled=True
                ),
            ),
            resource_labels=config.labels,
            # The cluster runs a cell's workload: a destroy or replace must be deliberate.
            deletion_protection=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *args.apis,
                    *args.boot_disk_key.grants,
                    *args.secrets_key.grants,
                ],
                ignore_changes=["nodeConfig"],
            ),
        )

    def _node_pool(
        self, name: str, args: ClusterArgs, grants: list[gcp.projects.IAMMember]
    ) -> gcp.container.NodePool:
        """The autoscaled node pool every workload of the cell runs on."""
        config = args.config
        settings = config.settings
        return gcp.container.NodePool(
            f"{name}-pool",
            name=config.names.pool,
            cluster=self.cluster.name,
            location=config.region,
            # Constant, not min_nodes_per_zone: changing it would recreate the pool; the
            # autoscaler takes over from here.
            initial_node_count=1,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                min_node_count=settings.min_nodes_per_zone,
                max_node_count=settings.max_nodes_per_zone,
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            # Surge upgrades: one extra node at a time, never fewer than asked for (the pod
            # range is sized for the surge node too).
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                max_surge=catalog.GKE_MAX_SURGE, max_unavailable=0
            ),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                **node_hardening(self.node_account.email, args.boot_disk_key.key),
                machine_type=settings.machine_type,
                disk_size_gb=settings.disk_size_gb,
                disk_type=catalog.GKE_BOOT_DISK_TYPE,  # what the quota pre-flight counts
                labels={"cell": config.cell},
                resource_labels=config.labels,
                # the only tag the health-check firewall rule admits
                tags=[catalog.INGRESS_TAG],
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*grants, *args.apis, *args.boot_disk_key.grants]
            ),
        )
