"""``rollout l10n check|build|publish|export|import|review|codeowners|status|weblate``.

Handlers take the parsed arguments (``args.root`` is the project root, set by the main CLI)
and return the exit code: 0 fine, 1 findings, conflicts or a blocked publish. Malformed
files raise InputError, which the main CLI prints and turns into exit 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from rollout import files
from rollout.l10n.bundles import (
    BundleSet,
    build_bundles,
    bundle_set,
    publish_problems,
    required_locales,
)
from rollout.l10n.catalog import LOCALES_DIR, load_catalogs
from rollout.l10n.checks import Coverage, analyse
from rollout.l10n.review import codeowners_text, record_reviews
from rollout.l10n.xliff import FORMATS, ImportResult, export_xliff, import_xliff


def _locales(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write YYYY-MM-DD") from None


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def cmd_check(args: argparse.Namespace) -> int:
    locales = _locales(args.locale)
    analysis = analyse(load_catalogs(args.root, locales), locales, today=args.today)
    for finding in analysis.findings:
        print(finding)
    errors = sum(f.severity == "error" for f in analysis.findings)
    warnings = len(analysis.findings) - errors
    checked = len(analysis.status)
    print(
        f"l10n check: {checked} locale(s), {analysis.catalogs.total()} messages each: "
        f"{errors} error(s), {warnings} warning(s)"
    )
    return 1 if errors else 0


def _write(args: argparse.Namespace, bundles: BundleSet) -> None:
    out = args.out if args.out.is_absolute() else args.root / args.out
    bundles.write(out)
    for obj in bundles.objects:
        print(f"{obj.path}  {len(obj.content)} bytes  {obj.cache_control}")
    for locale, keys in bundles.fallbacks.items():
        print(f"{locale}: {len(keys)} message(s) served from its fallback chain")
    print(f"wrote {len(bundles.objects)} objects to {out}")


def cmd_build(args: argparse.Namespace) -> int:
    """Every locale and the pseudo-locale, for development and layout tests; not gated."""
    required = required_locales(args.root)
    live = {t for ls in required.values() for t in ls} if required else None
    _write(args, build_bundles(args.root, today=args.today, live=live, pseudo=True))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """The bundle publish: the go-live gate over every locale a region serves, then the build."""
    required = required_locales(args.root)
    analysis = analyse(load_catalogs(args.root), today=args.today)
    if not required:  # a catalogs-only checkout: every configured locale goes live
        required = {f"{LOCALES_DIR}/config.yaml": analysis.catalogs.all_locales}
    problems = publish_problems(analysis, required)
    for problem in problems:
        print(problem)
    if problems:
        print(f"l10n publish: blocked, {len(problems)} locale(s) not ready; nothing written")
        return 1
    _write(args, bundle_set(analysis, live={t for ls in required.values() for t in ls}))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    data = export_xliff(args.root, args.locale, FORMATS[args.format])
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        files.write_file(args.out, data)
        print(f"wrote {args.out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    # Read and rewritten under one lock: a concurrent import waits, then merges into ours.
    with files.locked(args.root / LOCALES_DIR, file=LOCALES_DIR):
        result = import_xliff(args.root, args.file, translator=args.translator)
    _print_import(result)
    print(
        f"l10n import {result.locale} (XLIFF {result.version}): {len(result.imported)} "
        f"changed, {len(result.unchanged)} unchanged, {len(result.skipped)} skipped (no "
        f"target or not translated), {len(result.conflicts)} conflict(s), "
        f"{len(result.findings)} QA error(s)"
    )
    if result.refused:
        print("nothing written: fix the file (or re-export) and import it again")
        return 1
    for path in result.written:
        print(f"wrote {_shown(args.root, path)}")
    if result.imported:
        print(
            f"next: rollout l10n review {result.locale} KEY... --reviewer NAME (not the translator)"
        )
    return 0


def _print_import(result: ImportResult) -> None:
    for line in result.conflicts:
        print(f"conflict {result.locale}:{line}")
    for finding in result.findings:
        print(finding)


def cmd_weblate_sync(args: argparse.Namespace) -> int:
    from rollout.l10n import weblate

    client = weblate.Client(
        weblate.api_url(args.url), weblate.api_token(), iap_token=weblate.iap_token()
    )
    report = weblate.sync(args.root, client)
    for line in report.changes:
        print(line)
    for line in report.waiting:
        print(f"waiting: {line}")
    print(f"weblate sync {client.url}: {len(report.changes)} change(s)")
    return 0


def cmd_weblate_export(args: argparse.Namespace) -> int:
    from rollout.l10n import weblate

    out = args.out if args.out.is_absolute() else args.root / args.out
    if args.check:
        stale = weblate.stale_exports(weblate.export_texts(args.root, out))
        for path in stale:
            print(f"{_shown(args.root, path)}: out of date; run rollout l10n weblate export")
        return 1 if stale else 0
    written = weblate.export_files(args.root, out)
    print(f"weblate export: wrote {len(written)} XLIFF 1.2 file(s) under {_shown(args.root, out)}")
    return 0


def cmd_weblate_import(args: argparse.Namespace) -> int:
    from rollout.l10n import weblate

    source = args.source if args.source.is_absolute() else args.root / args.source
    client = weblate.Client(
        weblate.api_url(args.url), weblate.api_token(), iap_token=weblate.iap_token()
    )
    with files.locked(args.root / LOCALES_DIR, file=LOCALES_DIR):
        outcome = weblate.import_files(args.root, source, client)
    for result in outcome.results:
        _print_import(result)
    for result in outcome.results:
        if result.imported or result.approved or result.refused:
            print(
                f"l10n weblate import {result.locale}: {len(result.imported)} changed, "
                f"{len(result.approved)} approved, {len(result.unchanged)} unchanged, "
                f"{len(result.conflicts)} conflict(s), {len(result.findings)} QA error(s)"
            )
    changed = sum(len(r.imported) for r in outcome.results)
    approved = sum(len(r.approved) for r in outcome.results)
    if outcome.refused:
        print("nothing written: fix it in Weblate (or re-export) and import again")
        return 1
    for path in outcome.written:
        print(f"wrote {_shown(args.root, path)}")
    print(f"l10n weblate import: {changed} changed, {approved} approved, all checks passed")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    with files.locked(args.root / LOCALES_DIR, file=LOCALES_DIR):
        written = record_reviews(args.root, args.locale, args.keys, args.reviewer)
    print(f"l10n review {args.locale}: {len(args.keys)} message(s) approved by {args.reviewer}")
    for path in written:
        print(f"wrote {_shown(args.root, path)}")
    return 0


def cmd_codeowners(args: argparse.Namespace) -> int:
    path, current, wanted = codeowners_text(args.root)
    shown = _shown(args.root, path)
    if current == wanted:
        print(f"{shown}: up to date")
        return 0
    if args.check:
        print(f"{shown}: out of date with {LOCALES_DIR}/config.yaml; run rollout l10n codeowners")
        return 1
    files.write_file(path, wanted, file=shown)
    print(f"wrote {shown}")
    return 0


def _row(cov: Coverage) -> str:
    verdict = "ready" if cov.ready else ("in grace" if cov.may_go_live else "not ready")
    return (
        f"{cov.locale:<12} {cov.total:>5} {cov.translated:>10} {cov.reviewed:>8} {cov.errors:>6}"
        f"  {cov.percent_translated:5.1f}% {cov.percent_reviewed:5.1f}%  {verdict}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    analysis = analyse(load_catalogs(args.root), today=args.today)
    print(
        f"{'locale':<12} {'total':>5} {'translated':>10} {'reviewed':>8} {'errors':>6}"
        "  transl. review."
    )
    for locale in analysis.catalogs.all_locales:
        print(_row(analysis.coverage(locale)))
    for locale in analysis.catalogs.all_locales:
        for pending in analysis.coverage(locale).in_grace:
            print(f"  {locale}:{pending.key}: {pending.status}, in grace until {pending.until}")
    required = required_locales(args.root)
    if required:
        print()
    for region_file, locales in sorted(required.items()):
        problems = publish_problems(analysis, {region_file: locales})
        verdict = "ready" if not problems else f"blocked ({len(problems)} locale(s))"
        region = Path(region_file).stem
        print(f"region {region}: {', '.join(locales)}: {verdict}")
        for problem in problems:
            print(f"  {problem}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``l10n`` and its subcommands on the main CLI's subparsers."""
    l10n = subparsers.add_parser(
        "l10n", help="translation catalogs: check, bundles, XLIFF exchange, review, status"
    )
    sub = l10n.add_subparsers(dest="l10n_command", required=True, metavar="COMMAND")

    def dated(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            help="the day grace periods are measured on (default: today, UTC)",
        )

    check = sub.add_parser("check", help="run every catalog check; exit 1 on any error")
    check.add_argument(
        "--locale", help="comma-separated locales to check (default: all, with the source)"
    )
    dated(check)
    check.set_defaults(func=cmd_check)

    build = sub.add_parser(
        "build", help="compile every locale's bundles, the pseudo-locale and the manifest"
    )
    build.add_argument("--out", type=Path, default=Path("build/l10n"), help="output directory")
    dated(build)
    build.set_defaults(func=cmd_build)

    publish = sub.add_parser(
        "publish", help="the go-live gate over every locale a region serves, then the bundles"
    )
    publish.add_argument("--out", type=Path, default=Path("build/l10n"), help="output directory")
    dated(publish)
    publish.set_defaults(func=cmd_publish)

    export = sub.add_parser("export", help="write a locale as XLIFF 2.0 or 1.2 for translators")
    export.add_argument("--locale", required=True, help="target locale, e.g. de-DE")
    export.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="xliff2",
        help="xliff2 (default) or xliff12 (Weblate, older vendor tools)",
    )
    export.add_argument("--out", type=Path, help="output file (default: stdout)")
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="merge a translated XLIFF 2.0 or 1.2 file into locales/")
    imp.add_argument("file", type=Path, help="the XLIFF file")
    imp.add_argument(
        "--translator", help="code-host user name of who translated it (if the file names none)"
    )
    imp.set_defaults(func=cmd_import)

    review = sub.add_parser("review", help="record a four-eyes approval of messages")
    review.add_argument("locale", metavar="LOCALE", help="target locale, e.g. de-DE")
    review.add_argument("keys", metavar="KEY", nargs="+", help="namespace.key, e.g. sign-in.submit")
    review.add_argument("--reviewer", required=True, help="your code-host user name")
    review.set_defaults(func=cmd_review)

    owners = sub.add_parser(
        "codeowners", help="regenerate the localization section of .github/CODEOWNERS"
    )
    owners.add_argument("--check", action="store_true", help="exit 1 if it is out of date")
    owners.set_defaults(func=cmd_codeowners)

    status = sub.add_parser(
        "status", help="coverage per locale and what would block each region's go-live"
    )
    dated(status)
    status.set_defaults(func=cmd_status)

    wl = sub.add_parser(
        "weblate", help="the self-hosted Weblate: sync its set-up, export for it, import from it"
    ).add_subparsers(dest="weblate_command", required=True, metavar="COMMAND")
    url_help = "Weblate's address (default: $WEBLATE_URL); the token comes from $WEBLATE_TOKEN"
    wl_sync = wl.add_parser(
        "sync", help="make Weblate match locales/weblate.yaml and the reviewers (idempotent)"
    )
    wl_sync.add_argument("--url", help=url_help)
    wl_sync.set_defaults(func=cmd_weblate_sync)
    wl_export = wl.add_parser(
        "export", help="write XLIFF 1.2 per namespace and locale where the components read it"
    )
    wl_export.add_argument(
        "--out", type=Path, default=Path("."), help="repository root to write under (default: .)"
    )
    wl_export.add_argument(
        "--check", action="store_true", help="exit 1 if a committed file is out of date"
    )
    wl_export.set_defaults(func=cmd_weblate_export)
    wl_import = wl.add_parser(
        "import", help="strict import of Weblate's files, with translators and approvals"
    )
    wl_import.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=Path("."),
        help="checkout of Weblate's branch holding the files (default: .)",
    )
    wl_import.add_argument("--url", help=url_help)
    wl_import.set_defaults(func=cmd_weblate_import)
