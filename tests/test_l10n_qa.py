"""The second edition's QA: every check with a passing and a failing example, and its fix.

Each case writes one source message (``demo.probe``) and, where it is about a translation, a
reviewed translation of it into a copy of tests/fixtures/l10n, then runs the very
``check_catalogs`` that ``rollout l10n check`` runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rollout.l10n import check_catalogs, scan
from rollout.l10n.catalog import dump_catalog, schema_header, source_hash, text_hash
from rollout.l10n.checks import Finding

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "l10n"
REVIEWER = {"fr-FR": "fixture-fr-reviewer", "pl-PL": "fixture-pl-reviewer",
            "zh-Hans-SG": "fixture-zh-reviewer", "en-SG": "fixture-sg-reviewer",
            "de-DE": "fixture-de-reviewer"}  # fmt: skip


def _set(path: Path, key: str, fields: dict[str, object], kind: str) -> None:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    messages = (data or {}).get("messages") or {}
    messages[key] = fields
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_catalog(schema_header(kind, 1), messages), encoding="utf-8")


def translation(text: str, source: str, locale: str, **extra: object) -> dict[str, object]:
    """A translation by fixture-translator, approved by the locale's fixture reviewer."""
    review = {
        "by": REVIEWER[locale],
        "at": "2026-12-01T10:00:00Z",
        "source_hash": source_hash(source),
        "text_hash": text_hash(text),
    }
    fields: dict[str, object] = {
        "text": text,
        "source_hash": source_hash(source),
        "translator": "fixture-translator",
        "review": review,
    }
    fields.update(extra)
    return fields


def probe(
    root: Path,
    source: str,
    target: str | None = None,
    locale: str = "fr-FR",
    *,
    fields: dict[str, object] | None = None,
    **extra: object,
) -> list[Finding]:
    """Findings of demo.probe in the source and ``locale`` after writing it there."""
    if not (root / "locales").exists():
        shutil.copytree(FIXTURE / "locales", root / "locales")
    _set(
        root / "locales/en-GB/demo.yaml",
        "probe",
        {"text": source, "description": "A probe"},
        "l10n-source",
    )
    if target is not None or fields is not None:
        body = fields if fields is not None else translation(target or "", source, locale, **extra)
        _set(root / f"locales/{locale}/demo.yaml", "probe", body, "l10n-translation")
    return [f for f in check_catalogs(root, ["en-GB", locale]) if f.key == "demo.probe"]


def of(findings: list[Finding], check: str, locale: str = "fr-FR") -> list[str]:
    return [f.message for f in findings if f.check == check and f.locale == locale]


