"""Catalog QA: every check, per-locale coverage, what each locale serves, the go-live gate.

Plural categories come from CLDR through Babel, messages are parsed with an ICU
MessageFormat parser and character classes are Unicode properties (scan.py); nothing here
hard-codes a language's grammar or a list of characters.

Severities: an *error* is a message that would render wrong or unsafely (bad syntax, lost
argument or style, missing plural form or ``#``, lost or reordered number, foreign markup,
script, bidi or invisible characters, another link, a hard-coded amount, too long, forbidden
term, a review that is no review, unknown key); a *warning* is work in progress or a smell
(untranslated, stale, same as source, whitespace or end punctuation unlike the source's).
``check`` fails on errors.

What a locale serves: a message reviewed for the current source, without errors; a stale
message keeps serving its last reviewed text for ``stale_grace_days`` after its source's
``changed`` date; anything else falls back along the locale's chain (bundles.py). The go-live
gate blocks a locale whose messages are neither ready nor inside that grace period.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import regex

from rollout.errors import Problem
from rollout.l10n import icu, scan
from rollout.l10n.catalog import (
    MIGRATION_AT,
    MIGRATION_REVIEWER,
    Catalogs,
    SourceMessage,
    TranslatedMessage,
    babel_locale,
    format_time,
    load_catalogs,
    source_hash,
    text_hash,
)

_DIGITS = regex.compile(r"\d+")
_LETTER = regex.compile(r"\p{L}")
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")

Severity = Literal["error", "warning"]
Status = Literal["missing", "stale", "translated", "reviewed"]

CHECKS = (
    "icu-syntax",
    "placeholders",
    "argument-format",
    "plural-categories",
    "plural-other",
    "plural-hash",
    "numbers",
    "markup",
    "unsafe",
    "bidi",
    "invisible",
    "links",
    "hardcoded",
    "whitespace",
    "punctuation",
    "max-length",
    "same-as-source",
    "glossary",
    "review",
    "untranslated",
    "stale",
    "unknown-key",
)


def today_utc() -> date:
    return datetime.now(UTC).date()


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
class Pending:
    """A message a locale does not serve yet, and until when that is within the grace."""

    key: str
    status: Status
    until: date | None  # last day of the grace period; None: no grace
    why_no_grace: str = ""


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
    in_grace: tuple[Pending, ...] = ()  # not ready, but within the grace period
    blocking: tuple[Pending, ...] = ()  # not ready and past (or without) a grace period

    @property
    def percent_translated(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def percent_reviewed(self) -> float:
        return 100.0 * self.reviewed / self.total if self.total else 100.0

    @property
    def ready(self) -> bool:
        """100% translated and reviewed with zero errors."""
        return self.reviewed == self.total and self.errors == 0

    @property
    def may_go_live(self) -> bool:
        """Zero errors, and every message ready or inside its grace period."""
        return self.errors == 0 and not self.blocking


@dataclass
class Analysis:
    """Findings, per-message status and what each locale serves itself."""

    catalogs: Catalogs
    today: date = field(default_factory=today_utc)
    findings: list[Finding] = field(default_factory=list)
    #: locale -> "namespace.key" -> status
    status: dict[str, dict[str, Status]] = field(default_factory=dict)
    #: locale -> "namespace.key" -> the text that locale serves itself (reviewed, error-free;
    #: or stale within its grace period)
    own: dict[str, dict[str, str]] = field(default_factory=dict)
    #: locale -> "namespace.key" -> why a message is not ready (absent: reviewed)
    pending: dict[str, dict[str, Pending]] = field(default_factory=dict)

    def errors(self, locale: str) -> list[Finding]:
        return [f for f in self.findings if f.locale == locale and f.severity == "error"]

    def coverage(self, locale: str) -> Coverage:
        keys = [f"{ns}.{k}" for ns, msgs in self.catalogs.source.items() for k in msgs]
        status = self.status.get(locale, {})
        errors = self.errors(locale)
        pending = self.pending.get(locale, {})

        def having(*states: Status) -> tuple[str, ...]:
            return tuple(k for k in keys if status.get(k, "missing") in states)

        waiting = [pending[k] for k in keys if k in pending]
        in_grace = tuple(p for p in waiting if p.until is not None and self.today <= p.until)
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
            in_grace=in_grace,
            blocking=tuple(p for p in waiting if p not in in_grace),
        )


# --- the checks ------------------------------------------------------------------------------


class _Collector:
    def __init__(self, cat: Catalogs, locale: str, ns: str, key: str, out: list[Finding]):
        self.where = cat.locate(locale, ns, key)
        self.locale, self.key, self.out = locale, f"{ns}.{key}", out
        self.errors = 0

    def __call__(self, severity: Severity, check: str, message: str) -> None:
        self.errors += severity == "error"
        self.out.append(
            Finding(
                severity, self.locale, self.key, check, message, self.where.file, self.where.line
            )
        )


def _digit_runs(nodes: list[object]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            for run in _DIGITS.findall(node):
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


def _check_safety(report: _Collector, text: str) -> None:
    """Checks on the characters alone: they hold for any text that could be served."""
    for problem in scan.unsafe_problems(text):
        report("error", "unsafe", problem)
    for position, char, always in scan.bidi_controls(text)[:3]:
        why = (
            "embedding, override and isolate controls are never allowed (they make text "
            "display differently from what it says)"
            if always
            else "no right-to-left text here needs a direction mark"
        )
        report(
            "error",
            "bidi",
            f"contains {scan.describe(char)} at character {position}; {why}: delete it",
        )
    for position, char in scan.invisible_characters(text)[:3]:
        report(
            "error",
            "invisible",
            f"contains {scan.describe(char)} at character {position}, which is invisible; "
            "delete it (joiners are kept only inside emoji sequences and where a script needs "
            "them, after a virama or between joining letters)",
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
    for problem in scan.markup_problems(text):
        report("error", "markup", problem)

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


def _check_source(report: _Collector, cat: Catalogs, message: SourceMessage, ast: icu.Ast) -> None:
    text = message.text
    _check_safety(report, text)
    _check_text(report, cat, cat.source_locale, text, ast, message)
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
    for segment in icu.texts(ast):
        amounts, dates = scan.hardcoded(segment, cat.source_locale)
        for amount in amounts:
            report(
                "error",
                "hardcoded",
                f"hard-coded amount {amount!r}; pass it as an argument ({{amount, number, "
                "::currency/GBP}} or a pre-formatted {amount}) so each locale formats it",
            )
        for when in dates:
            report(
                "error",
                "hardcoded",
                f"hard-coded date or time {when!r}; pass it as an argument ({{day, date, "
                "medium}} or {time, time, short}) so each locale formats it",
            )


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


def _compare_arguments(
    report: _Collector, source_ast: icu.Ast, ast: icu.Ast, *, formats_only: bool = False
) -> bool:
    """Arguments, select options, types and styles as the source's. False if any differs."""
    want, have = icu.formats(source_ast), icu.formats(ast)
    parts = []
    if missing := set(want) - set(have):
        parts.append("lacks " + _list({f"{{{n}}}" for n in missing}))
    if extra := set(have) - set(want):
        parts.append("has " + _list({f"{{{n}}}" for n in extra}) + ", which the source does not")
    if not formats_only:
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
    ok = not parts
    if parts and not formats_only:
        report(
            "error",
            "placeholders",
            "; ".join(parts) + f"; keep the source's arguments ({_list(set(want)) or 'none'})",
        )
    styles = []
    for name in sorted(set(want) & set(have)):
        if want[name] != have[name]:
            styles.append(
                f"{icu.shown(name, *have[name])} here but {icu.shown(name, *want[name])} in the "
                "source"
            )
    if styles and not formats_only:
        report(
            "error",
            "argument-format",
            "; ".join(styles) + "; keep each argument's type, style and skeleton as the source "
            "has them (the app passes values for the source's formats)",
        )
    return ok and not styles


