"""`rollout`: validate the YAML, plan stacks offline, and the tools around them.

Acts on the project that holds the current directory (the nearest Pulumi.yaml upward).
Exit codes: 0 ok, 1 a check found problems (policy violations, l10n errors, data loss),
2 invalid input (every problem printed on one line naming file, key, found and accepted).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rollout import catalog, engine, files
from rollout import plan as plan_model
from rollout.config import Project, find_root, json_schemas, load_project
from rollout.errors import EXIT_INVALID, InputError
from rollout.gates import stack_checks


def _project(args: argparse.Namespace) -> Project:
    return load_project(args.root)


def cmd_validate(args: argparse.Namespace) -> int:
    project = _project(args)
    problems = stack_checks(project)
    if problems:
        raise InputError(problems)
    files = len(project.docs)
    print(f"ok: {files} YAML files valid; stacks: {', '.join(project.stacks)}")
    # What a new project lacks by default: the quotas to request before the first `pulumi up`.
    from rollout import quota

    for line in quota.lines(project):
        print(line)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from rollout import render

    project = _project(args)
    if args.all:
        names = list(project.stacks)
    elif args.stack:
        project.stack(args.stack)  # unknown stack -> one-line error
        names = [args.stack]
    else:
        raise InputError.one("(command line)", "STACK", "name a stack or pass --all")
    problems = stack_checks(project, names)
    if problems:
        raise InputError(problems)
    cache: dict[str, plan_model.Plan] = {}
    plans = [engine.plan_stack(name, project, cache=cache) for name in names]
    violations = 0
    for plan in plans:
        if not args.quiet:
            print(render.full(plan))
        violations += _print_violations(plan)
        violations += _print_failover(plan)
        print()
    if args.json:
        plan_model.save(plans, Path(args.json))
        print(f"wrote {args.json}")
    return 1 if violations else 0


def _print_violations(planned: plan_model.Plan) -> int:
    """Run every policy over the plan; print violations one per line. Returns mandatory count."""
    try:
        from policies import rules
    except ModuleNotFoundError:  # policies/ not part of this checkout
        return 0
    found = rules.check_plan(planned)
    mandatory = [v for v in found if v.mandatory]
    if found:
        print(f"Policy violations ({len(found)}):")
        for v in found:
            print(f"    {v}")
    else:
        print("Policies: all rules pass")
    return len(mandatory)


def _print_failover(planned: plan_model.Plan) -> int:
    """The global stack's steering, judged on the plan: every pool monitored, no dead end."""
    from rollout import failover

    if not planned.of_type(catalog.CF_LB):
        return 0
    problems = failover.check_plan_failover(planned)
    for line in problems:
        print(f"    failover: {line}")
    if not problems:
        print("Failover: every region and country survives the loss of any one pool")
    routing = failover.check_cell_routing(planned)
    for line in routing:
        print(f"    cell routing: {line}")
    if not routing:
        print(
            "Cell routing: every signed-in customer reaches only their own cell; a lost cell "
            "costs only its customers, a lost pool none"
        )
    return len(problems) + len(routing)


