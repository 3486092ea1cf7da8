"""The Pulumi program, as a function: ``pulumi up`` and the offline engine both call build().

Config flows one way. :func:`rollout.config.load_project` has already read, merged and
validated every file; the program takes its stack's merged spec from there, checks that what
the Pulumi CLI passed in ``pulumi.Config`` agrees with that stack file (a disagreement is a
one-line error, never a second merge), turns the spec into each component's narrow Args
(``rollout.args``) and builds the stack's role.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from rollout import catalog, names
from rollout.args import (
    CellRouterArgs,
    EdgeArgs,
    ObjectSpec,
    OriginTls,
    WeblateArgs,
    global_args,
    region_args,
)
from rollout.config import Project, RegionSpec, StackSpec, load_project
from rollout.errors import InputError, Problem

# The stack-file keys whose value the program relies on, and the config namespace of each.
CHECKED_KEYS = (
    (catalog.PROJECT_NAME, "role"),
    (catalog.PROJECT_NAME, "region"),
    (catalog.PROJECT_NAME, "overrides"),
    (catalog.PROJECT_NAME, "regionalStacks"),
    ("gcp", "project"),
)


def build(project: Project | None = None) -> None:
    """Build the stack's role: a region's substrate and cells, or the global edge."""
    project = project or load_project(Path.cwd())
    spec = project.stack(pulumi.get_stack())
    check_cli_config(spec)
    if spec.region is not None:  # load_project merged it: a regional stack
        build_region(spec.region, project.global_.zone.name, project.global_.edge.monitor.path)
    else:
        build_global(project, spec)


def check_cli_config(spec: StackSpec) -> None:
    """What the CLI passed must be what the stack file says (the spec was merged from it)."""
    problems: list[Problem] = []
    for namespace, key in CHECKED_KEYS:
        full = f"{namespace}:{key}"
        found = pulumi.Config(namespace).get(key)
        written = spec.raw.get(full)
        if full == "gcp:project" and found is None:
            continue  # not passed: the provider takes the project from the environment
        if _value(found) != _value(written):
            problems.append(
                Problem(
                    spec.file,
                    f"config.{full}",
                    f"the Pulumi CLI passed {_shown(found)} but the stack file says "
                    f"{_shown(written)}; run `pulumi config` against this stack file, or fix it",
                )
            )
    if problems:
        raise InputError(problems)


def _value(text: str | None) -> Any:
    """Config text as data: objects arrive as JSON text, in whatever key order."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _shown(text: str | None) -> str:
    return "nothing" if text is None else f"a value of {len(text)} characters"


def build_region(spec: RegionSpec, zone: str, health_path: str) -> None:
    """A regional stack: the region's substrate and cells, and the outputs the edge reads
    (``zone``: the edge's Cloudflare zone, which holds each cell's origin hostname;
    ``health_path``: the app's health endpoint the edge's monitor probes, which each cell's
    load balancer checks too)."""
    from components.region import Region

    region = Region(spec.short, region_args(spec, zone, health_path, origin_tls()))
    for key, value in region.outputs.exports().items():
        pulumi.export(key, value)


