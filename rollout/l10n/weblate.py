"""The self-hosted Weblate, as code: its description, ``sync``, the XLIFF export it reads and
the strict import of what it pushes back.

The catalogs in ``locales/`` stay the truth. Weblate edits XLIFF 1.2 exports of them (one
component per namespace, one file per namespace and locale, laid out as ``locales/weblate.yaml``
``files:`` says), commits and pushes its work to its own branch (``repository.push_branch``),
and a pull request from that branch lands only through ``rollout l10n weblate import`` (as
strict as ``rollout l10n import``), ``rollout l10n check`` and the go-live gate.

``sync`` makes Weblate match ``locales/weblate.yaml`` and the reviewers of
``locales/config.yaml`` through Weblate's REST API, idempotently: it reads every object it
manages, changes only what differs and prints one line per change (a second run prints
``0 change(s)``). Always on, not settings (a bank's review is not optional): the reviewer
workflow (``translation_review``: only reviewers approve), one review team per locale holding
exactly that locale's reviewers, the ICU MessageFormat check flag, no language added from
inside Weblate and no string added or removed there (the repository owns both).

``import`` believes the file only as far as Weblate's own history confirms it: a changed text
takes its translator from the history (the author of that very text), and an approved unit
becomes a review by the user whose approval of that very text the history records, at its
time. The repository's QA then holds it to four eyes (approver is a reviewer of the locale and
not the translator), exactly as ``rollout l10n review`` would.

The API token comes from ``WEBLATE_TOKEN`` only: never an argument, never printed, never in
an error message, and never sent over plain http except to a loopback address. Behind IAP (the
deployed Weblate) an ID token from ``WEBLATE_IAP_TOKEN`` rides beside it, held the same way.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from rollout import files
from rollout.config.problems import validate
from rollout.errors import InputError, Problem, format_path
from rollout.l10n.catalog import (
    LOCALES_DIR,
    Catalogs,
    TranslatedMessage,
    babel_locale,
    load_catalogs,
)
from rollout.l10n.xliff import (
    Approval,
    Attribution,
    ImportResult,
    check_import,
    merge_units,
    read_xliff,
    render_xliff,
    write_imports,
)
from rollout.yamlfile import read as read_yaml

CONFIG_FILE = f"{LOCALES_DIR}/weblate.yaml"
TOKEN_ENV = "WEBLATE_TOKEN"
URL_ENV = "WEBLATE_URL"
#: The deployed Weblate sits behind IAP: a Google ID token for IAP's audience, sent as
#: ``Proxy-Authorization: Bearer`` because Weblate's own token takes ``Authorization``
#: (https://cloud.google.com/iap/docs/authentication-howto). Optional: a local Weblate has no IAP.
IAP_TOKEN_ENV = "WEBLATE_IAP_TOKEN"
TIMEOUT_S = 300.0  # one request; creating a component clones and parses every file first
MAX_RESPONSE = 20 * 1024 * 1024
MAX_PAGES = 1000
#: Git that force-pushes: the push branch is Weblate's own, so its push always wins there and
#: whatever else landed on it (the import's commit) is redone by CI on the new head.
VCS = "git-force-push"
#: Weblate's file format for XLIFF 1.2 with inline codes as placeables (<g>, <x>).
FILE_FORMAT = "xliff"
#: Our messages are ICU MessageFormat: Weblate's ICU checks run on every string.
CHECK_FLAGS = "icu-message-format"
#: The Weblate role a locale's review team holds.
REVIEW_ROLE = "Review strings"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
WEBLATE_CODE_PATTERN = r"^[a-z]{2,3}(_[A-Za-z0-9]{2,8})*$"
#: Checks a component may enforce (a failing string is "needs editing": never committed as
#: translated); the ids are Weblate's.
EnforcedCheck = Literal[
    "icu_message_format", "max-length", "xml-tags", "safe-html", "zero-width-space", "url"
]


# --- the description -------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSpec(_Model):
    """The Weblate project."""

    slug: str = Field(pattern=SLUG_PATTERN, description="URL slug of the project in Weblate")
    name: str = Field(min_length=1, description="Project name shown to translators")
    web: str = Field(pattern=r"^https://", description="The product's website (https)")
    instructions: str = Field(
        default="",
        description="Shown to translators above every string (Markdown)",
    )


class RepositorySpec(_Model):
    """The Git repository Weblate clones and pushes to."""

    url: str = Field(min_length=1, description="Git URL Weblate clones (read access)")
    push: str | None = Field(
        default=None, description="Git URL Weblate pushes to (write access); default: url"
    )
    branch: str = Field(default="main", min_length=1, description="The branch Weblate reads")
    push_branch: str = Field(
        default="weblate",
        min_length=1,
        description="The branch Weblate pushes its commits to; a pull request from it lands "
        "them (never branch itself)",
    )

    @field_validator("push_branch")
    @classmethod
    def _own_branch(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("branch"):
            raise ValueError(
                "that is the branch Weblate reads; Weblate pushes to a branch of its own "
                "(e.g. weblate) and a pull request lands it"
            )
        return value


class ChecksSpec(_Model):
    """Weblate's checks."""

    enforced: list[EnforcedCheck] = Field(
        min_length=1,
        description="Weblate check ids whose failure keeps a string 'needs editing' "
        "(never committed as translated)",
    )


