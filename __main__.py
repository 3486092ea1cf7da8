"""Demo Bank rollout: the Pulumi program. `pulumi up -s eu|apac|global` runs this file.

All logic lives in rollout.program.build so the offline engine (rollout.engine) runs the very
same code under the SDK's mocks. Before anything is built, the same gates `rollout plan` runs
(shard tables, the localization go-live gate, edge failover) must pass for this stack.
"""

import sys

import pulumi

from rollout.config import load_project
from rollout.errors import InputError
from rollout.gates import stack_checks
from rollout.program import build

try:
    project = load_project()
    problems = stack_checks(project, [pulumi.get_stack()])
    if problems:
        raise InputError(problems)
    build(project)
except InputError as exc:
    # Bad input: one line per problem, no traceback, nothing half-built.
    print(exc, file=sys.stderr)
    sys.exit(2)
