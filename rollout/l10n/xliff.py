"""XLIFF exchange with translators: export a locale as XLIFF 2.0 or 1.2, import their work.

Export writes one ``<file>`` per namespace and one unit per message, with the source text,
the current translation (if any) and its state: 2.0 ``initial`` (missing or stale: the stale
text is kept as a starting point), ``translated`` or ``reviewed``; 1.2 ``needs-translation``
or ``translated``, with ``approved="yes"`` once reviewed (what Weblate reads). The
description travels as a note, ``max_length`` as 2.0's size-restriction module
(``slr:sizeRestriction``, counted in code points, which is never looser than our grapheme
clusters) or 1.2's ``maxwidth`` with ``size-unit="char"``, and any QA finding as a note.

Inline markup (``<b>``, ``<br/>``...) travels as inline codes, never as text: ``<pc>``/``<ph>``
in 2.0 (with the original tag in ``<originalData>``), ``<g>``/``<x>`` in 1.2. On import each
code is turned back into the very tag of the *current source* it names (by id), so a
translator can move codes but not invent markup; an unknown code, any other inline element
or a tag typed as text refuses the import: nothing is ever silently stripped.

Import is as strict as ``check``: the whole file is read, every changed message is checked
with the same QA, and only if there is no duplicate unit, no conflict (unknown key, a source
changed since export) and no QA error is anything written; then all of it is, atomically. A
segment is taken when its state says translated (2.0: translated or later; 1.2: translated,
final or signed-off, or no state) and its target is not empty. A changed target is written
with the current source hash and its translator (the file's metadata, else --translator),
without a review: review happens here (``rollout l10n review``), under four eyes. An
unchanged, current target keeps its review. Only an import that carries the tool's own record
of who wrote and who approved each text (``Attribute``: Weblate's history, see weblate.py)
takes approvals from the file, as reviews by that approver, held to the same four eyes by the
QA; a text or an approval the record lacks is then a conflict.

Input is parsed defensively: size-capped, and any DOCTYPE or ENTITY declaration is rejected
before ElementTree sees the document (no billion laughs, no external entities).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from rollout import files
from rollout.errors import InputError, Problem
from rollout.l10n import scan
from rollout.l10n.catalog import (
    HANDLE_PATTERN,
    Catalogs,
    Review,
    TranslatedMessage,
    load_catalogs,
    render_translation,
    source_hash,
    text_hash,
)
from rollout.l10n.checks import Finding, analyse

NS = "urn:oasis:names:tc:xliff:document:2.0"
NS12 = "urn:oasis:names:tc:xliff:document:1.2"
SLR = "urn:oasis:names:tc:xliff:sizerestriction:2.0"
MDA = "urn:oasis:names:tc:xliff:metadata:2.0"
XML = "http://www.w3.org/XML/1998/namespace"
MAX_BYTES = 10 * 1024 * 1024
_Q = f"{{{NS}}}"
_Q12 = f"{{{NS12}}}"

Version = Literal["2.0", "1.2"]
FORMATS: dict[str, Version] = {"xliff2": "2.0", "xliff12": "1.2"}

# XLIFF's own names for the formatting our allowlist carries (2.0 subType, 1.2 ctype).
_SUBTYPE = {"b": "xlf:b", "i": "xlf:i", "br": "xlf:lb"}
_CTYPE = {"b": "bold", "i": "italic", "br": "lb"}
_TAKEN_12 = ("translated", "final", "signed-off")


# --- inline codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """An inline code: a paired tag (open and close) or a standalone one."""

    id: str
    name: str
    open: str
    close: str | None = None  # None: standalone (<br/>, or a tag that pairs with nothing)


Token = str | tuple[str, str]  # text, or ("open"|"close"|"alone", code id)


def _pairs(text: str) -> list[tuple[scan.Tag, int | None]]:
    """Each tag with the index of the tag it pairs with (by nesting), or None."""
    found = scan.tags(text)
    partner: list[int | None] = [None] * len(found)
    stack: list[int] = []
    for i, tag in enumerate(found):
        if tag.kind == "open":
            stack.append(i)
        elif tag.kind == "close" and stack and found[stack[-1]].name == tag.name:
            j = stack.pop()
            partner[i], partner[j] = j, i
    return list(zip(found, partner, strict=True))


def source_codes(text: str) -> dict[str, Code]:
    """The source's codes, numbered in order of appearance: what every target may use."""
    codes: dict[str, Code] = {}
    pairs = _pairs(text)
    for tag, partner in pairs:
        if tag.kind == "close" and partner is not None:
            continue
        close = pairs[partner][0].raw if partner is not None else None
        cid = str(len(codes) + 1)
        codes[cid] = Code(cid, tag.name, tag.raw, close)
    return codes


