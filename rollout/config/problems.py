"""pydantic's validation errors as one-line problems: file, line, key path, found, accepted."""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel, ValidationError

from rollout.errors import InputError, Problem
from rollout.yamlfile import KeyPath, YamlDoc


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether it sits inside a mapping (keyed by names)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = getattr(annotation, "__args__", ())
    origin = getattr(annotation, "__origin__", None)
    for arg in args:
        model, _ = _model_of(arg)
        if model is not None:
            return model, origin is dict
    return None, False


def _allowed_keys(model: type[BaseModel] | None, loc: KeyPath) -> list[str]:
    """Walk ``loc`` through the model to list the keys accepted where an unknown key sits."""
    current = model
    skip = False
    for part in loc[:-1]:
        if skip:  # the name of a map entry; its value is `current`
            skip = False
            continue
        if current is None:
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current, skip = _model_of(info.annotation)
    return list(current.model_fields) if current is not None and not skip else []


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_problems(
    exc: ValidationError,
    model: type[BaseModel],
    locate: Any,
    prefix: KeyPath = (),
) -> list[Problem]:
    """Turn pydantic's errors into one-line problems; ``locate(path) -> (doc, path)``."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: KeyPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        # drop pydantic's union-branch markers such as 'function-after[...]'
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            allowed = _allowed_keys(model, loc)
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            accepted = f" accepted keys: {', '.join(allowed)}" if allowed else ""
            message = f"unknown key {key!r}{hint}{accepted}"
        elif kind == "missing":
            message = "missing required key; add it (see the file's JSON Schema in schema/json/)"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            message = f"found {_describe(err.get('input'))}: {msg}"
        doc, path = locate((*prefix, *loc))
        problems.append(doc.problem(path, message))
    return problems




def validate(model: type[BaseModel], doc: YamlDoc, data: Any = None) -> Any:
    """``model`` over the document's data (or ``data``), or InputError positioned in ``doc``."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, model, lambda p: (doc, p))) from None