def cmd_schema(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else args.root / "schema" / "json"
    schemas = dict(json_schemas())
    schemas.update(_extra_schemas())
    texts = {
        out / f"{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in sorted(schemas.items())
    }
    if args.check:
        stale = [p for p, text in texts.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"{path}: out of date; run `rollout schema`", file=sys.stderr)
        return 1 if stale else 0
    files.write_files(texts)  # all schemas are new, or none changed
    for path in texts:
        print(f"wrote {path}")
    return 0


def _extra_schemas() -> dict[str, dict[str, object]]:
    """Schemas of the files other modules own (shard tables, catalogs)."""
    out: dict[str, dict[str, object]] = {}
    from rollout import shards

    out["shard-table"] = shards.ShardTableFile.model_json_schema()
    from rollout.l10n import catalog

    for name, model in catalog.SCHEMAS.items():
        out[name] = model.model_json_schema()
    from rollout.l10n import weblate

    out["l10n-weblate"] = weblate.WeblateConfig.model_json_schema()
    return out


def cmd_check(args: argparse.Namespace) -> int:
    from policies import rules

    violations = []
    for planned in plan_model.load(Path(args.plan)):
        violations += rules.check_plan(planned)
    for v in violations:
        print(v)
    mandatory = [v for v in violations if v.mandatory]
    print(f"{len(violations)} violations ({len(mandatory)} mandatory)", file=sys.stderr)
    return 1 if mandatory else 0


def cmd_diff(args: argparse.Namespace) -> int:
    from rollout import diff

    base = plan_model.load(Path(args.base))
    head = plan_model.load(Path(args.head))
    if args.new_stacks:  # explicit: a stack only HEAD holds is new, not an error
        known = {p.stack for p in base}
        base += [
            plan_model.Plan.from_json(diff.empty_plan_json(p.stack))
            for p in head
            if p.stack not in known
        ]
    report = diff.diff_plans(base, head)
    print(diff.markdown(report))
    if report.data_loss and not args.allow_data_loss:
        return 1
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from rollout import diagram

    project = _project(args)
    print(diagram.mermaid(engine.plan_stack(args.stack, project)))
    return 0


def cmd_policy_config(args: argparse.Namespace) -> int:
    """The CrossGuard pack's config for one stack, from its stack file (region and role)."""
    from policies import crossguard

    spec = _project(args).stack(args.stack)
    region = spec.region.region if spec.region is not None else None
    text = json.dumps(crossguard.policy_config(spec.role, region), indent=2, sort_keys=True)
    if args.out:
        files.write_file(Path(args.out), text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rollout", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("validate", help="check every YAML file; exit 0 or 2")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("plan", help="plan a stack offline and print it like pulumi preview")
    s.add_argument("stack", nargs="?", help="stack name (eu, apac, global)")
    s.add_argument("--all", action="store_true", help="plan every stack in stacks/")
    s.add_argument("--json", metavar="FILE", help="also write the plan as JSON")
    s.add_argument("--quiet", action="store_true", help="no tree; only violations")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser("schema", help="export a JSON Schema per YAML shape to schema/json/")
    s.add_argument("--out", metavar="DIR")
    s.add_argument("--check", action="store_true", help="exit 1 if the exported files are stale")
    s.set_defaults(func=cmd_schema)

    s = sub.add_parser("check", help="run every policy over a saved plan; exit 1 on violations")
    s.add_argument("plan", metavar="PLAN.json")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("diff", help="Markdown for a pull request: what HEAD changes against BASE")
    s.add_argument("base", metavar="BASE.json")
    s.add_argument("head", metavar="HEAD.json")
    s.add_argument("--allow-data-loss", action="store_true")
    s.add_argument(
        "--new-stacks",
        action="store_true",
        help="a stack only HEAD holds is new: diffed against its empty plan (all created)",
    )
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser(
        "policy-config",
        help="the policy pack's config for a stack (pulumi preview --policy-pack-config FILE)",
    )
    s.add_argument("stack")
    s.add_argument("--out", metavar="FILE", help="write it here instead of printing it")
    s.set_defaults(func=cmd_policy_config)

    s = sub.add_parser("diagram", help="a Mermaid diagram of a stack")
    s.add_argument("stack")
    s.set_defaults(func=cmd_diagram)

    from rollout import cloudflare_ips, shards
    from rollout.l10n import cli as l10n_cli

    shards.add_cli(sub)
    l10n_cli.add_cli(sub)
    cloudflare_ips.add_cli(sub)
    return p


def _working_directory() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise InputError.one(
            "(working directory)",
            "(cwd)",
            "the current folder no longer exists (deleted or moved); cd into the project again",
        ) from None


class _ClosedPipeGuard(io.TextIOBase):
    """stdout that survives its reader going away (``rollout diff ... | head``).

    Once the pipe is closed, output goes nowhere and the command runs on to its own exit code:
    a closed pipe never turns a failing exit (data loss, violations) into 0, and the
    interpreter does not print a traceback when it flushes stdout at exit.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())  # the exit-time flush then goes nowhere
            os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    guard = _ClosedPipeGuard(sys.stdout)
    sys.stdout = guard
    try:
        args.root = find_root(_working_directory())
        return int(args.func(args))
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        # The environment, not the input: a path the command reached that cannot be used.
        print(files.os_problem(exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    finally:
        guard.flush()
        sys.stdout = guard.stream


if __name__ == "__main__":
    sys.exit(main())