def tokenize(text: str, codes: dict[str, Code]) -> tuple[list[Token], dict[str, Code]]:
    """``text`` as text and code tokens, reusing ``codes`` (the source's) by tag and order;
    tags the source lacks get codes of their own (returned with the table)."""
    table = dict(codes)
    used: Counter[tuple[str, str, bool]] = Counter()
    tokens: list[Token] = []
    last = 0
    pairs = _pairs(text)
    open_ids: dict[int, str] = {}
    for index, (tag, partner) in enumerate(pairs):
        if tag.start > last:
            tokens.append(text[last : tag.start])
        last = tag.end
        if tag.kind == "close" and partner is not None:
            tokens.append(("close", open_ids[partner]))
            continue
        paired = partner is not None
        ident = (tag.name, tag.raw if not paired else "", paired)
        matches = [
            c
            for c in codes.values()
            if c.name == tag.name
            and (c.close is not None) == paired
            and (paired or c.open == tag.raw)
        ]
        k = used[ident]
        used[ident] += 1
        if k < len(matches):
            cid = matches[k].id
        else:
            cid = f"t{len(table) - len(codes) + 1}"
            close = pairs[partner][0].raw if partner is not None else None
            table[cid] = Code(cid, tag.name, tag.raw, close)
        if paired:
            open_ids[index] = cid
            tokens.append(("open", cid))
        else:
            tokens.append(("alone", cid))
    if last < len(text):
        tokens.append(text[last:])
    return tokens, table


def _fill(
    parent: ET.Element, tokens: list[Token], codes: dict[str, Code], version: Version
) -> None:
    """Write tokens into an element: text, and <pc>/<ph> (2.0) or <g>/<x> (1.2) children."""
    q = _Q if version == "2.0" else _Q12
    stack = [parent]
    last: list[ET.Element | None] = [None]  # per level: the last child, whose tail takes text

    def add_text(value: str) -> None:
        if last[-1] is None:
            stack[-1].text = (stack[-1].text or "") + value
        else:
            child = last[-1]
            child.tail = (child.tail or "") + value

    for token in tokens:
        if isinstance(token, str):
            add_text(token)
            continue
        kind, cid = token
        code = codes[cid]
        if kind == "close":
            stack.pop()
            last.pop()
            continue
        if version == "2.0":
            attrs = {"id": cid, "type": "fmt"}
            if code.name in _SUBTYPE:
                attrs["subType"] = _SUBTYPE[code.name]
            if kind == "open":
                attrs.update(dataRefStart=f"d{cid}s", dataRefEnd=f"d{cid}e")
            else:
                attrs["dataRef"] = f"d{cid}"
            element = ET.SubElement(stack[-1], f"{q}{'pc' if kind == 'open' else 'ph'}", attrs)
        else:
            ctype = _CTYPE.get(code.name, f"x-{code.name}")
            element = ET.SubElement(
                stack[-1], f"{q}{'g' if kind == 'open' else 'x'}", {"id": cid, "ctype": ctype}
            )
        last[-1] = element
        if kind == "open":
            stack.append(element)
            last.append(None)


