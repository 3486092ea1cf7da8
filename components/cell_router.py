"""The cell router on the edge: a Cloudflare Worker on the app host, and the maps it reads.

Every request to the app host runs the Worker (edge/cell-router/src/index.js) first. A
signed-in customer's request is sent to that customer's own cell's origin and to no other;
the Worker reads the cell from its region's published shard map in Workers KV, verified by its
content hash. Each map version is its own KV key and stays there; ``current/<region>`` names
the version in force, written after the map it names (the Worker never sees a pointer to a
map that is not there yet).
"""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare

from rollout import catalog
from rollout.args import CellRouterArgs


class CellRouter(pulumi.ComponentResource):
    """The Worker, its route on the app host, and its KV namespace of shard maps."""

    namespace: cloudflare.WorkersKvNamespace
    """Workers KV: every region's published shard maps and its current-version pointer."""
    script: cloudflare.WorkersScript
    """The router Worker."""
    route: cloudflare.WorkersRoute
    """Runs the Worker on every request to the app host."""

    def __init__(self, name: str, args: CellRouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.CELL_ROUTER_COMPONENT, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = cloudflare.WorkersKvNamespace(
            f"{name}-shard-maps", account_id=config.account_id, title=config.kv_title, opts=child
        )
        for region, (key, content) in sorted(config.maps.items()):
            # A new version is a new key; the old one is retained for routers still on it.
            version = cloudflare.WorkersKv(
                f"{name}-map-{region}",
                account_id=config.account_id,
                namespace_id=self.namespace.id,
                key_name=key,
                value=content,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            cloudflare.WorkersKv(
                f"{name}-current-{region}",
                account_id=config.account_id,
                namespace_id=self.namespace.id,
                key_name=f"current/{region}",
                value=config.versions[region],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[version]),
            )
        self.script = cloudflare.WorkersScript(
            f"{name}-script",
            account_id=config.account_id,
            script_name=config.script_name,
            content=config.script,
            main_module=config.main_module,
            compatibility_date=config.compatibility_date,
            bindings=[
                cloudflare.WorkersScriptBindingArgs(
                    name="SHARD_MAPS", type="kv_namespace", namespace_id=self.namespace.id
                ),
                # The verification key: a secret binding from Pulumi secret config, never a
                # committed file.
                cloudflare.WorkersScriptBindingArgs(
                    name="SESSION_PUBLIC_KEY", type="secret_text", text=args.session_public_key
                ),
                cloudflare.WorkersScriptBindingArgs(
                    name="SESSION_AUDIENCE", type="plain_text", text=config.session_audience
                ),
                cloudflare.WorkersScriptBindingArgs(
                    name="ORIGIN_SUFFIX", type="plain_text", text=config.origin_suffix
                ),
            ],
            opts=child,
        )
        self.route = cloudflare.WorkersRoute(
            f"{name}-route",
            zone_id=config.zone_id,
            pattern=config.route_pattern,
            script=self.script.script_name,
            opts=child,
        )
        self.register_outputs({"script": self.script.script_name, "route": config.route_pattern})
