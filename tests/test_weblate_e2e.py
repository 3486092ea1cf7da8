"""The Weblate round trip against a real Weblate (tests/weblate_server.py), on 127.0.0.1 only.

A bare Git repository in a temporary folder plays the code host: its ``main`` holds a copy of
the project (catalogs, regions, the XLIFF export). ``rollout l10n weblate sync`` sets Weblate up
from ``locales/weblate.yaml`` (twice: the second run changes nothing); a translator edits a
string through the API, a reviewer of that locale approves it, Weblate commits and force-pushes
to the ``weblate`` branch; the pull request's CI steps (strict import, check, the go-live gate)
run on a clone of that branch. Then texts Weblate lets through but the repository's QA refuses.

Selected with ``-m weblate``; part of the normal suite, and it fails (never skips) when Weblate,
PostgreSQL or Redis cannot start. It takes about a minute; the time of each phase is printed at
the end of the run (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollout import cli
from rollout.l10n import load_catalogs
from rollout.l10n.catalog import TranslatedMessage
from rollout.l10n.weblate import TOKEN_ENV, load_config, team_name
from tests.weblate_server import Weblate, running_weblate

pytestmark = pytest.mark.weblate

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = (".gitignore", "Pulumi.yaml", "regions", "stacks", "locales", "schema", "weblate")
LOCALE, CODE = "ms-SG", "ms_SG"
TRANSLATOR = "ms-translator-a"  # writes in Weblate; not a reviewer
REVIEWER = "demobank-l10n-sg-ms-2"  # a reviewer of ms-SG in locales/config.yaml
TIMINGS: dict[str, float] = {}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.test", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@dataclass
class Setup:
    weblate: Weblate
    upstream: Path
    main: Path  # the checkout main was committed from
    sync_output: str
    tmp: Path

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.weblate.url}/api/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Token {token or self.weblate.admin_token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read() or b"null")

    def rework(self, unit: dict[str, Any], text: str) -> None:
        """Day to day in Weblate: the reviewer sends an approved string back ("needs
        editing"), the translator rewrites it, the reviewer approves the new text."""
        old, tokens, path = unit["target"], self.weblate.tokens, f"units/{unit['id']}/"
        self.api("PATCH", path, {"target": old, "state": 10}, tokens[REVIEWER])
        self.api("PATCH", path, {"target": [text], "state": 20}, tokens[TRANSLATOR])
        with pytest.raises(urllib.error.HTTPError) as denied:  # a translator is no reviewer
            self.api("PATCH", path, {"target": [text], "state": 30}, tokens[TRANSLATOR])
        assert denied.value.code == 400, denied.value.read()
        self.api("PATCH", path, {"target": [text], "state": 30}, tokens[REVIEWER])

    def unit(self, ns: str, key: str, code: str = CODE) -> dict[str, Any]:
        page = self.api("GET", f"translations/demobank/{ns}/{code}/units/?page_size=200")
        return next(u for u in page["results"] if u["context"] == key)

    def clone_pr(self, name: str) -> Path:
        """A fresh checkout of Weblate's branch: what CI checks out on the pull request."""
        out = self.tmp / name
        git("clone", "--quiet", "--branch", "weblate", str(self.upstream), str(out), cwd=self.tmp)
        return out


def run(argv: list[str], cwd: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("weblate-e2e")
    main = tmp / "main"
    main.mkdir()
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, main / name)
    upstream = tmp / "upstream.git"
    # The description as shipped, pointed at the local "code host".
    config = main / "locales" / "weblate.yaml"
    text = config.read_text()
    for line in ("url: https://github.com/demobank/rollout.git",
                 "push: git@github.com:demobank/rollout.git"):  # fmt: skip
        assert line in text
        text = text.replace(line, f"{line.split(':')[0]}: {upstream}")
    config.write_text(text)
    git("init", "--quiet", "--initial-branch=main", cwd=main)
    git("add", ".", cwd=main)
    git("commit", "--quiet", "-m", "catalogs and their XLIFF export", cwd=main)
    git("clone", "--quiet", "--bare", str(main), str(upstream), cwd=tmp)

    started = time.monotonic()
    with running_weblate([TRANSLATOR, REVIEWER]) as weblate, pytest.MonkeyPatch.context() as mp:
        TIMINGS["start Weblate, PostgreSQL, Redis"] = time.monotonic() - started
        mp.setenv(TOKEN_ENV, weblate.admin_token)
        mp.chdir(main)
        began = time.monotonic()
        # capsys is function-scoped: capture this one run by hand.
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = cli.main(["l10n", "weblate", "sync", "--url", weblate.url])
        TIMINGS["first sync (clones, parses 40 files)"] = time.monotonic() - began
        assert code == 0, buffer.getvalue()
        yield Setup(weblate, upstream, main, buffer.getvalue(), tmp)


def test_sync_sets_weblate_up_and_a_second_run_changes_nothing(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    out = setup.sync_output
    for line in (
        "created language en_SG (English (Singapore)) for en-SG",
        "created language ms_SG (Malay (Singapore)) for ms-SG",
        "created language ta_SG (Tamil (Singapore)) for ta-SG",
        "created project demobank",
        "installed add-on weblate.git.squash on project demobank (all)",
        "created component demobank/accounts (weblate/accounts/*.xlf)",
        "created component demobank/sign-in (weblate/sign-in/*.xlf)",
        f"added {REVIEWER} to team 'demobank reviewers ms-SG'",
    ):
        assert line in out, out
    # Reviewers without a Weblate account are named, not invented.
    assert "waiting: demobank-l10n-sg-ms-1 (ms-SG reviewer) has no Weblate account yet" in out

    code, again = run(["l10n", "weblate", "sync", "--url", setup.weblate.url], setup.main, capsys)
    assert code == 0, again
    assert again.splitlines()[-1] == f"weblate sync {setup.weblate.url}: 0 change(s)", again

    # What Weblate now holds, read back through its API.
    project = setup.api("GET", "projects/demobank/")
    assert project["translation_review"] is True
    assert "ms-SG:ms_SG" in project["language_aliases"].split(",")
    component = setup.api("GET", "components/demobank/payments/")
    assert component["enforced_checks"] == ["icu_message_format", "max-length"]
    assert component["check_flags"] == "icu-message-format"
    assert (component["file_format"], component["filemask"]) == ("xliff", "weblate/payments/*.xlf")
    accounts = setup.api("GET", "components/demobank/accounts/")
    assert (accounts["branch"], accounts["push_branch"]) == ("main", "weblate")
    # One clone for every namespace: the others link to the first.
    assert component["linked_component"] == f"{setup.weblate.url}/api/components/demobank/accounts/"
    config, cat = load_config(setup.main)
    source = config.languages[cat.source_locale]
    languages = [
        t
        for t in setup.api("GET", "components/demobank/payments/translations/")["results"]
        if t["language"]["code"] != source
    ]
    assert sorted(t["language_code"] for t in languages) == sorted(cat.targets)
    assert {t["language"]["code"] for t in languages} == {config.languages[t] for t in cat.targets}
    groups = {g["name"]: g for g in setup.api("GET", "groups/?page_size=200")["results"]}
    team = groups[team_name("demobank", LOCALE)]
    assert [u.rsplit("/", 2)[-2] for u in team["languages"]] == [CODE]
    # Weblate enforces the teams: the ms-SG reviewer may not approve German, the translator
    # may not approve at all.
    german, malay = setup.unit("payments", "title", "de"), setup.unit("payments", "title")
    for unit, who in ((german, REVIEWER), (malay, TRANSLATOR)):
        with pytest.raises(urllib.error.HTTPError) as denied:
            body = {"target": unit["target"], "state": 30}
            setup.api("PATCH", f"units/{unit['id']}/", body, setup.weblate.tokens[who])
        assert denied.value.code in (400, 403), (who, denied.value.read())


def messages(root: Path) -> dict[tuple[str, str, str], TranslatedMessage]:
    cat = load_catalogs(root)
    return {
        (locale, ns, key): m
        for locale, namespaces in cat.translations.items()
        for ns, msgs in namespaces.items()
        for key, m in msgs.items()
    }


def test_an_approved_edit_comes_back_with_its_translator_and_reviewer(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    text = "Sahkan pembayaran ini"
    unit = setup.unit("payments", "confirm")
    assert unit["approved"] is True  # reviewed in the catalogs, so approved in Weblate
    setup.rework(unit, text)
    setup.api("POST", "projects/demobank/repository/", {"operation": "push"})

    pr = setup.clone_pr("pr-1")
    log = git("log", "--format=%s", "main..weblate", cwd=setup.upstream).splitlines()
    assert len(log) == 1, log  # squashed into one commit
    changed = git("diff", "--name-only", "main", "weblate", cwd=setup.upstream).split()
    assert changed == ["weblate/payments/ms-SG.xlf"]

    before = messages(pr)
    code, out = run(["l10n", "weblate", "import", "--url", setup.weblate.url], pr, capsys)
    assert code == 0, out
    assert "l10n weblate import ms-SG: 1 changed, 1 approved" in out, out
    after = messages(pr)
    diff = {k for k in after if after[k] != before.get(k)}
    assert diff == {(LOCALE, "payments", "confirm")}, diff
    message = after[(LOCALE, "payments", "confirm")]
    assert (message.text, message.translator) == (text, TRANSLATOR)
    assert message.review is not None and message.review.by == REVIEWER
    assert git("status", "--porcelain", cwd=pr).split() == ["M", "locales/ms-SG/payments.yaml"]

    # The rest of the pull request's CI: the catalogs' QA and the go-live gate.
    code, out = run(["l10n", "check"], pr, capsys)
    assert code == 0 and " 0 error(s)" in out, out
    code, out = run(["validate"], pr, capsys)
    assert code == 0, out
    TIMINGS["edit, approve, push, import, check, gate"] = time.monotonic() - began


@pytest.mark.parametrize(
    ("key", "text", "check"),
    [
        ("transfer_sent", "{amount} dihantar kepada \u202e{name}", "bidi"),
        (
            "cut_off",
            "Pembayaran yang dibuat selepas {cutoff, time, ::jmm} diproses pada hari bekerja "
            "berikutnya.",
            "argument-format",
        ),
    ],
    ids=["bidi-override", "time-skeleton"],
)
def test_what_weblate_lets_through_the_repository_refuses(
    setup: Setup, capsys: pytest.CaptureFixture[str], key: str, text: str, check: str
) -> None:
    began = time.monotonic()
    unit = setup.unit("payments", key)
    setup.rework(unit, text)
    after = setup.unit("payments", key)
    assert (after["target"], after["approved"]) == ([text], True)  # Weblate let it through
    setup.api("POST", "projects/demobank/repository/", {"operation": "push"})

    pr = setup.clone_pr(f"pr-{check}")
    before = {p: p.read_bytes() for p in (pr / "locales").rglob("*.yaml")}
    code, out = run(["l10n", "weblate", "import", "--url", setup.weblate.url], pr, capsys)
    assert code == 1, out
    assert f"error {LOCALE}:payments.{key}: {check}:" in out, out
    assert "nothing written" in out
    assert before == {p: p.read_bytes() for p in (pr / "locales").rglob("*.yaml")}

    # Put it back, so the next case meets only its own text.
    setup.api("PATCH", f"units/{unit['id']}/", {"target": unit["target"], "state": 30})
    TIMINGS[f"refuse {check}"] = time.monotonic() - began
