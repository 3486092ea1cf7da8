"""XLIFF, second edition: inline markup as codes, size restrictions, XLIFF 1.2, strict import."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.l10n import export_xliff, import_xliff, load_catalogs
from rollout.l10n.xliff import MDA, NS, NS12, SLR
from tests.test_l10n_qa import _set, translation

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "l10n"
Q, Q12 = f"{{{NS}}}", f"{{{NS12}}}"
SOURCE = "<b>Send</b> the payment now.<br/>Then <em>wait</em>."
FRENCH = "<b>Envoyez</b> le paiement maintenant.<br/>Puis <em>patientez</em>."


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "locales", tmp_path / "locales")
    _set(
        tmp_path / "locales/en-GB/demo.yaml",
        "probe",
        {"text": SOURCE, "description": "Payment hint", "max_length": 80},
        "l10n-source",
    )
    _set(tmp_path / "locales/fr-FR/demo.yaml", "probe", translation(FRENCH, SOURCE, "fr-FR"),
         "l10n-translation")  # fmt: skip
    return tmp_path


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((root / "locales").rglob("*.yaml"))}


def unit_of(doc: ET.Element, key: str, version: str = "2.0") -> ET.Element:
    tag = f"{Q}unit" if version == "2.0" else f"{Q12}trans-unit"
    return next(u for u in doc.iter(tag) if u.get("id") == key)


def save(root: Path, data: bytes | str, name: str = "in.xlf") -> Path:
    path = root / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_export_20_carries_markup_as_codes_and_max_length_as_slr(root: Path) -> None:
    doc = ET.fromstring(export_xliff(root, "fr-FR"))
    unit = unit_of(doc, "probe")
    assert unit.get(f"{{{SLR}}}sizeRestriction") == "80"
    assert doc.find(f"{Q}file/{{{SLR}}}profiles").get("generalProfile") == "xliff:codepoints"
    source = unit.find(f"{Q}segment/{Q}source")
    assert [(c.tag.removeprefix(Q), c.get("id"), c.get("subType")) for c in source] == [
        ("pc", "1", "xlf:b"), ("ph", "2", "xlf:lb"), ("pc", "3", None)
    ]  # fmt: skip
    assert "<" not in "".join(source.itertext())  # no tag travels as text
    data = {d.get("id"): d.text for d in unit.iter(f"{Q}data")}
    assert data == {"d1s": "<b>", "d1e": "</b>", "d2": "<br/>", "d3s": "<em>", "d3e": "</em>"}
    assert unit.find(f"{Q}segment").get("state") == "reviewed"


def test_export_12_for_weblate(root: Path) -> None:
    data = export_xliff(root, "fr-FR", "1.2")
    assert export_xliff(root, "fr-FR", "1.2") == data  # deterministic
    doc = ET.fromstring(data)
    assert (doc.tag, doc.get("version")) == (f"{Q12}xliff", "1.2")
    file_el = doc.find(f"{Q12}file")
    assert (file_el.get("source-language"), file_el.get("target-language")) == ("en-GB", "fr-FR")
    unit = unit_of(doc, "probe", "1.2")
    limits = (unit.get("maxwidth"), unit.get("size-unit"), unit.get("approved"))
    assert limits == ("80", "char", "yes")
    assert unit.find(f"{Q12}note").text == "Payment hint"
    assert [(c.tag.removeprefix(Q12), c.get("ctype")) for c in unit.find(f"{Q12}source")] == [
        ("g", "bold"), ("x", "lb"), ("g", "x-em")
    ]  # fmt: skip
    de = ET.fromstring(export_xliff(root, "de-DE", "1.2"))
    assert unit_of(de, "unreviewed", "1.2").get("approved") is None  # translated, not reviewed
    assert unit_of(de, "stale_one", "1.2").find(f"{Q12}target").get("state") == "needs-translation"


@pytest.mark.parametrize("version", ["2.0", "1.2"])
def test_markup_round_trips_and_a_translator_may_move_codes(root: Path, version: str) -> None:
    data = export_xliff(root, "fr-FR", version).decode()
    # The translator puts the bold code around another word: codes move, tags follow.
    q = "pc" if version == "2.0" else "g"
    data = re.sub(
        rf"<target([^>]*)><{q} ([^>]*)>Envoyez</{q}> le paiement",
        rf"<target\1>Envoyez le <{q} \2>paiement</{q}>",
        data,
    )
    result = import_xliff(root, save(root, data), translator="vendor-fr")
    assert (result.imported, result.conflicts, result.findings) == (["demo.probe"], [], [])
    message = load_catalogs(root, ["fr-FR"]).translations["fr-FR"]["demo"]["probe"]
    assert message.text == FRENCH.replace(
        "<b>Envoyez</b> le paiement", "Envoyez le <b>paiement</b>"
    )
    assert (message.translator, message.review) == ("vendor-fr", None)


PC3 = '<pc id="3" type="fmt" dataRefStart="d3s" dataRefEnd="d3e">patientez</pc>'
PH2 = '<ph id="2" type="fmt" subType="xlf:lb" dataRef="d2" />'


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (PC3, '<mrk id="m1">patientez</mrk>', "inline element <mrk>, which cannot be carried"),
        (PC3, PC3.replace('id="3"', 'id="9"'), '<pc id="9"> is not one of the source\'s'),
        (PH2, '<pc id="2">x</pc>', "stands for <br/>, which is a standalone code; use <ph>"),
        ("Puis ", "Puis &lt;i&gt;", "has markup typed as text ('<i>"),
    ],
)
def test_import_refuses_markup_it_cannot_carry_back(
    root: Path, old: str, new: str, message: str
) -> None:
    data = export_xliff(root, "fr-FR").decode()
    start = data.index("<target>", data.index('id="probe"'))
    end = data.index("</target>", start)
    target = data[start:end]
    assert old in target
    data = data[:start] + target.replace(old, new).replace("maintenant", "vite") + data[end:]
    before = snapshot(root)
    with pytest.raises(InputError, match=re.escape(message)):
        import_xliff(root, save(root, data), translator="vendor-fr")
    assert snapshot(root) == before


def test_duplicate_units_are_an_error(root: Path) -> None:
    doc = ET.fromstring(export_xliff(root, "fr-FR"))
    file_el = doc.find(f"{Q}file")
    file_el.append(unit_of(doc, "greeting"))
    with pytest.raises(InputError, match="demo.greeting: appears more than once"):
        import_xliff(root, save(root, ET.tostring(doc)), translator="vendor-fr")


def _fill(root: Path, fills: dict[str, str], locale: str = "de-DE") -> ET.Element:
    doc = ET.fromstring(export_xliff(root, locale))
    for key, text in fills.items():
        seg = unit_of(doc, key).find(f"{Q}segment")
        target = seg.find(f"{Q}target")
        if target is None:
            target = ET.SubElement(seg, f"{Q}target")
        target.text = text
        seg.set("state", "translated")
    return doc


def test_import_is_as_strict_as_check_and_writes_all_or_nothing(root: Path) -> None:
    # One good message and one that drops a number: the whole file is refused.
    doc = _fill(root, {"missing_one": "Hilfe", "stale_one": "Kontoauszüge 2"})
    before = snapshot(root)
    result = import_xliff(root, save(root, ET.tostring(doc)), translator="vendor-de")
    assert result.refused and result.written == []
    assert [(f.key, f.check) for f in result.findings] == [("demo.stale_one", "numbers")]
    assert snapshot(root) == before
    # A conflict refuses the whole file too.
    doc = _fill(root, {"missing_one": "Hilfe"})
    unit_of(doc, "stale_one").find(f"{Q}segment/{Q}source").text = "Old statements"
    unit_of(doc, "stale_one").find(f"{Q}segment").set("state", "translated")
    result = import_xliff(root, save(root, ET.tostring(doc)), translator="vendor-de")
    assert len(result.conflicts) == 1 and result.written == []
    assert snapshot(root) == before


def test_cli_import_prints_qa_errors_and_exits_1(root: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.test_l10n import run_cli

    doc = _fill(root, {"missing_one": "Hilfe\u200b"})
    path = save(root, ET.tostring(doc))
    assert run_cli(root, "l10n", "import", str(path), "--translator", "vendor-de") == 1
    out = capsys.readouterr().out
    assert "error de-DE:demo.missing_one: invisible: contains U+200B ZERO WIDTH SPACE" in out
    assert "nothing written" in out


def test_translator_comes_from_the_file_or_the_argument(root: Path) -> None:
    doc = _fill(root, {"missing_one": "Hilfe"})
    with pytest.raises(InputError, match=r"name no translator; pass --translator NAME"):
        import_xliff(root, save(root, ET.tostring(doc)))
    ET.register_namespace("mda", MDA)
    metadata = ET.Element(f"{{{MDA}}}metadata")
    group = ET.SubElement(metadata, f"{{{MDA}}}metaGroup", {"category": "translation"})
    ET.SubElement(group, f"{{{MDA}}}meta", {"type": "translator"}).text = "vendor-de"
    unit_of(doc, "missing_one").insert(0, metadata)
    with pytest.raises(InputError, match="the file names translator vendor-de, --translator"):
        import_xliff(root, save(root, ET.tostring(doc)), translator="someone-else")
    result = import_xliff(root, save(root, ET.tostring(doc)))
    assert result.imported == ["demo.missing_one"]
    assert load_catalogs(root).translations["de-DE"]["demo"]["missing_one"].translator == (
        "vendor-de"
    )


def test_xliff_12_import_takes_translated_units_and_the_phase_contact(root: Path) -> None:
    data = export_xliff(root, "de-DE", "1.2").decode()
    doc = ET.fromstring(data)
    file_el = doc.find(f"{Q12}file")
    header = ET.Element(f"{Q12}header")
    ET.SubElement(ET.SubElement(header, f"{Q12}phase-group"), f"{Q12}phase",
                  {"phase-name": "t1", "process-name": "translation",
                   "contact-name": "weblate-de"})  # fmt: skip
    file_el.insert(0, header)
    for key, text, state in (("missing_one", "Hilfe", "translated"),
                             ("empty_one", "Karten", "needs-translation")):  # fmt: skip
        unit = unit_of(doc, key, "1.2")
        target = ET.Element(f"{Q12}target", {"state": state})
        target.text = text
        unit.insert(1, target)
    result = import_xliff(root, save(root, ET.tostring(doc)))
    assert (result.version, result.imported) == ("1.2", ["demo.missing_one"])
    assert "demo.empty_one" in result.skipped  # needs-translation: not taken
    message = load_catalogs(root).translations["de-DE"]["demo"]["missing_one"]
    assert (message.text, message.translator, message.review) == ("Hilfe", "weblate-de", None)
