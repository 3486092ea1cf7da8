"""Do two revisions plan the same? ``python -m tests.plan_identity [BASE] [--stacks eu,apac]``.

For a refactor that must change no behaviour: plans every stack with ``rollout plan --json``
at BASE (a git revision, default HEAD, checked out into a temporary worktree) and in the
working tree, and compares the files byte for byte. Prints one line per stack and, for a
stack that differs, which resources and which of their fields changed. Exit 0 if every
stack is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plan_json(tree: Path, stack: str, out: Path) -> bytes:
    """``rollout plan STACK --json`` run with ``tree``'s own code (not the installed one)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, "-m", "rollout.cli", "plan", stack, "--quiet", "--json", str(out)],
        cwd=tree,
        env=env,
        check=False,  # a policy violation exits 1 and still writes the plan
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    return out.read_bytes()


def differences(base: bytes, head: bytes) -> list[str]:
    """What differs between two saved plans: resource urn and field, or the outputs."""
    a, b = json.loads(base), json.loads(head)
    ra = {r["urn"]: r for r in a["resources"]}
    rb = {r["urn"]: r for r in b["resources"]}
    out = [f"only in base: {u}" for u in sorted(ra.keys() - rb.keys())]
    out += [f"only in head: {u}" for u in sorted(rb.keys() - ra.keys())]
    for urn in sorted(ra.keys() & rb.keys()):
        fields = sorted(
            k for k in ra[urn].keys() | rb[urn].keys() if ra[urn].get(k) != rb[urn].get(k)
        )
        if fields:
            out.append(f"{urn}: {', '.join(fields)}")
    if a.get("outputs") != b.get("outputs"):
        out.append("outputs differ")
    if not out and base != head:
        out.append("same content, different bytes (order or formatting)")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base", nargs="?", default="HEAD", help="git revision to compare with")
    p.add_argument("--stacks", default="eu,apac,global")
    args = p.parse_args(argv)
    stacks = [s for s in args.stacks.split(",") if s]
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(worktree), args.base],
            cwd=ROOT,
            check=True,
        )
        try:
            for stack in stacks:
                base = plan_json(worktree, stack, Path(tmp) / f"base-{stack}.json")
                head = plan_json(ROOT, stack, Path(tmp) / f"head-{stack}.json")
                found = differences(base, head)
                print(f"{stack}: {'identical' if not found else 'DIFFERS'} ({len(head)} bytes)")
                for line in found:
                    print(f"    {line}")
                same = same and not found
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
