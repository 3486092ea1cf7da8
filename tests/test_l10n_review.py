"""Four-eyes review: names, times and hashes on reviews; CODEOWNERS generated from config."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.l10n import analyse, check_catalogs, load_catalogs, record_reviews, source_hash
from rollout.l10n.catalog import MIGRATION_AT, MIGRATION_REVIEWER, text_hash
from rollout.l10n.review import BEGIN, END, codeowners_section, codeowners_text, with_section
from tests.test_l10n import run_cli
from tests.test_l10n_qa import _set, probe, translation

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "l10n"
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "locales", tmp_path / "locales")
    # pl-PL's unreviewed message, as an import by vendor-pl leaves it
    fields = translation("Witamy", "Welcome", "pl-PL")
    del fields["review"]
    fields["translator"] = "vendor-pl"
    _set(tmp_path / "locales/pl-PL/demo.yaml", "unreviewed", fields, "l10n-translation")
    return tmp_path


def message(root: Path, locale: str, key: str):  # noqa: ANN201 - TranslatedMessage
    return load_catalogs(root, [locale]).translations[locale]["demo"][key]


def test_review_records_who_when_and_what(root: Path) -> None:
    [path] = record_reviews(root, "pl-PL", ["demo.unreviewed"], "fixture-pl-reviewer", now=NOW)
    assert path == root / "locales/pl-PL/demo.yaml"
    review = message(root, "pl-PL", "unreviewed").review
    assert review is not None
    assert (review.by, review.at) == ("fixture-pl-reviewer", NOW)
    assert review.source_hash == source_hash("Welcome") and review.text_hash == text_hash("Witamy")
    assert "      at: '2026-12-02T09:30:00Z'\n" in path.read_text(encoding="utf-8")
    cov = {f.key for f in check_catalogs(root, ["pl-PL"]) if f.check == "review"}
    assert "demo.unreviewed" not in cov


@pytest.mark.parametrize(
    ("key", "reviewer", "found"),
    [
        ("demo.unreviewed", "vendor-pl", "vendor-pl is not a reviewer of pl-PL"),
        ("demo.unreviewed", MIGRATION_REVIEWER, "is not a reviewer of pl-PL"),
        ("demo.accounts", "fixture-pl-reviewer", "has a QA error (plural-categories"),
        ("demo.missing_one", "fixture-pl-reviewer", "no translator is recorded"),
        ("demo.nope", "fixture-pl-reviewer", "no source message demo.nope"),
    ],
)
def test_review_refuses_what_it_may_not_approve(
    root: Path, key: str, reviewer: str, found: str
) -> None:
    before = (root / "locales/pl-PL/demo.yaml").read_bytes()
    with pytest.raises(InputError, match=re.escape(found)):
        record_reviews(root, "pl-PL", ["demo.unreviewed", key], reviewer, now=NOW)
    assert (root / "locales/pl-PL/demo.yaml").read_bytes() == before  # all or nothing


def test_translator_may_not_review_their_own_text(root: Path) -> None:
    config = root / "locales/config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "pl-PL: [fixture-pl-reviewer]", "pl-PL: [fixture-pl-reviewer, vendor-pl]"
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="vendor-pl translated it; four eyes: another reviewer"):
        record_reviews(root, "pl-PL", ["demo.unreviewed"], "vendor-pl", now=NOW)


def test_cli_review(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(root, "l10n", "review", "pl-PL", "demo.unreviewed", "--reviewer",
                   "fixture-pl-reviewer") == 0  # fmt: skip
    assert "1 message(s) approved by fixture-pl-reviewer" in capsys.readouterr().out
    assert message(root, "pl-PL", "unreviewed").review is not None


def _review(by: str, text: str, source: str, at: str = "2026-12-01T10:00:00Z") -> dict:
    return {"by": by, "at": at, "source_hash": source_hash(source), "text_hash": text_hash(text)}


@pytest.mark.parametrize(
    ("translator", "review", "severity", "found"),
    [
        ("fixture-fr-reviewer", _review("fixture-fr-reviewer", "Aide", "Help"), "error",
         "reviewed by its own translator fixture-fr-reviewer; four eyes"),
        ("vendor-fr", _review("somebody", "Aide", "Help"), "error",
         "reviewed by somebody, who is not a reviewer of fr-FR"),
        (None, _review("fixture-fr-reviewer", "Aide", "Help"), "error",
         "no translator is recorded, so four eyes cannot be shown"),
        (None, _review(MIGRATION_REVIEWER, "Aide", "Help", "2027-01-01T00:00:00Z"), "error",
         "is the placeholder of the four-eyes migration"),
        ("vendor-fr", _review("fixture-fr-reviewer", "Aide!", "Help"), "warning",
         "the text changed after fixture-fr-reviewer's review"),
        ("vendor-fr", _review("fixture-fr-reviewer", "Aide", "Old help"), "warning",
         "approved it for another source text"),
    ],
)  # fmt: skip
def test_a_review_that_is_no_review_is_reported(
    tmp_path: Path, translator: str | None, review: dict, severity: str, found: str
) -> None:
    fields = {"text": "Aide", "source_hash": source_hash("Help"), "review": review}
    if translator:
        fields["translator"] = translator
    findings = [f for f in probe(tmp_path, "Help", fields=fields) if f.check == "review"]
    assert [(f.severity, found in f.message) for f in findings] == [(severity, True)], findings
    status = analyse(load_catalogs(tmp_path), ["fr-FR"]).status["fr-FR"]["demo.probe"]
    assert status == "translated"  # not counted, nor served, as reviewed


def test_a_former_reviewers_reviews_stay_valid_but_they_cannot_approve(root: Path) -> None:
    config = root / "locales/config.yaml"
    text = config.read_text(encoding="utf-8")
    former = "former_reviewers:\n  pl-PL: [old-pl]\nfallbacks:"
    config.write_text(text.replace("fallbacks:", former), encoding="utf-8")
    fields = translation("Witamy", "Welcome", "pl-PL", translator="vendor-pl")
    fields["review"]["by"] = "old-pl"  # type: ignore[index]
    _set(root / "locales/pl-PL/demo.yaml", "unreviewed", fields, "l10n-translation")
    assert [f for f in check_catalogs(root, ["pl-PL"]) if f.check == "review"] == []
    with pytest.raises(InputError, match="old-pl is not a reviewer of pl-PL"):
        record_reviews(root, "pl-PL", ["demo.greeting"], "old-pl", now=NOW)


def test_valid_reviews_pass(tmp_path: Path) -> None:
    migrated = {
        "text": "Aide",
        "source_hash": source_hash("Help"),
        "review": _review(MIGRATION_REVIEWER, "Aide", "Help", "2026-12-01T00:00:00Z"),
    }
    assert MIGRATION_AT.isoformat() == "2026-12-01T00:00:00+00:00"
    assert [f for f in probe(tmp_path / "a", "Help", fields=migrated) if f.check == "review"] == []
    four_eyes = translation("Aide", "Help", "fr-FR")
    assert [f for f in probe(tmp_path / "b", "Help", fields=four_eyes) if f.check == "review"] == []


def test_first_edition_state_field_is_refused_with_the_migration_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="state: is the first edition's shape"):
        probe(tmp_path, "Help", fields={"text": "Aide", "source_hash": source_hash("Help"),
                                        "state": "reviewed"})  # fmt: skip


# --- CODEOWNERS ------------------------------------------------------------------------------


def test_codeowners_is_in_sync_with_the_reviewers_in_config() -> None:
    path, current, wanted = codeowners_text(ROOT)
    assert path == ROOT / ".github/CODEOWNERS"
    assert current == wanted, "run: .venv/bin/rollout l10n codeowners"
    config = load_catalogs(ROOT, []).config
    for locale, names in config.reviewers.items():
        assert f"/locales/{locale}/ " + " ".join(f"@{n}" for n in names) in current


def test_codeowners_check_fails_when_config_changes(root: Path, capsys) -> None:  # noqa: ANN001
    assert run_cli(root, "l10n", "codeowners") == 0
    assert run_cli(root, "l10n", "codeowners", "--check") == 0
    config = root / "locales/config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("fixture-de-reviewer",
                      "new-de-reviewer"), encoding="utf-8")  # fmt: skip
    assert run_cli(root, "l10n", "codeowners", "--check") == 1
    assert "out of date" in capsys.readouterr().out


def test_codeowners_keeps_the_lines_around_its_section() -> None:
    config = load_catalogs(FIXTURE, []).config
    section = codeowners_section(config)
    current = f"* @platform\n{BEGIN}\n/old @x\n{END}\n/docs/ @writers\n"
    assert with_section(current, section) == f"* @platform\n{section}/docs/ @writers\n"
    assert with_section("* @platform\n", section) == f"* @platform\n\n{section}"
    with pytest.raises(InputError, match="must each appear once, in that order"):
        with_section(f"{END}\n{BEGIN}\n", section)
