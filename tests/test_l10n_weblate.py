"""Weblate as code, without a Weblate: the description's validation, the export it reads, who
wrote and approved what (from its history), and the strict import. The real round trip is
tests/test_weblate_e2e.py."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout import cli
from rollout.errors import InputError
from rollout.l10n import load_catalogs
from rollout.l10n.catalog import render_translation
from rollout.l10n.weblate import (
    CONFIG_FILE,
    IAP_TOKEN_ENV,
    TOKEN_ENV,
    Client,
    api_token,
    api_url,
    attribution,
    export_files,
    export_texts,
    iap_token,
    import_files,
    load_config,
    stale_exports,
)
from rollout.l10n.xliff import Approval, Attribution

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "ms-SG"
TRANSLATOR, REVIEWER = "ms-translator-a", "demobank-l10n-sg-ms-2"  # REVIEWER: of ms-SG


def test_shipped_description_maps_every_locale_and_creates_the_singapore_ones() -> None:
    config, cat = load_config(ROOT)
    assert set(config.languages) == {cat.source_locale, *cat.targets}
    assert config.new_languages == ["en-SG", "ms-SG", "ta-SG"]
    assert config.checks.enforced == ["icu_message_format", "max-length"]
    assert config.filemask("payments") == "weblate/payments/*.xlf"
    assert config.repository.push_branch != config.repository.branch


def test_committed_export_is_current() -> None:
    stale = stale_exports(export_texts(ROOT, ROOT))
    assert stale == [], f"{stale[:3]} out of date; run `rollout l10n weblate export`"
    assert cli.main(["l10n", "weblate", "export", "--check"]) == 0


def edit(root: Path, change: Any) -> None:
    path = root / CONFIG_FILE
    data = yaml.safe_load(path.read_text())
    change(data)
    header = path.read_text().splitlines()[0]
    path.write_text(header + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["languages"].pop("ta-SG"),
            "languages: ta-SG has no Weblate language; map every locale of locales/config.yaml",
        ),
        (
            lambda d: d["languages"].update({"pt-PT": "pt"}),
            "languages.pt-PT: found pt-PT, which is not a locale of locales/config.yaml; "
            "accepted: en-GB, de-DE",
        ),
        (
            lambda d: d["languages"].update({"en-SG": "ms_SG"}),
            "languages.ms-SG: found ms_SG for en-SG and ms-SG; each locale needs a language",
        ),
        (
            lambda d: d.update(files="locales/{namespace}/{locale}.xlf"),
            "files: found 'locales/{namespace}/{locale}.xlf': give a relative path outside "
            "locales/",
        ),
        (
            lambda d: d["repository"].update(push_branch="main"),
            "repository.push_branch: found 'main': that is the branch Weblate reads",
        ),
        (
            lambda d: d["checks"].update(enforced=["icu_message_format", "spelling"]),
            "checks.enforced[1]: found 'spelling': Input should be 'icu_message_format', "
            "'max-length'",
        ),
        (
            lambda d: d.update(new_languages=["en-SG", "ms-MY"]),
            "new_languages[1]: found ms-MY; accepted: target locales of locales/config.yaml",
        ),
        (
            lambda d: d["project"].update(web="http://www.demobank.example"),
            "project.web: found 'http://www.demobank.example': String should match pattern",
        ),
    ],
    ids=["missing", "unknown", "shared", "files", "branch", "check", "new", "web"],
)
def test_description_errors_name_the_file_the_key_what_was_found_and_accepted(
    project_copy: Path, change: Any, expected: str
) -> None:
    edit(project_copy, change)
    with pytest.raises(InputError) as caught:
        load_config(project_copy)
    lines = [str(p) for p in caught.value.problems]
    assert all(line.startswith("locales/weblate.yaml:") and "\n" not in line for line in lines)
    assert any(expected in line for line in lines), lines


# --- who wrote and who approved: Weblate's history ---------------------------------------------

USERS = "http://127.0.0.1:8000/api/users"


def change(n: int, action: int, text: str, state: int, author: str, user: str | None = None):
    return {
        "id": n,
        "action": action,
        "target": text,
        "author": f"{USERS}/{author}/",
        "user": f"{USERS}/{user or author}/",
        "timestamp": f"2026-12-01T10:0{n}:00.123456Z",
        "details": {"state": state},
        "unit": "u/confirm",
    }


CHANGED, NEW, ACCEPT, APPROVE, MARKED_EDIT, ENFORCED = 2, 5, 7, 36, 37, 76
OLD, TEXT = "Sahkan pembayaran", "Sahkan pembayaran ini"
APPROVED = Approval(REVIEWER, datetime.fromisoformat("2026-12-01T10:03:00+00:00"))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (  # sent back, rewritten, approved by someone else
            [
                change(1, MARKED_EDIT, OLD, 10, REVIEWER),
                change(2, CHANGED, TEXT, 20, TRANSLATOR),
                change(3, APPROVE, TEXT, 30, REVIEWER),
            ],
            Attribution(TRANSLATOR, APPROVED),
        ),
        (  # a suggestion accepted and approved in one step: its author is the translator
            [change(3, ACCEPT, TEXT, 30, TRANSLATOR, REVIEWER)],
            Attribution(TRANSLATOR, APPROVED),
        ),
        (  # approved, then sent back: no approval stands
            [
                change(2, NEW, TEXT, 20, TRANSLATOR),
                change(3, APPROVE, TEXT, 30, REVIEWER),
                change(4, MARKED_EDIT, TEXT, 10, REVIEWER),
            ],
            Attribution(TRANSLATOR, None),
        ),
        (  # the enforced check demoted it
            [
                change(2, CHANGED, TEXT, 20, TRANSLATOR),
                change(3, APPROVE, TEXT, 30, REVIEWER),
                change(4, ENFORCED, TEXT, 10, TRANSLATOR),
            ],
            Attribution(TRANSLATOR, None),
        ),
        (  # the reviewer rewrote it while approving: their own text (four eyes fails later)
            [change(2, CHANGED, OLD + "!", 20, TRANSLATOR), change(3, APPROVE, TEXT, 30, REVIEWER)],
            Attribution(REVIEWER, APPROVED),
        ),
        (  # only marked for editing: nobody here wrote the text
            [change(1, MARKED_EDIT, TEXT, 10, REVIEWER)],
            Attribution(None, None),
        ),
        (  # Weblate's last text is another one: the file's text has no record
            [change(2, CHANGED, OLD + "?", 20, TRANSLATOR)],
            Attribution(None, None),
        ),
    ],
    ids=["rework", "suggestion", "sent-back", "enforced", "approver-edits", "marked", "other-text"],
)
def test_attribution_reads_who_wrote_and_who_approved_that_very_text(
    history: list[dict[str, Any]], expected: Attribution
) -> None:
    assert attribution(history, TEXT) == expected


# --- the strict import, with Weblate's history from a stand-in ---------------------------------


class History:
    """Stands in for the REST client: what /units/ and /changes/ of a translation list."""

    url = "http://127.0.0.1:8000"

    def __init__(self, changes: dict[tuple[str, str], list[dict[str, Any]]]):
        self.changes = changes  # (namespace, key) -> changes
        self.asked: list[str] = []

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        self.asked.append(path)
        _, _, ns, code, what = path.strip("/").split("/")
        keys = [k for (n, k) in self.changes if n == ns]
        if what == "units":
            yield from ({"url": f"u/{ns}/{k}", "context": k} for k in keys)
        else:
            for n, k in self.changes:
                if n == ns:
                    yield from ({**c, "unit": f"u/{ns}/{k}"} for c in self.changes[n, k])


@pytest.fixture
def exported(project_copy: Path) -> Path:
    export_files(project_copy, project_copy)
    return project_copy


def set_target(root: Path, ns: str, key: str, text: str, approved: bool = True) -> None:
    """Weblate's file as it pushes it: the unit's target, state and approval."""
    path = root / "weblate" / ns / f"{LOCALE}.xlf"
    data = path.read_text()
    start = data.index(f'<trans-unit id="{key}"')
    end = data.index("</trans-unit>", start)
    opening, rest = data[start:end].split(">", 1)
    opening = opening.replace(' approved="yes"', "") + (' approved="yes"' if approved else "")
    state = "final" if approved else "translated"
    target = f'<target state="{state}">{text}</target>'
    rest = re.sub(r"<target[^>]*>.*?</target>", target, rest, flags=re.S)
    path.write_text(data[:start] + opening + ">" + rest + data[end:])


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((root / "locales").rglob("*.yaml"))}


def rework(reviewer: str = REVIEWER, translator: str = TRANSLATOR, text: str = TEXT):
    return [change(2, CHANGED, text, 20, translator), change(3, APPROVE, text, 30, reviewer)]


def test_an_approved_rewrite_lands_with_its_translator_and_reviewer(exported: Path) -> None:
    set_target(exported, "payments", "confirm", TEXT)
    weblate = History({("payments", "confirm"): rework()})
    outcome = import_files(exported, exported, weblate)  # type: ignore[arg-type]
    (result,) = [r for r in outcome.results if r.locale == LOCALE]
    assert (result.imported, result.approved, result.conflicts, result.findings) == (
        ["payments.confirm"], ["payments.confirm"], [], []
    )  # fmt: skip
    message = load_catalogs(exported).translations[LOCALE]["payments"]["confirm"]
    assert (message.text, message.translator) == (TEXT, TRANSLATOR)
    assert message.review is not None
    assert (message.review.by, message.review.at) == (REVIEWER, APPROVED.at)
    assert [p.name for p in outcome.written] == ["payments.yaml"]
    # Only the translations that changed asked Weblate for their history.
    assert {p.split("/")[3] for p in weblate.asked} == {"ms_SG"}


@pytest.mark.parametrize(
    ("history", "approved", "expected"),
    [
        (rework(reviewer=TRANSLATOR), True, "error ms-SG:payments.confirm: review: reviewed by "
         f"its own translator {TRANSLATOR}"),
        (rework(reviewer="demobank-l10n-de-1"), True, "error ms-SG:payments.confirm: review: "
         "reviewed by demobank-l10n-de-1, who is not a reviewer of ms-SG"),
        ([change(2, CHANGED, TEXT, 20, TRANSLATOR)], True, "conflict ms-SG:payments.confirm: "
         "approved in the file, but Weblate records no approval of this text"),
        ([], False, "conflict ms-SG:payments.confirm: Weblate has no record of who wrote this "
         "text"),
    ],
    ids=["own-approval", "not-a-reviewer", "approval-not-in-history", "text-not-in-history"],
)  # fmt: skip
def test_the_import_believes_the_file_only_as_far_as_weblate_history_confirms_it(
    exported: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    history: list[dict[str, Any]],
    approved: bool,
    expected: str,
) -> None:
    set_target(exported, "payments", "confirm", TEXT, approved=approved)
    before = snapshot(exported)
    weblate = History({("payments", "confirm"): history})
    monkeypatch.setattr("rollout.l10n.weblate.Client", lambda *a, **k: weblate)
    monkeypatch.setenv(TOKEN_ENV, "not-a-real-token")
    monkeypatch.chdir(exported)
    assert cli.main(["l10n", "weblate", "import", "--url", "http://127.0.0.1:8000"]) == 1
    out = capsys.readouterr().out
    assert expected in out, out
    assert "nothing written" in out
    assert snapshot(exported) == before


def test_an_approval_of_an_unchanged_unreviewed_text_records_the_review(exported: Path) -> None:
    cat = load_catalogs(exported)
    messages = dict(cat.translations[LOCALE]["payments"])
    old = messages["confirm"]
    messages["confirm"] = old.model_copy(update={"review": None, "translator": TRANSLATOR})
    path, text = render_translation(exported, LOCALE, "payments", messages)
    path.write_text(text)
    set_target(exported, "payments", "confirm", old.text)
    history = [change(3, APPROVE, old.text, 30, REVIEWER)]
    outcome = import_files(exported, exported, History({("payments", "confirm"): history}))  # type: ignore[arg-type]
    (result,) = [r for r in outcome.results if r.locale == LOCALE]
    assert (result.imported, result.approved, result.refused) == ([], ["payments.confirm"], False)
    message = load_catalogs(exported).translations[LOCALE]["payments"]["confirm"]
    assert (message.text, message.translator, message.review and message.review.by) == (
        old.text, TRANSLATOR, REVIEWER
    )  # fmt: skip


def test_a_source_changed_while_the_translation_was_open_is_a_conflict(exported: Path) -> None:
    set_target(exported, "payments", "confirm", TEXT)
    source = exported / "locales" / "en-GB" / "payments.yaml"
    source.write_text(source.read_text().replace("text: Confirm payment", "text: Pay now"))
    before = snapshot(exported)
    weblate = History({("payments", "confirm"): rework()})
    outcome = import_files(exported, exported, weblate)  # type: ignore[arg-type]
    assert outcome.refused and outcome.written == []
    conflicts = [c for r in outcome.results for c in r.conflicts]
    assert any(
        c.startswith("payments.confirm: the source text changed since export") for c in conflicts
    ), conflicts
    assert snapshot(exported) == before


# --- the address and the token ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://weblate.demobank.example", "found http://weblate.demobank.example; accepted: "
         "https:// (http:// only to a loopback address"),
        ("https://admin:s3cret-value@weblate.demobank.example", "the address carries "
         "credentials"),
        ("", "give Weblate's address with --url or WEBLATE_URL"),
    ],
)  # fmt: skip
def test_the_address_must_keep_the_token_off_the_network(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.delenv("WEBLATE_URL", raising=False)
    with pytest.raises(InputError) as caught:
        api_url(url or None)
    assert expected in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert api_url("https://weblate.demobank.example") == "https://weblate.demobank.example"


def test_the_token_comes_from_the_environment_and_never_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(InputError, match="WEBLATE_TOKEN: not set"):
        api_token()
    token = "wlu_" + "x7" * 20

    class Refuse(http.server.BaseHTTPRequestHandler):
        seen: list[str] = []

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            Refuse.seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"errors": [{"detail": "Invalid token.", "attr": None}]}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = Client(f"http://127.0.0.1:{server.server_port}", token, timeout=10)
        with pytest.raises(InputError) as caught:
            client.get("projects/")
    finally:
        server.shutdown()
    assert Refuse.seen == [f"Token {token}"]
    assert str(caught.value).endswith("GET /api/projects/: HTTP 401: Invalid token.")
    assert token not in str(caught.value) and token not in repr(client)


def test_behind_iap_the_id_token_rides_in_proxy_authorization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(IAP_TOKEN_ENV, raising=False)
    assert iap_token() is None  # a local Weblate: no IAP, no header
    monkeypatch.setenv(IAP_TOKEN_ENV, " eyJ.id.token \n")
    assert iap_token() == "eyJ.id.token"

    class Record(http.server.BaseHTTPRequestHandler):
        seen: list[tuple[str, str]] = []

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            headers = (
                self.headers.get("Authorization", ""),
                self.headers.get("Proxy-Authorization", ""),
            )
            Record.seen.append(headers)
            body = b'{"results": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        Client(url, "wlu_a", timeout=10, iap_token=iap_token()).get("projects/")
        Client(url, "wlu_b", timeout=10).get("projects/")
    finally:
        server.shutdown()
    # IAP reads the ID token; Weblate reads its own token; without IAP, no second header.
    assert Record.seen == [("Token wlu_a", "Bearer eyJ.id.token"), ("Token wlu_b", "")]
    client = Client("https://weblate.demobank.example", "wlu_a", iap_token="eyJ.id.token")
    assert "eyJ" not in repr(client)


def test_validate_holds_the_weblate_description_for_the_global_stack(project_copy: Path) -> None:
    from rollout.config import load_project
    from rollout.gates import stack_checks

    project = load_project(project_copy)
    assert stack_checks(project) == []  # the shipped description passes
    path = project_copy / CONFIG_FILE
    text = path.read_text()
    path.write_text(text.replace("  ta-SG: ta_SG\n", "  ta-SG: ms_SG\n", 1))
    line = text[: text.index("  ta-SG: ta_SG")].count("\n") + 1
    assert [str(p) for p in stack_checks(project, ["global"])] == [
        f"{CONFIG_FILE}:{line}:3: languages.ta-SG: found ms_SG for ms-SG and ta-SG; each locale "
        "needs a language of its own"
    ]
    assert stack_checks(project, ["eu", "apac"]) == []  # a region never waits on Weblate