class WeblateConfig(_Model):
    """``locales/weblate.yaml``: the Weblate project, as ``rollout l10n weblate sync`` sets it."""

    project: ProjectSpec
    repository: RepositorySpec
    files: str = Field(
        description="Where the XLIFF 1.2 export of each namespace and locale lives in the "
        "repository, with {namespace} and {locale}; each component's file mask",
    )
    languages: dict[str, str] = Field(
        description="locale (the source and every target of locales/config.yaml) -> Weblate's "
        "language code; Weblate files each locale's strings under that language",
    )
    new_languages: list[str] = Field(
        default_factory=list,
        description="Locales Weblate does not have built in: sync creates their language "
        "(English name and text direction from CLDR, plural rules of the base language)",
    )
    checks: ChecksSpec
    squash: Literal["all", "language", "file", "author"] = Field(
        default="all",
        description="How Weblate's squash add-on squashes its commits before pushing",
    )

    @field_validator("files")
    @classmethod
    def _files(cls, value: str) -> str:
        parts = value.split("/")
        if (
            "{namespace}" not in value
            or value.count("{locale}") != 1
            or not value.endswith(".xlf")
            or value.startswith("/")
            or ".." in parts
            or parts[0] == LOCALES_DIR
        ):
            raise ValueError(
                "give a relative path outside locales/ with {namespace} and {locale} once, "
                "ending in .xlf, e.g. weblate/{namespace}/{locale}.xlf"
            )
        return value

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for tag, code in value.items():
            if not re.fullmatch(WEBLATE_CODE_PATTERN, code):
                raise ValueError(
                    f"{tag}: {code!r} is not a Weblate language code; write e.g. de or en_SG"
                )
        return value

    def path(self, namespace: str, locale: str) -> str:
        return self.files.replace("{namespace}", namespace).replace("{locale}", locale)

    def filemask(self, namespace: str) -> str:
        return self.path(namespace, "*")


def load_config(root: Path, cat: Catalogs | None = None) -> tuple[WeblateConfig, Catalogs]:
    """``locales/weblate.yaml``, validated against itself and against the catalogs."""
    doc = read_yaml(root / CONFIG_FILE, root)
    config: WeblateConfig = validate(WeblateConfig, doc)
    cat = cat or load_catalogs(root)
    problems: list[Problem] = []
    wanted = [cat.source_locale, *cat.targets]
    for tag in wanted:
        if tag not in config.languages:
            problems.append(
                doc.problem(
                    ("languages",),
                    f"{tag} has no Weblate language; map every locale of locales/config.yaml "
                    f"({', '.join(wanted)}) to Weblate's code, e.g. {tag}: "
                    f"{tag.replace('-', '_')}",
                )
            )
    for tag in config.languages:
        if tag not in wanted:
            problems.append(
                doc.problem(
                    ("languages", tag),
                    f"found {tag}, which is not a locale of locales/config.yaml; accepted: "
                    f"{', '.join(wanted)}",
                )
            )
    codes = [config.languages[t] for t in wanted if t in config.languages]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        tags = [t for t in wanted if config.languages.get(t) == code]
        problems.append(
            doc.problem(
                ("languages", tags[-1]),
                f"found {code} for {' and '.join(tags)}; each locale needs a language of its own",
            )
        )
    for index, tag in enumerate(config.new_languages):
        if tag not in cat.targets:
            problems.append(
                doc.problem(
                    ("new_languages", index),
                    f"found {tag}; accepted: target locales of locales/config.yaml "
                    f"({', '.join(cat.targets)})",
                )
            )
    if problems:
        raise InputError(problems)
    return config, cat


