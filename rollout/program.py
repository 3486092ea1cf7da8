"""The Pulumi program, as a function: ``pulumi up`` and the offline engine both call build().

Reading the stack's role, region and overrides from ``pulumi.Config`` (not from the stack file
directly) keeps the program honest: it sees exactly what the CLI passes it.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from rollout.config import PROJECT_NAME, Project, RegionSpec, load_project, merge


def region_spec(project: Project, stack: str, config: pulumi.Config) -> RegionSpec:
    """The stack's region, merged with the overrides the CLI passed in config."""
    region = config.require("region")
    overrides = config.get_object("overrides") or None
    project_id = pulumi.Config("gcp").get("project") or f"{PROJECT_NAME}-{stack}"
    stack_file = project.stacks[stack].file if stack in project.stacks else None
    return merge(
        stack,
        project_id,
        project.docs["regions/defaults.yaml"],
        project.docs[f"regions/{region}.yaml"],
        project.docs.get(stack_file) if stack_file else None,
        overrides,  # type: ignore[arg-type]
    )


def build(project: Project | None = None) -> None:
    """Build the stack's role: a region's substrate and cells, or the global edge."""
    project = project or load_project(Path.cwd())
    stack = pulumi.get_stack()
    config = pulumi.Config(PROJECT_NAME)
    role = config.require("role")
    if role == "regional":
        from components.region import Region, RegionArgs

        spec = region_spec(project, stack, config)
        region = Region(spec.short, RegionArgs(spec=spec))
        for key, value in region.stack_outputs().items():
            pulumi.export(key, value)
    elif role == "global":
        from components.edge import Edge, EdgeArgs
        from components.global_database import GlobalDatabase, GlobalDatabaseArgs
        from components.localization import LocalizationPlatform, LocalizationPlatformArgs
        from components.shard_maps import ShardMaps, ShardMapsArgs
        from rollout.l10n import build_bundles
        from rollout.shards import read_ddl

        g = project.global_
        # pool name -> "org/project/stack"; each regional stack's cells become that pool's origins.
        refs: dict[str, str] = config.require_object("regionalStacks")
        cells = {pool: pulumi.StackReference(ref).get_output("cells") for pool, ref in refs.items()}
        edge = Edge("edge", EdgeArgs(settings=g, regional_cells=cells))
        labels = g.base_labels()
        directory = GlobalDatabase(
            "directory",
            GlobalDatabaseArgs(
                settings=g.directory,
                ddl=read_ddl(project.root / "schema" / "directory.sql"),
                labels=labels,
            ),
        )
        project_id = pulumi.Config("gcp").get("project") or f"{PROJECT_NAME}-{stack}"
        l10n = LocalizationPlatform(
            "l10n",
            LocalizationPlatformArgs(
                config=g,
                bundles=build_bundles(project.root),
                zone_id=g.zone.id,
                project=project_id,
            ),
        )
        shard_maps = ShardMaps(
            "shard-maps",
            ShardMapsArgs(config=g, project=project_id, artifacts=published_shard_maps(project)),
        )
        pulumi.export("load_balancer_hostname", edge.hostname)
        pulumi.export("l10n_manifest_url", l10n.manifest_url)
        pulumi.export("l10n_bucket", l10n.bucket.name)
        pulumi.export("shard_maps_bucket", shard_maps.bucket.name)
        pulumi.export("shard_maps", shard_maps.objects)
        pulumi.export("pools", {pool: p.id for pool, p in edge.pools.items()})
        pulumi.export("zone_id", edge.zone_id)
        pulumi.export("directory_instance", directory.instance.name)
        pulumi.export("directory_database", directory.database.name)
    else:
        raise ValueError(f"demobank:role must be regional or global, found {role!r}")


def published_shard_maps(project: Project) -> dict[str, tuple[str, bytes]]:
    """region -> (object name, canonical JSON) of every regional stack's committed shard map."""
    from rollout import shards

    out: dict[str, tuple[str, bytes]] = {}
    for stack in project.regional_stacks():
        if stack.region is None:
            continue
        table, _ = shards.load_table(project.root, stack.region.region)
        out[stack.region.region] = shards.publish_artifact(
            table.region, table.assignment, table.buckets
        )
    return out
