"""One region's merge, done once: defaults < region file < the stack's overrides, with origins.

Every merged value remembers the file (and the key path in it) that set it, so a problem found
in the merged spec is reported where the value was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from rollout.config.models import CONFIG_NS, RegionSpec
from rollout.config.problems import pydantic_problems
from rollout.errors import InputError
from rollout.yamlfile import KeyPath, YamlDoc


def _deep_merge(
    layers: list[tuple[YamlDoc, KeyPath, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[KeyPath, tuple[YamlDoc, KeyPath]]]:
    """Merge mappings left to right; remember which file (and where in it) set each path."""
    merged: dict[str, Any] = {}
    origin: dict[KeyPath, tuple[YamlDoc, KeyPath]] = {}

    def put(
        target: dict[str, Any], src: Mapping[str, Any], doc: YamlDoc, at: KeyPath, path: KeyPath
    ) -> None:
        for key, value in src.items():
            if value is None:
                continue
            here = (*path, key)
            origin[here] = (doc, (*at, key))
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                put(target[key], value, doc, (*at, key), here)
            elif isinstance(value, Mapping):
                target[key] = {}
                put(target[key], value, doc, (*at, key), here)
            else:
                target[key] = value

    for doc, at, data in layers:
        put(merged, data, doc, at, ())
    return merged, origin


def _locator(origin: dict[KeyPath, tuple[YamlDoc, KeyPath]], fallback: YamlDoc) -> Any:
    def locate(path: KeyPath) -> tuple[YamlDoc, KeyPath]:
        probe = tuple(path)
        while probe:
            if probe in origin:
                doc, at = origin[probe]
                return doc, (*at, *path[len(probe) :])
            probe = probe[:-1]
        return fallback, path

    return locate

SECTIONS_FROM_DEFAULTS = ("labels", "cluster", "spanner", "kafka", "topics", "shards", "foundation")


def merge(
    stack: str,
    project_id: str,
    defaults_doc: YamlDoc,
    region_doc: YamlDoc,
    stack_doc: YamlDoc | None,
    overrides: Mapping[str, Any] | None,
) -> RegionSpec:
    """defaults < region file < stack overrides, validated as one RegionSpec."""
    region_data = {k: v for k, v in region_doc.data.items()}
    layers: list[tuple[YamlDoc, KeyPath, Mapping[str, Any]]] = [
        (defaults_doc, (), {k: defaults_doc.data.get(k) for k in SECTIONS_FROM_DEFAULTS}),
        (region_doc, (), region_data),
    ]
    if stack_doc is not None and overrides:
        layers.append((stack_doc, ("config", f"{CONFIG_NS}overrides"), overrides))
    merged, origin = _deep_merge(layers)
    merged["stack"] = stack
    merged["project"] = project_id
    try:
        return RegionSpec.model_validate(merged)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, RegionSpec, _locator(origin, region_doc))) from None


