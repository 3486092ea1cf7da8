"""XLIFF 2.0 exchange with translators: export a locale, import their work back.

Export writes one ``<file>`` per namespace and one ``<unit>`` per message, with the source
text, the current translation (if any) and its state: ``initial`` (missing or stale: the
stale text is kept as a starting point), ``translated`` or ``reviewed``. Notes carry the
source description, ``max-length`` and any QA finding (``category="qa"``) to fix.

Import is conservative. A segment is taken only when its state is ``translated`` or later
and it has a non-empty target. Its source must equal the current source text (otherwise the
translator worked from an old text: conflict). A changed target is written as
``translated`` with the current source hash, never ``reviewed``: review happens here, in
a pull request. An unchanged, current target keeps its state.

Input is parsed defensively: size-capped, and any DOCTYPE or ENTITY declaration is rejected
before ElementTree sees the document (no billion laughs, no external entities).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

from rollout import files
from rollout.errors import InputError
from rollout.l10n.catalog import (
    TranslatedMessage,
    load_catalogs,
    render_translation,
    source_hash,
)
from rollout.l10n.checks import analyse

NS = "urn:oasis:names:tc:xliff:document:2.0"
MAX_BYTES = 10 * 1024 * 1024
_Q = f"{{{NS}}}"


def export_xliff(root: Path, locale: str) -> bytes:
    """The XLIFF 2.0 document for ``locale`` (UTF-8, deterministic)."""
    cat = load_catalogs(root, [locale])
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
    ET.register_namespace("", NS)
    doc = ET.Element(
        f"{_Q}xliff", {"version": "2.0", "srcLang": cat.source_locale, "trgLang": locale}
    )
    for ns, messages in cat.source.items():
        file_el = ET.SubElement(doc, f"{_Q}file", {"id": ns})
        translated = cat.translations.get(locale, {}).get(ns, {})
        for key, source in messages.items():
            unit = ET.SubElement(file_el, f"{_Q}unit", {"id": key})
            notes = ET.SubElement(unit, f"{_Q}notes")
            ET.SubElement(notes, f"{_Q}note", {"category": "description"}).text = source.description
            if source.max_length is not None:
                ET.SubElement(notes, f"{_Q}note", {"category": "max-length"}).text = str(
                    source.max_length
                )
            for line in qa.get(f"{ns}.{key}", []):
                ET.SubElement(notes, f"{_Q}note", {"category": "qa"}).text = line
            state = status.get(f"{ns}.{key}", "missing")
            xstate = state if state in ("translated", "reviewed") else "initial"
            segment = ET.SubElement(unit, f"{_Q}segment", {"state": xstate})
            ET.SubElement(segment, f"{_Q}source").text = source.text
            if key in translated and translated[key].text:
                ET.SubElement(segment, f"{_Q}target").text = translated[key].text
    ET.indent(doc, space="  ")
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True) + b"\n"


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
    imported: list[str] = field(default_factory=list)  # namespace.key
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # state initial or no target
    conflicts: list[str] = field(default_factory=list)  # one line each
    written: list[Path] = field(default_factory=list)


def _text(el: ET.Element | None) -> str | None:
    # Inline markup is not used by our catalogs; itertext keeps any text it might wrap.
    return None if el is None else "".join(el.itertext())


def import_xliff(root: Path, path: Path) -> ImportResult:
    """Merge a translator's XLIFF into ``locales/<trgLang>/``; see the module docstring."""
    file = str(path)
    data = files.read_bytes(path, max_bytes=MAX_BYTES, file=file)
    doc = parse_xliff(data, file)
    if doc.tag != f"{_Q}xliff" or doc.get("version") != "2.0":
        raise InputError.one(
            file, "xliff", f"root is {doc.tag} version {doc.get('version')}; expected XLIFF 2.0"
        )
    locale, src_lang = doc.get("trgLang"), doc.get("srcLang")
    cat = load_catalogs(root)
    if src_lang != cat.source_locale:
        raise InputError.one(
            file, "xliff.srcLang", f"found {src_lang}; expected {cat.source_locale}"
        )
    if locale not in cat.targets:
        raise InputError.one(
            file,
            "xliff.trgLang",
            f"found {locale}; expected a target locale ({', '.join(cat.targets)})",
        )
    result = ImportResult(locale)
    existing = cat.translations.get(locale, {})
    changed: dict[str, dict[str, TranslatedMessage]] = {}
    for file_el in doc.findall(f"{_Q}file"):
        ns = file_el.get("id", "")
        for unit in file_el.findall(f"{_Q}unit"):
            key = unit.get("id", "")
            name = f"{ns}.{key}"
            segments = unit.findall(f"{_Q}segment")
            if len(segments) != 1:
                result.conflicts.append(
                    f"{name}: has {len(segments)} segments; expected exactly one"
                )
                continue
            seg = segments[0]
            source_text, target = _text(seg.find(f"{_Q}source")), _text(seg.find(f"{_Q}target"))
            state = seg.get("state", "initial")
            if ns not in cat.source:
                result.conflicts.append(f"{name}: unknown namespace {ns}; not imported")
                continue
            if key not in cat.source[ns]:
                result.conflicts.append(f"{name}: unknown key (not in the source); not imported")
                continue
            if state == "initial" or not target or not target.strip():
                result.skipped.append(name)
                continue
            current = cat.source[ns][key].text
            if source_text != current:
                result.conflicts.append(
                    f"{name}: the source text changed since export "
                    f"(XLIFF has {source_text!r}, now {current!r}); not imported, re-export"
                )
                continue
            old = existing.get(ns, {}).get(key)
            digest = source_hash(current)
            if old is not None and old.text == target and old.source_hash == digest:
                result.unchanged.append(name)
                continue
            messages = changed.setdefault(ns, dict(existing.get(ns, {})))
            messages[key] = TranslatedMessage(text=target, state="translated", source_hash=digest)
            result.imported.append(name)
    texts: dict[Path, str] = {}
    for ns, messages in sorted(changed.items()):
        if ns in existing:  # a rewrite would drop anything the writer does not write
            path, canonical = render_translation(root, locale, ns, existing[ns])
            files.refuse_hand_edits(
                _read_text(path), canonical, file=_shown(root, path), writer="rollout l10n import"
            )
        # Source order first, then any keys the file already had that the source lacks.
        order = [k for k in cat.source[ns] if k in messages]
        order += [k for k in messages if k not in cat.source[ns]]
        path, text = render_translation(root, locale, ns, {k: messages[k] for k in order})
        texts[path] = text
    files.write_files(texts)  # every namespace file of the import, or none
    result.written.extend(texts)
    return result


def _read_text(path: Path) -> str:
    return files.read_bytes(path, max_bytes=MAX_BYTES).decode("utf-8")


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
