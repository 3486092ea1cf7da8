"""What a pull request changes: two sets of offline plans compared, as Markdown for a comment.

Resources are matched by URN, so a renamed or re-parented resource shows as a delete and a
create (which is what ``pulumi up`` would do without an alias). An update lists the top-level
input keys that change; it is a *replacement* when one of them is known to force one
(``REPLACE_KEYS``). ``DiffReport.data_loss`` holds every stateful or protected resource that is
deleted or replaced: the CLI refuses those unless told ``--allow-data-loss``.

Plans are paired by stack name, and BASE and HEAD must hold the same stacks: a stack on one side
only is refused (``InputError``), since comparing ``eu`` against ``apac`` would report one whole
stack deleted and another created. A stack that is new in HEAD needs an explicit empty base,
the plan JSON ``{"stack": "<name>", "resources": []}`` (:func:`empty_plan_json`), so everything
it holds shows as created; an empty HEAD plan likewise deletes a whole stack, loudly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rollout import catalog
from rollout.catalog import STACK, STATEFUL
from rollout.errors import InputError, format_path
from rollout.plan import Plan, Resource

MARKER = "<!-- rollout-diff -->"
FOLD_OVER = 25

# Input keys whose change makes the provider delete and re-create the resource (pulumi-gcp 10,
# pulumi-cloudflare 6: the "ForceNew" arguments that matter here). Any GCP resource also
# replaces on ``name`` and ``project``.
REPLACE_KEYS: dict[str, frozenset[str]] = {
    catalog.SPANNER_INSTANCE: frozenset({"config"}),
    # A database's customer-managed keys are fixed at creation: the provider replaces it on
    # any change to them (hashicorp/terraform-provider-google#29437).
    catalog.SPANNER_DATABASE: frozenset({"instance", "databaseDialect", "encryptionConfig"}),
    catalog.SPANNER_BACKUP_SCHEDULE: frozenset({"database", "instance"}),
    catalog.GKE_CLUSTER: frozenset({"location", "network", "subnetwork"}),
    catalog.GKE_NODE_POOL: frozenset({"cluster", "location"}),
    catalog.BUCKET: frozenset({"location"}),
    catalog.KAFKA_CLUSTER: frozenset({"clusterId", "location"}),
    catalog.KAFKA_TOPIC: frozenset({"topicId", "cluster", "location"}),
    catalog.KMS_KEY_RING: frozenset({"location"}),
    catalog.KMS_CRYPTO_KEY: frozenset({"keyRing", "purpose"}),
    catalog.NETWORK: frozenset({"autoCreateSubnetworks"}),
    catalog.SUBNETWORK: frozenset({"network", "region"}),
    catalog.ADDRESS: frozenset({"region", "address", "addressType"}),
    catalog.SERVICE_ACCOUNT: frozenset({"accountId"}),
    # A cell's load balancer: a Compute Engine certificate is immutable (a rotation is a new
    # one, components/cell_bootstrap.py), and a forwarding rule's address, port and scheme
    # are fixed at creation.
    catalog.REGION_SSL_CERTIFICATE: frozenset({"certificate", "privateKey", "region"}),
    catalog.FORWARDING_RULE: frozenset(
        {"ipAddress", "portRange", "loadBalancingScheme", "network", "networkTier", "region"}
    ),
    catalog.TRUST_CONFIG: frozenset({"location"}),
    catalog.SERVER_TLS_POLICY: frozenset({"location"}),
    catalog.CF_ZONE_SETTING: frozenset({"zoneId", "settingId"}),
    catalog.CF_POOL: frozenset({"accountId"}),
    catalog.CF_LB: frozenset({"zoneId"}),
    # Weblate's (components/weblate.py): ForceNew in terraform-provider-google's schemas (a
    # secret's replication "cannot be changed after the Secret has been created").
    catalog.SQL_INSTANCE: frozenset({"region", "encryptionKeyName"}),
    catalog.SQL_DATABASE: frozenset({"instance"}),
    catalog.REDIS_INSTANCE: frozenset(
        {
            "region",
            "tier",
            "authorizedNetwork",
            "connectMode",
            "customerManagedKey",
            "locationId",
            "reservedIpRange",
            "transitEncryptionMode",
        }
    ),
    catalog.FILESTORE_INSTANCE: frozenset({"location", "tier", "networks", "kmsKeyName"}),
    catalog.SECRET: frozenset({"replication"}),
}
GCP_REPLACE_KEYS = frozenset({"name", "project"})


@dataclass(frozen=True)
class Change:
    stack: str
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    keys: tuple[str, ...] = ()
    """Changed top-level inputs (updates and replacements); ``[protect]`` for the option."""
    replace_keys: tuple[str, ...] = ()
    protected: bool = False


@dataclass
class StackDiff:
    stack: str
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    replaced: list[Change] = field(default_factory=list)
    deleted: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.created or self.updated or self.replaced or self.deleted)


@dataclass
class DiffReport:
    stacks: list[StackDiff]
    data_loss: list[Change]


def replace_keys(type_: str) -> frozenset[str]:
    extra = GCP_REPLACE_KEYS if type_.startswith("gcp:") else frozenset()
    return REPLACE_KEYS.get(type_, frozenset()) | extra


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _resources(plan: Plan | None) -> dict[str, Resource]:
    if plan is None:
        return {}
    return {r.urn: r for r in plan.resources if r.type != STACK}


def diff_stack(stack: str, base: Plan | None, head: Plan | None) -> StackDiff:
    old, new = _resources(base), _resources(head)
    out = StackDiff(stack)
    for urn, r in new.items():
        if urn not in old:
            out.created.append(Change(stack, "create", urn, r.type, r.name, protected=r.protect))
    for urn, r in old.items():
        if urn not in new:
            out.deleted.append(Change(stack, "delete", urn, r.type, r.name, protected=r.protect))
            continue
        h = new[urn]
        keys = changed_keys(r.inputs, h.inputs)
        if r.protect != h.protect:
            keys.append("[protect]")
        if not keys:
            continue
        forcing = tuple(k for k in keys if k in replace_keys(r.type)) if r.custom else ()
        action = "replace" if forcing else "update"
        change = Change(
            stack, action, urn, r.type, r.name, tuple(keys), forcing, protected=r.protect
        )
        (out.replaced if forcing else out.updated).append(change)
    return out


def empty_plan_json(stack: str) -> dict[str, Any]:
    """The plan JSON of a stack with nothing in it: the BASE a new stack is diffed against
    (everything in HEAD shows as created), or the HEAD of a stack being removed."""
    return {"stack": stack, "resources": []}


def _stacks(n: int) -> str:
    return "stack" if n == 1 else "stacks"


def _where(plan: Plan, side: str) -> tuple[str, str]:
    """The file and JSON path of a plan's stack name (``side`` when it was built in memory)."""
    return plan.source or side, format_path((*plan.at, "stack"))


