"""Demo Bank rollout: the Pulumi program. `pulumi up -s eu|apac|global` runs this file.

All logic lives in rollout.program.build so the offline engine (rollout.engine) runs the very
same code under the SDK's mocks.
"""

import sys

from rollout.errors import InputError
from rollout.program import build

try:
    build()
except InputError as exc:
    # Bad YAML: one line per problem, no traceback, nothing half-built.
    print(exc, file=sys.stderr)
    sys.exit(2)