def build_global(project: Project, spec: StackSpec) -> None:
    """The global stack: the edge over the regional stacks, the directory, the CDN content."""
    from components.cell_router import CellRouter
    from components.edge import Edge
    from components.foundation import ProjectApis
    from components.global_database import GlobalDatabase
    from components.localization import LocalizationPlatform
    from components.shard_maps import ShardMaps
    from components.weblate import Weblate
    from rollout.l10n import build_bundles

    args = global_args(
        project.global_,
        project_id=spec.project_id,
        stack_file=spec.file,
        bundles=tuple(
            ObjectSpec(o.path, o.content.decode("utf-8"), o.content_type, o.cache_control)
            for o in build_bundles(
                project.root, live={t for r in project.regions.values() for t in r.locales}
            ).objects
        ),
        shard_maps=published_shard_maps(project),
        cells=pool_cells(project, spec),
    )
    # pool name -> "org/project/stack"; each regional stack's cells become that pool's origins.
    refs = spec.config.regionalStacks or {}
    regional = {pool: pulumi.StackReference(ref).outputs for pool, ref in refs.items()}
    edge_secrets = pulumi.Config(catalog.EDGE_SECRETS_NAMESPACE)
    edge = Edge(
        "edge",
        EdgeArgs(
            config=args.edge,
            regional_outputs=regional,
            origin_pull_certificate=edge_secrets.require_secret("originPullCertificate"),
            origin_pull_private_key=edge_secrets.require_secret("originPullPrivateKey"),
        ),
    )
    CellRouter(
        "cell-router",
        CellRouterArgs(
            config=args.router,
            session_public_key=edge_secrets.require_secret("sessionPublicKey"),
        ),
    )
    # Every API the stack calls, on once in the global project, before anything uses it.
    apis = ProjectApis("global-apis", args.apis)
    directory = GlobalDatabase("directory", args.directory, apis)
    l10n = LocalizationPlatform("l10n", args.localization)
    shard_maps = ShardMaps("shard-maps", args.shard_maps)
    weblate = Weblate(
        "weblate",
        WeblateArgs(
            config=args.weblate,
            secrets={
                purpose: weblate_secret(secret.config_key)
                for purpose, secret in args.weblate.secrets.items()
            },
        ),
        apis,
    )
    pulumi.export("load_balancer_hostname", edge.hostname)
    pulumi.export("l10n_manifest_url", l10n.manifest_url)
    pulumi.export("l10n_bucket", l10n.bucket.name)
    pulumi.export("shard_maps_bucket", shard_maps.bucket.name)
    pulumi.export("shard_maps", shard_maps.objects)
    pulumi.export("pools", {pool: p.id for pool, p in edge.pools.items()})
    pulumi.export("zone_id", edge.zone_id)
    # The registrar publishes this DS record, or resolvers cannot validate the signed zone.
    pulumi.export("dnssec_ds", edge.dnssec.ds)
    pulumi.export("directory_instance", directory.instance.name)
    pulumi.export("directory_database", directory.database.name)
    pulumi.export("weblate_url", weblate.url)
    pulumi.export("weblate_sql_instance", weblate.sql_instance.name)


def origin_tls() -> OriginTls:
    """The cells' TLS from the regional stack's config (catalog.ORIGIN_TLS_CONFIG): the origin
    certificate, its key (secret config: ``pulumi config set --secret demobank:originKey``)
    and the CA of the bank's origin-pull client certificate."""
    config = pulumi.Config(catalog.PROJECT_NAME)
    certificate, key, ca = catalog.ORIGIN_TLS_CONFIG
    return OriginTls(
        certificate=config.require(certificate),
        private_key=config.require_secret(key),
        client_ca=config.require(ca),
    )


def weblate_secret(config_key: str) -> pulumi.Output[str]:
    """A Weblate secret from Pulumi secret config (``weblate:<name>``, regions/global.yaml)."""
    namespace, _, key = config_key.partition(":")
    return pulumi.Config(namespace).require_secret(key)


def pool_cells(project: Project, spec: StackSpec) -> dict[str, dict[str, str]]:
    """pool -> cell -> origin hostname, for the regional stack behind each pool."""
    zone = project.global_.zone.name
    out: dict[str, dict[str, str]] = {}
    for pool, ref in (spec.config.regionalStacks or {}).items():
        region = project.stacks[ref.rsplit("/", 1)[-1]].region
        assert region is not None  # the cross-file rules checked the reference
        out[pool] = {c: names.origin_hostname(c, region.short, zone) for c in region.cells}
    return out


def published_shard_maps(project: Project) -> dict[str, tuple[str, str]]:
    """region -> (object name, canonical JSON) of every regional stack's committed shard map,
    naming each cell's origin hostname (the cell router's only targets)."""
    from rollout import shards

    zone = project.global_.zone.name
    out: dict[str, tuple[str, str]] = {}
    for stack in project.regional_stacks():
        if stack.region is None:
            continue
        spec = stack.region
        table, _ = shards.load_table(project.root, spec.region)
        origins = {
            c: names.origin_hostname(c, spec.short, zone) for c in set(table.assignment.values())
        }
        name, content = shards.publish_artifact(
            table.region, table.assignment, table.buckets, origins
        )
        out[spec.region] = (name, content.decode("utf-8"))
    return out


__all__ = ["build", "check_cli_config", "published_shard_maps"]