def pair_stacks(base: Iterable[Plan], head: Iterable[Plan]) -> list[tuple[Plan, Plan]]:
    """BASE and HEAD plans paired by stack name, in BASE's order.

    Refused with one line when a stack appears on one side only or twice on one side: a
    missing stack is never silently read as "deleted" or "created" (see the module docstring
    for the explicit empty plan a new stack needs).
    """
    sides: list[dict[str, Plan]] = []
    for side, plans in (("BASE", base), ("HEAD", head)):
        by_stack: dict[str, Plan] = {}
        for p in plans:
            if p.stack in by_stack:  # load refuses this per file; plans built in memory may not
                file, path = _where(p, side)
                other = _where(by_stack[p.stack], side)
                raise InputError.one(
                    file,
                    path,
                    f"found stack {json.dumps(p.stack)} again (also at {other[0]}: {other[1]}); "
                    f"expected each stack once per side of a diff",
                )
            by_stack[p.stack] = p
        sides.append(by_stack)
    old, new = sides
    added = [p for s, p in new.items() if s not in old]
    removed = [p for s, p in old.items() if s not in new]
    if added or removed:
        first = added[0] if added else removed[0]
        file, path = _where(first, "HEAD" if added else "BASE")
        base_file = next((p.source for p in old.values() if p.source), "BASE")
        head_file = next((p.source for p in new.values() if p.source), "HEAD")
        found, fixes = [], []
        if added:
            names = ", ".join(json.dumps(p.stack) for p in added)
            found.append(f"{_stacks(len(added))} {names} in {head_file} but not in {base_file}")
            fixes.append(
                f"a new stack's base is {json.dumps(empty_plan_json(added[0].stack))}, "
                "or pass --new-stacks"
            )
        if removed:
            names = ", ".join(json.dumps(p.stack) for p in removed)
            found.append(f"{_stacks(len(removed))} {names} in {base_file} but not in {head_file}")
            fixes.append(
                f"a removed stack's head is {json.dumps(empty_plan_json(removed[0].stack))}"
            )
        raise InputError.one(
            file,
            path,
            f"found {' and '.join(found)}; expected the same stacks on both sides, paired by "
            f"name ({'; '.join(fixes)})",
        )
    return [(p, new[s]) for s, p in old.items()]


