"""Catalog QA: every check, per-locale coverage and the go-live gate.

Plural categories come from CLDR through Babel and messages are parsed with an ICU
MessageFormat parser; nothing here hard-codes a language's grammar.

Severities: an *error* is a message that would render wrong (bad syntax, lost argument,
missing plural form, lost number, too long, forbidden term, unknown key); a *warning* is work
in progress or a smell (untranslated, stale, same as source, stray whitespace). ``check``
fails on errors; the go-live gate also demands every message translated and reviewed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import regex

from rollout.errors import Problem
from rollout.l10n import icu
from rollout.l10n.catalog import (
    Catalogs,
    SourceMessage,
    TranslatedMessage,
    babel_locale,
    load_catalogs,
    source_hash,
)

_DIGITS = regex.compile(r"\d+")
_LETTER = regex.compile(r"\p{L}")
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")

Severity = Literal["error", "warning"]
Status = Literal["missing", "stale", "translated", "reviewed"]

CHECKS = (
    "icu-syntax",
    "placeholders",
    "plural-categories",
    "plural-other",
    "numbers",
    "whitespace",
    "max-length",
    "same-as-source",
    "glossary",
    "untranslated",
    "stale",
    "unknown-key",
)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with one message in one locale."""

    severity: Severity
    locale: str
    key: str  # namespace.key
    check: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f" ({self.file}:{self.line})" if self.line else f" ({self.file})"
        message = " ".join(self.message.splitlines())  # one line; inner spaces are evidence
        return f"{self.severity} {self.locale}:{self.key}: {self.check}: {message}{where}"


