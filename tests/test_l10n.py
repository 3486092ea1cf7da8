"""The Localization Platform's backbone: catalog checks, gate, bundles, XLIFF, CLI.

The shipped catalogs in ``locales/`` must pass every check; ``tests/fixtures/l10n`` is a mini
project whose de-DE, pl-PL and zh-Hans-SG catalogs break one check per message, fr-FR is
clean and en-SG has no files at all. The second edition's checks, review, delivery and
XLIFF 1.2 have their own files (tests/test_l10n_*.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from rollout.errors import InputError
from rollout.l10n import (
    SCHEMAS,
    build_bundles,
    check_catalogs,
    coverage,
    export_xliff,
    gate,
    icu,
    import_xliff,
    load_catalogs,
    source_hash,
)
from rollout.l10n.bundles import CACHE_IMMUTABLE, CACHE_MANIFEST
from rollout.l10n.catalog import dump_catalog, text_hash
from rollout.l10n.cli import add_cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "l10n"
XLIFF = "{urn:oasis:names:tc:xliff:document:2.0}"
LOCALES = [
    "en-GB", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pl-PL",
    "en-SG", "zh-Hans-SG", "ms-SG", "ta-SG",
]  # fmt: skip
NAMESPACES = ["accounts", "errors", "payments", "sign-in"]


def copy_of(src: Path, tmp_path: Path) -> Path:
    shutil.copytree(src / "locales", tmp_path / "locales")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def set_message(path: Path, key: str, **fields: object) -> None:
    """Change (or add) one message's fields, keeping the file's header line."""
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["messages"].setdefault(key, {}).update(fields)
    path.write_text(dump_catalog(text.splitlines()[0], data["messages"]), encoding="utf-8")


def approved(text: str, source_text: str, **extra: object) -> dict[str, object]:
    """The fields of a translation that a fixture reviewer approved (four eyes)."""
    return {
        "text": text,
        "source_hash": source_hash(source_text),
        "translator": "fixture-translator",
        "review": {
            "by": "fixture-de-reviewer",
            "at": "2026-12-01T10:00:00Z",
            "source_hash": source_hash(source_text),
            "text_hash": text_hash(text),
        },
        **extra,
    }


def run_cli(root: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(required=True))
    args = parser.parse_args(list(argv))
    args.root = root
    return args.func(args)


# --- the shipped catalogs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return check_catalogs(ROOT)


def test_shipped_catalogs_have_no_findings(shipped):
    assert [str(f) for f in shipped] == []


def test_shipped_catalogs_cover_every_locale_and_namespace():
    cat = load_catalogs(ROOT)
    assert cat.all_locales == LOCALES
    assert sorted(cat.source) == NAMESPACES
    for namespace, messages in cat.source.items():
        assert 8 <= len(messages) <= 12, namespace
    for locale in LOCALES[1:]:
        assert sorted(cat.translations[locale]) == NAMESPACES
        cov = coverage(ROOT, locale)
        assert (cov.total, cov.translated, cov.reviewed, cov.errors) == (45, 45, 45, 0), locale


def test_shipped_catalogs_use_each_locales_plural_forms():
    cat = load_catalogs(ROOT)
    polish = cat.translations["pl-PL"]["accounts"]["account_count"].text
    chinese = cat.translations["zh-Hans-SG"]["accounts"]["account_count"].text
    french = cat.translations["fr-FR"]["accounts"]["account_count"].text
    assert [c.selectors for c in icu.choices(icu.parse(polish))] == [
        ("=0", "one", "few", "many", "other")
    ]
    assert [c.selectors for c in icu.choices(icu.parse(chinese))] == [("=0", "other")]
    assert [c.selectors for c in icu.choices(icu.parse(french))] == [("=0", "one", "many", "other")]


def test_shipped_files_start_with_schema_header():
    for path in sorted((ROOT / "locales").rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        depth = len(path.relative_to(ROOT / "locales").parts) - 1
        kind = {
            "config.yaml": "l10n-config",
            "glossary.yaml": "l10n-glossary",
            "weblate.yaml": "l10n-weblate",
        }.get(path.name, "l10n-source" if path.parent.name == "en-GB" else "l10n-translation")
        assert first == (
            f"# yaml-language-server: $schema={'../' * (depth + 1)}schema/json/{kind}.schema.json"
        ), path
        assert kind in SCHEMAS or (ROOT / "schema" / "json" / f"{kind}.schema.json").is_file()


def test_shipped_catalogs_pass_the_gate_for_every_locale():
    assert gate(ROOT, "regions/europe-west2.yaml", LOCALES) == []


# --- each check on the broken fixture --------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_findings():
    return check_catalogs(FIXTURE)


EXPECTED = [
    ("de-DE", "demo.greeting", "icu-syntax", "error", "Expected , or } at position 11 but found"),
    ("de-DE", "demo.accounts", "plural-categories", "error", "has few, which de-DE does not use"),
    ("pl-PL", "demo.accounts", "plural-categories", "error", "lacks few, many; CLDR rules for"),
    ("zh-Hans-SG", "demo.accounts", "plural-categories", "error", "has one, which zh-Hans-SG"),
    ("pl-PL", "demo.items", "plural-other", "error", "{count, plural} has no 'other' branch"),
    ("de-DE", "demo.pay", "placeholders", "error", "lacks {name}; has {recipient}, which the"),
    (
        "de-DE",
        "demo.gender",
        "placeholders",
        "error",
        "{gender, select} lacks option(s) male; keep",
    ),
    ("de-DE", "demo.code", "numbers", "error", "number(s) 6 do not appear"),
    ("de-DE", "demo.spaces", "whitespace", "warning", "leading whitespace the source has not; d"),
    ("de-DE", "demo.button", "max-length", "error", "14 characters (grapheme clusters"),
    ("de-DE", "demo.farewell", "same-as-source", "warning", "identical to the source"),
    ("de-DE", "demo.term", "glossary", "error", "forbidden term 'Kennwort': use Passwort"),
    ("zh-Hans-SG", "demo.accounts", "glossary", "error", "forbidden term '帐户': use 账户"),
    ("de-DE", "demo.missing_one", "untranslated", "warning", "no translation yet"),
    ("de-DE", "demo.empty_one", "untranslated", "warning", "the translation is empty"),
    ("de-DE", "demo.stale_one", "stale", "warning", "source_hash 000000000000, current"),
    ("de-DE", "demo.extra_key", "unknown-key", "error", "namespace demo has no key extra_key"),
]


@pytest.mark.parametrize(("locale", "key", "check", "severity", "message"), EXPECTED)
def test_fixture_finding(fixture_findings, locale, key, check, severity, message):
    hits = [f for f in fixture_findings if (f.locale, f.key, f.check) == (locale, key, check)]
    assert len(hits) == 1, [str(f) for f in fixture_findings if f.locale == locale]
    assert hits[0].severity == severity
    assert message in hits[0].message


def test_fixture_has_only_the_planted_errors(fixture_findings):
    errors = {(f.locale, f.key, f.check) for f in fixture_findings if f.severity == "error"}
    planted = {(loc, key, check) for loc, key, check, sev, _ in EXPECTED if sev == "error"}
    assert errors == planted
    assert not [f for f in fixture_findings if f.locale in ("en-GB", "fr-FR")]


def test_finding_renders_on_one_line_with_its_file(fixture_findings):
    finding = next(f for f in fixture_findings if f.check == "glossary" and f.locale == "de-DE")
    assert str(finding) == (
        "error de-DE:demo.term: glossary: uses forbidden term 'Kennwort': use Passwort "
        "(locales/de-DE/demo.yaml:75)"
    )
    assert all("\n" not in str(f) for f in fixture_findings)


def test_checks_can_be_limited_to_locales():
    findings = check_catalogs(FIXTURE, ["pl-PL"])
    assert {f.locale for f in findings} == {"pl-PL"}


def test_unknown_locale_is_an_input_error():
    with pytest.raises(InputError, match="it-IT is not a configured locale"):
        check_catalogs(FIXTURE, ["it-IT"])


def test_glossary_is_case_insensitive_and_whole_word(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    edit(root / "locales/fr-FR/demo.yaml", "Votre mot de passe", "Votre LOGIN")
    edit(root / "locales/fr-FR/demo.yaml", "text: Aide", "text: Aide au loginservice")
    edit(root / "locales/glossary.yaml", "forbidden:", "forbidden:\n  fr-FR:\n    login: use x")
    hits = [f.key for f in check_catalogs(root, ["fr-FR"]) if f.check == "glossary"]
    assert hits == ["demo.term"]


def test_ordinals_use_cldr_ordinal_rules(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    src = "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}}"
    set_message(root / "locales/en-GB/demo.yaml", "missing_one", text=src)
    de = root / "locales/de-DE/demo.yaml"
    set_message(de, "missing_one", **approved("{n, selectordinal, other {#.}}", src))
    found = check_catalogs(root, ["en-GB", "de-DE"])
    assert [f for f in found if f.key == "demo.missing_one"] == []  # en: one/two/few; de: other
    set_message(de, "missing_one", **approved("{n, selectordinal, one {#.} other {#.}}", src))
    found = [str(f) for f in check_catalogs(root, ["de-DE"]) if f.key == "demo.missing_one"]
    assert found == [
        "error de-DE:demo.missing_one: plural-categories: {n, selectordinal} has one, which "
        "de-DE does not use (CLDR: other); use =N for an exact number (locales/de-DE/demo.yaml:105)"
    ]


def test_max_length_counts_grapheme_clusters():
    assert icu.longest(icu.parse("நன்றி")) == 3  # 5 code points, 3 clusters
    assert icu.longest(icu.parse("{n, plural, one {# day} other {# days}} left")) == 11
    assert icu.longest(icu.parse("Hi {name}")) == 9


def test_broken_source_is_reported_and_blocks_bundles(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    edit(root / "locales/en-GB/demo.yaml", "text: Goodbye", "text: Goodbye {")
    findings = check_catalogs(root, ["en-GB"])
    assert [(f.locale, f.key, f.check) for f in findings] == [
        ("en-GB", "demo.farewell", "icu-syntax")
    ]
    with pytest.raises(InputError, match="demo.farewell: icu-syntax"):
        build_bundles(root)


def test_changed_source_marks_translations_stale(tmp_path):
    root = copy_of(ROOT, tmp_path)
    edit(
        root / "locales/en-GB/payments.yaml",
        "text: '{amount} sent to {name}'",
        "text: '{amount} paid to {name}'",
    )
    findings = check_catalogs(root)
    stale = [f for f in findings if f.check == "stale"]
    assert {f.locale for f in stale} == set(LOCALES[1:])
    assert {f.key for f in stale} == {"payments.transfer_sent"}
    assert all(f.severity == "warning" for f in findings)
    problems = gate(root, "regions/asia-southeast1.yaml", ["en-SG", "zh-Hans-SG"])
    assert [p.path for p in problems] == ["locales.en-SG", "locales.zh-Hans-SG"]
    assert "1 of 45 messages stale, their source changed (payments.transfer_sent)" in str(
        problems[0]
    )
    bundles = build_bundles(root)
    assert bundles.fallbacks["de-DE"] == {"payments.transfer_sent": "en-GB"}
    assert bundles.fallbacks["ms-SG"] == {"payments.transfer_sent": "en-GB"}  # en-SG is stale too


# --- malformed files -------------------------------------------------------------------------


def test_unknown_key_in_a_catalog_is_an_input_error(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    edit(root / "locales/fr-FR/demo.yaml", "    review:", "    reviw:")
    with pytest.raises(InputError) as err:
        check_catalogs(root)
    text = str(err.value)
    assert "locales/fr-FR/demo.yaml:" in text
    assert (
        "messages.greeting.reviw: unknown key 'reviw'; accepted keys: text, source_hash, "
        "translator, review, same_as_source" in (text)
    )


@pytest.mark.parametrize(
    ("tag", "message"),
    [("de_de", "not a locale CLDR knows"), ("de-de", "is not canonical; write de-DE")],
)
def test_config_rejects_bad_locale_tags(tmp_path, tag, message):
    root = copy_of(FIXTURE, tmp_path)
    edit(root / "locales/config.yaml", "- de-DE", f"- {tag}")
    with pytest.raises(InputError, match=message):
        load_catalogs(root)


def test_stray_locale_directory_is_an_input_error(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    (root / "locales/it-IT").mkdir()
    with pytest.raises(InputError, match="it-IT is not a configured locale"):
        load_catalogs(root)


def test_duplicate_message_key_is_an_input_error(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    path = root / "locales/fr-FR/demo.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  greeting: {text: x}\n", encoding="utf-8")
    with pytest.raises(InputError, match="duplicate key 'greeting'"):
        load_catalogs(root)


# --- coverage and the go-live gate -----------------------------------------------------------


def test_coverage_counts():
    cov = coverage(FIXTURE, "de-DE")
    assert (cov.total, cov.translated, cov.reviewed, cov.errors) == (14, 11, 10, 8)
    assert cov.missing == ("demo.missing_one", "demo.empty_one")
    assert cov.stale == ("demo.stale_one",)
    assert cov.unreviewed == ("demo.unreviewed",)
    assert not cov.ready
    assert coverage(FIXTURE, "fr-FR").ready
    assert coverage(FIXTURE, "en-GB").ready


def test_gate_blocks_and_names_what_is_missing():
    locales = ["en-GB", "fr-FR", "de-DE", "pl-PL", "en-SG", "it-IT"]
    problems = gate(FIXTURE, "regions/europe-west2.yaml", locales)
    by_path = {p.path: str(p) for p in problems}
    assert list(by_path) == ["locales.de-DE", "locales.pl-PL", "locales.en-SG", "locales.it-IT"]
    assert all(p.file == "regions/europe-west2.yaml" for p in problems)
    assert by_path["locales.pl-PL"] == (
        "regions/europe-west2.yaml: locales.pl-PL: 2 of 14 messages not reviewed "
        "(demo.missing_one, demo.unreviewed); no grace: the source message has no changed: "
        "date, so no grace period; 2 errors (demo.accounts plural-categories, demo.items "
        "plural-other); a live locale needs every message reviewed (or inside its grace "
        "period) and zero errors"
    )
    de = by_path["locales.de-DE"]
    assert "2 of 14 messages not translated (demo.missing_one, demo.empty_one)" in de
    assert "1 of 14 messages stale, their source changed (demo.stale_one)" in de
    assert "1 of 14 messages not reviewed (demo.unreviewed)" in de
    assert "8 errors (demo.accounts plural-categories, demo.button max-length," in de
    assert "and 3 more)" in de
    assert (
        "14 of 14 messages not translated (demo.greeting, demo.accounts, "
        in (by_path["locales.en-SG"])
    )
    assert "it-IT is not a configured locale" in by_path["locales.it-IT"]


# --- bundles ---------------------------------------------------------------------------------


def test_bundles_are_deterministic_hashed_and_cached_right():
    first, second = build_bundles(FIXTURE), build_bundles(FIXTURE)
    assert [(o.path, o.content) for o in first] == [(o.path, o.content) for o in second]
    for obj in first.bundles:
        match = re.fullmatch(
            r"l10n/bundles/\d{4}-\d{2}/([A-Za-z-]+)/([a-z-]+)\.([0-9a-f]{12})\.json", obj.path
        )
        assert match, obj.path
        assert hashlib.sha256(obj.content).hexdigest()[:12] == match.group(3)
        assert obj.cache_control == CACHE_IMMUTABLE == "public, max-age=31536000, immutable"
        assert obj.content_type == "application/json"
        assert json.dumps(json.loads(obj.content), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode() == obj.content  # fmt: skip
    manifest = first.manifest
    assert (manifest.path, manifest.content_type) == ("l10n/manifest.json", "application/json")
    assert manifest.cache_control == CACHE_MANIFEST == "public, max-age=60, must-revalidate"
    data = json.loads(manifest.content)
    assert data["source_locale"] == "en-GB"
    assert re.fullmatch(r"[0-9a-f]{12}", data["version"])
    paths = {o.path for o in first.bundles}
    assert {p for ns in data["bundles"].values() for p in ns.values()} == paths
    assert list(first)[-1] is manifest


def test_bundles_publish_only_reviewed_error_free_messages():
    bundle_set = build_bundles(FIXTURE)
    manifest = json.loads(bundle_set.manifest.content)
    content = {o.path: json.loads(o.content) for o in bundle_set.bundles}
    german = content[manifest["bundles"]["de-DE"]["demo"]]
    french = content[manifest["bundles"]["fr-FR"]["demo"]]
    assert german["greeting"] == "Hello, {name}"  # icu-syntax error: source text instead
    assert german["unreviewed"] == "Welcome"  # translated, not reviewed
    assert german["stale_one"] == "Statements"
    assert german["items"] == "{count, plural, one {# Artikel} other {# Artikel}}"
    assert "extra_key" not in german
    assert french["farewell"] == "Au revoir"
    assert "fr-FR" not in bundle_set.fallbacks
    assert list(bundle_set.fallbacks["de-DE"])[:2] == ["demo.greeting", "demo.accounts"]


def test_shipped_bundles_hold_every_translation():
    bundle_set = build_bundles(ROOT)
    assert bundle_set.fallbacks == {}
    manifest = json.loads(bundle_set.manifest.content)
    assert sorted(manifest["bundles"]) == sorted(LOCALES)
    assert all(sorted(v) == NAMESPACES for v in manifest["bundles"].values())
    content = {o.path: json.loads(o.content) for o in bundle_set.bundles}
    assert content[manifest["bundles"]["de-DE"]["sign-in"]]["submit"] == "Anmelden"


# --- XLIFF -----------------------------------------------------------------------------------


def units(data: bytes) -> dict[str, ET.Element]:
    doc = ET.fromstring(data)
    return {
        f"{f.get('id')}.{u.get('id')}": u
        for f in doc.findall(f"{XLIFF}file")
        for u in f.findall(f"{XLIFF}unit")
    }


def test_export_writes_xliff_2():
    data = export_xliff(FIXTURE, "de-DE")
    doc = ET.fromstring(data)
    assert doc.tag == f"{XLIFF}xliff"
    assert (doc.get("version"), doc.get("srcLang"), doc.get("trgLang")) == ("2.0", "en-GB", "de-DE")
    found = units(data)
    states = {k: u.find(f"{XLIFF}segment").get("state") for k, u in found.items()}
    assert states["demo.greeting"] == "reviewed"
    assert states["demo.unreviewed"] == "translated"
    assert states["demo.missing_one"] == states["demo.stale_one"] == "initial"
    assert found["demo.stale_one"].find(f"{XLIFF}segment/{XLIFF}target").text == "Kontoauszüge"
    notes = [n.text for n in found["demo.greeting"].iter(f"{XLIFF}note")]
    assert notes[0] == "Greeting" and notes[1].startswith("error icu-syntax:")
    assert export_xliff(FIXTURE, "de-DE") == data


def test_xliff_round_trip_imports_as_translated(tmp_path):
    root = copy_of(FIXTURE, tmp_path)
    data = export_xliff(root, "de-DE")
    doc = ET.fromstring(data)
    fills = {
        "missing_one": "Hilfe",
        "empty_one": "Karten",
        "stale_one": "Kontoauszüge",
        "greeting": "Hallo, {name}",
    }
    for unit in doc.iter(f"{XLIFF}unit"):
        if unit.get("id") in fills:
            seg = unit.find(f"{XLIFF}segment")
            target = seg.find(f"{XLIFF}target")
            if target is None:
                target = ET.SubElement(seg, f"{XLIFF}target")
            target.text = fills[unit.get("id")]
            seg.set("state", "translated")
    path = tmp_path / "de.xlf"
    path.write_bytes(ET.tostring(doc, encoding="utf-8", xml_declaration=True))
    before = (root / "locales/de-DE/demo.yaml").read_text(encoding="utf-8")

    result = import_xliff(root, path, translator="fixture-translator")
    assert sorted(result.imported) == sorted(f"demo.{k}" for k in fills)
    assert result.conflicts == []
    assert "demo.accounts" in result.unchanged
    cat = load_catalogs(root, ["de-DE"])
    messages = cat.translations["de-DE"]["demo"]
    for key, text in fills.items():
        assert messages[key].text == text
        assert (messages[key].review, messages[key].translator) == (None, "fixture-translator")
        assert messages[key].source_hash == source_hash(cat.source["demo"][key].text)
    assert messages["accounts"].review is not None  # unchanged: keeps its review
    assert "extra_key" in messages  # import never deletes
    after = (root / "locales/de-DE/demo.yaml").read_text(encoding="utf-8")
    assert after.splitlines()[0] == before.splitlines()[0]
    assert list(messages)[:3] == ["greeting", "accounts", "items"]  # source order kept
    cov = coverage(root, "de-DE")
    assert (cov.translated, cov.missing, cov.stale) == (14, (), ())
    assert "demo.greeting" not in cov.error_keys


def test_unchanged_round_trip_writes_nothing(tmp_path):
    root = copy_of(ROOT, tmp_path)
    path = tmp_path / "pl.xlf"
    path.write_bytes(export_xliff(root, "pl-PL"))
    before = {p: p.read_bytes() for p in (root / "locales").rglob("*.yaml")}
    result = import_xliff(root, path)
    assert (len(result.imported), len(result.unchanged), result.conflicts) == (0, 45, [])
    assert before == {p: p.read_bytes() for p in (root / "locales").rglob("*.yaml")}


def test_import_reports_conflicts(tmp_path, capsys):
    root = copy_of(FIXTURE, tmp_path)
    doc = ET.fromstring(export_xliff(root, "fr-FR"))
    file_el = doc.find(f"{XLIFF}file")
    for unit in file_el.findall(f"{XLIFF}unit"):
        seg = unit.find(f"{XLIFF}segment")
        if unit.get("id") == "farewell":
            seg.find(f"{XLIFF}source").text = "Bye"
            seg.find(f"{XLIFF}target").text = "Salut"
        if unit.get("id") == "button":
            unit.set("id", "no_such_key")
    ghost = ET.SubElement(doc, f"{XLIFF}file", {"id": "ghost"})
    seg = ET.SubElement(ET.SubElement(ghost, f"{XLIFF}unit", {"id": "x"}), f"{XLIFF}segment")
    seg.set("state", "translated")
    ET.SubElement(seg, f"{XLIFF}source").text = "x"
    ET.SubElement(seg, f"{XLIFF}target").text = "y"
    path = tmp_path / "fr.xlf"
    path.write_bytes(ET.tostring(doc, encoding="utf-8"))

    assert run_cli(root, "l10n", "import", str(path)) == 1
    out = capsys.readouterr().out.splitlines()
    conflicts = [line for line in out if line.startswith("conflict ")]
    assert conflicts == [
        "conflict fr-FR:demo.no_such_key: unknown key (not in the source); not imported",
        "conflict fr-FR:demo.farewell: the source text changed since export (XLIFF has 'Bye', "
        "now 'Goodbye'); not imported, re-export",
        "conflict fr-FR:ghost.x: unknown namespace ghost; not imported",
    ]
    assert load_catalogs(root).translations["fr-FR"]["demo"]["farewell"].text == "Au revoir"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            f'<xliff xmlns="{XLIFF[1:-1]}" version="2.0" srcLang="en-GB" trgLang="de-DE">'
            "&b;</xliff>",
            "DOCTYPE or ENTITY declaration",
        ),
        ("<xliff", "XML syntax error"),
        (
            f'<xliff xmlns="{XLIFF[1:-1]}" version="2.0" srcLang="en-GB" trgLang="it-IT"/>',
            "xliff.trgLang: found it-IT; expected a target locale",
        ),
        ('<xliff version="1.2"/>', "expected XLIFF 2.0"),
    ],
)
def test_import_rejects_unsafe_or_wrong_files(tmp_path, xml, message):
    root = copy_of(FIXTURE, tmp_path)
    path = tmp_path / "in.xlf"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        import_xliff(root, path)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_check_exit_codes(capsys):
    assert run_cli(ROOT, "l10n", "check") == 0
    assert capsys.readouterr().out.strip().endswith("0 error(s), 0 warning(s)")
    assert run_cli(FIXTURE, "l10n", "check", "--locale", "fr-FR") == 0
    assert run_cli(FIXTURE, "l10n", "check") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "l10n check: 6 locale(s), 14 messages each: 12 error(s), 21 warning(s)"
    assert "error pl-PL:demo.items: plural-other:" in "\n".join(out)


def test_cli_build_export_status(tmp_path, capsys):
    root = copy_of(FIXTURE, tmp_path)
    assert run_cli(root, "l10n", "build", "--out", "dist") == 0
    manifest = json.loads((root / "dist/manifest.json").read_text(encoding="utf-8"))
    for namespaces in manifest["bundles"].values():
        for object_name in namespaces.values():
            assert (root / "dist" / object_name.removeprefix("l10n/")).is_file()
    out = tmp_path / "x" / "de.xlf"
    assert run_cli(root, "l10n", "export", "--locale", "de-DE", "--out", str(out)) == 0
    assert out.read_bytes() == export_xliff(root, "de-DE")
    capsys.readouterr()
    assert run_cli(root, "l10n", "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:5] == ["en-GB", "14", "14", "14", "0"]
    assert lines[2].split() == ["de-DE", "14", "11", "10", "8", "78.6%", "71.4%", "not", "ready"]


def test_cli_status_reports_regions(tmp_path, monkeypatch, capsys):
    root = copy_of(FIXTURE, tmp_path)
    (root / "regions").mkdir()
    fake = types.ModuleType("rollout.config")
    regions = {
        "europe-west2": types.SimpleNamespace(locales=["en-GB", "fr-FR"]),
        "asia-southeast1": types.SimpleNamespace(locales=["en-SG", "zh-Hans-SG"]),
    }
    fake.load_project = lambda r: types.SimpleNamespace(regions=regions)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rollout.config", fake)
    assert run_cli(root, "l10n", "status") == 0
    out = capsys.readouterr().out
    assert "region europe-west2: en-GB, fr-FR: ready\n" in out
    assert "region asia-southeast1: en-SG, zh-Hans-SG: blocked (2 locale(s))\n" in out
    blocked = "  regions/asia-southeast1.yaml: locales.zh-Hans-SG: 2 of 14 messages not translated"
    assert blocked in out


def test_exported_source_schemas_are_strict():
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema()
        assert schema.get("additionalProperties") is False, name
    data = yaml.safe_load((ROOT / "locales/en-GB/sign-in.yaml").read_text(encoding="utf-8"))
    SCHEMAS["l10n-source"].model_validate(data)
