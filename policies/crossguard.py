"""The rules of ``policies.rules`` as CrossGuard policies, for ``pulumi preview --policy-pack``.

Building the policies is separate from serving them (``PolicyPack(...)`` starts a gRPC server and
blocks), so the tests call :func:`build_policies` and each policy's ``validate`` directly.

CrossGuard hands a rule the same camelCase properties the offline engine records. Values a
preview cannot know yet become :data:`policies.rules.UNKNOWN` instead of aborting the policy.

Stack facts come through pulumi-policy's own policy config: a rule that judges against the
stack's region (``Rule.needs_region``) declares :data:`CONFIG_SCHEMA`, and reads ``stackRole``
and ``region`` from ``args.get_config()``. ``rollout policy-config STACK`` writes that file
from the stack file (``pulumi preview --policy-pack policies --policy-pack-config FILE``).
Without it the policy fails closed: one violation saying what is missing and how to pass it,
never a silently skipped residency check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policies import rules

PACK_NAME = "demobank"

ROLES = ("regional", "global")
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "stackRole": {
            "type": "string",
            "enum": list(ROLES),
            "description": "the stack's demobank:role",
        },
        "region": {"type": "string", "description": "a regional stack's demobank:region"},
    },
    required=["stackRole"],
)
CONFIG_FIX = (
    "pass the stack's policy config: `rollout policy-config STACK --out FILE`, then "
    "`pulumi preview --policy-pack policies --policy-pack-config FILE`"
)


class ConfigMissing(Exception):
    """The policy config lacks a stack fact a rule needs; the message says which."""


def stack_region(config: Mapping[str, Any]) -> str | None:
    """The region a rule judges against: a regional stack's region, None for the global one."""
    role = config.get("stackRole")
    if role not in ROLES:
        raise ConfigMissing(f"policy config stackRole is {role!r}, expected one of {ROLES}")
    region = config.get("region")
    if role == "regional" and not (isinstance(region, str) and region):
        raise ConfigMissing("policy config of a regional stack has no region")
    return region if role == "regional" else None


def policy_config(role: str, region: str | None) -> dict[str, dict[str, Any]]:
    """The policy pack config file's content for one stack: policy name -> its config."""
    config: dict[str, Any] = {"stackRole": role}
    if region:
        config["region"] = region
    return {r.name: dict(config) for r in rules.RULES if r.needs_region}


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


def _level(mandatory: bool) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY


def _in_cell(urn: str) -> bool:
    """A real URN carries its parents' type chain: ``...$demobank:cell:Cell$...::name``."""
    types = urn.split("::")[-2] if urn.count("::") >= 3 else ""
    return rules.CELL in types.split("$")[:-1]


def _resource_validator(
    rule: rules.Rule,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        region = None
        if rule.needs_region:
            try:
                region = stack_region(args.get_config())
            except ConfigMissing as exc:
                report_violation(f"{exc}; {CONFIG_FIX}", None)
                return
        ctx = rules.Ctx(
            region=region,
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
    rule: rules.StackRule,
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        nodes = [_node(r) for r in args.resources]
        for urn, message in rule.check(nodes, rules.Ctx()):
            report_violation(message, urn)

    return validate


def build_policies() -> list[Policy]:
    """One CrossGuard policy per rule, same name, description and enforcement."""
    out: list[Policy] = []
    for r in rules.RULES:
        out.append(
            ResourceValidationPolicy(
                name=r.name,
                description=r.description,
                validate=_resource_validator(r),
                enforcement_level=_level(r.mandatory),
                config_schema=CONFIG_SCHEMA if r.needs_region else None,
            )
        )
    for sr in rules.STACK_RULES:
        out.append(
            StackValidationPolicy(
                name=sr.name,
                description=sr.description,
                validate=_stack_validator(sr),
                enforcement_level=_level(sr.mandatory),
            )
        )
    return out
