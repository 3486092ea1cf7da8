"""The shape of the code: data flows one way, and the real program never loads the runner.

- components/ imports only the Pulumi SDKs, the providers, other components, their Args
  (``rollout.args``), the catalog of facts and the stack-output contract;
- the real ``pulumi up`` (``__main__.py``: its imports and its gate checks) does not load the
  offline runner (``rollout.engine``); the SDK itself imports ``pulumi.runtime.mocks``, so the
  test looks for the runner, not for that;
- facts live once: no type token is spelled outside the catalog.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rollout import catalog

ROOT = Path(__file__).resolve().parent.parent

# What a component may import beyond the standard library.
COMPONENT_IMPORTS = (
    "pulumi",
    "pulumi_gcp",
    "pulumi_cloudflare",
    "pulumi_kubernetes",
    "components",
    "rollout.args",
    "rollout.catalog",
    "rollout.contract",
)
FORBIDDEN_IN_COMPONENTS = ("rollout.config", "rollout.shards", "rollout.l10n", "rollout.engine")


def imports_of(path: Path) -> list[str]:
    """Every module a file imports (``from rollout import catalog`` -> ``rollout.catalog``)."""
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "rollout":
                out += [f"rollout.{a.name}" for a in node.names]
            else:
                out.append(node.module)
    return out


def allowed(module: str) -> bool:
    if module.split(".")[0] in sys.stdlib_module_names or module == "__future__":
        return True
    return any(module == a or module.startswith(f"{a}.") for a in COMPONENT_IMPORTS)


@pytest.mark.parametrize("path", sorted((ROOT / "components").glob("*.py")), ids=lambda p: p.name)
def test_components_import_only_sdks_providers_and_their_args(path: Path) -> None:
    modules = imports_of(path)
    assert not [m for m in modules if m.startswith(FORBIDDEN_IN_COMPONENTS)]
    assert [m for m in modules if not allowed(m)] == []


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from rollout.config import RegionSpec\nfrom rollout import shards\n")
    assert imports_of(bad) == ["rollout.config", "rollout.shards"]
    assert not allowed("rollout.config") and not allowed("rollout.shards")


# Runs __main__.py as `pulumi up` would, up to the build: its imports, loading and validating
# the project, and the gate checks for the stack. The build itself is replaced by a recorder
# (it needs the engine's monitor); everything __main__.py imports stays real.
REAL_PROGRAM = """
import runpy, sys
import pulumi
import rollout.program
built = []
rollout.program.build = built.append
import components.edge, components.region, components.localization  # what build imports
import components.global_database, components.shard_maps, components.weblate, rollout.l10n
runpy.run_path("__main__.py", run_name="__main__")
assert len(built) == 1, built
loaded = sorted(m for m in sys.modules if m.startswith(("rollout", "policies")))
print("\\n".join(loaded))
"""


@pytest.mark.parametrize("stack", ["eu", "global"])
def test_the_real_program_does_not_load_the_offline_runner(stack: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", REAL_PROGRAM],
        cwd=ROOT,
        env={"PULUMI_STACK": stack, "PULUMI_PROJECT": catalog.PROJECT_NAME, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "rollout.gates" in loaded and "rollout.program" in loaded  # it really ran
    assert "rollout.engine" not in loaded
    assert "policies.rules" not in loaded  # policies run beside the program, not inside it


# A type token is spelled once, in the catalog; everything else imports it.
TOKEN = re.compile(r"""["'](gcp|cloudflare|demobank|pulumi):[A-Za-z0-9_/]+:[A-Za-z]+["']""")
SPELLED_ELSEWHERE_OK = {"rollout/catalog.py"}


def test_type_tokens_live_in_the_catalog() -> None:
    found = []
    for folder in ("components", "rollout", "policies", "bench", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in SPELLED_ELSEWHERE_OK:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if TOKEN.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []
