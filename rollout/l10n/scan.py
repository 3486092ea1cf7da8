"""What a message's text contains, beyond ICU: markup, unsafe content, invisible and bidi
characters, links, hard-coded amounts and dates, how it ends.

Every character class here is a Unicode property (the ``regex`` module's ``\\p{...}``) or
comes from CLDR through Babel, never a hand list of code points, so a new script or a new
Unicode version is handled by upgrading the libraries. Each function returns plain data; the
checks (checks.py) turn it into findings with a fix.
"""

from __future__ import annotations

import html
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

import regex
from babel import Locale
from babel.dates import get_month_names
from babel.numbers import list_currencies

# --- markup ----------------------------------------------------------------------------------

#: Inline markup a message may carry, and only where its source carries the same.
ALLOWED_PAIRED = ("b", "i", "strong", "em")
ALLOWED_VOID = ("br",)
ALLOWED_SHOWN = "<b>, <i>, <strong>, <em> (paired, no attributes) and <br/>"

# Anything a browser could take for a tag: <name ...>, </name>, <!...>, <?...>.
_TAG = regex.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
_TAG_LIKE = regex.compile(r"<[/!?A-Za-z]")


@dataclass(frozen=True)
class Tag:
    """One tag in a text: ``<b>`` (open), ``</b>`` (close) or ``<br/>`` (void)."""

    kind: str  # "open", "close", "void"
    name: str
    attributes: str
    raw: str
    start: int
    end: int

    @property
    def shown(self) -> str:
        return {"open": f"<{self.name}>", "close": f"</{self.name}>"}.get(
            self.kind, f"<{self.name}/>"
        )


def tags(text: str) -> list[Tag]:
    out = []
    for m in _TAG.finditer(text):
        closing, name, attributes, slash = m.group(1), m.group(2), m.group(3), m.group(4)
        kind = "close" if closing else ("void" if slash or name in ALLOWED_VOID else "open")
        out.append(Tag(kind, name, attributes.strip(), m.group(0), m.start(), m.end()))
    return out


def stray_angles(text: str) -> list[str]:
    """Tag-like ``<`` that no tag explains (``<!-- x``, ``<b`` cut off): markup gone wrong."""
    covered = {i for t in tags(text) for i in range(t.start, t.end)}
    return [
        text[m.start() : m.start() + 12]
        for m in _TAG_LIKE.finditer(text)
        if m.start() not in covered
    ]


def markup_problems(text: str) -> list[str]:
    """Tags outside the allowlist, attributes, bad nesting: wrong in any text, source too."""
    problems: list[str] = []
    stack: list[str] = []
    for tag in tags(text):
        if tag.name not in (*ALLOWED_PAIRED, *ALLOWED_VOID):
            problems.append(f"tag {tag.raw!r} is not allowed; use only {ALLOWED_SHOWN}")
            continue
        if tag.attributes:
            problems.append(f"tag {tag.raw!r} has attributes; allowed tags take none")
        if tag.name in ALLOWED_VOID:
            if tag.kind != "void" or not tag.raw.endswith("/>"):
                problems.append(f"write {tag.raw!r} as <br/> (the formatter reads only that)")
        elif tag.kind == "void":
            problems.append(f"{tag.raw!r} cannot be self-closing; write <{tag.name}>…</{tag.name}>")
        elif tag.kind == "open":
            stack.append(tag.name)
        elif not stack or stack[-1] != tag.name:
            problems.append(f"{tag.raw!r} closes a tag that is not open; nest tags properly")
        else:
            stack.pop()
    if stack:
        problems.append(f"<{stack[-1]}> is never closed; close every tag you open")
    for fragment in stray_angles(text):
        problems.append(f"{fragment!r} looks like broken markup; write a whole tag or no '<'")
    return problems


def tag_counts(text: str) -> Counter[str]:
    return Counter(t.shown for t in tags(text))


# --- unsafe content --------------------------------------------------------------------------

_SCRIPT_TAG = regex.compile(r"<\s*/?\s*script\b", regex.IGNORECASE)
_HANDLER = regex.compile(r"(?<![\p{L}\p{N}_-])on[a-z]{3,}\s*=", regex.IGNORECASE)
# Browsers ignore whitespace and controls inside a scheme, so those are dropped first.
_SCRIPT_URL = regex.compile(r"(?:java|vb)script:|data:text/html", regex.IGNORECASE)
_IGNORED_IN_SCHEME = regex.compile(r"[\s\p{Cc}\p{Cf}]+")


