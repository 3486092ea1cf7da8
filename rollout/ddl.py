"""Spanner DDL files (``schema/*.sql``) as the statement lists Spanner's ``ddls`` takes."""

from __future__ import annotations

from pathlib import Path


def _strip_comments(text: str) -> str:
    """Drop ``--`` comments outside quoted strings and identifiers."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            out.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _split_statements(text: str) -> list[str]:
    parts: list[str] = []
    quote: str | None = None
    start = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    # Blank lines go (left by comments); other whitespace stays, literals may depend on it.
    return [
        "\n".join(line.rstrip() for line in p.strip().splitlines() if line.strip())
        for p in parts
        if p.strip()
    ]


def read_ddl(path: Path) -> list[str]:
    """The statements of a DDL file, comments removed, one per list item, ready for ``ddls``."""
    return _split_statements(_strip_comments(path.read_text(encoding="utf-8")))