@dataclass(frozen=True)
class Coverage:
    """How far a locale is: counts of messages, and which keys hold it back."""

    locale: str
    total: int
    translated: int  # current translation present (translated or reviewed)
    reviewed: int
    errors: int
    missing: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    unreviewed: tuple[str, ...] = ()  # translated but not reviewed
    error_keys: tuple[str, ...] = ()

    @property
    def percent_translated(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def percent_reviewed(self) -> float:
        return 100.0 * self.reviewed / self.total if self.total else 100.0

    @property
    def ready(self) -> bool:
        """100% translated and reviewed with zero errors: may go live."""
        return self.reviewed == self.total and self.errors == 0


@dataclass
class Analysis:
    """Findings and per-message status for a set of locales."""

    catalogs: Catalogs
    findings: list[Finding] = field(default_factory=list)
    #: locale -> "namespace.key" -> status
    status: dict[str, dict[str, Status]] = field(default_factory=dict)

    def errors(self, locale: str) -> list[Finding]:
        return [f for f in self.findings if f.locale == locale and f.severity == "error"]

    def coverage(self, locale: str) -> Coverage:
        keys = [f"{ns}.{k}" for ns, msgs in self.catalogs.source.items() for k in msgs]
        status = self.status.get(locale, {})
        errors = self.errors(locale)

        def having(*states: Status) -> tuple[str, ...]:
            return tuple(k for k in keys if status.get(k, "missing") in states)

        return Coverage(
            locale=locale,
            total=len(keys),
            translated=len(having("translated", "reviewed")),
            reviewed=len(having("reviewed")),
            errors=len(errors),
            missing=having("missing"),
            stale=having("stale"),
            unreviewed=having("translated"),
            error_keys=tuple(dict.fromkeys(f.key for f in errors)),
        )


# --- the checks ------------------------------------------------------------------------------


class _Collector:
    def __init__(self, cat: Catalogs, locale: str, ns: str, key: str, out: list[Finding]):
        self.where = cat.locate(locale, ns, key)
        self.locale, self.key, self.out = locale, f"{ns}.{key}", out

    def __call__(self, severity: Severity, check: str, message: str) -> None:
        self.out.append(
            Finding(
                severity, self.locale, self.key, check, message, self.where.file, self.where.line
            )
        )


def _digits(ast: icu.Ast) -> list[str]:
    found: list[str] = []
    for text in icu.texts(ast):
        for run in _DIGITS.findall(text):
            # Normalise any script's digits (e.g. Tamil ௬) to ASCII before comparing.
            found.append("".join(str(unicodedata.digit(c)) for c in run))
    return found


_CLDR_ORDER = {tag: i for i, tag in enumerate(("zero", "one", "two", "few", "many", "other"))}


def _list(names: set[str] | list[str]) -> str:
    """Sorted for display: CLDR categories in CLDR order, anything else alphabetically."""
    return ", ".join(sorted(names, key=lambda n: (_CLDR_ORDER.get(n, 9), n)))


def _plural_rules(locale: str, kind: str) -> set[str]:
    loc = babel_locale(locale)
    form = loc.ordinal_form if kind == "selectordinal" else loc.plural_form
    return set(form.tags) | {"other"}


def _check_choices(report: _Collector, locale: str, ast: icu.Ast) -> None:
    for choice in icu.choices(ast):
        if "other" not in choice.selectors:
            report(
                "error",
                "plural-other",
                f"{{{choice.name}, {choice.type}}} has no 'other' branch; ICU requires one "
                "as the fallback",
            )
        if choice.type not in icu.PLURAL_TYPES:
            continue
        allowed = _plural_rules(locale, choice.type)
        named = {s for s in choice.selectors if not s.startswith("=")}
        missing = allowed - named - {"other"}
        extra = named - allowed
        if missing:
            report(
                "error",
                "plural-categories",
                f"{{{choice.name}, {choice.type}}} lacks {_list(missing)}; CLDR rules for "
                f"{locale} use {_list(allowed)}",
            )
        if extra:
            report(
                "error",
                "plural-categories",
                f"{{{choice.name}, {choice.type}}} has {_list(extra)}, which {locale} does not "
                f"use (CLDR: {_list(allowed)}); use =N for an exact number",
            )


def _check_text(
    report: _Collector,
    cat: Catalogs,
    locale: str,
    text: str,
    ast: icu.Ast,
    source: SourceMessage,
) -> None:
    """Checks that apply to the source and to translations alike."""
    _check_choices(report, locale, ast)

    problems = []
    if text[:1].isspace():
        problems.append("leading whitespace")
    if text[-1:].isspace():
        problems.append("trailing whitespace")
    doubles = [t for t in icu.texts(ast) if "  " in t]
    if doubles:
        problems.append(f"double space in {doubles[0]!r}")
    if problems:
        report("warning", "whitespace", "; ".join(problems))

    if source.max_length is not None:
        length = icu.longest(ast)
        if length > source.max_length:
            report(
                "error",
                "max-length",
                f"{length} characters (grapheme clusters, longest variant) exceeds the "
                f"source's max_length {source.max_length}; shorten it",
            )

    patterns = _glossary(tuple(cat.glossary.forbidden.get(locale, {}).items()))
    if patterns:
        body = "\n".join(icu.texts(ast))
        for term, advice, pattern in patterns:
            if pattern.search(body):
                report("error", "glossary", f"uses forbidden term {term!r}: {advice}")


@cache
def _glossary(terms: tuple[tuple[str, str], ...]) -> list[tuple[str, str, regex.Pattern[str]]]:
    out = []
    for term, advice in terms:
        # Scripts written without spaces have no word boundaries: match the term anywhere.
        if _UNSPACED.search(term):
            pattern = regex.escape(term)
        else:
            pattern = r"(?<!\w)" + regex.escape(term) + r"(?!\w)"
        out.append((term, advice, regex.compile(pattern, flags=regex.IGNORECASE)))
    return out


def _check_translation(
    report: _Collector,
    cat: Catalogs,
    locale: str,
    target: TranslatedMessage,
    source: SourceMessage,
    source_ast: icu.Ast | None,
) -> None:
    try:
        ast = icu.parse(target.text)
    except SyntaxError as exc:
        report("error", "icu-syntax", f"{exc}; fix the ICU MessageFormat syntax")
        return
    _check_text(report, cat, locale, target.text, ast, source)
    if source_ast is None:
        return  # the source itself is broken; reported under the source locale

    want, have = icu.arguments(source_ast), icu.arguments(ast)
    parts = []
    if missing := set(want) - set(have):
        parts.append("lacks " + _list({f"{{{n}}}" for n in missing}))
    if extra := set(have) - set(want):
        parts.append("has " + _list({f"{{{n}}}" for n in extra}) + ", which the source does not")
    for name in sorted(set(want) & set(have)):
        if want[name] != have[name]:
            parts.append(f"{{{name}}} is {have[name]} here but {want[name]} in the source")
    source_selects = {
        c.name: set(c.selectors) for c in icu.choices(source_ast) if c.type == "select"
    }
    for choice in icu.choices(ast):
        if choice.type == "select" and choice.name in source_selects:
            offered, wanted = set(choice.selectors), source_selects[choice.name]
            if wanted - offered:
                lacking = ", ".join(sorted(wanted - offered))
                parts.append(f"{{{choice.name}, select}} lacks option(s) {lacking}")
            if offered - wanted:
                extra_options = ", ".join(sorted(offered - wanted))
                parts.append(
                    f"{{{choice.name}, select}} has option(s) {extra_options} the source lacks"
                )
    if parts:
        report(
            "error",
            "placeholders",
            "; ".join(parts) + f"; keep the source's arguments ({_list(set(want)) or 'none'})",
        )

    lost = sorted(set(_digits(source_ast)) - set(_digits(ast)), key=int)
    if lost:
        report(
            "error",
            "numbers",
            f"the source's number(s) {', '.join(lost)} do not appear in the translation",
        )

    language = babel_locale(locale).language
    if (
        language != "en"
        and target.text == source.text
        and any(_LETTER.search(t) for t in icu.texts(ast))
    ):
        report(
            "warning",
            "same-as-source",
            "text is identical to the source; translate it unless it is genuinely the same",
        )


def analyse(cat: Catalogs, locales: list[str] | None = None) -> Analysis:
    """Run every check on the source and on ``locales`` (default: every configured one)."""
    result = Analysis(cat)
    wanted = cat.all_locales if locales is None else list(dict.fromkeys(locales))
    src_locale = cat.source_locale
    source_asts: dict[tuple[str, str], icu.Ast | None] = {}

    # The source is parsed always (translations are compared with it) but reported only
    # when asked for.
    src_findings: list[Finding] = []
    for ns, messages in cat.source.items():
        for key, message in messages.items():
            report = _Collector(cat, src_locale, ns, key, src_findings)
            try:
                ast = icu.parse(message.text)
            except SyntaxError as exc:
                report("error", "icu-syntax", f"{exc}; fix the ICU MessageFormat syntax")
                source_asts[ns, key] = None
                continue
            source_asts[ns, key] = ast
            if not message.text.strip():
                report("error", "untranslated", "the source text is empty; write it")
            _check_text(report, cat, src_locale, message.text, ast, message)
    if src_locale in wanted:
        result.findings.extend(src_findings)
        result.status[src_locale] = {
            f"{ns}.{k}": "reviewed" for ns, msgs in cat.source.items() for k in msgs
        }

    for locale in wanted:
        if locale == src_locale:
            continue
        files = cat.translations.get(locale, {})
        status: dict[str, Status] = {}
        result.status[locale] = status
        for ns, messages in cat.source.items():
            translated = files.get(ns, {})
            for key, source in messages.items():
                report = _Collector(cat, locale, ns, key, result.findings)
                target = translated.get(key)
                name = f"{ns}.{key}"
                if target is None or not target.text.strip():
                    status[name] = "missing"
                    what = "no translation yet" if target is None else "the translation is empty"
                    report("warning", "untranslated", what)
                    continue
                current = source_hash(source.text)
                if target.source_hash != current:
                    status[name] = "stale"
                    report(
                        "warning",
                        "stale",
                        f"translates an older source text (source_hash {target.source_hash}, "
                        f"current {current}); update the translation and its source_hash",
                    )
                    continue
                status[name] = target.state
                _check_translation(report, cat, locale, target, source, source_asts[ns, key])
        for ns, translated in files.items():
            for key in translated:
                if key not in cat.source.get(ns, {}):
                    where = (
                        f"namespace {ns} has no key {key}"
                        if ns in cat.source
                        else f"there is no source namespace {ns}"
                    )
                    _Collector(cat, locale, ns, key, result.findings)(
                        "error",
                        "unknown-key",
                        f"{where} in {cat.file(src_locale, ns)}; remove it or add the source",
                    )

    order = {tag: i for i, tag in enumerate(cat.all_locales)}
    result.findings.sort(key=lambda f: (order.get(f.locale, 99), f.key, f.check, f.message))
    return result


# --- public API ------------------------------------------------------------------------------


def check_catalogs(root: Path, locales: list[str] | None = None) -> list[Finding]:
    """Every finding for the source and ``locales`` (default: all configured locales).

    Raises InputError when a catalog file is malformed or a locale is not configured.
    """
    return analyse(load_catalogs(root, locales), locales).findings


def coverage(root: Path, locale: str) -> Coverage:
    """How much of ``locale`` is translated, reviewed and error-free."""
    return analyse(load_catalogs(root, [locale]), [locale]).coverage(locale)


def _some(keys: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", and {len(keys) - limit} more" if len(keys) > limit else "")


def gate_problems(
    analysis: Analysis, region_file: str, locales: list[str], path: str = "locales"
) -> list[Problem]:
    cat = analysis.catalogs
    problems: list[Problem] = []
    rule = (
        "every required locale must be 100% translated and reviewed with zero errors before go-live"
    )
    for locale in locales:
        where = f"{path}.{locale}"
        if locale not in cat.all_locales:
            problems.append(
                Problem(
                    region_file,
                    where,
                    f"{locale} is not a configured locale (configured: "
                    f"{', '.join(cat.all_locales)}); add it to locales/config.yaml and "
                    f"translate every namespace; {rule}",
                )
            )
            continue
        cov = analysis.coverage(locale)
        parts = []
        if cov.missing:
            parts.append(
                f"{len(cov.missing)} of {cov.total} messages not translated ({_some(cov.missing)})"
            )
        if cov.stale:
            parts.append(
                f"{len(cov.stale)} of {cov.total} messages stale, their source changed "
                f"({_some(cov.stale)})"
            )
        if cov.unreviewed:
            parts.append(
                f"{len(cov.unreviewed)} of {cov.total} messages not reviewed "
                f"({_some(cov.unreviewed)})"
            )
        if cov.errors:
            errors = analysis.errors(locale)
            named = tuple(f"{f.key} {f.check}" for f in errors)
            noun = "error" if cov.errors == 1 else "errors"
            parts.append(f"{cov.errors} {noun} ({_some(named)})")
        if locale != cat.source_locale:
            source_errors = analysis.errors(cat.source_locale)
            if source_errors:
                parts.append(
                    f"the source locale {cat.source_locale} has {len(source_errors)} error(s)"
                )
        if parts:
            problems.append(Problem(region_file, where, "; ".join(parts) + f"; {rule}"))
    return problems


def gate(root: Path, region_file: str, locales: list[str]) -> list[Problem]:
    """One Problem per locale of a region that may not go live, saying what holds it back.

    ``region_file`` names the region's YAML in each Problem (``regions/europe-west2.yaml``);
    ``locales`` is that region's ``locales`` list.
    """
    cat = load_catalogs(root)
    # Analyse the source too: a broken source message blocks every locale.
    return gate_problems(analyse(cat), region_file, locales)
