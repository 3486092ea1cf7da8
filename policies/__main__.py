"""The CrossGuard policy pack: ``pulumi preview --policy-pack policies``.

Only wraps ``policies.rules`` (see ``policies/crossguard.py``); constructing the PolicyPack
starts the analyzer server and blocks, so nothing else lives here.
"""

import sys
from pathlib import Path

# The pack runs as a script from policies/; make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.crossguard import PACK_NAME, build_policies  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Demo Bank: hardened GKE, no data loss, residency, cell isolation, edge",
)