# Each case: check, locale, source, a translation that passes, one that fails, what the
# failure says (a fragment naming what was found) and its fix (a fragment of the advice).
CASES = [
    ("markup", "fr-FR", "Press <b>Send</b>", "Appuyez sur <b>Envoyer</b>",
     "Appuyez sur <i>Envoyer</i>", "has </i>, <i> the source has not; lacks the source's </b>",
     "use exactly the source's tags"),
    ("markup", "fr-FR", "Press Send", "Appuyez sur Envoyer", "Appuyez sur <b>Envoyer</b>",
     "has </b>, <b> the source has not", "markup only where the source has it"),
    ("markup", "fr-FR", "Line one<br/>line two", "Ligne un<br/>ligne deux",
     "Ligne un<br>ligne deux", "write '<br>' as <br/>", "the formatter reads only that"),
    ("unsafe", "fr-FR", "Press <b>Send</b>", "Appuyez sur <b>Envoyer</b>",
     "Appuyez sur <b onerror=alert(1)>Envoyer</b>", "event handler (onerror=)", "delete it"),
    ("unsafe", "fr-FR", "Read the terms", "Lisez les conditions",
     "Lisez les conditions<script>alert(1)</script>", "<script> tag", "delete it"),
    ("unsafe", "fr-FR", "Read the terms", "Lisez les conditions",
     "Lisez jav&#x61;\tscript:alert(1)", "javascript: link", "delete it"),
    ("bidi", "fr-FR", "Send", "Envoyer", "Env\u202eoyer",
     "U+202E RIGHT-TO-LEFT OVERRIDE", "never allowed"),
    ("bidi", "fr-FR", "Send", "Envoyer", "Envoyer\u200f",
     "U+200F RIGHT-TO-LEFT MARK", "no right-to-left text here needs a direction mark"),
    ("invisible", "fr-FR", "Well done", "Bravo \U0001f469\u200d\U0001f4bb",
     "Bra\u200bvo", "U+200B ZERO WIDTH SPACE at character 3", "delete it"),
    ("invisible", "fr-FR", "Well done", "Bravo", "Bra\u200dvo",
     "U+200D ZERO WIDTH JOINER", "only inside emoji sequences"),
    ("links", "fr-FR", "Help: https://demobank.example/help", "Aide : https://demobank.example/help",
     "Aide : https://demobank-help.example/help", "lacks the source's https://demobank.example/help",
     "keep URLs, host names and e-mail addresses exactly"),
    ("links", "fr-FR", "Write to help@demobank.example", "Écrivez à help@demobank.example",
     "Écrivez à aide@demobank.example", "has aide@demobank.example the source has not",
     "exactly as the source writes them"),
    ("argument-format", "fr-FR", "After {t, time, short}", "Après {t, time, short}",
     "Après {t, time, full}", "{t, time, full} here but {t, time, short} in the source",
     "keep each argument's type, style and skeleton"),
    ("argument-format", "fr-FR", "Fee {a, number, ::currency/GBP}",
     "Frais {a, number, ::currency/GBP}", "Frais {a, number, ::currency/EUR}",
     "{a, number, ::currency/EUR} here but {a, number, ::currency/GBP}", "skeleton"),
    ("argument-format", "fr-FR", "Fee {a, number, ::currency/GBP}",
     "Frais {a, number, ::currency/GBP}", "Frais {a, number, integer}",
     "{a, number, integer} here", "type, style and skeleton"),
    ("plural-hash", "pl-PL", "{n, plural, one {# item} other {# items}}",
     "{n, plural, one {# pozycja} few {# pozycje} many {# pozycji} other {# pozycji}}",
     "{n, plural, one {# pozycja} few {pozycje} many {# pozycji} other {# pozycji}}",
     "branch few lacks #, which the source's other branch shows", "keep # so the number"),
    ("plural-hash", "fr-FR", "{n, plural, one {# item} other {# items}}",
     "{n, plural, one {# article} many {# d’articles} other {# articles}}",
     "{n, plural, one {un article} many {# d’articles} other {# articles}}",
     "branch one lacks #", "keep # so the number appears"),
    ("numbers", "fr-FR", "Valid until 12/03/2027", "Valable jusqu’au 12/03/2027",
     "Valable jusqu’au 03.12.2027", "another order (03, 12, 2027; the source: 12, 03, 2027)",
     "keep every number of the source, in its order"),
    ("numbers", "fr-FR", "Enter the 6-digit code", "Saisissez le code à 6 chiffres",
     "Saisissez le code à 6 chiffres (2 essais)", "has number(s) 2 the source does not",
     "add none"),
    ("whitespace", "fr-FR", "Sign out", "Se déconnecter", "Se déconnecter ",
     "trailing whitespace the source has not", "space it as the source is"),
    ("punctuation", "fr-FR", "Try again.", "Réessayez.", "Réessayez",
     "ends without punctuation but the source ends with a full stop", "end it as the source"),
    ("punctuation", "zh-Hans-SG", "Try again.", "请重试。", "请重试",
     "ends without punctuation", "in this language's punctuation"),
    ("same-as-source", "en-SG", "Goodbye", None, "Goodbye",
     "identical to the source", "mark it same_as_source: true"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "locale", "source", "good", "bad", "found", "fix"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_check_passes_good_text_and_fails_bad_text(
    tmp_path: Path,
    check: str,
    locale: str,
    source: str,
    good: str | None,
    bad: str,
    found: str,
    fix: str,
) -> None:
    if good is not None:
        assert of(probe(tmp_path / "good", source, good, locale), check, locale) == []
    messages = of(probe(tmp_path / "bad", source, bad, locale), check, locale)
    assert len(messages) == 1, messages
    assert found in messages[0] and fix in messages[0], messages[0]


def test_severities_errors_block_and_warnings_do_not(tmp_path: Path) -> None:
    warned = {"whitespace", "punctuation", "same-as-source"}
    for index, (check, locale, source, _, bad, _, _) in enumerate(CASES):
        [finding] = [f for f in probe(tmp_path / str(index), source, bad, locale)
                     if f.check == check]  # fmt: skip
        assert finding.severity == ("warning" if check in warned else "error"), check


def test_same_as_source_may_be_marked_intentional_for_en_locales_too(tmp_path: Path) -> None:
    marked = probe(tmp_path / "a", "Goodbye", "Goodbye", "en-SG", same_as_source=True)
    assert of(marked, "same-as-source", "en-SG") == []
    wrong = of(probe(tmp_path / "b", "Goodbye", "Bye", "en-SG", same_as_source=True),
               "same-as-source", "en-SG")  # fmt: skip
    assert wrong == ["marked same_as_source: true but differs from the source; remove the mark"]


# --- source-only and source-wide checks ------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("Fee: £10.50", "hard-coded amount '£10.50'"),
        ("You can send up to 500 EUR", "hard-coded amount '500 EUR'"),
        ("Maintenance on 12/03/2027", "hard-coded date or time '12/03/2027'"),
        ("Maintenance on 12 March", "hard-coded date or time '12 March'"),
        ("Payments after 17:30 wait", "hard-coded date or time '17:30'"),
    ],
)
def test_source_with_a_hard_coded_amount_or_date_is_refused(
    tmp_path: Path, source: str, found: str
) -> None:
    messages = of(probe(tmp_path, source), "hardcoded", "en-GB")
    assert len(messages) == 1 and found in messages[0], messages
    assert "pass it as an argument" in messages[0]


