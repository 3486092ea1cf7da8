"""A Mermaid ``flowchart TD`` of a stack, drawn from its offline plan's component tree.

Regional stack: region -> its shared Spanner instance and Kafka cluster, and region -> cells ->
each cell's GKE cluster, Spanner database and Kafka topics (one node per cell, with the count
and names). Global stack: the Cloudflare load balancer -> pools -> origins, and the directory.
"""

from __future__ import annotations

from rollout.catalog import (
    BUCKET,
    CELL,
    CF_DNS_RECORD,
    CF_LB,
    CF_POOL,
    CF_WORKERS_SCRIPT,
    GKE_CLUSTER,
    KAFKA_CLUSTER,
    KAFKA_TOPIC,
    REGION,
    SPANNER_DATABASE,
    SPANNER_INSTANCE,
)
from rollout.plan import Plan, Resource

_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "`": "#96;",
}


def label(*parts: str) -> str:
    """A quoted Mermaid label; parts go on separate lines, special characters as entities."""
    escaped = ["".join(_ENTITIES.get(ch, ch) for ch in str(p)) for p in parts]
    return '"' + "<br/>".join(escaped) + '"'


class _Chart:
    def __init__(self, title: str) -> None:
        self.lines = ["flowchart TD", f"    %% {title.replace(chr(10), ' ')}"]
        self.ids: dict[str, str] = {}

    def node(self, key: str, *text: str, shape: str = "rect") -> str:
        if key in self.ids:
            return self.ids[key]
        nid = f"n{len(self.ids)}"
        self.ids[key] = nid
        opening, closing = {"rect": ("[", "]"), "db": ("[(", ")]"), "round": ("(", ")")}[shape]
        self.lines.append(f"    {nid}{opening}{label(*text)}{closing}")
        return nid

    def edge(self, a: str, b: str, dotted: bool = False) -> None:
        self.lines.append(f"    {a} {'-.->' if dotted else '-->'} {b}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _cloud_name(r: Resource, key: str = "name") -> str:
    return str(r.inputs.get(key) or r.name)


def _under(plan: Plan, ancestor: Resource, type_: str) -> list[Resource]:
    return [r for r in plan.of_type(type_) if any(a.urn == ancestor.urn for a in plan.ancestors(r))]


def _nearest_cell(plan: Plan, r: Resource) -> Resource | None:
    return next((a for a in plan.ancestors(r) if a.type == CELL), None)


def _regional(plan: Plan, chart: _Chart) -> None:
    for region in plan.of_type(REGION):
        rid = chart.node(region.urn, f"region {region.name}", str(plan.outputs.get("region", "")))
        shared: dict[str, str] = {}
        for r in _under(plan, region, SPANNER_INSTANCE) + _under(plan, region, KAFKA_CLUSTER):
            if _nearest_cell(plan, r) is None:
                kind = "Spanner instance" if r.type == SPANNER_INSTANCE else "Kafka cluster"
                key = "clusterId" if r.type == KAFKA_CLUSTER else "name"
                shared[r.type] = chart.node(r.urn, kind, _cloud_name(r, key), shape="db")
                chart.edge(rid, shared[r.type])
        for cell in _under(plan, region, CELL):
            cid = chart.node(cell.urn, f"cell {cell.name}", shape="round")
            chart.edge(rid, cid)
            for gke in _under(plan, cell, GKE_CLUSTER):
                chart.edge(cid, chart.node(gke.urn, "GKE", _cloud_name(gke)))
            for db in _under(plan, cell, SPANNER_DATABASE):
                did = chart.node(db.urn, "Spanner database", _cloud_name(db), shape="db")
                chart.edge(cid, did)
                if SPANNER_INSTANCE in shared:
                    chart.edge(did, shared[SPANNER_INSTANCE], dotted=True)
            topics = _under(plan, cell, KAFKA_TOPIC)
            if topics:
                names = sorted(_cloud_name(t, "topicId") for t in topics)
                tid = chart.node(f"{cell.urn}#topics", f"{len(topics)} Kafka topics", *names)
                chart.edge(cid, tid)
                if KAFKA_CLUSTER in shared:
                    chart.edge(tid, shared[KAFKA_CLUSTER], dotted=True)


def _global(plan: Plan, chart: _Chart) -> None:
    lbs = plan.of_type(CF_LB)
    edge = chart.node("edge", "Cloudflare edge", *(_cloud_name(lb) for lb in lbs))
    # Signed-in customers: client -> the cell router -> their own cell's origin, and no other.
    records = {str(r.inputs.get("name")): r for r in plan.of_type(CF_DNS_RECORD)}
    for script in plan.of_type(CF_WORKERS_SCRIPT):
        client = chart.node("client", "signed-in customer", shape="round")
        wid = chart.node(script.urn, "cell router (Worker)", _cloud_name(script, "scriptName"))
        chart.edge(client, wid)
        chart.edge(wid, edge, dotted=True)  # no token: geo steering, as before
        for host, record in sorted(records.items()):
            if ".origin." in host:
                cid = chart.node(record.urn, f"cell {host.split('.', 1)[0]}", host)
                chart.edge(wid, cid)
    for pool in plan.of_type(CF_POOL):
        if pool.name.startswith("cell-"):
            continue  # a cell's own health pool, drawn as its origin above
        pid = chart.node(pool.urn, "pool", _cloud_name(pool))
        chart.edge(edge, pid)
        for i, origin in enumerate(pool.inputs.get("origins") or []):
            if not isinstance(origin, dict):
                continue
            title = f"origin {origin['name']}" if origin.get("name") else "origin"
            address = str(origin.get("address", "?"))
            oid = chart.node(f"{pool.urn}#origin{i}", title, address)
            chart.edge(pid, oid)
    for inst in plan.of_type(SPANNER_INSTANCE):
        iid = chart.node(
            inst.urn, "directory", _cloud_name(inst), str(inst.inputs.get("config", "")), shape="db"
        )
        chart.edge(edge, iid, dotted=True)
        for db in plan.of_type(SPANNER_DATABASE):
            if str(db.inputs.get("instance", "")).endswith(_cloud_name(inst)):
                chart.edge(iid, chart.node(db.urn, "database", _cloud_name(db), shape="db"))
    for bucket in plan.of_type(BUCKET):
        chart.edge(edge, chart.node(bucket.urn, "bucket", _cloud_name(bucket)), dotted=True)


def mermaid(plan: Plan) -> str:
    """The stack as a Mermaid flowchart (regional or global, from what the plan holds)."""
    chart = _Chart(f"stack {plan.stack}")
    if plan.of_type(REGION):
        _regional(plan, chart)
    else:
        _global(plan, chart)
    return chart.text()


__all__ = ["label", "mermaid"]
