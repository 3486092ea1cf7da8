"""The Localization Platform's delivery: bundles in a bucket, served by Cloudflare under a path.

``rollout.l10n.build_bundles`` compiles the reviewed catalogs into content-hashed JSON bundles
and a small manifest (``LocalizationPlatformArgs.objects``). This component uploads them, one
bucket object each, to a versioned, uniform-access bucket, and routes ``<path>`` on the app's
host name to it through Cloudflare: a URL rewrite puts the bucket in front of the path, and an
origin rule sends the request to Cloud Storage through a hostname of the zone. The cache rule
for the path is the edge's (components/edge.py): it honours the objects' own Cache-Control.

The rewrite runs in the transform phase, before the origin and cache phases, so after it
``http.request.uri.path`` starts with the bucket; every rule here and the edge's cache rule
match the path as the client sent it (``rollout.catalog.CF_RAW_PATH``).
"""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import LocalizationPlatformArgs

STORAGE_HOST = "storage.googleapis.com"
# Proxied records must use TTL 1 ("automatic").
PROXIED_TTL = 1

# Bundles and the manifest are the frontend's UI strings: public by nature, no personal data,
# so the bucket grants allUsers read (objects only; listing stays private).
PUBLIC_READER = "allUsers"


class LocalizationPlatform(pulumi.ComponentResource):
    """A bucket of immutable bundles plus a short-lived manifest, behind the CDN path."""

    bucket: gcp.storage.Bucket
    """The versioned, uniform-access bucket holding the bundles."""
    origin_record: cloudflare.DnsRecord
    """The zone's proxied CNAME to Cloud Storage that the origin rule resolves to."""
    manifest_url: pulumi.Output[str]
    """Where the frontend reads the manifest that points at the current bundles."""

    def __init__(
        self, name: str, args: LocalizationPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(catalog.LOCALIZATION_COMPONENT, name, None, opts)
        bucket_name = args.bucket_name
        # Versioned and uniform access: an overwritten manifest can be rolled back, and access
        # is decided by IAM alone (no per-object ACLs to drift). Protected: losing it takes
        # every market's text offline until the next publish.
        self.bucket = gcp.storage.Bucket(
            "bundles",
            name=bucket_name,
            location=args.bucket_location,
            uniform_bucket_level_access=True,
            public_access_prevention="inherited",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            force_destroy=False,
            labels=args.labels,
            lifecycle_rules=[
                # Old manifest versions are kept for a month for rollback, then pruned.
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=30, with_state="ARCHIVED"
                    ),
                ),
                # Bundles a deploy no longer names stay (retain_on_delete below) so clients
                # holding the previous manifest still find them; the bucket removes them at
                # this age. Current bundles are re-published monthly, so never reach it.
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        age=args.bundle_retention_days, matches_prefixes=[args.bundle_prefix]
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        gcp.storage.BucketIAMMember(
            "public-read",
            bucket=self.bucket.name,
            role="roles/storage.objectViewer",
            member=PUBLIC_READER,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for obj in args.objects:
            # The object's path is its stable key; a new bundle version is a new name (hash),
            # so published bundles are never overwritten, only the manifest is. A bundle the
            # next build drops is left in the bucket, not deleted: the lifecycle rule ages it out.
            bundle = obj.path.startswith(args.bundle_prefix)
            gcp.storage.BucketObject(
                obj.path,
                bucket=self.bucket.name,
                name=obj.path,
                content=obj.content,
                content_type=obj.content_type,
                cache_control=obj.cache_control,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=bundle),
            )

        host, path = args.host, args.path
        match = f'(http.host eq "{host}" and starts_with({catalog.CF_RAW_PATH}, "{path}"))'
        # A DNS record override must name a hostname on the Cloudflare account
        # (https://developers.cloudflare.com/rules/origin-rules/features/#dns-record): the
        # zone's own proxied CNAME to Cloud Storage, which the origin rule resolves to.
        self.origin_record = cloudflare.DnsRecord(
            "l10n-origin-host",
            zone_id=args.zone_id,
            name=args.origin_host,
            type="CNAME",
            content=STORAGE_HOST,
            proxied=True,
            ttl=PROXIED_TTL,
            comment=f"Cloud Storage behind {path} on {host} (the l10n origin rule)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Requests for <path> go to Cloud Storage (origin rule) with the bucket prepended to
        # the path (transform rule); everything else on the host still goes to the pools.
        # The Host header override also sets the SNI to Cloud Storage's name, so Cloud Storage
        # presents its own certificate (strict SSL verifies it) and finds the bucket in the
        # path. No SNI override: its value must be a hostname on the Cloudflare account.
        cloudflare.Ruleset(
            "l10n-origin",
            zone_id=args.zone_id,
            name="demobank l10n origin",
            description="Route the localization path to the bundle bucket",
            kind="zone",
            phase="http_request_origin",
            rules=[
                cloudflare.RulesetRuleArgs(
                    ref="l10n_origin",
                    description="localization bundles from Cloud Storage",
                    expression=match,
                    action="route",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        host_header=STORAGE_HOST,
                        origin=cloudflare.RulesetRuleActionParametersOriginArgs(
                            host=self.origin_record.name
                        ),
                    ),
                    enabled=True,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        cloudflare.Ruleset(
            "l10n-rewrite",
            zone_id=args.zone_id,
            name="demobank l10n rewrite",
            description="Prefix the localization path with the bundle bucket",
            kind="zone",
            phase="http_request_transform",
            rules=[
                cloudflare.RulesetRuleArgs(
                    ref="l10n_rewrite",
                    description="/l10n/... -> /<bucket>/l10n/... (before the origin rule)",
                    expression=match,
                    action="rewrite",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        uri=cloudflare.RulesetRuleActionParametersUriArgs(
                            path=cloudflare.RulesetRuleActionParametersUriPathArgs(
                                expression=f'concat("/{bucket_name}", http.request.uri.path)'
                            )
                        )
                    ),
                    enabled=True,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.manifest_url = pulumi.Output.from_input(f"https://{host}{path}manifest.json")
        self.register_outputs({"bucket": self.bucket.name, "manifest_url": self.manifest_url})
