"""pydantic's validation errors as one-line problems: file, line, key path, found, accepted.

No message quotes a secret: a value under a key that names a credential is described by its
length only, and so is any long opaque string (one that looks like a token or ciphertext),
wherever it sits; see :func:`describe`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from rollout.errors import InputError, Problem, format_path
from rollout.yamlfile import KeyPath, YamlDoc

# --------------------------------------------------------------------------------------------
# What must never be quoted
# --------------------------------------------------------------------------------------------

# A config key names a credential when one of its words contains one of these, in any
# namespace and any case: cloudflare:apiToken, gcp:credentials, demobank:sessionKey,
# aws:secretKey, azure:clientCertificatePassword. Words are split at camelCase, '_', '-' and
# '.'; a lowercase run such as `apitoken` still matches, since the check is "contains".
CREDENTIAL_WORDS = ("token", "key", "secret", "password", "passphrase", "credential")
# ...unless the word right after the credential word says the value only names, locates or
# configures one (kmsKeyName, keyRing, secretId, sharedCredentialsFiles,
# skipCredentialsValidation), or the word before says it is public (sshPublicKey). Anything
# else is treated as a secret: a false positive costs one `--secret`, a miss leaks a credential.
# Known misses, by name alone: kubeconfig and other credentials whose name has none of the
# words above; demobank:regionalStacks and the like are, correctly, not credentials.
NOT_SECRET_AFTER = frozenset(
    {"name", "names", "id", "ids", "ring", "rings", "file", "files", "path", "paths", "url",
     "uri", "endpoint", "validation", "version", "type", "alias"}
)  # fmt: skip
NOT_SECRET_BEFORE = frozenset({"public"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_credential_key(key: object) -> bool:
    """Whether a config key (``ns:name``, or a nested key) names a credential; see above."""
    if not isinstance(key, str):
        return False
    words = [w.lower() for w in _WORD.findall(key.rsplit(":", 1)[-1])]
    for i, word in enumerate(words):
        if not any(marker in word for marker in CREDENTIAL_WORDS):
            continue
        after = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i > 0 else ""
        if after not in NOT_SECRET_AFTER and before not in NOT_SECRET_BEFORE:
            return True
    return False


# Longer than this, without whitespace, and token-shaped: never quoted (a pasted API token, a
# ciphertext, a private key's body, a 32-digit hex id). Names, emails, CIDRs and dates stay quoted.
OPAQUE_MIN = 25
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_.:~-]+$")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
# An alphanumeric run this long is no word or name: random (a token) or encoded (base64, hex).
WORD_RUN_MAX = 16


def is_opaque(text: object) -> bool:
    """Whether ``text`` is a long opaque string: shown by its length, never quoted."""
    if not isinstance(text, str) or len(text) < OPAQUE_MIN or _TOKEN_CHARS.match(text) is None:
        return False
    longest = max((len(run) for run in _ALNUM_RUN.findall(text)), default=0)
    mixed = any(c.islower() for c in text) and any(c.isupper() for c in text)
    return longest > WORD_RUN_MAX or (mixed and any(c.isdigit() for c in text))


def _length(value: Any) -> str:
    """A value described without its content."""
    if value is None:
        return "no value"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"a value of {len(value)} characters"
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "a secure: value"
        return f"a mapping of {len(value)} keys"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"a {type(value).__name__}"


def _redacted(value: Any) -> Any:
    """``value`` with every credential's value and every opaque string replaced by its length."""
    if isinstance(value, dict):
        return {
            (_length(k) if is_opaque(k) else k): (
                _length(v) if is_credential_key(k) or k == "secure" else _redacted(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if is_opaque(value):
        return _length(value)
    return value


def describe(value: Any, *, secret: bool = False) -> str:
    """A found value for a message: quoted when short and plain, else only its length.

    ``secret``: the value sits under a key that names a credential; only its length is shown.
    """
    if secret or is_opaque(value) or (isinstance(value, dict) and set(value) == {"secure"}):
        return _length(value)
    text = repr(value) if isinstance(value, str) else json.dumps(_redacted(value), default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def safe_path(path: Iterable[str | int]) -> KeyPath:
    """A key path for a message: an opaque key (a token pasted as a key) shown by its length."""
    return tuple(
        f"<a key of {len(p)} characters>" if isinstance(p, str) and is_opaque(p) else p
        for p in path
    )


def problem_at(doc: YamlDoc, path: KeyPath, message: str) -> Problem:
    """``doc.problem``, positioned on the real path but naming opaque keys by length only."""
    problem = doc.problem(path, message)
    shown = safe_path(path)
    if shown == tuple(path):
        return problem
    return dataclasses.replace(problem, path=format_path(shown))


# --------------------------------------------------------------------------------------------
# pydantic errors
# --------------------------------------------------------------------------------------------


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


def pydantic_problems(
    exc: ValidationError,
    model: type[BaseModel],
    locate: Any,
    prefix: KeyPath = (),
    top_keys: str = "",
) -> list[Problem]:
    """Turn pydantic's errors into one-line problems; ``locate(path) -> (doc, path)``.

    ``top_keys``: how the model's own keys are written in the file (``demobank:`` for the
    stack config), so an unknown top-level key and its suggestion read as the user writes them.
    """
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: KeyPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        # drop pydantic's union-branch markers such as 'function-after[...]'
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            shown = top_keys if len(loc) == 1 else ""
            allowed = [f"{shown}{k}" for k in _allowed_keys(model, loc)]
            close = difflib.get_close_matches(f"{shown}{key}", allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            accepted = f" accepted keys: {', '.join(allowed)}" if allowed else ""
            message = f"unknown key {describe(shown + key)}{hint}{accepted}"
        elif kind == "missing":
            message = "missing required key; add it (see the file's JSON Schema in schema/json/)"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            secret = any(is_credential_key(part) for part in loc)
            message = f"found {describe(err.get('input'), secret=secret)}: {msg}"
        doc, path = locate((*prefix, *loc))
        problems.append(problem_at(doc, path, message))
    return problems


def validate(model: type[BaseModel], doc: YamlDoc, data: Any = None) -> Any:
    """``model`` over the document's data (or ``data``), or InputError positioned in ``doc``."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, model, lambda p: (doc, p))) from None