def _original_data(unit: ET.Element, codes: dict[str, Code]) -> None:
    if not codes:
        return
    data = ET.SubElement(unit, f"{_Q}originalData")
    for cid, code in codes.items():
        if code.close is None:
            ET.SubElement(data, f"{_Q}data", {"id": f"d{cid}"}).text = code.open
        else:
            ET.SubElement(data, f"{_Q}data", {"id": f"d{cid}s"}).text = code.open
            ET.SubElement(data, f"{_Q}data", {"id": f"d{cid}e"}).text = code.close


# --- export ----------------------------------------------------------------------------------


def export_xliff(
    root: Path, locale: str, version: Version = "2.0", namespaces: list[str] | None = None
) -> bytes:
    """The XLIFF document for ``locale`` (UTF-8, deterministic): every namespace, or only
    ``namespaces`` (one ``<file>`` each, in source order)."""
    cat = load_catalogs(root, [locale])
    return render_xliff(cat, locale, version, namespaces)


def render_xliff(
    cat: Catalogs, locale: str, version: Version = "2.0", namespaces: list[str] | None = None
) -> bytes:
    """``export_xliff`` over catalogs already loaded (with ``locale``'s translations)."""
    if locale == cat.source_locale:
        raise InputError.one(
            "locales/config.yaml",
            "source_locale",
            f"{locale} is the source locale; export a target locale ({', '.join(cat.targets)})",
        )
    analysis = analyse(cat, [locale])
    status = analysis.status[locale]
    qa: dict[str, list[str]] = {}
    for finding in analysis.findings:
        if finding.locale == locale and finding.check not in ("untranslated", "stale"):
            qa.setdefault(finding.key, []).append(
                f"{finding.severity} {finding.check}: {finding.message}"
            )
    unknown = [ns for ns in namespaces or [] if ns not in cat.source]
    if unknown:
        raise InputError.one(
            cat.file(cat.source_locale, unknown[0]),
            "(file)",
            f"no source namespace {unknown[0]} (namespaces: {', '.join(cat.source)})",
        )
    wanted = [ns for ns in cat.source if namespaces is None or ns in namespaces]
    if version == "2.0":
        doc = _export_20(cat, locale, status, qa, wanted)
    else:
        doc = _export_12(cat, locale, status, qa, wanted)
    _indent(doc)
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True) + b"\n"


def _indent(el: ET.Element, level: int = 0) -> None:
    """Indent the structure only: ET.indent would also pad the text around inline codes in
    <source>/<target> (a tag at either end), which is content."""
    if len(el) == 0 or _local(el.tag)[1] in ("source", "target"):
        return
    pad = "\n" + "  " * (level + 1)
    el.text = pad
    for child in el:
        _indent(child, level + 1)
        child.tail = pad
    el[-1].tail = "\n" + "  " * level


def _export_20(
    cat: Catalogs, locale: str, status: dict[str, str], qa: dict[str, list[str]], wanted: list[str]
) -> ET.Element:
    ET.register_namespace("", NS)
    ET.register_namespace("slr", SLR)
    doc = ET.Element(
        f"{_Q}xliff", {"version": "2.0", "srcLang": cat.source_locale, "trgLang": locale}
    )
    for ns in wanted:
        messages = cat.source[ns]
        file_el = ET.SubElement(doc, f"{_Q}file", {"id": ns})
        if any(m.max_length is not None for m in messages.values()):
            ET.SubElement(file_el, f"{{{SLR}}}profiles", {"generalProfile": "xliff:codepoints"})
        translated = cat.translations.get(locale, {}).get(ns, {})
        for key, source in messages.items():
            attrs = {f"{{{XML}}}space": "preserve", "id": key}
            if source.max_length is not None:
                attrs[f"{{{SLR}}}sizeRestriction"] = str(source.max_length)
            unit = ET.SubElement(file_el, f"{_Q}unit", attrs)
            notes = ET.SubElement(unit, f"{_Q}notes")
            ET.SubElement(notes, f"{_Q}note", {"category": "description"}).text = source.description
            for line in qa.get(f"{ns}.{key}", []):
                ET.SubElement(notes, f"{_Q}note", {"category": "qa"}).text = line
            codes = source_codes(source.text)
            src_tokens, _ = tokenize(source.text, codes)
            target = translated.get(key)
            tgt_tokens, table = tokenize(target.text, codes) if target else ([], codes)
            _original_data(unit, table)
            state = status.get(f"{ns}.{key}", "missing")
            xstate = state if state in ("translated", "reviewed") else "initial"
            segment = ET.SubElement(unit, f"{_Q}segment", {"state": xstate})
            _fill(ET.SubElement(segment, f"{_Q}source"), src_tokens, table, "2.0")
            if target is not None and target.text:
                _fill(ET.SubElement(segment, f"{_Q}target"), tgt_tokens, table, "2.0")
    return doc


