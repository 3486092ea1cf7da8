"""Compile the catalogs into content-addressed JSON bundles and a manifest.

Every configured locale gets a bundle per namespace holding every key, so an app never
shows a raw id. A message is published in a locale only when it is translated, reviewed,
current (source hash matches) and error-free; otherwise the bundle carries the source
(en-GB) text and the key is listed in ``BundleSet.fallbacks``. The go-live gate is what
stops a region from launching with fallbacks in one of its locales; the fallback only
matters for locales still in progress.

Bundles are immutable (the name holds the content hash) and cached for a year; the manifest
is the one mutable object, cached for a minute.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout import files
from rollout.errors import InputError, Problem
from rollout.l10n.catalog import load_catalogs
from rollout.l10n.checks import analyse

PREFIX = "l10n"
MANIFEST = f"{PREFIX}/manifest.json"
MANIFEST_VERSION = 1
CONTENT_TYPE = "application/json"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_MANIFEST = "public, max-age=60, must-revalidate"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: equal data gives equal bytes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:12]


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
    #: locale -> "namespace.key" of messages served in the source text instead
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)

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


def build_bundles(root: Path) -> BundleSet:
    """Compile ``root/locales`` into bundles. Raises InputError if a source message is broken."""
    cat = load_catalogs(root)
    analysis = analyse(cat)
    src = cat.source_locale
    broken = [f for f in analysis.errors(src)]
    if broken:
        raise InputError(
            Problem(f.file or "locales", f.key, f"{f.check}: {f.message}", f.line) for f in broken
        )
    bad = {(f.locale, f.key) for f in analysis.findings if f.severity == "error"}

    bundles: list[BundleObject] = []
    index: dict[str, dict[str, str]] = {}
    fallbacks: dict[str, tuple[str, ...]] = {}
    for locale in cat.all_locales:
        index[locale] = {}
        fell_back: list[str] = []
        status = analysis.status.get(locale, {})
        for ns, messages in cat.source.items():
            translated = cat.translations.get(locale, {}).get(ns, {})
            body: dict[str, str] = {}
            for key, source in messages.items():
                name = f"{ns}.{key}"
                if locale == src:
                    body[key] = source.text
                elif status.get(name) == "reviewed" and (locale, name) not in bad:
                    body[key] = translated[key].text
                else:
                    body[key] = source.text
                    fell_back.append(name)
            content = canonical_json(body)
            path = f"{PREFIX}/{locale}/{ns}.{content_hash(content)}.json"
            bundles.append(BundleObject(path, content))
            index[locale][ns] = path
        if fell_back:
            fallbacks[locale] = tuple(fell_back)

    bundles.sort(key=lambda b: b.path)
    listing = {"source_locale": src, "bundles": index}
    # The version is derived from the content, so identical catalogs give an identical manifest.
    version = content_hash(canonical_json(listing))
    manifest = canonical_json({"version": version, **listing, "schema": MANIFEST_VERSION})
    return BundleSet(
        bundles=tuple(bundles),
        manifest=BundleObject(MANIFEST, manifest, cache_control=CACHE_MANIFEST),
        fallbacks=fallbacks,
    )