def _check_plural_hash(report: _Collector, source_ast: icu.Ast, ast: icu.Ast) -> None:
    sources = {n["name"]: n for n in icu.choice_nodes(source_ast) if n["type"] in icu.PLURAL_TYPES}
    for node in icu.choice_nodes(ast):
        src = sources.get(node["name"])
        if node["type"] not in icu.PLURAL_TYPES or src is None:
            continue
        for selector, branch in node["options"].items():
            if selector.startswith("=") and selector not in src["options"]:
                continue  # an exact number the translator spells out
            model = src["options"].get(selector) or src["options"].get("other", [])
            which = selector if selector in src["options"] else "other"
            if icu.has_hash(model) and not icu.has_hash(branch):
                report(
                    "error",
                    "plural-hash",
                    f"{{{node['name']}, {node['type']}}} branch {selector} lacks #, which the "
                    f"source's {which} branch shows; keep # so the number appears",
                )


def _check_numbers(report: _Collector, source_ast: icu.Ast, ast: icu.Ast) -> None:
    selectors = {"other"}
    for choice in (*icu.choices(source_ast), *icu.choices(ast)):
        selectors.update(choice.selectors)
    for selector in sorted(selectors, key=lambda n: (_CLDR_ORDER.get(n, 9), n)):
        want = _digit_runs(list(icu.rendering(source_ast, selector)))
        have = _digit_runs(list(icu.rendering(ast, selector)))
        if want == have:
            continue
        lost = list((Counter(want) - Counter(have)).elements())
        extra = list((Counter(have) - Counter(want)).elements())
        branch = "" if selector == "other" and len(selectors) == 1 else f" ({selector} branch)"
        if lost:
            message = f"the source's number(s) {', '.join(lost)} do not appear in the translation"
        elif extra:
            message = f"has number(s) {', '.join(extra)} the source does not"
        else:
            message = (
                f"has the source's numbers in another order ({', '.join(have)}; the source: "
                f"{', '.join(want)})"
            )
        report(
            "error",
            "numbers",
            f"{message}{branch}; keep every number of the source, in its order, and add none "
            "(dates and amounts belong in ICU arguments)",
        )
        return


