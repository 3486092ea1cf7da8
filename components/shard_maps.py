"""Publication of the shard maps: one immutable, content-addressed JSON object per region.

Routers read ``shard-map/<region>/<version>.json`` (the name is the content's hash, from
``rollout.shards.publish_artifact``) and learn the current version from the global stack's
``shard_maps`` output, so a router never sees a half-written map and can pin one version.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from rollout import catalog
from rollout.args import ShardMapsArgs

# Published maps are routing data every router in every region reads; they are never served
# publicly. A map is cached for a day: a new version is a new object name.
CACHE_CONTROL = "private, max-age=86400, immutable"


class ShardMaps(pulumi.ComponentResource):
    """A private, versioned bucket of shard-map versions, one object per region's current map."""

    bucket: gcp.storage.Bucket
    """The bucket routers read the maps from."""
    objects: dict[str, str]
    """region -> object name of its current map."""

    def __init__(
        self, name: str, args: ShardMapsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(catalog.SHARD_MAPS_COMPONENT, name, None, opts)
        # Private (public access prevention enforced), uniform access, versioned, protected:
        # a lost map stops every router in the region.
        self.bucket = gcp.storage.Bucket(
            "bucket",
            name=args.bucket_name,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            force_destroy=False,
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.objects = {}
        for region, (object_name, content) in sorted(args.artifacts.items()):
            # The logical name is the region (stable); a new version is a new object name, so
            # Pulumi replaces the resource, and retain_on_delete leaves the old version in the
            # bucket for routers still pinned to it.
            gcp.storage.BucketObject(
                region,
                bucket=self.bucket.name,
                name=object_name,
                content=content,
                content_type="application/json",
                cache_control=CACHE_CONTROL,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.objects[region] = object_name
        self.register_outputs({"bucket": self.bucket.name, "objects": self.objects})