def _export_12(
    cat: Catalogs, locale: str, status: dict[str, str], qa: dict[str, list[str]], wanted: list[str]
) -> ET.Element:
    ET.register_namespace("", NS12)
    doc = ET.Element(f"{_Q12}xliff", {"version": "1.2"})
    for ns in wanted:
        messages = cat.source[ns]
        file_el = ET.SubElement(
            doc,
            f"{_Q12}file",
            {
                "original": ns,
                "source-language": cat.source_locale,
                "target-language": locale,
                "datatype": "plaintext",
            },
        )
        body = ET.SubElement(file_el, f"{_Q12}body")
        translated = cat.translations.get(locale, {}).get(ns, {})
        for key, source in messages.items():
            state = status.get(f"{ns}.{key}", "missing")
            attrs = {"id": key, "resname": key, f"{{{XML}}}space": "preserve"}
            if source.max_length is not None:
                attrs.update(maxwidth=str(source.max_length), **{"size-unit": "char"})
            if state == "reviewed":
                attrs["approved"] = "yes"
            unit = ET.SubElement(body, f"{_Q12}trans-unit", attrs)
            codes = source_codes(source.text)
            src_tokens, _ = tokenize(source.text, codes)
            _fill(ET.SubElement(unit, f"{_Q12}source"), src_tokens, codes, "1.2")
            target = translated.get(key)
            if target is not None and target.text:
                tgt_tokens, table = tokenize(target.text, codes)
                xstate = (
                    "translated" if state in ("translated", "reviewed") else "needs-translation"
                )
                _fill(
                    ET.SubElement(unit, f"{_Q12}target", {"state": xstate}),
                    tgt_tokens,
                    table,
                    "1.2",
                )
            ET.SubElement(unit, f"{_Q12}note", {"from": "developer"}).text = source.description
            for line in qa.get(f"{ns}.{key}", []):
                ET.SubElement(unit, f"{_Q12}note", {"from": "rollout-qa"}).text = line
    return doc


# --- parsing ---------------------------------------------------------------------------------


def _forbid(*_args: object) -> None:
    raise ValueError("DTD")


def parse_xliff(data: bytes, file: str) -> ET.Element:
    """Parse untrusted XML: no DTDs, no entity declarations, bounded size."""
    if len(data) > MAX_BYTES:
        raise InputError.one(file, "(file)", f"file is {len(data)} bytes; at most {MAX_BYTES}")
    # A first pass with expat's own hooks refuses any DOCTYPE before anything is expanded.
    probe = xml.parsers.expat.ParserCreate()
    probe.StartDoctypeDeclHandler = _forbid
    probe.EntityDeclHandler = _forbid
    try:
        probe.Parse(data, True)
    except ValueError:
        raise InputError.one(
            file,
            "(doctype)",
            "found a DOCTYPE or ENTITY declaration; XLIFF files must not declare any",
        ) from None
    except xml.parsers.expat.ExpatError as exc:
        raise InputError.one(
            file, "(syntax)", f"XML syntax error: {exc}", exc.lineno, exc.offset + 1
        ) from None
    return ET.fromstring(data)