def _check_against_source(
    report: _Collector,
    target: TranslatedMessage,
    source: SourceMessage,
    source_ast: icu.Ast,
    ast: icu.Ast,
) -> None:
    _compare_arguments(report, source_ast, ast)
    _check_plural_hash(report, source_ast, ast)
    _check_numbers(report, source_ast, ast)

    want_tags, have_tags = scan.tag_counts(source.text), scan.tag_counts(target.text)
    if want_tags != have_tags:
        parts = []
        if extra := have_tags - want_tags:
            parts.append("has " + ", ".join(sorted(extra.elements())) + " the source has not")
        if lost := want_tags - have_tags:
            parts.append("lacks the source's " + ", ".join(sorted(lost.elements())))
        report(
            "error",
            "markup",
            "; ".join(parts) + "; use exactly the source's tags (markup only where the source "
            f"has it; allowed: {scan.ALLOWED_SHOWN})",
        )

    want_links = Counter(scan.links("\n".join(icu.texts(source_ast))))
    have_links = Counter(scan.links("\n".join(icu.texts(ast))))
    if want_links != have_links:
        parts = []
        if lost_links := want_links - have_links:
            parts.append("lacks the source's " + ", ".join(sorted(lost_links.elements())))
        if extra_links := have_links - want_links:
            parts.append("has " + ", ".join(sorted(extra_links.elements())) + " the source has not")
        report(
            "error",
            "links",
            "; ".join(parts) + "; keep URLs, host names and e-mail addresses exactly as the "
            "source writes them",
        )

    text, parts = target.text, []
    for where, edge in (("leading", slice(None, 1)), ("trailing", slice(-1, None))):
        here, there = text[edge].isspace(), source.text[edge].isspace()
        if here and not there:
            parts.append(f"{where} whitespace the source has not")
        elif there and not here:
            parts.append(f"lacks the source's {where} whitespace")
    if not any("  " in t for t in icu.texts(source_ast)):
        doubles = [t for t in icu.texts(ast) if "  " in t]
        if doubles:
            parts.append(f"double space in {doubles[0]!r}")
    if parts:
        report("warning", "whitespace", "; ".join(parts) + "; space it as the source is")

    want_end = scan.ending(icu.last_text(source_ast))
    have_end = scan.ending(icu.last_text(ast))
    if want_end != have_end:
        described = {
            "sentence": "with a full stop, ? or !",
            "clause": "with , ; or :",
            "none": "without punctuation",
        }
        report(
            "warning",
            "punctuation",
            f"ends {described[have_end]} but the source ends {described[want_end]}; end it as "
            "the source does, in this language's punctuation",
        )

    if not _LETTER.search("".join(icu.texts(ast))):
        return  # nothing to translate: "{amount}" is the same everywhere
    if target.text == source.text and not target.same_as_source:
        report(
            "warning",
            "same-as-source",
            "text is identical to the source; translate it, or mark it same_as_source: true "
            "if it is meant to be the same",
        )
    elif target.same_as_source and target.text != source.text:
        report(
            "warning",
            "same-as-source",
            "marked same_as_source: true but differs from the source; remove the mark",
        )


