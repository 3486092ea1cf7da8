"""Compile the catalogs into content-addressed JSON bundles and a manifest.

Every configured locale gets a bundle per namespace holding every key, so an app never
shows a raw id. A locale serves its own text where it is ready (checks.py: reviewed and
error-free, or stale within its grace period); any other key is served from the next locale
of its fallback chain that has it ready, ending at the source. The manifest says, per
locale, whether it is live, its chain and which keys fell back to which locale, and gives
each bundle's subresource-integrity hash, so the client can verify what it fetched.

Fallback chains: the locale, then its CLDR parents (Babel's parent locales, then truncation)
that are configured, then the configured ``fallbacks`` entry (and its chain), then the
source. ``ms-SG`` -> ``en-SG`` -> ``en-GB``.

Object names: ``l10n/bundles/<YYYY-MM>/<locale>/<namespace>.<hash>.json``. Bundles are
immutable (the name holds the content hash) and cached for a year; the manifest is the one
mutable object, cached for a minute. The month in the name is there because a bucket's
lifecycle rules can delete only by age: every month the current bundles are published
afresh, so they never reach the retention age, while the ones a new manifest no longer
names are retained (clients holding an old manifest still find them) until that age.

``publish_bundles`` is the bundle publish: the go-live gate over every locale a region
requires, then the build. Regional infrastructure never waits on translations.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from babel.core import get_global

from rollout import files
from rollout.errors import InputError, Problem
from rollout.l10n.catalog import Catalogs, load_catalogs
from rollout.l10n.checks import Analysis, analyse, gate_problems, today_utc
from rollout.l10n.pseudo import pseudo_text

PREFIX = "l10n"
BUNDLES = f"{PREFIX}/bundles/"
MANIFEST = f"{PREFIX}/manifest.json"
MANIFEST_VERSION = 2
CONTENT_TYPE = "application/json"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_MANIFEST = "public, max-age=60, must-revalidate"
#: The longest a current bundle goes without being published afresh (one month, see above);
#: the bucket's retention age must be well above it.
EPOCH_DAYS = 31


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: equal data gives equal bytes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:12]


def integrity(content: bytes) -> str:
    """Subresource Integrity value: ``sha384-`` and the base64 SHA-384 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


def epoch(today: date) -> str:
    return f"{today:%Y-%m}"


@dataclass(frozen=True)
class BundleObject:
    """One object to upload: its name in the bucket, bytes and HTTP headers."""

    path: str
    content: bytes
    content_type: str = CONTENT_TYPE
    cache_control: str = CACHE_IMMUTABLE


@dataclass(frozen=True)
class BundleSet:
    """Every bundle and the manifest, in a stable order (bundles sorted, manifest last)."""

    bundles: tuple[BundleObject, ...]
    manifest: BundleObject
    #: locale -> "namespace.key" -> the locale whose text is served instead
    fallbacks: dict[str, dict[str, str]] = field(default_factory=dict)
    #: locale -> its fallback chain, itself first
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def objects(self) -> tuple[BundleObject, ...]:
        return (*self.bundles, self.manifest)

    def __iter__(self):
        return iter(self.objects)

    def write(self, out: Path) -> list[Path]:
        """Write every object under ``out``, which stands for the bucket's ``l10n/`` folder."""
        texts = {out / obj.path.removeprefix(f"{PREFIX}/"): obj.content for obj in self.objects}
        files.write_files(texts)  # every bundle and the manifest, or nothing new
        return list(texts)


def _cldr_parent(tag: str) -> str | None:
    """CLDR's parent of a locale (``en-SG`` -> ``en-001``, ``zh-Hans-SG`` -> ``zh-Hans``)."""
    exceptions: Mapping[str, str] = get_global("parent_exceptions")
    ident = tag.replace("-", "_")
    if ident in exceptions:
        parent = exceptions[ident]
        return None if parent == "root" else parent.replace("_", "-")
    return tag.rsplit("-", 1)[0] if "-" in tag else None


def fallback_chain(cat: Catalogs, locale: str) -> tuple[str, ...]:
    """The locale, its configured CLDR ancestors, its configured fallback's chain, the source."""
    known = set(cat.all_locales)
    chain = [locale]
    tag: str | None = locale
    while tag is not None:
        tag = _cldr_parent(tag)
        if tag in known and tag not in chain:
            chain.append(tag)
    nxt = cat.config.fallbacks.get(locale)
    if nxt is not None:
        chain += [t for t in fallback_chain(cat, nxt) if t not in chain]
    if cat.source_locale not in chain:
        chain.append(cat.source_locale)
    return tuple(chain)


def _pseudo_chain(cat: Catalogs, tag: str) -> tuple[str, ...]:
    return (tag, cat.source_locale)