# --- the REST client -------------------------------------------------------------------------


class NotFound(InputError):
    """The API answered 404."""


def api_url(url: str | None) -> str:
    """Weblate's base URL (``--url``, else ``WEBLATE_URL``), checked: http only on loopback."""
    value = (url or os.environ.get(URL_ENV, "")).strip().rstrip("/")
    where = "--url" if url else URL_ENV
    if not value:
        raise InputError.one(
            "(command line)", "--url", f"give Weblate's address with --url or {URL_ENV}"
        )
    parts = urllib.parse.urlsplit(value)
    if parts.username or parts.password:
        raise InputError.one(
            "(command line)",
            where,
            f"the address carries credentials; give only the address and the token in {TOKEN_ENV}",
        )
    loopback = False
    with_host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(with_host).is_loopback
    except ValueError:
        loopback = with_host == "localhost"
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise InputError.one(
            "(command line)",
            where,
            f"found {parts.scheme}://{with_host}; accepted: https:// (http:// only to a loopback "
            "address: the token must not cross a network in clear)",
        )
    return value


def iap_token() -> str | None:
    """The ID token IAP admits, from ``WEBLATE_IAP_TOKEN`` (unset: no IAP in front)."""
    return os.environ.get(IAP_TOKEN_ENV, "").strip() or None


def api_token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InputError.one(
            "(environment)",
            TOKEN_ENV,
            "not set; export the API token of a Weblate user (an administrator for sync) in "
            f"{TOKEN_ENV}; it is never taken from the command line",
        )
    return token