def _check_review(
    report: _Collector, cat: Catalogs, locale: str, target: TranslatedMessage
) -> bool:
    """Whether the review (if any) is a valid four-eyes approval of this very text."""
    review = target.review
    if review is None:
        return False
    when = format_time(review.at)
    reviewers = cat.config.reviewers.get(locale, [])
    fix = (
        f"have a reviewer of {locale} approve it (rollout l10n review {locale} KEY --reviewer NAME)"
    )
    valid = True
    if review.by == MIGRATION_REVIEWER:
        if review.at != MIGRATION_AT:
            report(
                "error",
                "review",
                f"{MIGRATION_REVIEWER} is the placeholder of the four-eyes migration and "
                f"stands only on reviews dated {format_time(MIGRATION_AT)}, not {when}; {fix}",
            )
            valid = False
    else:
        if review.by not in (*reviewers, *cat.config.former_reviewers.get(locale, [])):
            report(
                "error",
                "review",
                f"reviewed by {review.by}, who is not a reviewer of {locale} in "
                f"locales/config.yaml ({', '.join(reviewers)}); {fix}",
            )
            valid = False
        if target.translator is None:
            report(
                "error",
                "review",
                f"reviewed by {review.by} but no translator is recorded, so four eyes cannot "
                "be shown; set translator: to who wrote the text, then review it again",
            )
            valid = False
        elif review.by == target.translator:
            report(
                "error",
                "review",
                f"reviewed by its own translator {review.by}; four eyes: another reviewer of "
                f"{locale} must approve it",
            )
            valid = False
    if review.text_hash != text_hash(target.text):
        report(
            "warning",
            "review",
            f"the text changed after {review.by}'s review on {when}; review it again",
        )
        valid = False
    elif review.source_hash != target.source_hash:
        report(
            "warning",
            "review",
            f"{review.by} approved it for another source text (source_hash "
            f"{review.source_hash}); review it again",
        )
        valid = False
    return valid


def grace_until(
    cat: Catalogs, source: SourceMessage, target: TranslatedMessage | None, *, stale: bool
) -> tuple[date | None, str]:
    """The last day a not-ready message may wait (None: no grace), and why there is none."""
    if source.changed is None:
        return None, "the source message has no changed: date, so no grace period"
    review = target.review if stale and target is not None else None
    if review is not None and review.at.date() > source.changed:
        return None, (
            f"its changed: date {source.changed} is before the review of the text it "
            f"replaced ({review.at.date()}); set changed: to the day the text changed"
        )
    return source.changed + timedelta(days=cat.config.stale_grace_days), ""


