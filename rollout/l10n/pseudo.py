"""The pseudo-locale: the source with every letter accented and ~40% longer, for layout tests.

A screen that shows ``[Ŷöûŕ åççöûñţš ~~~~~]`` proves three things at a glance: the text comes
from a bundle (not hard-coded), accents and tall glyphs fit, and a translation 40% longer
than English (German, Finnish) is not cut off (the brackets show where it ends). ICU
arguments, ``#``, tags and links are kept as they are, so the message still formats.
"""

from __future__ import annotations

import math
import unicodedata
from functools import cache

import regex

from rollout.l10n import icu

EXPANSION = 0.4
PAD = "~"

# Preference order of the combining marks tried on each letter; the first that composes into
# one precomposed character (NFC) wins, so the accented forms come from Unicode, not a table.
_MARKS = ("\u0301", "\u0308", "\u0302", "\u030a", "\u0303", "\u0327", "\u0307", "\u0323", "\u0331")
_KEEP = regex.compile(r"<[^<>]*>|https?://\S+|\S+@\S+")


@cache
def _accented(char: str) -> str:
    if not ("a" <= char.lower() <= "z"):
        return char
    for mark in _MARKS:
        composed = unicodedata.normalize("NFC", char + mark)
        if len(composed) == 1:
            return composed
    return char


def _accent(text: str) -> str:
    out, last = [], 0
    for m in _KEEP.finditer(text):  # tags and links stay readable to the code that uses them
        out.append("".join(_accented(c) for c in text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append("".join(_accented(c) for c in text[last:]))
    return "".join(out)


def _quote(text: str, in_plural: bool) -> str:
    """Literal text as ICU source: apostrophes doubled, syntax characters quoted."""
    text = text.replace("'", "''")
    special = "{}#" if in_plural else "{}"
    return "".join(f"'{c}'" if c in special else c for c in text)


def serialize(ast: icu.Ast, in_plural: bool = False) -> str:
    """ICU MessageFormat text of a parsed message (the inverse of icu.parse)."""
    out = []
    for node in ast:
        if isinstance(node, str):
            out.append(_quote(node, in_plural))
        elif node.get("hash"):
            out.append("#")
        elif "options" in node:
            plural = node["type"] in icu.PLURAL_TYPES
            offset = f"offset:{node['offset']} " if node.get("offset") else ""
            branches = " ".join(
                f"{sel} {{{serialize(sub, plural or in_plural)}}}"
                for sel, sub in node["options"].items()
            )
            out.append(f"{{{node['name']}, {node['type']}, {offset}{branches}}}")
        elif "type" in node:
            style = f", {node['format']}" if node.get("format") else ""
            out.append(f"{{{node['name']}, {node['type']}{style}}}")
        else:
            out.append(f"{{{node['name']}}}")
    return "".join(out)


def _transform(ast: icu.Ast) -> icu.Ast:
    out: icu.Ast = []
    for node in ast:
        if isinstance(node, str):
            out.append(_accent(node))
        elif "options" in node:
            out.append({**node, "options": {k: _transform(v) for k, v in node["options"].items()}})
        else:
            out.append(node)
    return out


def pseudo_text(text: str) -> str:
    """The pseudo-localized form of a (valid) source message."""
    ast = icu.parse(text)
    padding = PAD * max(1, math.ceil(EXPANSION * icu.longest(ast)))
    return f"[{serialize(_transform(ast))} {padding}]"


__all__ = ["pseudo_text", "serialize"]
