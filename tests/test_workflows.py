"""The GitHub workflows: valid against the published schema, and shaped as the project needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action)]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def test_every_workflow_is_valid() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"pr.yml", "preview.yml", "deploy.yml"}
    done = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_pr_workflow_tests_plans_diffs_and_comments() -> None:
    wf = load("pr.yml")
    assert "pull_request" in wf["on"]
    assert wf["permissions"] == {"contents": "read", "pull-requests": "write"}
    (job,) = wf["jobs"].values()
    text = runs(job)
    assert "secrets." not in (WORKFLOWS / "pr.yml").read_text()  # no cloud credentials
    assert uses(job, "actions/setup-python")[0]["with"]["python-version"] == "3.11"
    assert "make test" in text
    assert "rollout plan --all" in text and "--json" in text
    assert "git worktree add" in text and "github.event.pull_request.base.sha" in str(job)
    assert "rollout diff" in text and "> diff.md" in text
    names = [s.get("name") or s.get("uses") for s in steps(job)]
    diff_at = next(i for i, s in enumerate(steps(job)) if "rollout diff" in str(s.get("run")))
    (comment,) = uses(job, "marocchino/sticky-pull-request-comment@v2")
    assert comment["with"] == {"header": "rollout-diff", "path": "diff.md"}
    comment_at = steps(job).index(comment)
    fail = steps(job)[-1]
    # The diff never fails its own step; the comment is posted before the job fails.
    assert "set +e" in steps(job)[diff_at]["run"]
    assert diff_at < comment_at < len(names) - 1
    assert "steps.diff.outputs.code != '0'" in fail["if"] and "exit 1" in fail["run"]


def test_preview_runs_every_stack_with_the_policy_pack() -> None:
    wf = load("preview.yml")
    assert "pull_request" in wf["on"]
    (job,) = wf["jobs"].values()
    assert "vars.PULUMI_PREVIEW_ENABLED == 'true'" in job["if"]
    assert job["strategy"]["matrix"]["stack"] == ["eu", "apac", "global"]
    (pulumi,) = uses(job, "pulumi/actions@v6")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policy-config.json"
    assert "rollout policy-config ${{ matrix.stack }} --out policy-config.json" in runs(job)
    assert "matrix.stack" in pulumi["with"]["stack-name"]
    assert set(pulumi["env"]) == {"PULUMI_ACCESS_TOKEN", "CLOUDFLARE_API_TOKEN"}
    assert uses(job, "google-github-actions/auth@v2")
    assert wf["permissions"]["id-token"] == "write"


@pytest.mark.parametrize("job_name", ["regional", "global"])
def test_deploy_jobs_are_protected(job_name: str) -> None:
    wf = load("deploy.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["concurrency"]["cancel-in-progress"] is False
    job = wf["jobs"][job_name]
    assert job["environment"] == "production"
    (pulumi,) = uses(job, "pulumi/actions@v6")
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPacks"] == "policies"
    # the residency rules fail closed without the stack's policy config
    assert pulumi["with"]["policyPackConfigs"] == "policy-config.json"
    assert "rollout policy-config" in runs(job)


def test_deploy_orders_regional_before_global() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert jobs["regional"]["strategy"]["matrix"]["stack"] == ["eu", "apac"]
    assert jobs["global"]["needs"] == "regional"
    assert jobs["regional"]["needs"] == "gate"
    assert "make test" in runs(jobs["gate"])
    (pulumi,) = uses(jobs["global"], "pulumi/actions@v6")
    assert pulumi["with"]["stack-name"] == "demobank/global"


def test_weblate_pull_request_imports_checks_and_gates_before_committing() -> None:
    wf = load("weblate.yml")
    (job,) = wf["jobs"].values()
    assert "head.ref == 'weblate'" in job["if"]  # repository.push_branch of locales/weblate.yaml
    order = [str(s.get("run", "")) for s in steps(job)]
    at = {
        name: next(i for i, run in enumerate(order) if name in run)
        for name in ("rollout l10n weblate import", "rollout l10n check", "rollout validate",
                     "git push")
    }  # fmt: skip
    assert list(at.values()) == sorted(at.values()), at
    (imp,) = [s for s in steps(job) if str(s.get("run")).endswith("rollout l10n weblate import")]
    assert imp["env"]["WEBLATE_TOKEN"] == "${{ secrets.WEBLATE_TOKEN }}"
    assert "WEBLATE_TOKEN" not in str(imp["run"])  # the token is never an argument
    # Through IAP: the CI account's ID token, from keyless federation, before the import.
    (auth,) = uses(job, "google-github-actions/auth")
    assert auth["with"]["token_format"] == "id_token" and "credentials_json" not in auth["with"]
    assert imp["env"]["WEBLATE_IAP_TOKEN"] == f"${{{{ steps.{auth['id']}.outputs.id_token }}}}"
    assert steps(job).index(auth) < steps(job).index(imp)
    assert wf["permissions"]["id-token"] == "write"
