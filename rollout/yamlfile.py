"""A strict, safe YAML reader for every file the project reads.

PyYAML's safe loader is a good parser but a lenient judge: it keeps the last of two
duplicate keys, builds a billion-laughs document in memory, and its errors are multi-line
tracebacks. This module parses with it and judges for itself:

- bytes must be UTF-8 and indentation must not contain tabs;
- only the YAML core tags are accepted (no ``!!python/...`` or custom tags);
- a duplicate key in a mapping is an error, not a silent overwrite;
- aliases may not expand the document past ``MAX_NODES`` nodes (computed on the node graph,
  so a bomb fails fast in bounded memory), and nothing nests deeper than ``MAX_DEPTH``;
- only a regular file inside the project is read, and only up to ``MAX_BYTES``
  (``rollout.files.read_bytes``);
- the root is a mapping and the file is not empty.

Values come back as plain dicts, lists and scalars, together with the line and column of
every key path so later checks (pydantic, cross-file rules) can point at the exact line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rollout import files
from rollout.errors import InputError, Problem, format_path

MAX_NODES = 100_000
MAX_BYTES = 5 * 1024 * 1024
# The project's files nest a few levels (a region's cluster.maintenance_window.start_time is
# three); far deeper is a mistake or an attack on the recursive parts of any YAML reader.
MAX_DEPTH = 32

_CORE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}

Position = tuple[int, int]
KeyPath = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed file: its data, its display name and where each key path sits."""

    file: str
    data: dict[str, Any]
    positions: dict[KeyPath, Position] = field(default_factory=dict)

    def where(self, path: KeyPath) -> Position | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        pos = self.where(path)
        return Problem(
            self.file,
            format_path(path),
            message,
            pos[0] if pos else None,
            pos[1] if pos else None,
        )


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _mark(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node graph into plain Python, judging as it goes."""

    def __init__(self, file: str):
        self.file = file
        self.positions: dict[KeyPath, Position] = {}
        self._scalars = yaml.SafeLoader("")  # only used for its scalar constructors

    def fail(self, node: Node, path: KeyPath, message: str) -> InputError:
        line, col = _mark(node)
        return InputError.one(self.file, format_path(path), message, line, col)

    def build(self, node: Node, path: KeyPath) -> Any:
        if node.tag not in _CORE_TAGS:
            raise self.fail(
                node,
                path,
                f"found tag {node.tag!r}; only plain YAML values are accepted "
                "(no !!python/... or custom tags)",
            )
        self.positions.setdefault(path, _mark(node))
        if isinstance(node, ScalarNode):
            try:
                return self._scalars.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise self.fail(node, path, f"bad scalar {node.value!r}: {exc}") from None
        if isinstance(node, SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(
                        key_node, path, "found a '<<' merge key; write the keys out instead"
                    )
                if not isinstance(key_node, ScalarNode):
                    raise self.fail(
                        key_node, path, "found a complex mapping key; keys must be plain strings"
                    )
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key_node.value)
                if key in out:
                    first = self.positions.get((*path, key))
                    at = f" (first at line {first[0]})" if first else ""
                    raise self.fail(
                        key_node,
                        (*path, key),
                        f"duplicate key {key!r}{at}; each key may appear once in a mapping",
                    )
                self.positions[(*path, key)] = _mark(key_node)
                out[key] = self.build(value_node, (*path, key))
            self.positions.pop((*path, "<key>"), None)
            return out
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover


def _depth_exceeds(root: Node, limit: int) -> bool:
    """Whether any path from the root nests more than ``limit`` collections (no recursion)."""
    level: dict[int, Node] = {id(root): root}
    for _ in range(limit):
        below: dict[int, Node] = {}
        for node in level.values():
            if isinstance(node, SequenceNode):
                below.update((id(c), c) for c in node.value if not isinstance(c, ScalarNode))
            elif isinstance(node, MappingNode):
                for k, v in node.value:
                    below.update((id(c), c) for c in (k, v) if not isinstance(c, ScalarNode))
        if not below:
            return False
        level = below
    return True


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes the document would hold with every alias expanded; stops counting past limit."""
    memo: dict[int, int] = {}

    def size(node: Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = 1  # guards against recursive aliases
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        memo[key] = total
        return total

    return size(root)


# libyaml's parser builds the node graph an order of magnitude faster than PyYAML's pure-Python
# one, with the same tags, values and marks (tests/test_config.py compares the two on every
# shipped file); a machine without libyaml uses the Python parser alone.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(loader_cls: Any, text: str) -> Node | None:
    loader = loader_cls(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _compose_or_fail(text: str, file: str) -> Node | None:
    """Compose with the Python parser, turning its errors into one-line InputErrors."""
    try:
        return _compose(yaml.SafeLoader, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError.one(
            file,
            "(syntax)",
            f"YAML syntax error: {reason}",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise InputError.one(file, "(syntax)", f"YAML error: {exc}") from None
    except RecursionError:
        raise _too_deep(file, None) from None


def _too_deep(file: str, node: Node | None) -> InputError:
    line, col = _mark(node) if node is not None else (None, None)
    return InputError.one(
        file,
        "(root)",
        f"values nest more than {MAX_DEPTH} levels deep; the project's files need a few",
        line,
        col,
    )


def parse_text(text: str, file: str) -> YamlDoc:
    """Parse YAML text into a mapping, raising InputError with one line per problem."""
    for lineno, text_line in enumerate(text.splitlines(), start=1):
        stripped = text_line.lstrip(" ")
        if stripped.startswith("\t"):
            raise InputError.one(
                file,
                "(indentation)",
                "found a tab in the indentation; YAML indents with spaces only",
                lineno,
                len(text_line) - len(stripped) + 1,
            )
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise InputError.one(file, "(root)", "file is empty; expected a mapping of keys")
    try:
        node = _compose(_FAST_LOADER, text)
    except yaml.YAMLError:
        # libyaml words some errors differently: report them as the Python parser does
        node = _compose_or_fail(text, file)
    if node is None:
        raise InputError.one(file, "(root)", "file is empty; expected a mapping of keys")
    if _depth_exceeds(node, MAX_DEPTH):
        raise _too_deep(file, node)
    if _expanded_size(node, MAX_NODES) > MAX_NODES:
        line, col = _mark(node)
        raise InputError.one(
            file,
            "(root)",
            f"aliases expand the document past {MAX_NODES} nodes (an alias bomb?); "
            "write the values out or use fewer anchors",
            line,
            col,
        )
    builder = _Builder(file)
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else f"the value {node.value!r}"
        raise builder.fail(node, (), f"found {kind} at the root; expected a mapping of keys")
    data = builder.build(node, ())
    return YamlDoc(file=file, data=data, positions=builder.positions)


def read(path: Path, root: Path | None = None) -> YamlDoc:
    """Read and parse ``path``; the file is named relative to ``root`` in every message."""
    file = _display(path, root)
    raw = files.read_bytes(path, max_bytes=MAX_BYTES, root=root, file=file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError.one(
            file,
            "(encoding)",
            f"found byte 0x{raw[exc.start]:02x} that is not UTF-8; save the file as UTF-8",
            line,
            col,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_text(text, file)


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlDoc", "parse_text", "read"]
