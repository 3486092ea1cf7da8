"""A regional project's foundation: its APIs and service agents, its HSM keys, its logs and its
admission policy. Everything else in the region depends on some of it.

One concern per class: :class:`ProjectApis` (APIs on, agents created), :class:`HsmKeys` (a key
ring in the region, its HSM keys and their grants: the region's here, each cell's in the cell),
and :class:`Foundation`, which adds the project's log bucket and Binary Authorization policy.

What only ``pulumi up`` can show, and so is not tested offline:

- enabling an API takes a minute or two, and a grant up to about seven minutes to propagate
  (https://cloud.google.com/iam/docs/access-change-propagation): the first ``pulumi up`` of a
  new project may fail on a resource created right after its grant; running it again succeeds;
- Cloud HSM must be offered in the region, and the project needs KMS quota for HSM keys;
- ``gcp.projects.ServiceIdentity`` needs the beta Service Usage endpoint the provider calls;
- the ``_Default`` log bucket's location is fixed when the project is created (see below), and
  so, in Google's current guide, is its CMEK: if Logging refuses to add the key to the existing
  bucket, set the organization's default key (``gcloud logging settings update
  --organization=ORG --kms-key-name=...``) with the storage location, before the project exists
  (https://cloud.google.com/logging/docs/routing/managed-encryption-storage);
- the attestor lives in the bank's security project: this project's Binary Authorization
  agent needs ``roles/binaryauthorization.attestorsVerifier`` on it, granted there.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import (
    Apis,
    EncryptionKey,
    FoundationArgs,
    KeyRingConfig,
    PerimeterConfig,
    ProjectApisConfig,
)

# HSM keys rotate every 90 days; old versions stay enabled, so older data stays readable.
KEY_ROTATION = f"{90 * 86_400}s"
# FIPS 140-2 Level 3 hardware: the key material never leaves Google's HSMs.
PROTECTION_LEVEL = "HSM"
KEY_ALGORITHM = "GOOGLE_SYMMETRIC_ENCRYPTION"
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

# A bank keeps its logs beyond Cloud Logging's 30-day default: 400 days covers a year of audit
# look-back plus the time to notice a question about it.
LOG_RETENTION_DAYS = 400

# Binary Authorization: Google's own GKE system images pass (ENABLE), every other image needs the
# bank's attestation, and a refused pod is blocked and logged.
#
# Break-glass, for an incident only: a pod annotated
#   alpha.image-policy.k8s.io/break-glass: "true"
# is admitted even without an attestation, and GKE writes the admission to Cloud Audit Logs
# (https://cloud.google.com/binary-authorization/docs/using-breakglass). Only the hub's
# break-glass group can create pods (RBAC edit, components/cell_bootstrap.py); an alert on that
# log entry pages security, and the image is attested or removed within the incident.
BINAUTHZ_EVALUATION = "REQUIRE_ATTESTATION"
BINAUTHZ_ENFORCEMENT = "ENFORCED_BLOCK_AND_AUDIT_LOG"
BINAUTHZ_GLOBAL_EVALUATION = "ENABLE"


def agent_member(api: str, project_number: pulumi.Input[str]) -> pulumi.Output[str]:
    domain, _ = catalog.SERVICE_AGENTS[api]
    return pulumi.Output.concat(
        "serviceAccount:service-", project_number, f"@{domain}.iam.gserviceaccount.com"
    )


def logging_cmek_member(project: str, apis: Apis) -> pulumi.Output[str]:
    """Cloud Logging's account for the project's CMEK: the account getCmekSettings names (its
    address differs between older and newer projects, so it is asked for, not built), which
    must hold the key before a log bucket uses it. A data source, read once the API is on."""
    settings = gcp.logging.get_project_cmek_settings_output(
        project=project, opts=pulumi.InvokeOutputOptions(depends_on=list(apis))
    )
    return pulumi.Output.concat("serviceAccount:", settings.service_account_id)


class ProjectApis(pulumi.ComponentResource):
    """Every API a stack calls, turned on; the service agents created."""

    services: dict[str, gcp.projects.Service]
    """API (e.g. spanner.googleapis.com) -> the enabled service."""
    agents: dict[str, gcp.projects.ServiceIdentity]
    """API -> its service agent, where it is created explicitly."""

    def __init__(
        self, name: str, config: ProjectApisConfig, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(catalog.PROJECT_APIS_COMPONENT, name, None, opts)
        self.services = {
            api: gcp.projects.Service(
                f"api-{api.split('.')[0]}",
                project=config.project,
                service=api,
                # Never turn an API off on destroy: other stacks and people may use it, and
                # disabling it deletes its resources' data paths.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in config.apis
        }
        self.agents = {
            api: gcp.projects.ServiceIdentity(
                f"agent-{api.split('.')[0]}",
                project=config.project,
                service=api,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.services[api]]),
            )
            for api in config.agents
        }
        self.register_outputs({"services": list(self.services)})

    def needs(self, *apis: str) -> Apis:
        """The services (and agents) a consumer of ``apis`` depends on."""
        return tuple(self.services[a] for a in apis) + tuple(
            self.agents[a] for a in apis if a in self.agents
        )


class HsmKeys(pulumi.ComponentResource):
    """A key ring in the region and one HSM key per purpose, each granted to its service agent.

    The region has one for what its cells share; each cell has one for its own data.
    """

    key_ring: gcp.kms.KeyRing
    """The key ring (keys must sit where the data they encrypt sits: the region)."""
    keys: dict[str, EncryptionKey]
    """Purpose -> the key and the grant that lets its agent use it."""

    def __init__(
        self,
        name: str,
        config: KeyRingConfig,
        project_number: pulumi.Input[str],
        apis: Apis,
        opts: pulumi.ResourceOptions | None = None,
        members: Mapping[str, pulumi.Input[str]] | None = None,
    ):
        """``members``: API -> the member that encrypts for it, where that is not the API's
        service agent at its usual address (Cloud Logging's account)."""
        super().__init__(catalog.HSM_KEYS_COMPONENT, name, None, opts)
        members = members or {}
        # Key rings and keys cannot be deleted, and losing a key loses everything it encrypts:
        # protected, and the keys carry the provider's PREVENT guard too. Every call waits for
        # the KMS API and the agents (`apis`).
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=config.name,
            location=config.region,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=list(apis)),
        )
        self.keys = {}
        for purpose, key in config.keys.items():
            crypto_key = gcp.kms.CryptoKey(
                f"{name}-{purpose}",
                name=key.name,
                key_ring=self.key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=KEY_ROTATION,
                version_template=gcp.kms.CryptoKeyVersionTemplateArgs(
                    algorithm=KEY_ALGORITHM, protection_level=PROTECTION_LEVEL
                ),
                labels=config.labels,
                deletion_policy=catalog.PREVENT,
                opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=list(apis)),
            )
            # The service agent encrypts with the key; it must hold the role before the first
            # resource that uses the key is created (every user depends on this grant).
            grant = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{purpose}-agent",
                crypto_key_id=crypto_key.id,
                role=ENCRYPTER_DECRYPTER,
                member=members.get(key.agent) or agent_member(key.agent, project_number),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(apis)),
            )
            self.keys[purpose] = EncryptionKey(key=crypto_key.id, grants=(grant,))
        self.register_outputs({"key_ring": self.key_ring.id})