def _decoded(text: str) -> str:
    # Twice: ``&amp;lt;script`` survives one round of unescaping.
    return html.unescape(html.unescape(text))


def unsafe_problems(text: str) -> list[str]:
    """Script, event handlers and script URLs: refused everywhere, whatever the source says."""
    decoded = _decoded(text)
    problems = []
    if _SCRIPT_TAG.search(decoded):
        problems.append("contains a <script> tag; messages never carry scripts: delete it")
    if m := _HANDLER.search(decoded):
        problems.append(
            f"contains an event handler ({m.group(0).rstrip('= ')}=); messages never carry "
            "scripts: delete it"
        )
    if m := _SCRIPT_URL.search(_IGNORED_IN_SCHEME.sub("", decoded)):
        problems.append(
            f"contains a {m.group(0).lower()} link; only https links the source has are "
            "allowed: delete it"
        )
    return problems


# --- invisible and bidi characters -----------------------------------------------------------

# Bidi controls whose bidi class is a strong direction are the marks (LRM, RLM, ALM); the rest
# are embeddings, overrides and isolates, which can make text read differently from its bytes.
_BIDI_EMBEDDING = regex.compile(
    r"[\p{Bidi_Control}--[\p{Bidi_Class=L}\p{Bidi_Class=R}\p{Bidi_Class=AL}]]", regex.V1
)
_BIDI_MARK = regex.compile(
    r"[\p{Bidi_Control}&&[\p{Bidi_Class=L}\p{Bidi_Class=R}\p{Bidi_Class=AL}]]", regex.V1
)
_STRONG_RTL = regex.compile(r"[[\p{Bidi_Class=R}\p{Bidi_Class=AL}]--\p{Bidi_Control}]", regex.V1)

# Invisible: default-ignorable (UAX #44), controls other than a newline, private use,
# unassigned, surrogates, line and paragraph separators.
_INVISIBLE = regex.compile(
    r"[[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]--[\n\p{Bidi_Control}]]",
    regex.V1,
)
_ZWJ = r"[\p{Join_Control}&&\p{Joining_Type=Join_Causing}]"
_ZWNJ = r"[\p{Join_Control}&&\p{Joining_Type=Non_Joining}]"
_TAG_CHARS = (
    r"[\p{Emoji_Component}&&\p{Default_Ignorable_Code_Point}"
    r"--\p{Variation_Selector}--\p{Join_Control}]+"
)
_PICT = (
    rf"\p{{Extended_Pictographic}}(?:\p{{Emoji_Modifier}}|\p{{Variation_Selector}}|{_TAG_CHARS})?"
)
# What scripts really need (UTS #51 emoji sequences; RFC 5892's CONTEXTJ rules, which
# Tamil, Devanagari and the other Indic scripts use after a virama, Arabic in joining context).
_EMOJI_SEQUENCE = regex.compile(
    rf"{_PICT}(?:{_ZWJ}{_PICT})*|\p{{Emoji}}\p{{Variation_Selector}}", regex.V1
)
_AFTER_VIRAMA = regex.compile(
    r"(?<=\p{Canonical_Combining_Class=Virama})\p{Join_Control}", regex.V1
)
_JOINING_ZWNJ = regex.compile(
    rf"(?<=[\p{{Joining_Type=L}}\p{{Joining_Type=D}}]\p{{Joining_Type=T}}*){_ZWNJ}"
    r"(?=\p{Joining_Type=T}*[\p{Joining_Type=R}\p{Joining_Type=D}])",
    regex.V1,
)


def describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')}"


def invisible_characters(text: str) -> list[tuple[int, str]]:
    """(position, character) of every invisible character no script rule explains."""
    allowed: set[int] = set()
    for m in _EMOJI_SEQUENCE.finditer(text):
        allowed.update(range(m.start(), m.end()))
    for pattern in (_AFTER_VIRAMA, _JOINING_ZWNJ):
        allowed.update(m.start() for m in pattern.finditer(text))
    return [(m.start(), m.group()) for m in _INVISIBLE.finditer(text) if m.start() not in allowed]


