"""The translation catalogs on disk: their pydantic models, loading and writing.

Layout (all under ``locales/``)::

    config.yaml                  CatalogConfig: the source locale and the target locales
    glossary.yaml                Glossary: forbidden terms per locale
    <source>/<namespace>.yaml    SourceCatalog: the en-GB text of every message
    <locale>/<namespace>.yaml    TranslationCatalog: one locale's text of a namespace

A translation records the hash of the source text it translates (``source_hash``), so a
changed source marks it stale without anyone having to remember.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rollout import files, yamlfile
from rollout.errors import InputError, Problem, format_path

LOCALES_DIR = "locales"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
NAMESPACE_PATTERN = r"^[a-z][a-z0-9-]*$"
HASH_LENGTH = 12


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogConfig(_Model):
    """``locales/config.yaml``: which locales exist; namespaces are the source files."""

    source_locale: str = Field(description="BCP 47 tag of the language engineers write in")
    locales: list[str] = Field(
        description="BCP 47 tags of every target locale (not the source), each once"
    )

    @field_validator("source_locale")
    @classmethod
    def _source_tag(cls, value: str) -> str:
        return check_locale_tag(value)

    @field_validator("locales")
    @classmethod
    def _target_tags(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for tag in value:
            check_locale_tag(tag)
            if tag in seen:
                raise ValueError(f"{tag} is listed twice; list each locale once")
            seen.add(tag)
        return value


class SourceMessage(_Model):
    """One message in the source locale."""

    text: str = Field(description="ICU MessageFormat text in the source locale")
    description: str = Field(
        min_length=1, description="Where the text appears and what it means, for translators"
    )
    max_length: int | None = Field(
        default=None, gt=0, description="Most grapheme clusters any translation may use"
    )


class SourceCatalog(_Model):
    """``locales/<source>/<namespace>.yaml``."""

    messages: dict[str, SourceMessage] = Field(description="Messages keyed by stable id")

    @field_validator("messages")
    @classmethod
    def _keys(cls, value: dict[str, SourceMessage]) -> dict[str, SourceMessage]:
        return check_keys(value)


class TranslatedMessage(_Model):
    """One message in a target locale."""

    text: str = Field(description="ICU MessageFormat text in the target locale")
    state: Literal["translated", "reviewed"] = Field(
        description="translated: awaiting review; reviewed: approved for release"
    )
    source_hash: str = Field(
        pattern=r"^[0-9a-f]{12}$",
        description="First 12 hex digits of sha256 of the source text this translates",
    )


class TranslationCatalog(_Model):
    """``locales/<locale>/<namespace>.yaml``."""

    messages: dict[str, TranslatedMessage] = Field(description="Messages keyed by stable id")

    @field_validator("messages")
    @classmethod
    def _keys(cls, value: dict[str, TranslatedMessage]) -> dict[str, TranslatedMessage]:
        return check_keys(value)


class Glossary(_Model):
    """``locales/glossary.yaml``: terms a locale must not use, with what to write instead."""

    forbidden: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="locale -> forbidden term -> the advice shown when it is found",
    )

    @field_validator("forbidden")
    @classmethod
    def _tags(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for tag in value:
            check_locale_tag(tag)
        return value


#: JSON Schema name -> model, for ``schema/json/<name>.schema.json``.
SCHEMAS: dict[str, type[BaseModel]] = {
    "l10n-config": CatalogConfig,
    "l10n-glossary": Glossary,
    "l10n-source": SourceCatalog,
    "l10n-translation": TranslationCatalog,
}


def check_keys(messages: dict[str, Any]) -> dict[str, Any]:
    for key in messages:
        if not re.fullmatch(KEY_PATTERN, str(key)):
            raise ValueError(
                f"key {key!r} is not a stable id; use lower case letters, digits and _ "
                "starting with a letter (e.g. transfer_sent)"
            )
    return messages


@cache
def babel_locale(tag: str) -> Locale:
    """The Babel locale of a BCP 47 tag (``zh-Hans-SG`` -> ``zh_Hans_SG``)."""
    return Locale.parse(tag, sep="-")


def check_locale_tag(tag: str) -> str:
    """Accept only canonical BCP 47 tags that CLDR knows (``de-DE``, not ``de_de``)."""
    try:
        loc = babel_locale(tag)
    except (ValueError, UnknownLocaleError, TypeError):
        raise ValueError(
            f"{tag!r} is not a locale CLDR knows; use a BCP 47 tag such as de-DE"
        ) from None
    canonical = str(loc).replace("_", "-")
    if canonical != tag:
        raise ValueError(f"{tag!r} is not canonical; write {canonical}")
    return tag


def source_hash(text: str) -> str:
    """First 12 hex digits of the sha256 of a source text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def schema_header(name: str, depth: int) -> str:
    """The editor hint on a catalog's first line; ``depth`` is the file's depth in locales/."""
    up = "../" * (depth + 1)
    return f"# yaml-language-server: $schema={up}schema/json/{name}.schema.json"