@dataclass
class ImportResult:
    locale: str
    version: str = "2.0"
    imported: list[str] = field(default_factory=list)  # namespace.key
    approved: list[str] = field(default_factory=list)  # review recorded from the tool's approval
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # state initial or no target
    conflicts: list[str] = field(default_factory=list)  # one line each
    findings: list[Finding] = field(default_factory=list)  # QA errors of the imported text
    written: list[Path] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.conflicts or self.findings)


@dataclass(frozen=True)
class _Unit:
    ns: str
    key: str
    source: ET.Element | None
    target: ET.Element | None
    take: bool
    translator: str | None
    approved: bool = False  # 1.2 approved="yes", 2.0 state reviewed or final


def _local(tag: str) -> tuple[str, str]:
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, name


_TYPED_TAG = re.compile(r"<[/!?A-Za-z]")


def read_inline(
    el: ET.Element | None, codes: dict[str, Code], version: Version, where: str, file: str
) -> str | None:
    """An element's text with its inline codes turned back into the source's tags."""
    if el is None:
        return None
    q = NS if version == "2.0" else NS12
    paired, alone = ("pc", "ph") if version == "2.0" else ("g", "x")

    def text_part(value: str | None) -> str:
        value = value or ""
        if typed := _TYPED_TAG.search(value):
            raise InputError.one(
                file,
                where,
                f"has markup typed as text ({value[typed.start() :][:20]!r}); "
                "tags travel as inline codes (<pc>/<ph> in 2.0, <g>/<x> in 1.2): use your "
                "tool's tags, copied from the source",
            )
        return value

    def walk(node: ET.Element) -> str:
        out = [text_part(node.text)]
        for child in node:
            namespace, name = _local(child.tag)
            cid = child.get("id", "")
            code = codes.get(cid)
            if namespace != q or name not in (paired, alone):
                raise InputError.one(
                    file,
                    where,
                    f"has inline element <{name}>, which cannot be carried back faithfully; "
                    f"use only <{paired}> and <{alone}> with the source's ids",
                )
            if code is None:
                known = ", ".join(f"{c.id} ({c.open})" for c in codes.values()) or "none"
                raise InputError.one(
                    file,
                    where,
                    f'<{name} id="{cid}"> is not one of the source\'s inline codes ({known}); '
                    "copy the codes from the source",
                )
            if (name == paired) != (code.close is not None):
                raise InputError.one(
                    file,
                    where,
                    f'<{name} id="{cid}"> stands for {code.open}, which is '
                    f"{'a paired' if code.close else 'a standalone'} code; use "
                    f"<{paired if code.close else alone}>",
                )
            if name == paired:
                out.append(code.open + walk(child) + (code.close or ""))
            elif len(child) or (child.text or "").strip():
                raise InputError.one(file, where, f'<{name} id="{cid}"> must be empty')
            else:
                out.append(code.open)
            out.append(text_part(child.tail))
        return "".join(out)

    return walk(el)


def _units_20(doc: ET.Element, file: str) -> tuple[str | None, str | None, list[_Unit]]:
    units = []
    for file_el in doc.findall(f"{_Q}file"):
        ns = file_el.get("id", "")
        file_who = _mda_translator(file_el)
        for unit in file_el.iter(f"{_Q}unit"):  # units may sit in <group>s
            key = unit.get("id", "")
            segments = unit.findall(f"{_Q}segment")
            if len(segments) != 1:
                raise InputError.one(
                    file, f"{ns}.{key}", f"has {len(segments)} segments; expected exactly one"
                )
            seg = segments[0]
            target = seg.find(f"{_Q}target")
            state = seg.get("state", "initial")
            take = state in ("translated", "reviewed", "final") and target is not None
            who = _mda_translator(unit) or file_who
            approved = state in ("reviewed", "final")
            units.append(_Unit(ns, key, seg.find(f"{_Q}source"), target, take, who, approved))
    return doc.get("srcLang"), doc.get("trgLang"), units


