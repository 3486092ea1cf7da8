"""The rules of ``policies.rules`` as CrossGuard policies, for ``pulumi preview --policy-pack``.

Building the policies is separate from serving them (``PolicyPack(...)`` starts a gRPC server and
blocks), so the tests call :func:`build_policies` and each policy's ``validate`` directly.

CrossGuard hands a rule the same camelCase properties the offline engine records. Values a
preview cannot know yet become :data:`policies.rules.UNKNOWN` instead of aborting the policy.
Residency: the expected region is the stack's own ``demobank:region`` config (the analyzer
receives the stack's config), or the ``region`` passed to :func:`build_policies`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policies import rules

PACK_NAME = "demobank"


def _plain(value: Any) -> Any:
    """CrossGuard's unknown-checking proxies as plain dicts and lists; unknowns as UNKNOWN."""

    def item(container: Any, key: Any) -> Any:
        try:
            return _plain(container[key])
        except UnknownValueError:
            return rules.UNKNOWN

    if isinstance(value, Mapping):
        return {k: item(value, k) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [item(value, i) for i in range(len(value))]
    return value


def stack_region() -> str | None:
    """The stack's ``demobank:region`` config (set on regional stacks only)."""
    try:
        import pulumi

        return pulumi.Config("demobank").get("region") or None
    except Exception:  # no Pulumi runtime settings: no region known
        return None


def _level(mandatory: bool) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY


def _in_cell(urn: str) -> bool:
    """A real URN carries its parents' type chain: ``...$demobank:cell:Cell$...::name``."""
    types = urn.split("::")[-2] if urn.count("::") >= 3 else ""
    return rules.CELL in types.split("$")[:-1]


def _resource_validator(
    rule: rules.Rule, region: Callable[[], str | None]
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        ctx = rules.Ctx(
            region=region(),
            protect=bool(getattr(args.opts, "protect", False)),
            in_cell=_in_cell(args.urn),
        )
        for message in rule.check(args.resource_type, _plain(args.props), ctx):
            report_violation(message, None)

    return validate


def _node(resource: Any) -> rules.Node:
    deps = {d.urn for d in resource.dependencies or []}
    for prop_deps in (resource.property_dependencies or {}).values():
        deps |= {d.urn for d in prop_deps}
    return rules.Node(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=_plain(resource.props),
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=tuple(sorted(deps)),
        protect=bool(getattr(resource.opts, "protect", False)),
    )


def _stack_validator(
    rule: rules.StackRule, region: Callable[[], str | None]
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        nodes = [_node(r) for r in args.resources]
        for urn, message in rule.check(nodes, rules.Ctx(region=region())):
            report_violation(message, urn)

    return validate


def build_policies(region: str | None = None) -> list[Policy]:
    """One CrossGuard policy per rule, same name, description and enforcement."""

    def current_region() -> str | None:
        return region or stack_region()

    out: list[Policy] = []
    for r in rules.RULES:
        out.append(
            ResourceValidationPolicy(
                name=r.name,
                description=r.description,
                validate=_resource_validator(r, current_region),
                enforcement_level=_level(r.mandatory),
            )
        )
    for sr in rules.STACK_RULES:
        out.append(
            StackValidationPolicy(
                name=sr.name,
                description=sr.description,
                validate=_stack_validator(sr, current_region),
                enforcement_level=_level(sr.mandatory),
            )
        )
    return out