def bundle_set(
    analysis: Analysis,
    *,
    live: Iterable[str] | None = None,
    pseudo: bool = False,
) -> BundleSet:
    """Bundles and manifest from an analysis (``live``: the locales users may be served)."""
    cat = analysis.catalogs
    src = cat.source_locale
    broken = analysis.errors(src)
    if broken:
        raise InputError(
            Problem(f.file or "locales", f.key, f"{f.check}: {f.message}", f.line) for f in broken
        )
    live_set = set(cat.all_locales if live is None else live)
    folder = f"{BUNDLES}{epoch(analysis.today)}"
    keys = [(ns, key) for ns, msgs in cat.source.items() for key in msgs]

    bundles: list[BundleObject] = []
    paths: dict[str, dict[str, str]] = {}
    locales: dict[str, dict[str, Any]] = {}
    fallbacks: dict[str, dict[str, str]] = {}
    chains: dict[str, tuple[str, ...]] = {}
    texts: dict[str, dict[str, str]] = {}
    for locale in cat.all_locales:
        chain = fallback_chain(cat, locale)
        served: dict[str, str] = {}
        fell_back: dict[str, str] = {}
        for ns, key in keys:
            name = f"{ns}.{key}"
            origin = next(t for t in chain if name in analysis.own.get(t, {}))
            served[name] = analysis.own[origin][name]
            if origin != locale:
                fell_back[name] = origin
        texts[locale], chains[locale] = served, chain
        if fell_back:
            fallbacks[locale] = fell_back
        locales[locale] = {
            "live": locale in live_set,
            "pseudo": False,
            "chain": list(chain),
            "fallbacks": fell_back,
        }
    pseudo_tag = cat.config.pseudo_locale
    if pseudo and pseudo_tag is not None:
        texts[pseudo_tag] = {
            f"{ns}.{key}": pseudo_text(cat.source[ns][key].text) for ns, key in keys
        }
        chains[pseudo_tag] = _pseudo_chain(cat, pseudo_tag)
        # Never live: a client picks it only when a tester asks for it by name.
        locales[pseudo_tag] = {
            "live": False,
            "pseudo": True,
            "chain": list(chains[pseudo_tag]),
            "fallbacks": {},
        }

    sri: dict[str, str] = {}
    for locale, served in texts.items():
        paths[locale] = {}
        for ns in cat.source:
            body = {key: served[f"{ns}.{key}"] for key in cat.source[ns]}
            content = canonical_json(body)
            path = f"{folder}/{locale}/{ns}.{content_hash(content)}.json"
            bundles.append(BundleObject(path, content))
            paths[locale][ns] = path
            sri[path] = integrity(content)

    bundles.sort(key=lambda b: b.path)
    listing = {
        "source_locale": src,
        "bundles": paths,
        "integrity": sri,
        "locales": locales,
    }
    # The version is derived from the content, so identical catalogs give an identical manifest.
    version = content_hash(canonical_json(listing))
    manifest = canonical_json({"version": version, **listing, "schema": MANIFEST_VERSION})
    return BundleSet(
        bundles=tuple(bundles),
        manifest=BundleObject(MANIFEST, manifest, cache_control=CACHE_MANIFEST),
        fallbacks=fallbacks,
        chains=chains,
    )


def build_bundles(
    root: Path,
    *,
    today: date | None = None,
    live: Iterable[str] | None = None,
    pseudo: bool = False,
) -> BundleSet:
    """Compile ``root/locales`` into bundles. Raises InputError if a source message is broken.

    ``live``: the locales a region serves (default: every configured one); ``pseudo``: add
    the pseudo-locale's bundles (never live; for layout tests, not for production).
    """
    return bundle_set(
        analyse(load_catalogs(root), today=today or today_utc()), live=live, pseudo=pseudo
    )


def publish_problems(analysis: Analysis, required: Mapping[str, Iterable[str]]) -> list[Problem]:
    """The go-live gate over ``required`` (region file -> the locales it serves)."""
    problems: list[Problem] = []
    for region_file, locales in required.items():
        problems += gate_problems(analysis, region_file, list(locales))
    return problems


def publish_bundles(
    root: Path, required: Mapping[str, Iterable[str]], *, today: date | None = None
) -> BundleSet:
    """The bundle publish: every required locale must pass the go-live gate, or InputError."""
    analysis = analyse(load_catalogs(root), today=today or today_utc())
    problems = publish_problems(analysis, required)
    if problems:
        raise InputError(problems)
    return bundle_set(analysis, live={t for ls in required.values() for t in ls})


def required_locales(root: Path) -> dict[str, list[str]]:
    """Region file -> the locales that region serves; empty for a catalogs-only checkout."""
    if not (root / "regions").is_dir():
        return {}
    from rollout.config import load_project

    project = load_project(root)
    return {f"regions/{name}.yaml": list(spec.locales) for name, spec in project.regions.items()}