def bidi_controls(text: str) -> list[tuple[int, str, bool]]:
    """(position, character, always_refused) of bidi controls a text should not carry.

    Embeddings, overrides and isolates are always refused; a mark (LRM, RLM, ALM) only when
    the text has no right-to-left letters that could need it.
    """
    out = [(m.start(), m.group(), True) for m in _BIDI_EMBEDDING.finditer(text)]
    if not _STRONG_RTL.search(text):
        out += [(m.start(), m.group(), False) for m in _BIDI_MARK.finditer(text)]
    return sorted(out)


# --- links -----------------------------------------------------------------------------------

_URL = regex.compile(r"(?i)\b(?:https?://|ftp://|mailto:|www\.)[^\s<>\"'{}\[\]]+")
# Sentence punctuation after a link is not part of it; the characters URLs use are.
_URL_TAIL = regex.compile(r"[[\p{Po}\p{Pe}\p{Pf}]--[/#%&*@\\]]+$", regex.V1)
# Lower-case ASCII host names as written in a source (a TLD of letters), and e-mail addresses.
_DOMAIN = regex.compile(
    r"(?<![\w@./-])(?:[\w.+-]+@)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
    r"(?![\w-]|\.[a-z0-9])"
)


def links(text: str) -> list[str]:
    """URLs, host names and e-mail addresses in a text, in order."""
    found: list[tuple[int, str]] = []
    rest = text
    for m in _URL.finditer(text):
        found.append((m.start(), _URL_TAIL.sub("", m.group(0))))
        rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end() :]
    found += [(m.start(), m.group(0)) for m in _DOMAIN.finditer(rest)]
    return [link for _, link in sorted(found)]


# --- hard-coded amounts and dates (source only) ----------------------------------------------


@cache
def _hardcoded_patterns(locale: str) -> tuple[regex.Pattern[str], ...]:
    loc = Locale.parse(locale, sep="-")
    codes = "|".join(sorted(list_currencies(), key=len, reverse=True))
    months: set[str] = set()
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            months.update(get_month_names(width, context, locale=loc).values())
    month = "|".join(regex.escape(m.rstrip(".")) for m in sorted(months, key=len, reverse=True))
    periods = {str(p) for p in loc.day_periods.get("format", {}).get("abbreviated", {}).values()}
    period = "|".join(regex.escape(p) for p in sorted(periods, key=len, reverse=True)) or "(?!)"
    number = r"\d[\d.,\u00a0\u202f ]*\d|\d"
    return (
        # amounts: a currency sign or an ISO 4217 code next to a number
        regex.compile(
            rf"\p{{Sc}}\s?(?:{number})|(?:{number})\s?\p{{Sc}}"
            rf"|\b(?:{codes})\s?(?:{number})|(?:{number})\s?(?:{codes})\b"
        ),
        # dates and times: 12/03/2027, 2027-03-12, 12.03.27, 12 March, March 12th, 17:30, 5pm
        regex.compile(
            r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"
            rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{month})\b"
            rf"|\b(?:{month})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
            r"|\b\d{1,2}:\d{2}\b"
            rf"|\b\d{{1,2}}\s?(?i:{period})(?!\w)",  # month names as CLDR writes them
        ),
    )


def hardcoded(text: str, locale: str) -> tuple[list[str], list[str]]:
    """(amounts, dates-and-times) written into a text instead of passed as arguments."""
    amounts, dates = _hardcoded_patterns(locale)
    return [m.group(0).strip() for m in amounts.finditer(text)], [
        m.group(0).strip() for m in dates.finditer(text)
    ]


# --- how a text ends -------------------------------------------------------------------------

_CLOSERS = regex.compile(r"[\p{Pe}\p{Pf}\"'\s]+$")
_SENTENCE_END = regex.compile(r"\p{Sentence_Terminal}$")
_CLAUSE_END = regex.compile(r"\p{Terminal_Punctuation}$")


def ending(text: str) -> str:
    """``sentence`` (. ? ! 。 ？ ।), ``clause`` (, ; : ، …) or ``none``: how a text ends."""
    bare = _CLOSERS.sub("", text)
    if _SENTENCE_END.search(bare):
        return "sentence"
    if _CLAUSE_END.search(bare):
        return "clause"
    return "none"
