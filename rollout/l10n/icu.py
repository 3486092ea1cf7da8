"""ICU MessageFormat helpers over the ``pyicumessageformat`` AST.

The parser returns a list of nodes: ``str`` for literal text, and dicts for arguments:
``{"name": n}`` (simple), ``{"name": n, "type": t, "format": f}`` (number, date, ...),
``{"name": n, "type": "plural"|"selectordinal"|"select", "options": {sel: [nodes]}}`` and
``{"name": n, "type": "number", "hash": True}`` for ``#`` inside a plural.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex
from pyicumessageformat import Parser

# We report a missing ``other`` ourselves (check ``plural-other``), so the parser must not.
_PARSER = Parser({"require_other": False, "allow_tags": False})

Ast = list[Any]
PLURAL_TYPES = ("plural", "selectordinal")


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Any, ...]:
    return tuple(_PARSER.parse(text))


def parse(text: str) -> Ast:
    """Parse ``text``; raises SyntaxError with the parser's position message.

    Results are memoised (the same source is compared with every locale); callers must treat
    the returned nodes as read-only.
    """
    return list(_parse(text))


@dataclass(frozen=True)
class Choice:
    """A plural, selectordinal or select argument and the selectors it offers."""

    name: str
    type: str
    selectors: tuple[str, ...]


def walk(ast: Ast) -> Iterator[Any]:
    """Every node, depth first, including those inside sub-messages."""
    for node in ast:
        yield node
        if isinstance(node, dict):
            for sub in node.get("options", {}).values():
                yield from walk(sub)


def arguments(ast: Ast) -> dict[str, str]:
    """Argument name -> type (``"simple"`` when untyped); ``#`` is not an argument."""
    out: dict[str, str] = {}
    for node in walk(ast):
        if isinstance(node, dict) and not node.get("hash"):
            out.setdefault(node["name"], node.get("type", "simple"))
    return out


def formats(ast: Ast) -> dict[str, tuple[str, str]]:
    """Argument name -> (type, style or skeleton) as written first, e.g. ``("time", "short")``."""
    out: dict[str, tuple[str, str]] = {}
    for node in walk(ast):
        if isinstance(node, dict) and not node.get("hash"):
            style = " ".join(str(node.get("format", "")).split())
            out.setdefault(node["name"], (node.get("type", "simple"), style))
    return out


def shown(name: str, kind: str, style: str) -> str:
    """How an argument is written: ``{t, time, short}``, ``{n, plural}``, ``{name}``."""
    if kind == "simple":
        return f"{{{name}}}"
    return f"{{{name}, {kind}{', ' + style if style else ''}}}"


def choice_nodes(ast: Ast) -> list[dict[str, Any]]:
    return [n for n in walk(ast) if isinstance(n, dict) and "options" in n]


def has_hash(branch: Ast) -> bool:
    """Whether ``#`` shows in a branch itself (not in a nested plural, whose # is its own)."""
    for node in branch:
        if isinstance(node, dict):
            if node.get("hash"):
                return True
            nested = node.get("options", {}) if node.get("type") not in PLURAL_TYPES else {}
            if any(has_hash(sub) for sub in nested.values()):
                return True
    return False


def branch_for(node: dict[str, Any], selector: str) -> Ast:
    """The branch ``selector`` picks, else ``other`` (ICU's own fallback)."""
    options = node["options"]
    return options.get(selector) or options.get("other") or next(iter(options.values()), [])


def rendering(ast: Ast, selector: str) -> Iterator[Any]:
    """The nodes one rendering shows when every choice picks ``selector`` (else ``other``)."""
    for node in ast:
        if isinstance(node, dict) and "options" in node:
            yield from rendering(branch_for(node, selector), selector)
        else:
            yield node


def last_text(ast: Ast) -> str:
    """The literal text a message ends with ("" when it ends with an argument)."""
    if not ast:
        return ""
    node = ast[-1]
    if isinstance(node, str):
        return node
    if "options" in node and node["type"] != "selectordinal":
        return last_text(branch_for(node, "other"))
    return ""  # an argument; an ordinal's suffix (#st, #.) is the number's own formatting


def choices(ast: Ast) -> list[Choice]:
    return [
        Choice(node["name"], node["type"], tuple(node["options"]))
        for node in walk(ast)
        if isinstance(node, dict) and "options" in node
    ]


def texts(ast: Ast) -> list[str]:
    """The literal text segments, in order, from every branch."""
    return [node for node in walk(ast) if isinstance(node, str)]


_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def longest(ast: Ast) -> int:
    """Grapheme clusters of the longest rendering, arguments counted as written.

    Each sub-message contributes its longest branch; ``{name}`` counts as its source form and
    ``#`` as one cluster. Lengths are a translator's budget, not a layout engine's.
    """
    total = 0
    for node in ast:
        if isinstance(node, str):
            total += graphemes(node)
        elif node.get("hash"):
            total += 1
        elif "options" in node:
            total += max((longest(sub) for sub in node["options"].values()), default=0)
        else:
            total += graphemes("{" + node["name"] + "}")
    return total