class Client:
    """A small JSON client for Weblate's REST API (``/api/``); errors are one line each."""

    def __init__(
        self, url: str, token: str, timeout: float = TIMEOUT_S, iap_token: str | None = None
    ):
        self.url = url
        self._token = token
        self._iap_token = iap_token
        self.timeout = timeout
        self.requests = 0

    def __repr__(self) -> str:  # never the token
        return f"Client({self.url!r})"

    def absolute(self, path: str) -> str:
        """An API path, or a link Weblate gave (the next page, an add-on), as a URL on our
        address: the token goes to no other host, and a proxy's http/https mix-up is moot."""
        if not path.startswith(("http://", "https://")):
            return f"{self.url}/api/{path.lstrip('/')}"
        link, base = urllib.parse.urlsplit(path), urllib.parse.urlsplit(self.url)
        if link.hostname != base.hostname or not link.path.startswith(f"{base.path}/api/"):
            raise InputError.one(self.url, "(API)", "Weblate linked outside its own address")
        return urllib.parse.urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        url = self.absolute(path)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Token {self._token}")
        if self._iap_token:
            request.add_header("Proxy-Authorization", f"Bearer {self._iap_token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        shown = url.removeprefix(self.url)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE + 1)
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read(64 * 1024))
            error = NotFound if exc.code == 404 else InputError
            raise error(
                [Problem(self.url, f"{method} {shown}", f"HTTP {exc.code}: {detail}")]
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError.one(
                self.url,
                f"{method} {shown}",
                f"cannot reach Weblate ({reason}); check --url / {URL_ENV}",
            ) from None
        if len(raw) > MAX_RESPONSE:
            raise InputError.one(self.url, f"{method} {shown}", "answer too large")
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def find(self, path: str) -> Any | None:
        try:
            return self.get(path)
        except NotFound:
            return None

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every result of a paginated list."""
        next_url: str | None = path
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            page = self.get(next_url)
            yield from page["results"]
            next_url = page.get("next")
        raise InputError.one(self.url, path, f"more than {MAX_PAGES} pages")


def _detail(raw: bytes) -> str:
    """Weblate's error body as one short line (its standardized errors, else the text)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return " ".join(raw.decode("utf-8", "replace").split())[:200] or "(no detail)"
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = [
            f"{e.get('attr')}: {e.get('detail')}" if e.get("attr") else str(e.get("detail"))
            for e in body["errors"]
            if isinstance(e, dict)
        ]
        return "; ".join(parts)[:300]
    return json.dumps(body)[:300]


def _tail(url: str | None) -> str:
    """The last part of an API URL (a username, a language code)."""
    return urllib.parse.unquote((url or "").rstrip("/").rsplit("/", 1)[-1])


# --- sync ------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    changes: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # nothing sync can do yet (no account)


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def _changed(what: str, current: dict[str, Any], diff: dict[str, Any]) -> str:
    shown = ", ".join(f"{k} {current.get(k)!r} -> {v!r}" for k, v in sorted(diff.items()))
    return f"updated {what}: {shown}"


def sync(root: Path, client: Client) -> SyncReport:
    """Make Weblate match ``locales/weblate.yaml`` and the catalogs' reviewers."""
    config, cat = load_config(root)
    report = SyncReport()
    _sync_languages(client, config, cat, report)
    project = _sync_project(client, config, cat, report)
    _sync_squash(client, config, project, report)
    _sync_components(client, config, cat, report)
    _sync_review_teams(client, config, cat, project, report)
    return report


def _sync_languages(
    client: Client, config: WeblateConfig, cat: Catalogs, report: SyncReport
) -> None:
    for tag in [cat.source_locale, *cat.targets]:
        code = config.languages[tag]
        current = client.find(f"languages/{code}/")
        if tag not in config.new_languages:
            if current is None:
                raise InputError.one(
                    CONFIG_FILE,
                    format_path(("languages", tag)),
                    f"found {code}, which Weblate at {client.url} does not have (it is not "
                    f"built in); map {tag} to a code Weblate lists, or add {tag} to "
                    "new_languages so sync creates it",
                )
            continue
        loc = babel_locale(tag)
        wanted = {
            "name": loc.get_display_name("en"),
            "direction": "rtl" if loc.character_order == "right-to-left" else "ltr",
        }
        if current is None:
            base = client.find(f"languages/{loc.language}/")
            if base is None:
                raise InputError.one(
                    CONFIG_FILE,
                    format_path(("new_languages",)),
                    f"{tag}: Weblate has no base language {loc.language} to take plural "
                    "rules from; create the language by hand",
                )
            plural = {k: base["plural"][k] for k in ("number", "formula")}
            client.call("POST", "languages/", {"code": code, **wanted, "plural": plural})
            report.changes.append(f"created language {code} ({wanted['name']}) for {tag}")
        elif diff := _differs(current, wanted):
            client.call("PATCH", f"languages/{code}/", diff)
            report.changes.append(_changed(f"language {code}", current, diff))


def _aliases(config: WeblateConfig, cat: Catalogs) -> str:
    """Weblate's project language aliases: the file's locale -> the language it files under."""
    return ",".join(
        f"{tag}:{config.languages[tag]}" for tag in cat.targets if tag != config.languages[tag]
    )


def _sync_project(
    client: Client, config: WeblateConfig, cat: Catalogs, report: SyncReport
) -> dict[str, Any]:
    spec = config.project
    wanted = {
        "name": spec.name,
        "web": spec.web,
        "instructions": spec.instructions,
        "translation_review": True,  # only a locale's reviewers approve
        "source_review": False,  # the source is reviewed in the repository
        "language_aliases": _aliases(config, cat),
    }
    current = client.find(f"projects/{spec.slug}/")
    if current is None:
        created = client.call("POST", "projects/", {"slug": spec.slug, **wanted})
        report.changes.append(f"created project {spec.slug}")
        return created
    if diff := _differs(current, wanted):
        client.call("PATCH", f"projects/{spec.slug}/", diff)
        report.changes.append(_changed(f"project {spec.slug}", current, diff))
    return current


def _sync_squash(
    client: Client, config: WeblateConfig, project: dict[str, Any], report: SyncReport
) -> None:
    slug = config.project.slug
    name = "weblate.git.squash"
    wanted = {"squash": config.squash, "append_trailers": True, "commit_message": ""}
    addons = [
        a
        for a in client.pages("addons/")
        if a["name"] == name and a.get("project") == project["url"]
    ]
    if not addons:
        client.call("POST", f"projects/{slug}/addons/", {"name": name, "configuration": wanted})
        report.changes.append(f"installed add-on {name} on project {slug} ({config.squash})")
        return
    current = addons[0].get("configuration") or {}
    if diff := _differs(current, wanted):
        client.call("PATCH", addons[0]["url"], {"configuration": {**current, **wanted}})
        report.changes.append(_changed(f"add-on {name} of {slug}", current, diff))


def _component_fields(config: WeblateConfig, cat: Catalogs, ns: str, main: str) -> dict[str, Any]:
    slug, repo = config.project.slug, config.repository
    fields: dict[str, Any] = {
        "name": ns,
        "filemask": config.filemask(ns),
        "file_format": FILE_FORMAT,
        "check_flags": CHECK_FLAGS,
        "enforced_checks": list(config.checks.enforced),
        "new_lang": "none",  # a new locale starts in locales/config.yaml, not in Weblate
        "manage_units": False,  # strings are added and removed in the source catalogs
        "push_on_commit": True,
    }
    if ns == main:  # the first component owns the clone; the others share it
        fields.update(
            vcs=VCS,
            repo=repo.url,
            push=repo.push or repo.url,
            branch=repo.branch,
            push_branch=repo.push_branch,
        )
    else:
        fields["repo"] = f"weblate://{slug}/{main}"
    return fields


def _sync_components(
    client: Client, config: WeblateConfig, cat: Catalogs, report: SyncReport
) -> None:
    slug = config.project.slug
    source = config.languages[cat.source_locale]
    namespaces = list(cat.source)
    main = namespaces[0]
    for extra in sorted(
        c["slug"]
        for c in client.pages(f"projects/{slug}/components/")
        if c["slug"] not in cat.source
    ):
        if extra != "glossary":  # Weblate's own, made with every project
            report.waiting.append(
                f"component {slug}/{extra} has no namespace in the catalogs; sync never deletes "
                "one: remove it in Weblate once its work has landed"
            )
    for ns in namespaces:
        wanted = _component_fields(config, cat, ns, main)
        current = client.find(f"components/{slug}/{ns}/")
        if current is None:
            client.call(
                "POST",
                f"projects/{slug}/components/",
                {"slug": ns, "source_language": source, "disable_autoshare": True, **wanted},
            )
            report.changes.append(f"created component {slug}/{ns} ({config.filemask(ns)})")
            continue
        shared = wanted.pop("repo") if ns != main else None
        diff = _differs(current, wanted)
        if (current.get("source_language") or {}).get("code") != source:
            diff["source_language"] = source
        # A linked component shows its main's repository; what it links to tells.
        if shared is not None and current.get("linked_component") != client.absolute(
            f"components/{slug}/{main}/"
        ):
            diff["repo"] = shared
        if diff:
            client.call("PATCH", f"components/{slug}/{ns}/", diff)
            report.changes.append(_changed(f"component {slug}/{ns}", current, diff))


def team_name(slug: str, locale: str) -> str:
    return f"{slug} reviewers {locale}"


def _sync_review_teams(
    client: Client,
    config: WeblateConfig,
    cat: Catalogs,
    project: dict[str, Any],
    report: SyncReport,
) -> None:
    """One team per locale: the role to approve, on this project and this language only,
    holding exactly the locale's reviewers of locales/config.yaml."""
    slug = config.project.slug
    roles = {r["name"]: r for r in client.pages("roles/")}
    if REVIEW_ROLE not in roles:
        raise InputError.one(client.url, "roles", f"Weblate has no role {REVIEW_ROLE!r}")
    role = roles[REVIEW_ROLE]
    groups = {g["name"]: g for g in client.pages("groups/")}
    users = {u["username"]: u for u in client.pages("users/")}
    for locale in cat.targets:
        name = team_name(slug, locale)
        code = config.languages[locale]
        group = groups.get(name)
        if group is None:
            group = client.call(
                "POST", "groups/", {"name": name, "project_selection": 0, "language_selection": 0}
            )
            report.changes.append(f"created team {name!r}")
        elif diff := _differs(group, {"project_selection": 0, "language_selection": 0}):
            client.call("PATCH", f"groups/{group['id']}/", diff)
            report.changes.append(_changed(f"team {name!r}", group, diff))
        gid = group["id"]
        have_roles = {_tail(u) for u in group.get("roles", [])}
        if have_roles != {str(role["id"])}:
            for extra in have_roles - {str(role["id"])}:
                client.call("DELETE", f"groups/{gid}/roles/{extra}/")
            if str(role["id"]) not in have_roles:
                client.call("POST", f"groups/{gid}/roles/", {"role_id": role["id"]})
            report.changes.append(f"set team {name!r} role to {REVIEW_ROLE!r}")
        have_projects = {_tail(u) for u in group.get("projects", [])}
        if have_projects != {slug}:
            for extra in have_projects - {slug}:
                other = client.get(f"projects/{extra}/")
                client.call("DELETE", f"groups/{gid}/projects/{other['id']}/")
            if slug not in have_projects:
                client.call("POST", f"groups/{gid}/projects/", {"project_id": project["id"]})
            report.changes.append(f"set team {name!r} project to {slug}")
        have_languages = {_tail(u) for u in group.get("languages", [])}
        if have_languages != {code}:
            for extra in have_languages - {code}:
                client.call("DELETE", f"groups/{gid}/languages/{extra}/")
            if code not in have_languages:
                client.call("POST", f"groups/{gid}/languages/", {"language_code": code})
            report.changes.append(f"set team {name!r} language to {code}")
        group_url = group.get("url") or client.absolute(f"groups/{gid}/")
        wanted = set(cat.config.reviewers.get(locale, []))
        members = {n for n, u in users.items() if group_url in (u.get("groups") or [])}
        for username in sorted(members - wanted):
            client.call("DELETE", f"users/{username}/groups/", {"group_id": gid})
            report.changes.append(f"removed {username} from team {name!r}")
        for username in sorted(wanted - members):
            if username not in users:
                report.waiting.append(
                    f"{username} ({locale} reviewer) has no Weblate account yet; run sync "
                    "again after their first sign-in"
                )
                continue
            client.call("POST", f"users/{username}/groups/", {"group_id": gid})
            report.changes.append(f"added {username} to team {name!r}")


# --- export ----------------------------------------------------------------------------------


def export_texts(root: Path, out: Path) -> dict[Path, bytes]:
    """Every namespace x target locale as XLIFF 1.2, at the path its component reads."""
    config, cat = load_config(root)
    return {
        out / config.path(ns, locale): render_xliff(cat, locale, "1.2", [ns])
        for locale in cat.targets
        for ns in cat.source
    }


def stale_exports(texts: dict[Path, bytes]) -> list[Path]:
    """The files of an export whose committed copy differs (or is missing)."""
    return [p for p, data in texts.items() if not p.is_file() or p.read_bytes() != data]


def export_files(root: Path, out: Path) -> list[Path]:
    """Write the export (``export_texts``), all or none; the paths written."""
    texts = export_texts(root, out)
    for path in texts:
        path.parent.mkdir(parents=True, exist_ok=True)
    files.write_files(texts)
    return list(texts)


# --- import ----------------------------------------------------------------------------------

#: History actions (Weblate's ActionEvents) that write a text as their author's: changed, new,
#: automatic, suggestion accepted (the author is who suggested it), reverted, uploaded,
#: replaced, approved (a reviewer may edit while approving), propagated, upload update.
_WRITES = {2, 5, 6, 7, 8, 9, 27, 36, 72, 77}
#: Actions that change a unit's state, or take its text from elsewhere, without anyone
#: writing it here: bulk state change, marked for editing, updated in the repository, failed
#: enforced check. They end any approval.
_STATES = {32, 37, 59, 76}
STATE_APPROVED = 30


def _time(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.astimezone(UTC).replace(microsecond=0)


def attribution(changes: list[dict[str, Any]], text: str) -> Attribution:
    """Who wrote ``text`` and who approved exactly it, from a unit's history (oldest first).

    The translator is the author of the change that last made the unit's text ``text``; an
    approval is a later change by a user that left that very text approved, and it counts
    only if nothing after it (another edit, "needs editing", a failed enforced check) undid it.
    A history whose last text is not ``text`` attributes nothing.
    """
    current: str | None = None
    translator: str | None = None
    approval: Approval | None = None
    for change in changes:
        action = change.get("action")
        if action not in _WRITES and action not in _STATES:
            continue
        target = change.get("target") or ""
        if target != current:
            author = _tail(change.get("author")) if action in _WRITES else ""
            current, translator = target, author or None
        state = (change.get("details") or {}).get("state")
        if action in _WRITES and state == STATE_APPROVED:
            approval = Approval(_tail(change.get("user")), _time(change["timestamp"]))
        else:
            approval = None
    if current != text:
        return Attribution(None, None)
    return Attribution(translator, approval)


class History:
    """Weblate's history of a translation, fetched once when first asked."""

    def __init__(self, client: Client, slug: str, ns: str, code: str):
        self.client, self.path = client, f"translations/{slug}/{ns}/{code}/"
        self._by_key: dict[str, list[dict[str, Any]]] | None = None

    def of(self, key: str) -> list[dict[str, Any]]:
        if self._by_key is None:
            units = {u["url"]: u["context"] for u in self.client.pages(self.path + "units/")}
            by_key: dict[str, list[dict[str, Any]]] = {}
            for change in self.client.pages(self.path + "changes/"):
                if (context := units.get(change.get("unit") or "")) is not None:
                    by_key.setdefault(context, []).append(change)
            for items in by_key.values():
                items.sort(key=lambda c: (c["timestamp"], c["id"]))
            self._by_key = by_key
        return self._by_key.get(key, [])


@dataclass
class WeblateImport:
    results: list[ImportResult] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(r.refused for r in self.results)


def import_files(root: Path, source: Path, client: Client) -> WeblateImport:
    """Import every namespace x target locale file under ``source`` (a checkout of Weblate's
    branch), all of it or nothing; see the module docstring."""
    config, cat = load_config(root)
    slug = config.project.slug
    outcome = WeblateImport()
    changed: dict[str, dict[str, dict[str, TranslatedMessage]]] = {}
    for locale in cat.targets:
        result = ImportResult(locale, "1.2")
        per_locale: dict[str, dict[str, TranslatedMessage]] = {}
        code = config.languages[locale]
        accepted_src = {cat.source_locale, config.languages[cat.source_locale]}
        accepted_trg = {locale, code, locale.replace("-", "_")}
        for ns in cat.source:
            shown = config.path(ns, locale)
            path = source / shown
            if not path.is_file():
                result.conflicts.append(
                    f"{ns}: {shown} is missing; Weblate's branch must hold every file "
                    "rollout l10n weblate export writes"
                )
                continue
            doc = read_xliff(path, shown)
            if doc.version != "1.2":
                raise InputError.one(shown, "xliff", f"found XLIFF {doc.version}; expected 1.2")
            if doc.src_lang not in accepted_src:
                raise InputError.one(
                    shown, doc.where_src, f"found {doc.src_lang}; expected {cat.source_locale}"
                )
            if doc.trg_lang not in accepted_trg:
                raise InputError.one(
                    shown, doc.where_trg, f"found {doc.trg_lang}; expected {locale}"
                )
            if others := sorted({u.ns for u in doc.units} - {ns}):
                raise InputError.one(
                    shown, "file.original", f"found {', '.join(others)}; expected {ns} only"
                )
            history = History(client, slug, ns, code)

            def attribute(n: str, key: str, text: str, h: History = history) -> Attribution:
                return attribution(h.of(key), text)

            merge_units(cat, locale, doc, result, per_locale, attribute=attribute, tool="Weblate")
        check_import(cat, locale, per_locale, result)
        outcome.results.append(result)
        if per_locale:
            changed[locale] = per_locale
    if not outcome.refused and changed:
        outcome.written = write_imports(root, cat, changed)
    return outcome