def _mda_translator(el: ET.Element) -> str | None:
    for group in el.findall(f"{{{MDA}}}metadata/{{{MDA}}}metaGroup"):
        for meta in group.findall(f"{{{MDA}}}meta"):
            if meta.get("type") == "translator" and (meta.text or "").strip():
                return (meta.text or "").strip()
    return None


def _units_12(doc: ET.Element, file: str) -> tuple[str | None, str | None, list[_Unit]]:
    units = []
    languages: set[tuple[str | None, str | None]] = set()
    for file_el in doc.findall(f"{_Q12}file"):
        ns = file_el.get("original", "")
        languages.add((file_el.get("source-language"), file_el.get("target-language")))
        phases = {
            p.get("phase-name"): p.get("contact-name")
            for p in file_el.findall(f"{_Q12}header/{_Q12}phase-group/{_Q12}phase")
            if p.get("process-name", "translation") == "translation"
        }
        sole = next(iter(phases.values())) if len(phases) == 1 else None
        for unit in file_el.iter(f"{_Q12}trans-unit"):
            key = unit.get("id", "")
            target = unit.find(f"{_Q12}target")
            state = target.get("state") if target is not None else None
            take = target is not None and (state is None or state in _TAKEN_12)
            phase = target.get("phase-name") if target is not None else None
            who = phases.get(phase) if phase else sole
            approved = unit.get("approved") == "yes"
            units.append(_Unit(ns, key, unit.find(f"{_Q12}source"), target, take, who, approved))
    if len(languages) > 1:
        shown = ", ".join(f"{s}->{t}" for s, t in sorted(languages, key=str))
        raise InputError.one(
            file, "file", f"files of several language pairs ({shown}); one locale per import"
        )
    src, trg = next(iter(languages), (None, None))
    return src, trg, units


@dataclass(frozen=True)
class Approval:
    """Who approved a text in a translation tool, and when (UTC)."""

    by: str
    at: datetime


@dataclass(frozen=True)
class Attribution:
    """What a translation tool records about one text: who wrote it, who approved it."""

    translator: str | None
    approval: Approval | None = None


#: (namespace, key, text) -> what the tool records about that very text of the message.
Attribute = Callable[[str, str, str], Attribution]


@dataclass(frozen=True)
class XliffDoc:
    """A parsed XLIFF file: its version, language pair and units."""

    file: str
    version: Version
    src_lang: str | None
    trg_lang: str | None
    where_src: str
    where_trg: str
    units: list[_Unit]


def read_xliff(path: Path, file: str | None = None) -> XliffDoc:
    """Read and parse an XLIFF 2.0 or 1.2 file; InputError if it is not one, or if a message
    appears twice."""
    file = file or str(path)
    data = files.read_bytes(path, max_bytes=MAX_BYTES, file=file)
    doc = parse_xliff(data, file)
    if doc.tag == f"{_Q}xliff" and doc.get("version") == "2.0":
        src_lang, trg_lang, units = _units_20(doc, file)
        parsed = XliffDoc(file, "2.0", src_lang, trg_lang, "xliff.srcLang", "xliff.trgLang", units)
    elif doc.tag == f"{_Q12}xliff" and doc.get("version") == "1.2":
        src_lang, trg_lang, units = _units_12(doc, file)
        parsed = XliffDoc(
            file, "1.2", src_lang, trg_lang, "file.source-language", "file.target-language", units
        )
    else:
        raise InputError.one(
            file,
            "xliff",
            f"root is {doc.tag} version {doc.get('version')}; expected XLIFF 2.0 ({NS}) or "
            f"1.2 ({NS12})",
        )
    seen = Counter((u.ns, u.key) for u in parsed.units)
    duplicates = [f"{ns}.{key}" for (ns, key), n in seen.items() if n > 1]
    if duplicates:
        raise InputError(
            Problem(
                file,
                name,
                "appears more than once; each message once per file, so nothing was imported",
            )
            for name in duplicates
        )
    return parsed


