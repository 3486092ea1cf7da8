"""Four-eyes review: record who approved which text, and the CODEOWNERS that enforce it.

``record_reviews`` writes a ``review:`` (reviewer, UTC time, the source hash and text hash
approved) on each named message, all or none, after checking that the reviewer is one of
the locale's reviewers in ``locales/config.yaml``, is not the message's translator, and that
the message is current and free of QA errors: an approval of broken or outdated text is no
approval.

The code host enforces the same people: a generated section of ``.github/CODEOWNERS`` makes
each locale's reviewers the owners of ``locales/<locale>/`` and the managers the owners of the
config, the glossary and the source catalogs (``rollout l10n codeowners``; a test keeps it in
sync).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rollout import files
from rollout.errors import InputError, Problem
from rollout.l10n.catalog import (
    LOCALES_DIR,
    MIGRATION_REVIEWER,
    CatalogConfig,
    Review,
    TranslatedMessage,
    load_catalogs,
    render_translation,
    source_hash,
    text_hash,
)
from rollout.l10n.checks import analyse

MAX_BYTES = 5 * 1024 * 1024
WRITER = "rollout l10n review"


def record_reviews(
    root: Path,
    locale: str,
    keys: list[str],
    reviewer: str,
    *,
    now: datetime | None = None,
) -> list[Path]:
    """Approve ``keys`` ("namespace.key") of ``locale`` as ``reviewer``; the files written.

    Raises InputError (nothing written) if any key may not be approved by this reviewer.
    """
    cat = load_catalogs(root, [locale])
    where = "(command line)"
    if locale not in cat.targets:
        raise InputError.one(
            where, "LOCALE", f"{locale} is not a target locale ({', '.join(cat.targets)})"
        )
    allowed = cat.config.reviewers.get(locale, [])
    if reviewer == MIGRATION_REVIEWER or reviewer not in allowed:
        raise InputError.one(
            where,
            "--reviewer",
            f"{reviewer} is not a reviewer of {locale} ({', '.join(allowed)}); reviewers are "
            "listed under reviewers in locales/config.yaml",
        )
    analysis = analyse(cat, [locale])
    errors = {f.key: f for f in analysis.errors(locale)}
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    problems: list[Problem] = []
    changed: dict[str, dict[str, TranslatedMessage]] = {}
    for name in dict.fromkeys(keys):
        ns, _, key = name.partition(".")
        located = cat.locate(locale, ns, key)
        source = cat.source.get(ns, {}).get(key)
        messages = cat.translations.get(locale, {}).get(ns, {})
        target = messages.get(key)
        problem = None
        if source is None:
            problem = f"no source message {name}; give namespace.key (e.g. payments.confirm)"
        elif target is None or not target.text.strip():
            problem = "no translation to review; import or write one first"
        elif target.source_hash != source_hash(source.text):
            problem = "translates an older source text; update the translation first"
        elif name in errors:
            f = errors[name]
            problem = f"has a QA error ({f.check}: {f.message}); fix it before approving"
        elif target.translator is None:
            problem = (
                "no translator is recorded, so four eyes cannot be shown; set translator: to "
                "who wrote it (rollout l10n import records it)"
            )
        elif target.translator == reviewer:
            problem = (
                f"{reviewer} translated it; four eyes: another reviewer of {locale} "
                f"({', '.join(r for r in allowed if r != reviewer) or 'add one'}) must approve it"
            )
        if problem is not None:
            problems.append(Problem(located.file, name, problem, located.line))
            continue
        assert source is not None and target is not None
        review = Review(
            by=reviewer,
            at=when,
            source_hash=source_hash(source.text),
            text_hash=text_hash(target.text),
        )
        updated = changed.setdefault(ns, dict(messages))
        updated[key] = target.model_copy(update={"review": review})
    if problems:
        raise InputError(problems)

    texts: dict[Path, str] = {}
    for ns, messages in changed.items():
        path, canonical = render_translation(
            root, locale, ns, cat.translations.get(locale, {}).get(ns, {})
        )
        current = files.read_bytes(path, max_bytes=MAX_BYTES).decode("utf-8")
        files.refuse_hand_edits(current, canonical, file=cat.file(locale, ns), writer=WRITER)
        texts[path] = render_translation(root, locale, ns, messages)[1]
    files.write_files(texts)  # every file of the review, or none
    return list(texts)


# --- CODEOWNERS ------------------------------------------------------------------------------

CODEOWNERS = Path(".github/CODEOWNERS")
BEGIN = "# BEGIN rollout l10n codeowners"
END = "# END rollout l10n codeowners"


def codeowners_section(config: CatalogConfig) -> str:
    """The generated lines: managers own config, glossary and source; reviewers their locale."""
    managers = " ".join(f"@{m}" for m in config.managers)
    lines = [
        BEGIN,
        "# Generated from locales/config.yaml by `rollout l10n codeowners`; edit that file, not",
        '# these lines. With branch protection\'s "require review from code owners", a change',
        "# to a locale's catalogs needs one of its reviewers, and a change to who reviews needs",
        "# a localization manager.",
        f"/{LOCALES_DIR}/config.yaml {managers}",
        f"/{LOCALES_DIR}/glossary.yaml {managers}",
        f"/{LOCALES_DIR}/{config.source_locale}/ {managers}",
    ]
    for locale in config.locales:
        lines.append(
            f"/{LOCALES_DIR}/{locale}/ " + " ".join(f"@{r}" for r in config.reviewers[locale])
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_section(current: str, section: str, file: str = str(CODEOWNERS)) -> str:
    """``current`` with its generated section replaced, or the section appended (last, since
    the last matching CODEOWNERS line wins)."""
    start, end = current.find(BEGIN), current.find(END)
    if start == -1 and end == -1:
        base = current if not current or current.endswith("\n") else current + "\n"
        return base + ("\n" if base else "") + section
    if start == -1 or end < start or current.count(BEGIN) > 1 or current.count(END) > 1:
        raise InputError.one(
            file,
            "(generated section)",
            f"the lines {BEGIN!r} and {END!r} must each appear once, in that order; restore "
            "them (or delete both and the lines between) and run rollout l10n codeowners",
        )
    stop = current.index("\n", end) + 1 if "\n" in current[end:] else len(current)
    return current[:start] + section + current[stop:]


def codeowners_text(root: Path) -> tuple[Path, str, str]:
    """(path, current text, text with the section regenerated)."""
    cat = load_catalogs(root, [])
    path = root / CODEOWNERS
    current = (
        files.read_bytes(path, max_bytes=MAX_BYTES, root=root).decode("utf-8")
        if path.exists()
        else ""
    )
    return path, current, with_section(current, codeowners_section(cat.config))
