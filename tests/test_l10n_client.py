"""The frontend client (clients/l10n) against bundles `rollout l10n build` really produced.

The bundles of the shipped catalogs are built into a temporary folder, which node's own test
runner serves from a local HTTP server on 127.0.0.1 (clients/l10n/test/client.test.js).
Missing node or node_modules fails the test, with the command that installs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_l10n import run_cli

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "l10n"
TIMEOUT = 120


def test_client_against_real_bundles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not installed; install Node.js 20 or later (the client's tests run on it)"
        )
    if not (CLIENT / "node_modules" / "intl-messageformat").is_dir():
        pytest.fail(f"{CLIENT.relative_to(ROOT)}/node_modules is missing; run: npm ci --prefix "
                    "clients/l10n")  # fmt: skip
    out = tmp_path / "l10n"
    assert run_cli(ROOT, "l10n", "build", "--out", str(out)) == 0
    capsys.readouterr()
    assert (out / "manifest.json").is_file()
    env = {**os.environ, "L10N_BUNDLES_DIR": str(out), "NO_COLOR": "1"}
    try:
        done = subprocess.run(
            [node, "--test", "--test-reporter=spec", "test/"],
            cwd=CLIENT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node --test took over {TIMEOUT} s:\n{exc.stdout}\n{exc.stderr}")
    else:
        assert done.returncode == 0, f"node --test failed:\n{done.stdout}\n{done.stderr}"
        passed = re.search(r"^\S+ pass (\d+)$", done.stdout, re.MULTILINE)
        assert passed and int(passed.group(1)) >= 13, done.stdout  # every case ran
        assert re.search(r"^\S+ fail 0$", done.stdout, re.MULTILINE), done.stdout