def import_xliff(root: Path, path: Path, *, translator: str | None = None) -> ImportResult:
    """Merge a translator's XLIFF (2.0 or 1.2) into ``locales/<locale>/``; see the module
    docstring. Nothing is written unless the whole file passes."""
    doc = read_xliff(path)
    if translator is not None and not re.fullmatch(HANDLE_PATTERN, translator):
        raise InputError.one(
            "(command line)", "--translator", f"{translator!r} is not a code-host user name"
        )
    cat = load_catalogs(root)
    if doc.src_lang != cat.source_locale:
        raise InputError.one(
            doc.file, doc.where_src, f"found {doc.src_lang}; expected {cat.source_locale}"
        )
    locale = doc.trg_lang
    if locale is None or locale not in cat.targets:
        raise InputError.one(
            doc.file,
            doc.where_trg,
            f"found {locale}; expected a target locale ({', '.join(cat.targets)})",
        )
    result = ImportResult(locale, doc.version)
    changed: dict[str, dict[str, TranslatedMessage]] = {}
    merge_units(cat, locale, doc, result, changed, translator=translator)
    check_import(cat, locale, changed, result)
    if result.refused:
        return result  # nothing written: fix the file (or the conflicts) and import it again
    result.written.extend(write_imports(root, cat, {locale: changed}))
    return result


def merge_units(
    cat: Catalogs,
    locale: str,
    doc: XliffDoc,
    result: ImportResult,
    changed: dict[str, dict[str, TranslatedMessage]],
    *,
    translator: str | None = None,
    attribute: Attribute | None = None,
    tool: str = "the translation tool",
) -> None:
    """Fold one file's units of ``locale`` into ``changed`` (namespace -> the whole namespace
    as it would be), recording each in ``result``.

    ``attribute``: the tool's own record of who wrote and who approved each text (Weblate's
    history). With it, a changed text's translator is the tool's, an ``approved`` unit becomes
    a review by its approver, and a text or an approval the tool has no record of is a
    conflict: the file alone is never believed. Without it, approvals in the file are ignored
    (review happens with ``rollout l10n review``).
    """
    existing = cat.translations.get(locale, {})
    unnamed: list[str] = []
    for unit in doc.units:
        ns, key, name = unit.ns, unit.key, f"{unit.ns}.{unit.key}"
        if ns not in cat.source:
            result.conflicts.append(f"{name}: unknown namespace {ns}; not imported")
            continue
        if key not in cat.source[ns]:
            result.conflicts.append(f"{name}: unknown key (not in the source); not imported")
            continue
        current = cat.source[ns][key].text
        codes = source_codes(current)
        target = read_inline(unit.target, codes, doc.version, name, doc.file)
        if not unit.take or not target or not target.strip():
            result.skipped.append(name)
            continue
        source_text = read_inline(unit.source, codes, doc.version, name, doc.file)
        if source_text != current:
            result.conflicts.append(
                f"{name}: the source text changed since export "
                f"(XLIFF has {source_text!r}, now {current!r}); not imported, re-export"
            )
            continue
        namespace = changed.get(ns, existing.get(ns, {}))
        old = namespace.get(key)
        digest = source_hash(current)
        same = old is not None and old.text == target and old.source_hash == digest
        approve = unit.approved and not (same and old is not None and old.review is not None)
        # The tool is asked only about what changes: a new text, or an approval to record.
        ask = attribute is not None and (not same or approve)
        record = attribute(ns, key, target) if attribute is not None and ask else None
        review = None
        if attribute is not None and approve:
            approval = record.approval if record is not None else None
            if approval is None:
                result.conflicts.append(
                    f"{name}: approved in the file, but {tool} records no approval of this "
                    "text; not imported (approve it there, or mark it for editing)"
                )
                continue
            if not re.fullmatch(HANDLE_PATTERN, approval.by):
                result.conflicts.append(
                    f"{name}: approved by {approval.by!r}, which is not a code-host user name; "
                    "not imported"
                )
                continue
            review = Review(
                by=approval.by,
                at=approval.at.astimezone(UTC).replace(microsecond=0),
                source_hash=digest,
                text_hash=text_hash(target),
            )
        if same:
            assert old is not None
            if review is None:
                result.unchanged.append(name)
            else:  # approved there since the text was imported: the text stays, the review lands
                messages = changed.setdefault(ns, dict(existing.get(ns, {})))
                messages[key] = old.model_copy(update={"review": review})
                result.approved.append(name)
            continue
        who = unit.translator
        if attribute is not None:
            found = record.translator if record is not None else None
            if found is None:
                result.conflicts.append(
                    f"{name}: {tool} has no record of who wrote this text; not imported "
                    "(texts come back only as edited there)"
                )
                continue
            if who is not None and who != found:
                result.conflicts.append(
                    f"{name}: the file names translator {who}, {tool} records {found}; not imported"
                )
                continue
            who = found
        elif who is not None and translator is not None and who != translator:
            raise InputError.one(
                doc.file,
                name,
                f"the file names translator {who}, --translator says {translator}; "
                "pass the one who translated it",
            )
        who = who or translator
        if who is None:
            unnamed.append(name)
        elif not re.fullmatch(HANDLE_PATTERN, who):
            raise InputError.one(doc.file, name, f"translator {who!r} is not a code-host user name")
        messages = changed.setdefault(ns, dict(existing.get(ns, {})))
        messages[key] = TranslatedMessage(
            text=target,
            source_hash=digest,
            translator=who,
            review=review,
            same_as_source=bool(old and old.same_as_source and target == current),
        )
        result.imported.append(name)
        if review is not None:
            result.approved.append(name)
    if unnamed:
        raise InputError.one(
            doc.file,
            "(translator)",
            f"{len(unnamed)} changed message(s) ({', '.join(unnamed[:3])}) name no translator; "
            "pass --translator NAME (their code-host user name), so four eyes can be checked",
        )


