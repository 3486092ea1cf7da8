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
        from rollout.shards import read_ddl

        g = project.global_
        # pool name -> "org/project/stack"; each regional stack's cells become that pool's origins.
        refs: dict[str, str] = config.require_object("regionalStacks")
        cells = {pool: pulumi.StackReference(ref).get_output("cells") for pool, ref in refs.items()}
        edge = Edge("edge", EdgeArgs(settings=g, regional_cells=cells))
        labels = {
            "owner": g.labels.owner,
            "cost-center": g.labels.cost_center,
            "hub": "global",
            "region": "global",
        }
        directory = GlobalDatabase(
            "directory",
            GlobalDatabaseArgs(
                settings=g.directory,
                ddl=read_ddl(project.root / "schema" / "directory.sql"),
                labels=labels,
            ),
        )
        pulumi.export("load_balancer_hostname", edge.hostname)
        pulumi.export("pools", {pool: p.id for pool, p in edge.pools.items()})
        pulumi.export("zone_id", edge.zone_id)
        pulumi.export("directory_instance", directory.instance.name)
        pulumi.export("directory_database", directory.database.name)
    else:
        raise ValueError(f"demobank:role must be regional or global, found {role!r}")