def test_source_with_arguments_and_plain_numbers_is_not_hard_coded(tmp_path: Path) -> None:
    clean = "Send up to {limit} by {day, date, medium}: 6-digit code, up to 18 characters"
    assert of(probe(tmp_path, clean), "hardcoded", "en-GB") == []


def test_source_markup_outside_the_allowlist_is_an_error(tmp_path: Path) -> None:
    messages = of(probe(tmp_path, "Read <a href='/terms'>the terms</a>"), "markup", "en-GB")
    assert messages[0] == (
        "tag \"<a href='/terms'>\" is not allowed; use only <b>, <i>, <strong>, <em> (paired, "
        "no attributes) and <br/>"
    )
    assert of(probe(tmp_path, "Press <strong>Send</strong><br/>now"), "markup", "en-GB") == []


def test_unsafe_content_is_refused_in_the_source_too(tmp_path: Path) -> None:
    messages = of(probe(tmp_path, "Hi <b onclick=x()>there</b>"), "unsafe", "en-GB")
    assert messages == ["contains an event handler (onclick=); messages never carry scripts: "
                        "delete it"]  # fmt: skip


# --- the script exceptions, decided by Unicode properties ------------------------------------


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("\U0001f469\u200d\U0001f4bb", True),  # woman technologist: ZWJ between pictographs
        ("\U0001f44d\U0001f3fd", True),  # skin-tone modifier
        ("\u2764\ufe0f", True),  # emoji presentation selector
        ("\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", True),  # flag
        ("க்\u200cஷ", True),  # Tamil: ZWNJ after the pulli (virama) stops a ligature
        ("क्\u200dष", True),  # Devanagari: ZWJ after a virama asks for the half form
        ("می\u200cخواهم", True),  # Persian: ZWNJ between joining letters
        ("a\u200cb", False),  # ZWNJ between Latin letters does nothing visible
        ("1\u200d2", False),  # ZWJ between digits is no emoji sequence
        ("x\u2060y", False),  # word joiner
        ("x\u00ady", False),  # soft hyphen
        ("x\ufeffy", False),  # byte-order mark
        ("x\ue000y", False),  # private use
    ],
)
def test_invisible_characters_only_where_a_script_needs_them(text: str, allowed: bool) -> None:
    assert (scan.invisible_characters(text) == []) is allowed


def test_direction_marks_are_allowed_next_to_right_to_left_text() -> None:
    assert scan.bidi_controls("שלום \u200fABC") == []  # Hebrew: the mark may be needed
    assert [c for _, c, _ in scan.bidi_controls("Hello \u200f")] == ["\u200f"]
    assert [always for *_, always in scan.bidi_controls("שלום \u2067x\u2069")] == [True, True]