def _check_translation(
    report: _Collector,
    cat: Catalogs,
    locale: str,
    target: TranslatedMessage,
    source: SourceMessage,
    source_ast: icu.Ast | None,
    *,
    stale: bool,
) -> tuple[bool, bool]:
    """Run the checks; (error-free, validly reviewed). A stale text gets only the checks that
    do not depend on the source, plus whether its arguments still fit the new source."""
    _check_safety(report, target.text)
    reviewed = _check_review(report, cat, locale, target)
    try:
        ast = icu.parse(target.text)
    except SyntaxError as exc:
        report("error", "icu-syntax", f"{exc}; fix the ICU MessageFormat syntax")
        return False, reviewed
    if stale:
        for problem in scan.markup_problems(target.text):
            report("error", "markup", problem)
        fits = source_ast is not None and _compare_arguments(
            report, source_ast, ast, formats_only=True
        )
        return report.errors == 0 and fits, reviewed
    _check_text(report, cat, locale, target.text, ast, source)
    if source_ast is not None:  # else the source itself is broken; reported there
        _check_against_source(report, target, source, source_ast, ast)
    return report.errors == 0, reviewed


def analyse(
    cat: Catalogs, locales: list[str] | None = None, *, today: date | None = None
) -> Analysis:
    """Run every check on the source and on ``locales`` (default: every configured one)."""
    result = Analysis(cat, today=today or today_utc())
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
            _check_source(report, cat, message, ast)
    if src_locale in wanted:
        result.findings.extend(src_findings)
        result.status[src_locale] = {
            f"{ns}.{k}": "reviewed" for ns, msgs in cat.source.items() for k in msgs
        }
        result.own[src_locale] = {
            f"{ns}.{k}": m.text for ns, msgs in cat.source.items() for k, m in msgs.items()
        }
        result.pending[src_locale] = {}

    for locale in wanted:
        if locale == src_locale:
            continue
        _analyse_locale(result, cat, locale, source_asts)

    order = {tag: i for i, tag in enumerate(cat.all_locales)}
    result.findings.sort(key=lambda f: (order.get(f.locale, 99), f.key, f.check, f.message))
    return result


def _analyse_locale(
    result: Analysis,
    cat: Catalogs,
    locale: str,
    source_asts: dict[tuple[str, str], icu.Ast | None],
) -> None:
    files = cat.translations.get(locale, {})
    status: dict[str, Status] = {}
    own: dict[str, str] = {}
    pending: dict[str, Pending] = {}
    result.status[locale], result.own[locale], result.pending[locale] = status, own, pending
    for ns, messages in cat.source.items():
        translated = files.get(ns, {})
        for key, source in messages.items():
            report = _Collector(cat, locale, ns, key, result.findings)
            target = translated.get(key)
            name = f"{ns}.{key}"
            current = source_hash(source.text)
            stale = target is not None and target.source_hash != current
            until, why = grace_until(cat, source, target, stale=stale)
            grace = (
                f"in grace until {until} ({cat.config.stale_grace_days} days after the "
                f"source changed on {source.changed})"
                if until is not None and result.today <= until
                else (why or f"its grace period ended on {until}")
            )
            if target is None or not target.text.strip():
                status[name] = "missing"
                pending[name] = Pending(name, "missing", until, why)
                what = "no translation yet" if target is None else "the translation is empty"
                report("warning", "untranslated", f"{what}; {grace}")
                continue
            if stale:
                status[name] = "stale"
                pending[name] = Pending(name, "stale", until, why)
                clean, reviewed = _check_translation(
                    report, cat, locale, target, source, source_asts[ns, key], stale=True
                )
                serves = clean and reviewed and until is not None and result.today <= until
                if serves:
                    own[name] = target.text
                serving = "serving its last reviewed text" if serves else "falling back meanwhile"
                report(
                    "warning",
                    "stale",
                    f"translates an older source text (source_hash {target.source_hash}, "
                    f"current {current}); {serving}, {grace}; update the translation and its "
                    "source_hash",
                )
                continue
            clean, reviewed = _check_translation(
                report, cat, locale, target, source, source_asts[ns, key], stale=False
            )
            status[name] = "reviewed" if reviewed else "translated"
            if reviewed and clean:
                own[name] = target.text
            elif not reviewed:
                pending[name] = Pending(name, "translated", until, why)
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
                    f"{where} in {cat.file(cat.source_locale, ns)}; remove it or add the source",
                )


