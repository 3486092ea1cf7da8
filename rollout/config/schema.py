"""JSON Schema of every YAML shape, for editors (yaml-language-server) and `rollout schema`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rollout.catalog import PROJECT_NAME
from rollout.config.models import (
    CONFIG_NS,
    DefaultsFile,
    GlobalFile,
    RegionFile,
    StackConfig,
    StackFile,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "defaults": DefaultsFile,
    "region": RegionFile,
    "global": GlobalFile,
    "stack": StackFile,
    "stack-config": StackConfig,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """name -> JSON Schema, for editors (yaml-language-server) and `rollout schema`."""
    out = {name: model.model_json_schema() for name, model in SCHEMAS.items()}
    # The stack file's demobank:* keys are typed; other namespaces pass through to Pulumi.
    stack_config = out.pop("stack-config")
    props = {f"{CONFIG_NS}{k}": v for k, v in stack_config.get("properties", {}).items()}
    out["stack"]["$defs"] = {**out["stack"].get("$defs", {}), **stack_config.get("$defs", {})}
    out["stack"]["properties"]["config"] = {
        "type": "object",
        "properties": props,
        "patternProperties": {f"^(?!{PROJECT_NAME}:)[a-z][a-zA-Z0-9-]*:": {}},
        "additionalProperties": False,
    }
    return out