def check_import(
    cat: Catalogs,
    locale: str,
    changed: dict[str, dict[str, TranslatedMessage]],
    result: ImportResult,
) -> None:
    """The same QA as check, over the locale as it would be after the import: every error on
    an imported or newly approved message goes into ``result.findings``."""
    merged = {**cat.translations.get(locale, {}), **changed}
    trial = Catalogs(
        cat.root,
        cat.config,
        cat.glossary,
        cat.source,
        {**cat.translations, locale: merged},
        dict(cat.where),
    )
    touched = {*result.imported, *result.approved}
    result.findings = [
        f for f in analyse(trial, [locale]).findings if f.severity == "error" and f.key in touched
    ]


def write_imports(
    root: Path, cat: Catalogs, changed: dict[str, dict[str, dict[str, TranslatedMessage]]]
) -> list[Path]:
    """Write every changed namespace of every locale (locale -> namespace -> messages), all
    or none; a catalog holding hand edits the rewrite would drop is refused first."""
    texts: dict[Path, str] = {}
    for locale, namespaces in sorted(changed.items()):
        existing = cat.translations.get(locale, {})
        for ns, messages in sorted(namespaces.items()):
            if ns in existing:  # a rewrite would drop anything the writer does not write
                path, canonical = render_translation(root, locale, ns, existing[ns])
                files.refuse_hand_edits(
                    _read_text(path),
                    canonical,
                    file=_shown(root, path),
                    writer="rollout l10n import",
                )
            # Source order first, then any keys the file already had that the source lacks.
            order = [k for k in cat.source[ns] if k in messages]
            order += [k for k in messages if k not in cat.source[ns]]
            path, text = render_translation(root, locale, ns, {k: messages[k] for k in order})
            texts[path] = text
    files.write_files(texts)  # every namespace file of the import, or none
    return list(texts)


def _read_text(path: Path) -> str:
    return files.read_bytes(path, max_bytes=MAX_BYTES).decode("utf-8")


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