# --- loading ---------------------------------------------------------------------------------


def _accepted(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model that ``loc`` (ending in the unknown key) sits in."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def validate_doc(doc: yamlfile.YamlDoc, model: type[BaseModel]) -> Any:
    """Validate a parsed file, turning pydantic errors into positioned one-line problems."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems: list[Problem] = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            if err["type"] == "extra_forbidden":
                accepted = _accepted(model, loc)
                message = f"unknown key {loc[-1]!r}" + (
                    f"; accepted keys: {', '.join(accepted)}" if accepted else ""
                )
            elif err["type"] == "missing":
                message = f"{loc[-1]} is required"
            else:
                found = err.get("input")
                shown = "" if isinstance(found, (dict, list)) else f" (found {found!r})"
                message = err["msg"].removeprefix("Value error, ") + shown
            problems.append(doc.problem(loc, message))
        raise InputError(problems) from None


@dataclass(frozen=True)
class Located:
    """A message with the file and line it came from."""

    file: str
    line: int | None


@dataclass
class Catalogs:
    """Everything in ``locales/``, validated."""

    root: Path
    config: CatalogConfig
    glossary: Glossary
    #: namespace -> key -> message, in file order; namespaces sorted
    source: dict[str, dict[str, SourceMessage]]
    #: locale -> namespace -> key -> message (only files that exist)
    translations: dict[str, dict[str, dict[str, TranslatedMessage]]]
    #: (locale, namespace, key) -> where it is written
    where: dict[tuple[str, str, str], Located] = field(default_factory=dict)

    @property
    def source_locale(self) -> str:
        return self.config.source_locale

    @property
    def targets(self) -> list[str]:
        return list(self.config.locales)

    @property
    def all_locales(self) -> list[str]:
        return [self.source_locale, *self.config.locales]

    def file(self, locale: str, namespace: str) -> str:
        return f"{LOCALES_DIR}/{locale}/{namespace}.yaml"

    def locate(self, locale: str, namespace: str, key: str) -> Located:
        return self.where.get((locale, namespace, key), Located(self.file(locale, namespace), None))

    def total(self) -> int:
        return sum(len(m) for m in self.source.values())


_PARSED: dict[tuple[str, str, str], tuple[yamlfile.YamlDoc, Any]] = {}
_PARSED_MAX = 1024


def read_model(path: Path, root: Path, model: type[BaseModel]) -> tuple[yamlfile.YamlDoc, Any]:
    """Read and validate one file, memoised on its bytes: ``rollout validate`` gates every
    region against the same catalogs, and strict YAML parsing is the slow part."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = ""  # let yamlfile.read report it
    try:
        name = str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        name = str(path.resolve())
    # The parse depends only on the bytes and the name shown in messages.
    key = (name, digest, model.__name__)
    if digest and key in _PARSED:
        return _PARSED[key]
    doc = yamlfile.read(path, root)
    value = (doc, validate_doc(doc, model))
    if digest:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = value
    return value


def _record(cat: Catalogs, doc: yamlfile.YamlDoc, locale: str, ns: str, keys: Any) -> None:
    for key in keys:
        pos = doc.where(("messages", key))
        cat.where[(locale, ns, key)] = Located(doc.file, pos[0] if pos else None)


def load_catalogs(root: Path, locales: list[str] | None = None) -> Catalogs:
    """Read and validate the catalogs; ``locales`` limits which translations are read.

    Raises InputError for malformed files, an unknown locale or a stray locale directory.
    """
    base = root / LOCALES_DIR
    _, config = read_model(base / "config.yaml", root, CatalogConfig)
    glossary_path = base / "glossary.yaml"
    glossary = (
        read_model(glossary_path, root, Glossary)[1] if glossary_path.exists() else Glossary()
    )
    known = [config.source_locale, *config.locales]
    problems: list[Problem] = []
    if config.source_locale in config.locales:
        problems.append(
            Problem(
                f"{LOCALES_DIR}/config.yaml",
                "locales",
                f"{config.source_locale} is the source locale; list only target locales",
            )
        )
    for tag in glossary.forbidden:
        if tag not in known:
            problems.append(
                Problem(
                    f"{LOCALES_DIR}/glossary.yaml",
                    format_path(("forbidden", tag)),
                    f"{tag} is not a configured locale ({', '.join(known)})",
                )
            )
    if locales is not None:
        for tag in locales:
            if tag not in known:
                problems.append(
                    Problem(
                        f"{LOCALES_DIR}/config.yaml",
                        "locales",
                        f"{tag} is not a configured locale; add it to locales and translate "
                        "every namespace (configured: " + ", ".join(known) + ")",
                    )
                )
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        if entry.is_dir() and entry.name not in known:
            problems.append(
                Problem(
                    f"{LOCALES_DIR}/{entry.name}/",
                    "(directory)",
                    f"{entry.name} is not a configured locale; add it to "
                    f"{LOCALES_DIR}/config.yaml locales or remove the directory",
                )
            )
    if problems:
        raise InputError(problems)

    cat = Catalogs(root=root, config=config, glossary=glossary, source={}, translations={})
    source_dir = base / config.source_locale
    files = sorted(source_dir.glob("*.yaml")) if source_dir.is_dir() else []
    if not files:
        raise InputError.one(
            f"{LOCALES_DIR}/{config.source_locale}/",
            "(directory)",
            "no source catalogs found; write one <namespace>.yaml per namespace",
        )
    for path in files:
        ns = path.stem
        _check_namespace(ns, cat.file(config.source_locale, ns))
        doc, parsed = read_model(path, root, SourceCatalog)
        cat.source[ns] = dict(parsed.messages)
        _record(cat, doc, config.source_locale, ns, cat.source[ns])

    wanted = config.locales if locales is None else [t for t in locales if t in config.locales]
    for tag in wanted:
        cat.translations[tag] = {}
        for path in sorted((base / tag).glob("*.yaml")):
            ns = path.stem
            _check_namespace(ns, cat.file(tag, ns))
            doc, parsed = read_model(path, root, TranslationCatalog)
            cat.translations[tag][ns] = dict(parsed.messages)
            _record(cat, doc, tag, ns, cat.translations[tag][ns])
    return cat


def _check_namespace(ns: str, file: str) -> None:
    if not re.fullmatch(NAMESPACE_PATTERN, ns):
        raise InputError.one(
            file,
            "(file name)",
            f"namespace {ns!r} must be lower case letters, digits and - (e.g. sign-in)",
        )


# --- writing ---------------------------------------------------------------------------------


def dump_catalog(header: str, messages: dict[str, dict[str, Any]]) -> str:
    """Deterministic YAML for a catalog: header line, then ``messages`` in the given order."""
    body = yaml.dump(
        {"messages": messages},
        Dumper=yaml.SafeDumper,
        allow_unicode=True,
        sort_keys=False,
        width=1_000_000,  # one line per text: folded scalars make noisy diffs
        default_flow_style=False,
    )
    return f"{header}\n{body}"


def render_translation(
    root: Path, locale: str, namespace: str, messages: dict[str, TranslatedMessage]
) -> tuple[Path, str]:
    """Where a translation catalog lives and its text, as ``write_translation`` writes it."""
    path = root / LOCALES_DIR / locale / f"{namespace}.yaml"
    data = {k: m.model_dump() for k, m in messages.items()}
    return path, dump_catalog(schema_header("l10n-translation", 1), data)


def write_translation(
    root: Path, locale: str, namespace: str, messages: dict[str, TranslatedMessage]
) -> Path:
    path, text = render_translation(root, locale, namespace, messages)
    files.write_file(path, text)
    return path


def write_source(
    root: Path, locale: str, namespace: str, messages: dict[str, SourceMessage]
) -> Path:
    path = root / LOCALES_DIR / locale / f"{namespace}.yaml"
    data = {k: m.model_dump(exclude_none=True) for k, m in messages.items()}
    files.write_file(path, dump_catalog(schema_header("l10n-source", 1), data))
    return path
