"""The translation catalogs on disk: their pydantic models, loading and writing.

Layout (all under ``locales/``)::

    config.yaml                  CatalogConfig: the source locale and the target locales
    glossary.yaml                Glossary: forbidden terms per locale
    <source>/<namespace>.yaml    SourceCatalog: the en-GB text of every message
    <locale>/<namespace>.yaml    TranslationCatalog: one locale's text of a namespace

A translation records the hash of the source text it translates (``source_hash``), so a
changed source marks it stale without anyone having to remember, and who translated it. A
reviewed translation records its review: who approved it, when, and the hashes of the source
and of the text they approved (four-eyes: the translator may not review their own text, and a
review of another text or another source is no review).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rollout import files, yamlfile
from rollout.errors import InputError, Problem, format_path

LOCALES_DIR = "locales"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
NAMESPACE_PATTERN = r"^[a-z][a-z0-9-]*$"
HASH_LENGTH = 12
HASH_PATTERN = r"^[0-9a-f]{12}$"
#: A person's user name on the code host (GitHub's rule): CODEOWNERS names them as @name.
HANDLE_PATTERN = r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,37}$"
#: A pseudo-locale: a real language with a private-use region (CLDR reserves XA..XZ for them).
PSEUDO_PATTERN = r"^[a-z]{2,3}-X[A-Z]$"

#: The reviewer recorded on translations that were reviewed before reviews carried names
#: (the four-eyes migration of 2026-12-01). Nobody can log in as it: it is valid only with
#: MIGRATION_AT exactly, no reviewer may be configured under it and ``rollout l10n review``
#: refuses it, so it cannot approve anything new.
MIGRATION_REVIEWER = "unattributed-migration"
MIGRATION_AT = datetime(2026, 12, 1, tzinfo=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogConfig(_Model):
    """``locales/config.yaml``: which locales exist, who reviews them, how they fall back."""

    source_locale: str = Field(description="BCP 47 tag of the language engineers write in")
    locales: list[str] = Field(
        description="BCP 47 tags of every target locale (not the source), each once"
    )
    managers: list[str] = Field(
        min_length=1,
        description="Code-host user names of the localization managers: they own this file, "
        "the glossary and the source catalogs (CODEOWNERS)",
    )
    reviewers: dict[str, list[str]] = Field(
        description="target locale -> code-host user names who may approve its text "
        "(rollout l10n review --reviewer NAME; CODEOWNERS of locales/<locale>/)"
    )
    former_reviewers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="target locale -> people who no longer review it: their recorded reviews "
        "stay valid, but they cannot approve anything new",
    )
    fallbacks: dict[str, str] = Field(
        default_factory=dict,
        description="locale -> the configured locale its users read next when a message is "
        "not ready (after the CLDR parents, before the source), e.g. ms-SG: en-SG",
    )
    stale_grace_days: int = Field(
        default=14,
        ge=0,
        le=90,
        description="Days after a source message's changed date during which live locales "
        "keep serving their last reviewed text (or fall back) without blocking a publish",
    )
    pseudo_locale: str | None = Field(
        default="en-XA",
        description="Tag of the pseudo-locale built for layout testing (never live), or null",
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

    @field_validator("managers")
    @classmethod
    def _managers(cls, value: list[str]) -> list[str]:
        return check_handles(value)

    @field_validator("reviewers")
    @classmethod
    def _reviewers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for tag, names in value.items():
            check_locale_tag(tag)
            if not names:
                raise ValueError(f"{tag} has no reviewers; name at least one")
            check_handles(names)
        return value

    @field_validator("former_reviewers")
    @classmethod
    def _former(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for tag, names in value.items():
            check_locale_tag(tag)
            check_handles(names)
        return value

    @field_validator("pseudo_locale")
    @classmethod
    def _pseudo(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(PSEUDO_PATTERN, value):
            raise ValueError(
                f"{value!r} is not a pseudo-locale tag; use a language with a private-use "
                "region XA..XZ, e.g. en-XA"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CatalogConfig:
        known = [self.source_locale, *self.locales]
        for tag in self.reviewers:
            if tag not in self.locales:
                raise ValueError(
                    f"reviewers.{tag}: {tag} is not a target locale ({', '.join(self.locales)})"
                )
        for tag, names in self.former_reviewers.items():
            if both := sorted(set(names) & set(self.reviewers.get(tag, []))):
                raise ValueError(
                    f"former_reviewers.{tag}: {', '.join(both)} also under reviewers; list "
                    "each person once"
                )
        if lacking := [t for t in self.locales if t not in self.reviewers]:
            raise ValueError(
                f"reviewers: {', '.join(lacking)} have no reviewers; name at least one "
                "code-host user per target locale"
            )
        for tag, parent in self.fallbacks.items():
            if tag not in self.locales or parent not in known or parent == tag:
                raise ValueError(
                    f"fallbacks.{tag}: {tag} -> {parent}: both must be configured locales, "
                    f"the first a target ({', '.join(known)})"
                )
        for start in self.fallbacks:
            seen, tag = [start], start
            while tag in self.fallbacks:
                tag = self.fallbacks[tag]
                if tag in seen:
                    raise ValueError(
                        f"fallbacks: {' -> '.join([*seen, tag])} is a cycle; end every chain "
                        f"at {self.source_locale} or a locale without a fallback"
                    )
                seen.append(tag)
        if self.pseudo_locale in known:
            raise ValueError(
                f"pseudo_locale {self.pseudo_locale} is also a real locale; pick an XA..XZ tag"
            )
        return self


class SourceMessage(_Model):
    """One message in the source locale."""

    text: str = Field(description="ICU MessageFormat text in the source locale")
    description: str = Field(
        min_length=1, description="Where the text appears and what it means, for translators"
    )
    max_length: int | None = Field(
        default=None, gt=0, description="Most grapheme clusters any translation may use"
    )
    changed: date | None = Field(
        default=None,
        description="Day the text last changed (YYYY-MM-DD): starts the stale_grace_days during "
        "which live locales serve their last reviewed text; without it there is no grace",
    )


class SourceCatalog(_Model):
    """``locales/<source>/<namespace>.yaml``."""

    messages: dict[str, SourceMessage] = Field(description="Messages keyed by stable id")

    @field_validator("messages")
    @classmethod
    def _keys(cls, value: dict[str, SourceMessage]) -> dict[str, SourceMessage]:
        return check_keys(value)


class Review(_Model):
    """Who approved a translation, when, and exactly what they approved."""

    by: str = Field(pattern=HANDLE_PATTERN, description="The reviewer's code-host user name")
    at: datetime = Field(description="When, in UTC (ISO 8601, e.g. 2026-12-01T09:30:00Z)")
    source_hash: str = Field(
        pattern=HASH_PATTERN, description="source_hash of the source text they approved it for"
    )
    text_hash: str = Field(
        pattern=HASH_PATTERN, description="First 12 hex digits of sha256 of the text approved"
    )

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise ValueError("write the time in UTC with a Z, e.g. 2026-12-01T09:30:00Z")
        return value


class TranslatedMessage(_Model):
    """One message in a target locale."""

    text: str = Field(description="ICU MessageFormat text in the target locale")
    source_hash: str = Field(
        pattern=HASH_PATTERN,
        description="First 12 hex digits of sha256 of the source text this translates",
    )
    translator: str | None = Field(
        default=None,
        pattern=HANDLE_PATTERN,
        description="Code-host user name of who wrote this text (set by rollout l10n import)",
    )
    review: Review | None = Field(
        default=None, description="The approval (rollout l10n review); absent: not reviewed"
    )
    same_as_source: bool = Field(
        default=False,
        description="true: the text is intentionally identical to the source (e.g. en-SG)",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and "state" in data:
            raise ValueError(
                "state: is the first edition's shape; a review is now recorded as review: "
                "{by, at, source_hash, text_hash}: drop state and run rollout l10n review"
            )
        return data


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


def check_handles(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if not re.fullmatch(HANDLE_PATTERN, name):
            raise ValueError(
                f"{name!r} is not a code-host user name; use letters, digits and single "
                "hyphens, without the @"
            )
        if name == MIGRATION_REVIEWER:
            raise ValueError(f"{name} is the migration placeholder, not a person")
        if name in seen:
            raise ValueError(f"{name} is listed twice")
        seen.add(name)
    return names


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
    """First 12 hex digits of the sha256 of a text (a source's, or a reviewed translation's)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


text_hash = source_hash


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
    data = {k: dump_translation(m) for k, m in messages.items()}
    return path, dump_catalog(schema_header("l10n-translation", 1), data)


def dump_translation(message: TranslatedMessage) -> dict[str, Any]:
    """A translation as written: fields in model order, unset optional fields left out."""
    data = message.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["source_hash"] = message.source_hash  # required fields are always written
    data = {k: data[k] for k in TranslatedMessage.model_fields if k in data}
    if message.review is not None:
        data["review"]["at"] = format_time(message.review.at)
    return data


def format_time(value: datetime) -> str:
    """UTC time as written in catalogs: seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    data = {k: m.model_dump(mode="json", exclude_none=True) for k, m in messages.items()}
    files.write_file(path, dump_catalog(schema_header("l10n-source", 1), data))
    return path