class Foundation(pulumi.ComponentResource):
    """The regional project's APIs, agents, HSM keys, log bucket and admission policy."""

    apis: ProjectApis
    """The enabled APIs and the created service agents."""
    keys: HsmKeys
    """The region's HSM keys (what the cells share: Kafka, buckets, the project's logs)."""
    log_bucket: gcp.logging.ProjectBucketConfig
    """The project's _Default log bucket, in the region."""
    binary_authorization: gcp.binaryauthorization.Policy
    """The project's admission policy for every cell's cluster."""
    perimeter: gcp.accesscontextmanager.ServicePerimeter | None
    """The project's VPC Service Controls perimeter (None without an access policy)."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.FOUNDATION_COMPONENT, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.apis = ProjectApis(
            "apis", ProjectApisConfig(config.project, config.apis, config.agents), child
        )
        agents = tuple(key.agent for key in config.keys.keys.values())
        logging_apis = self.apis.needs(catalog.API_LOGGING)
        self.keys = HsmKeys(
            "region-keys",
            config.keys,
            args.project_number,
            self.apis.needs(catalog.API_KMS, *agents),
            child,
            members={catalog.API_LOGGING: logging_cmek_member(config.project, logging_apis)},
        )
        logs_key = self.keys.keys["logs"]
        # The project's _Default bucket holds every log the project writes but the audit logs
        # of _Required; kept in the region, and for LOG_RETENTION_DAYS. Google creates it with
        # the project, in the organization's default log storage location, and a bucket's
        # location never changes: this adopts the bucket, and `pulumi up` fails if the project
        # was not created with the region as that location (gcloud logging settings update
        # --organization=ORG --storage-location=REGION, before the project exists). _Required
        # (admin activity audit logs) stays where Google puts it. The logs are under the
        # region's HSM key, which Cloud Logging's account holds before the bucket uses it.
        self.log_bucket = gcp.logging.ProjectBucketConfig(
            "default-log-bucket",
            project=config.project,
            location=config.region,
            bucket_id="_Default",
            retention_days=LOG_RETENTION_DAYS,
            cmek_settings=gcp.logging.ProjectBucketConfigCmekSettingsArgs(
                kms_key_name=logs_key.key
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*logging_apis, *logs_key.grants]),
        )
        self.perimeter = (
            None
            if config.perimeter is None
            else self._perimeter(config.perimeter, args.project_number)
        )
        # One policy per project; removing it would reset the project to admit every image,
        # so the provider refuses to destroy it.
        self.binary_authorization = gcp.binaryauthorization.Policy(
            "binary-authorization",
            project=config.project,
            description="Every image a cell runs carries the bank's release attestation.",
            global_policy_evaluation_mode=BINAUTHZ_GLOBAL_EVALUATION,
            default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
                evaluation_mode=BINAUTHZ_EVALUATION,
                enforcement_mode=BINAUTHZ_ENFORCEMENT,
                require_attestations_bies=[config.attestor],
            ),
            deletion_policy=catalog.PREVENT,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(self.apis.needs(catalog.API_BINARY_AUTHORIZATION)),
            ),
        )
        self.register_outputs({"key_ring": self.keys.key_ring.id, "log_bucket": self.log_bucket.id})

    def _perimeter(
        self, perimeter: PerimeterConfig, project_number: pulumi.Input[str]
    ) -> gcp.accesscontextmanager.ServicePerimeter:
        """The project in a regular VPC Service Controls perimeter: its data and keys answer
        only requests from inside it (its VPC through the restricted VIP, Google's own
        agents), so stolen credentials used from outside read nothing. The identity running
        `pulumi up` is outside: it needs an ingress rule or access level in the policy, which
        the organization's security team owns (README)."""
        return gcp.accesscontextmanager.ServicePerimeter(
            "perimeter",
            parent=perimeter.parent,
            name=perimeter.name,
            title=perimeter.title,
            description="Demo Bank region: its data and keys answer only from inside",
            perimeter_type="PERIMETER_TYPE_REGULAR",
            status=gcp.accesscontextmanager.ServicePerimeterStatusArgs(
                resources=[pulumi.Output.concat("projects/", project_number)],
                restricted_services=list(perimeter.restricted_services),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(self.apis.needs(catalog.API_ACCESS_CONTEXT_MANAGER)),
            ),
        )
