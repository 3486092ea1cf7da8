"""The Cloudflare edge: geo-steered load balancer over the regional pools, hardened zone, WAF.

Pools: one per regional stack (its cells' ingress addresses as origins) plus ``home`` (the
existing region). Steering, failover order, monitor and rate limit come from
``regions/global.yaml``; hardening is constant here. The zone already exists: only its id is
configured, so nothing here can delete it. The Cloudflare token is never in code or YAML: the
default provider reads ``cloudflare:apiToken`` (secret config) or ``CLOUDFLARE_API_TOKEN``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from rollout import catalog
from rollout.args import EdgeArgs, EdgeSettings, Steering
from rollout.contract import RegionOutputs

# Cloudflare's own rulesets (developers.cloudflare.com/waf/managed-rules/reference): the
# Cloudflare Managed Ruleset and the OWASP Core Ruleset, executed on every request to the zone.
MANAGED_RULESETS = {
    "cloudflare-managed": "efb7b8c949ac4650a09736fc376e9aee",
    "owasp-core": "4814384a9e5d4991b9815dcfc25d2f1f",
}

# Zone hardening (setting id -> value). TLS below 1.2 is broken for a bank; strict SSL makes
# Cloudflare verify the origin certificate; plain HTTP is always redirected and mixed content
# rewritten. Not knobs: no market needs weaker transport security.
ZONE_SETTINGS: dict[str, Any] = {
    "min_tls_version": "1.2",
    "tls_1_3": "on",
    "ssl": "strict",
    "always_use_https": "on",
    "automatic_https_rewrites": "on",
}

# The monitor checks origins over TLS and verifies their certificate; a redirect is a failure,
# not something to follow (a healthy origin answers the health path itself).
MONITOR_TYPE = "https"
MONITOR_PORT = 443
MONITOR_ALLOW_INSECURE = False
MONITOR_FOLLOW_REDIRECTS = False

# Every pool must keep at least one healthy origin, or it is marked down and traffic moves on
# to the next pool in the region's failover order.
MINIMUM_ORIGINS = 1

# No origin affinity: the load balancer only carries unauthenticated traffic (sign-in, static
# assets, bundles), which any cell of the region serves. A signed-in customer is sent to their
# own cell by the cell router (components/cell_router.py), never by a cookie that pins a
# random cell and moves it to a sibling or another region when that cell fails.
SESSION_AFFINITY = "none"

# Static assets are content-hashed by the web build, so a day at the edge is safe.
STATIC_EDGE_TTL = 86_400
# Localization objects say for themselves how long they live (components/localization.py):
# content-hashed bundles a year and immutable, the manifest that points at them a minute, so a
# release is visible within a minute and a bundle is fetched from the bucket once.
L10N_EDGE_TTL: int | None = None

# Sign-in rate limit: count per client IP per Cloudflare data centre over a minute, then block
# that client for ten minutes (slows credential stuffing without locking out a whole colo).
# The catalog holds both numbers: the zone's plan must allow them (the config rules check it).
RATE_LIMIT_PERIOD = catalog.SIGN_IN_RATE_LIMIT_PERIOD
RATE_LIMIT_CHARACTERISTICS = ["ip.src", "cf.colo.id"]
RATE_LIMIT_MITIGATION_TIMEOUT = catalog.SIGN_IN_RATE_LIMIT_TIMEOUT

# Proxied records must use TTL 1 ("automatic"); Cloudflare rejects anything else at deploy.
PROXIED_TTL = 1
UNPROXIED_TTL = 300


class Edge(pulumi.ComponentResource):
    """Cloudflare load balancer with geo steering and failover, on a hardened zone."""

    monitor: cloudflare.LoadBalancerMonitor
    """The HTTPS health monitor every pool uses."""
    pools: dict[str, cloudflare.LoadBalancerPool]
    """pool name (a regional stack's key, or home) -> pool."""
    load_balancer: cloudflare.LoadBalancer
    """The proxied, geo-steered load balancer on <edge.hostname>.<zone.name>."""
    hostname: str
    """The load-balanced hostname."""
    zone_id: str
    """The (existing) zone this edge configures."""
    dnssec: cloudflare.ZoneDnssec
    """The zone's DNSSEC; its ``ds`` is the record the registrar must publish."""

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(catalog.EDGE_COMPONENT, name, None, opts)
        config = args.config
        edge = config.edge
        zone_id = config.zone.id
        account_id = config.zone.account_id
        child = pulumi.ResourceOptions(parent=self)
        self.zone_id = zone_id
        self.hostname = config.hostname

        self.monitor = _monitor_args("monitor", self.hostname, edge, account_id, child)

        # Each cell's own origin host: a proxied record to its ingress address, with its own
        # health monitor (the pool of one origin that carries it). The cell router forwards a
        # customer there and nowhere else.
        self.cell_origins: dict[str, cloudflare.DnsRecord] = {}
        self.cell_pools: dict[str, cloudflare.LoadBalancerPool] = {}
        for pool, cells in sorted(config.cells.items()):
            outputs = pulumi.Output.from_input(args.regional_outputs[pool])
            for cell, host in sorted(cells.items()):
                self.cell_origins[cell] = cloudflare.DnsRecord(
                    f"origin-{cell}",
                    zone_id=zone_id,
                    name=host,
                    type="A",
                    content=outputs.apply(lambda o, c=cell: ingress_address(o, c)),
                    proxied=True,
                    ttl=PROXIED_TTL,
                    comment=f"cell {cell}: reached only through Cloudflare and its cell router",
                    opts=child,
                )
                monitor = _monitor_args(f"monitor-{cell}", host, edge, account_id, child)
                self.cell_pools[cell] = cloudflare.LoadBalancerPool(
                    f"cell-{cell}",
                    account_id=account_id,
                    name=f"demobank-cell-{cell}",
                    description=f"cell {cell}'s own origin and health",
                    origins=[origin(cell, host)],
                    monitor=monitor.id,
                    minimum_origins=MINIMUM_ORIGINS,
                    enabled=True,
                    check_regions=check_regions(edge.steering, pool),
                    opts=child,
                )

        # The regional pools (geo steering of unauthenticated traffic) list the region's cell
        # origins by host name, so each pull carries that host's client certificate.
        origin_sources: dict[str, pulumi.Input[Sequence[Any]]] = {
            pool: [origin(cell, host) for cell, host in sorted(cells.items())]
            for pool, cells in sorted(config.cells.items())
        }
        origin_sources[catalog.HOME_POOL] = [origin(catalog.HOME_POOL, config.home_address)]
        self.pools = {}
        for pool, origins in origin_sources.items():
            self.pools[pool] = cloudflare.LoadBalancerPool(
                pool,
                account_id=account_id,
                name=f"demobank-{pool}",
                description=f"demobank {pool} origins",
                origins=origins,
                monitor=self.monitor.id,
                minimum_origins=MINIMUM_ORIGINS,
                enabled=True,
                check_regions=check_regions(edge.steering, pool),
                opts=child,
            )

        # Nothing but Cloudflare reaches a cell: every origin host demands the bank's own client
        # certificate (per-hostname authenticated origin pulls), never the certificate Cloudflare
        # shares with every customer (https://developers.cloudflare.com/ssl/origin-configuration/authenticated-origin-pull/).
        self.origin_pull_certificate = cloudflare.AuthenticatedOriginPullsHostnameCertificate(
            "origin-pull-certificate",
            zone_id=zone_id,
            certificate=args.origin_pull_certificate,
            private_key=args.origin_pull_private_key,
            opts=child,
        )
        cloudflare.AuthenticatedOriginPulls(
            "origin-pulls",
            zone_id=zone_id,
            configs=[
                cloudflare.AuthenticatedOriginPullsConfigArgs(
                    hostname=host, cert_id=self.origin_pull_certificate.id, enabled=True
                )
                for cells in config.cells.values()
                for host in sorted(cells.values())
            ],
            opts=child,
        )

        steering = edge.steering
        ids = {pool: p.id for pool, p in self.pools.items()}
        self.load_balancer = cloudflare.LoadBalancer(
            "load-balancer",
            zone_id=zone_id,
            name=self.hostname,
            description="demobank geo steering: regions to their pools, failover in list order",
            enabled=True,
            proxied=True,
            steering_policy="geo",
            region_pools={r: [ids[p] for p in ps] for r, ps in steering.region_pools.items()},
            country_pools={c: [ids[p] for p in ps] for c, ps in steering.country_pools.items()},
            default_pools=[ids[p] for p in steering.default_pools],
            fallback_pool=ids[steering.fallback_pool],
            # When a pool's origins fail mid-request, retry on the next pool in failover order
            # (unauthenticated traffic only: the cell router never retries elsewhere).
            adaptive_routing=cloudflare.LoadBalancerAdaptiveRoutingArgs(failover_across_pools=True),
            session_affinity=SESSION_AFFINITY,
            opts=child,
        )

        for setting_id, value in ZONE_SETTINGS.items():
            cloudflare.ZoneSetting(
                setting_id.replace("_", "-"),
                zone_id=zone_id,
                setting_id=setting_id,
                value=value,
                opts=child,
            )
        # HSTS with preload: browsers never try plain HTTP again. The nested keys must be
        # snake_case or every refresh shows a diff (pulumi/pulumi-cloudflare#1579).
        cloudflare.ZoneSetting(
            "security-header",
            zone_id=zone_id,
            setting_id="security_header",
            value={
                "strict_transport_security": {
                    "enabled": True,
                    "max_age": edge.hsts_max_age,
                    "include_subdomains": True,
                    "preload": True,
                    "nosniff": True,
                }
            },
            opts=child,
        )
        # Signed DNS: nobody can spoof the bank's records to a resolver that validates. The
        # chain of trust needs the zone's DS record at the registrar: a stack output
        # (`pulumi stack output dnssec_ds -s global`), published there after the first up.
        self.dnssec = cloudflare.ZoneDnssec("dnssec", zone_id=zone_id, status="active", opts=child)

        cloudflare.Ruleset(
            "waf-managed",
            zone_id=zone_id,
            kind="zone",
            phase="http_request_firewall_managed",
            name="demobank managed WAF",
            description="Cloudflare Managed Ruleset and OWASP Core Ruleset on every request",
            rules=[
                cloudflare.RulesetRuleArgs(
                    ref=key,
                    description=f"execute {key}",
                    expression="true",
                    action="execute",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(id=ruleset_id),
                    enabled=True,
                )
                for key, ruleset_id in MANAGED_RULESETS.items()
            ],
            opts=child,
        )

        cloudflare.Ruleset(
            "cache-rules",
            zone_id=zone_id,
            kind="zone",
            phase="http_request_cache_settings",
            name="demobank cache rules",
            description="cache static assets and translation bundles; never cache the banking API",
            rules=[
                cache_rule("static", edge.static_paths, STATIC_EDGE_TTL),
                # The path as sent: the l10n rewrite has put the bucket in front of it by now.
                cache_rule("l10n", [config.l10n_path], L10N_EDGE_TTL, catalog.CF_RAW_PATH),
                # Last, so it wins over any broader rule above: account data is never cached.
                cloudflare.RulesetRuleArgs(
                    ref="api-bypass",
                    description="banking API: never cached",
                    expression=path_prefix_expression(edge.api_paths),
                    action="set_cache_settings",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(cache=False),
                    enabled=True,
                ),
            ],
            opts=child,
        )

        cloudflare.Ruleset(
            "sign-in-rate-limit",
            zone_id=zone_id,
            kind="zone",
            phase="http_ratelimit",
            name="demobank sign-in rate limit",
            description="block clients that hammer the sign-in endpoints",
            rules=[
                cloudflare.RulesetRuleArgs(
                    ref="sign-in",
                    description=f"more than {edge.sign_in_rate_limit} sign-in requests a minute",
                    expression=path_set_expression(edge.sign_in_paths),
                    action="block",
                    ratelimit=cloudflare.RulesetRuleRatelimitArgs(
                        characteristics=RATE_LIMIT_CHARACTERISTICS,
                        period=RATE_LIMIT_PERIOD,
                        requests_per_period=edge.sign_in_rate_limit,
                        mitigation_timeout=RATE_LIMIT_MITIGATION_TIMEOUT,
                    ),
                    enabled=True,
                )
            ],
            opts=child,
        )

        for record, spec in edge.dns.items():
            cloudflare.DnsRecord(
                f"dns-{record}",
                zone_id=zone_id,
                name=f"{record}.{config.zone.name}",
                type=spec.type,
                content=spec.content,
                proxied=spec.proxied,
                ttl=PROXIED_TTL if spec.proxied else UNPROXIED_TTL,
                opts=child,
            )

        self.register_outputs(
            {
                "load_balancer_hostname": self.hostname,
                "pools": ids,
                "zone_id": zone_id,
                "dnssec_ds": self.dnssec.ds,
            }
        )


def _monitor_args(
    name: str, host: str, edge: EdgeSettings, account_id: str, opts: pulumi.ResourceOptions
) -> cloudflare.LoadBalancerMonitor:
    """An HTTPS health monitor of ``host``: the Host header selects the bank's virtual host and
    the certificate name that allow_insecure=False verifies."""
    return cloudflare.LoadBalancerMonitor(
        name,
        account_id=account_id,
        description=f"demobank {host} health",
        type=MONITOR_TYPE,
        method="GET",
        port=MONITOR_PORT,
        path=edge.monitor.path,
        header={"Host": [host]},
        expected_codes=edge.monitor.expected_codes,
        interval=edge.monitor.interval,
        timeout=edge.monitor.timeout,
        retries=edge.monitor.retries,
        allow_insecure=MONITOR_ALLOW_INSECURE,
        follow_redirects=MONITOR_FOLLOW_REDIRECTS,
        opts=opts,
    )


def origin(name: str, address: str) -> cloudflare.LoadBalancerPoolOriginArgs:
    """One enabled origin of a pool, at equal weight."""
    return cloudflare.LoadBalancerPoolOriginArgs(name=name, address=address, enabled=True, weight=1)


def ingress_address(outputs: Mapping[str, Any] | None, cell: str) -> str:
    """A cell's ingress address from its regional stack's outputs (the contract)."""
    return RegionOutputs.parse(outputs).cells[cell].ingress_address


def check_regions(steering: Steering, pool: str) -> list[str]:
    """Where a pool is health-checked from: the Cloudflare regions it serves first.

    That is where its users connect from, so the monitor sees what they see. A pool that is
    nobody's first choice is checked from every region that lists it.
    """
    regions = catalog.CLOUDFLARE_REGIONS
    routes = [steering.region_pools.get(r, steering.default_pools) for r in regions]
    first = [r for r, pools in zip(regions, routes, strict=True) if pools[0] == pool]
    if first:
        return first
    listed = [r for r, pools in zip(regions, routes, strict=True) if pool in pools]
    return listed or list(regions)


# The request path after URL normalization; the l10n rules read the raw one instead
# (rollout.catalog.CF_RAW_PATH: the l10n rewrite changes this one).
PATH = "http.request.uri.path"


def path_prefix_expression(paths: Sequence[str], field: str = PATH) -> str:
    """Cloudflare Rules language: the request path (``field``) starts with any of ``paths``."""
    return " or ".join(f"starts_with({field}, {json.dumps(p)})" for p in paths)


def path_set_expression(paths: Sequence[str]) -> str:
    """Cloudflare Rules language: the request path is exactly one of ``paths``."""
    return "http.request.uri.path in {" + " ".join(json.dumps(p) for p in paths) + "}"


def cache_rule(
    ref: str, paths: Sequence[str], edge_ttl: int | None, field: str = PATH
) -> cloudflare.RulesetRuleArgs:
    """Cache responses under ``paths`` (matched on ``field``): ``edge_ttl`` seconds, or as the
    origin says if None."""
    ttl = (
        cloudflare.RulesetRuleActionParametersEdgeTtlArgs(mode="respect_origin")
        if edge_ttl is None
        else cloudflare.RulesetRuleActionParametersEdgeTtlArgs(
            mode="override_origin", default=edge_ttl
        )
    )
    lifetime = "as the origin's Cache-Control says" if edge_ttl is None else f"for {edge_ttl}s"
    return cloudflare.RulesetRuleArgs(
        ref=ref,
        description=f"cache {', '.join(paths)} {lifetime} at the edge",
        expression=path_prefix_expression(paths, field),
        action="set_cache_settings",
        action_parameters=cloudflare.RulesetRuleActionParametersArgs(
            cache=True,
            edge_ttl=ttl,
        ),
        enabled=True,
    )