def diff_plans(base: Iterable[Plan], head: Iterable[Plan]) -> DiffReport:
    """Per stack (paired by name, see :func:`pair_stacks`), what HEAD creates, updates,
    replaces and deletes."""
    stacks = [diff_stack(b.stack, b, h) for b, h in pair_stacks(base, head)]
    loss = [
        c for s in stacks for c in (*s.replaced, *s.deleted) if c.type in STATEFUL or c.protected
    ]
    return DiffReport(stacks, loss)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell, as code."""
    return "`" + str(text).replace("|", "\\|").replace("`", "'") + "`"


def _table(changes: list[Change], with_keys: bool = False) -> list[str]:
    if with_keys:
        lines = ["| type | name | changed inputs |", "| --- | --- | --- |"]
        for c in changes:
            keys = ", ".join(f"**{k}**" if k in c.replace_keys else k for k in c.keys)
            lines.append(f"| {_cell(c.type)} | {_cell(c.name)} | {keys} |")
    else:
        lines = ["| type | name |", "| --- | --- |"]
        lines += [f"| {_cell(c.type)} | {_cell(c.name)} |" for c in changes]
    return lines


def _summary(s: StackDiff) -> str:
    return (
        f"**{len(s.created)} to create, {len(s.updated)} to update, "
        f"{len(s.replaced)} to replace, {len(s.deleted)} to delete**"
    )


def markdown(report: DiffReport) -> str:
    """The pull-request comment: data loss first and loud, then one section per stack."""
    lines = [MARKER]
    if report.data_loss:
        lines += [
            "## ⛔ Data loss",
            "",
            "**This PR deletes or replaces stateful resources.** Their data (databases, topics, "
            "buckets, keys) would be destroyed. Re-run with `--allow-data-loss` only after the "
            "data has been migrated or backed up and an owner of each stack has approved.",
            "",
            "| stack | action | type | name | why |",
            "| --- | --- | --- | --- | --- |",
        ]
        for c in report.data_loss:
            why = f"changes {', '.join(c.replace_keys)}" if c.replace_keys else "removed"
            if c.protected:
                why += " (protected)"
            lines.append(
                f"| {_cell(c.stack)} | **{c.action}** | {_cell(c.type)} | {_cell(c.name)} | {why} |"
            )
        lines.append("")
    lines += ["## Rollout plan diff", ""]
    for s in report.stacks:
        lines += [f"### Stack `{s.stack}`", "", _summary(s), ""]
        if s.empty:
            lines += ["No changes.", ""]
            continue
        for title, changes, keyed in (
            ("Create", s.created, False),
            ("Replace (changed inputs in bold force it)", s.replaced, True),
            ("Update", s.updated, True),
            ("Delete", s.deleted, False),
        ):
            if not changes:
                continue
            rows = _table(sorted(changes, key=lambda c: (c.type, c.name)), keyed)
            if len(changes) > FOLD_OVER:  # long lists fold, so the comment stays readable
                summary = f"<summary>{title}: {len(changes)}</summary>"
                lines += ["<details>", summary, "", *rows, "", "</details>", ""]
            else:
                lines += [f"#### {title}", "", *rows, ""]
    return "\n".join(lines).rstrip() + "\n"


__all__ = [
    "MARKER",
    "Change",
    "DiffReport",
    "StackDiff",
    "diff_plans",
    "empty_plan_json",
    "markdown",
    "pair_stacks",
]