# --- public API ------------------------------------------------------------------------------


def check_catalogs(
    root: Path, locales: list[str] | None = None, *, today: date | None = None
) -> list[Finding]:
    """Every finding for the source and ``locales`` (default: all configured locales).

    Raises InputError when a catalog file is malformed or a locale is not configured.
    """
    return analyse(load_catalogs(root, locales), locales, today=today).findings


def coverage(root: Path, locale: str, *, today: date | None = None) -> Coverage:
    """How much of ``locale`` is translated, reviewed and error-free."""
    return analyse(load_catalogs(root, [locale]), [locale], today=today).coverage(locale)


def _some(keys: tuple[str, ...] | list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", and {len(keys) - limit} more" if len(keys) > limit else "")


GATE_RULE = (
    "a live locale needs every message reviewed (or inside its grace period) and zero errors"
)


def gate_problems(
    analysis: Analysis, region_file: str, locales: list[str], path: str = "locales"
) -> list[Problem]:
    """One Problem per locale of ``locales`` that may not go live (nor be published)."""
    cat = analysis.catalogs
    problems: list[Problem] = []
    for locale in locales:
        where = f"{path}.{locale}"
        if locale not in cat.all_locales:
            problems.append(
                Problem(
                    region_file,
                    where,
                    f"{locale} is not a configured locale (configured: "
                    f"{', '.join(cat.all_locales)}); add it to locales/config.yaml and "
                    f"translate every namespace; {GATE_RULE}",
                )
            )
            continue
        cov = analysis.coverage(locale)
        parts = []
        blocking = {p.key for p in cov.blocking}
        for state, label in (
            ("missing", "not translated"),
            ("stale", "stale, their source changed"),
            ("translated", "not reviewed"),
        ):
            keys = [p.key for p in cov.blocking if p.status == state]
            if keys:
                parts.append(f"{len(keys)} of {cov.total} messages {label} ({_some(keys)})")
        if blocking:
            reasons = sorted({p.why_no_grace or "grace period over" for p in cov.blocking})
            parts.append("no grace: " + "; ".join(reasons))
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
            problems.append(Problem(region_file, where, "; ".join(parts) + f"; {GATE_RULE}"))
    return problems


def gate(
    root: Path, region_file: str, locales: list[str], *, today: date | None = None
) -> list[Problem]:
    """One Problem per locale of a region that may not go live, saying what holds it back.

    ``region_file`` names the region's YAML in each Problem (``regions/europe-west2.yaml``);
    ``locales`` is that region's ``locales`` list.
    """
    cat = load_catalogs(root)
    # Analyse the source too: a broken source message blocks every locale.
    return gate_problems(analyse(cat, today=today), region_file, locales)


def configured_problems(
    root: Path, region_file: str, locales: list[str], path: str = "locales"
) -> list[Problem]:
    """A region's locales must be configured: a config fact, unlike translation progress."""
    cat = load_catalogs(root, [])
    return [
        Problem(
            region_file,
            f"{path}.{tag}",
            f"{tag} is not a configured locale (configured: {', '.join(cat.all_locales)}); "
            "add it to locales/config.yaml and translate every namespace",
        )
        for tag in locales
        if tag not in cat.all_locales
    ]
