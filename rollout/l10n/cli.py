"""``rollout l10n check|build|export|import|status``.

Handlers take the parsed arguments (``args.root`` is the project root, set by the main CLI)
and return the exit code: 0 fine, 1 findings or conflicts. Malformed files raise InputError,
which the main CLI prints and turns into exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rollout import files
from rollout.l10n.bundles import build_bundles
from rollout.l10n.catalog import LOCALES_DIR, load_catalogs
from rollout.l10n.checks import Coverage, analyse, gate_problems
from rollout.l10n.xliff import export_xliff, import_xliff


def _locales(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def cmd_check(args: argparse.Namespace) -> int:
    locales = _locales(args.locale)
    analysis = analyse(load_catalogs(args.root, locales), locales)
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


def cmd_build(args: argparse.Namespace) -> int:
    bundle_set = build_bundles(args.root)
    out = args.out if args.out.is_absolute() else args.root / args.out
    bundle_set.write(out)
    for obj in bundle_set.objects:
        print(f"{obj.path}  {len(obj.content)} bytes  {obj.cache_control}")
    for locale, keys in bundle_set.fallbacks.items():
        print(f"{locale}: {len(keys)} message(s) fall back to the source text")
    print(f"wrote {len(bundle_set.objects)} objects to {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    data = export_xliff(args.root, args.locale)
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        files.write_file(args.out, data)
        print(f"wrote {args.out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    # Read and rewritten under one lock: a concurrent import waits, then merges into ours.
    with files.locked(args.root / LOCALES_DIR, file=LOCALES_DIR):
        result = import_xliff(args.root, args.file)
    for line in result.conflicts:
        print(f"conflict {result.locale}:{line}")
    print(
        f"l10n import {result.locale}: {len(result.imported)} imported as translated, "
        f"{len(result.unchanged)} unchanged, {len(result.skipped)} skipped (no target or "
        f"state initial), {len(result.conflicts)} conflict(s)"
    )
    for path in result.written:
        print(f"wrote {path.relative_to(args.root) if path.is_relative_to(args.root) else path}")
    if result.imported:
        print("next: rollout l10n check, then review and set state: reviewed")
    return 1 if result.conflicts else 0


def _row(cov: Coverage) -> str:
    return (
        f"{cov.locale:<12} {cov.total:>5} {cov.translated:>10} {cov.reviewed:>8} {cov.errors:>6}"
        f"  {cov.percent_translated:5.1f}% {cov.percent_reviewed:5.1f}%"
        f"  {'ready' if cov.ready else 'not ready'}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    analysis = analyse(load_catalogs(args.root))
    print(
        f"{'locale':<12} {'total':>5} {'translated':>10} {'reviewed':>8} {'errors':>6}"
        "  transl. review."
    )
    for locale in analysis.catalogs.all_locales:
        print(_row(analysis.coverage(locale)))
    if not (args.root / "regions").is_dir():
        return 0  # a catalogs-only checkout (e.g. a test fixture) has no regions
    try:
        from rollout.config import load_project
    except ImportError:  # the project config module is not there yet
        return 0
    regions = load_project(args.root).regions
    if regions:
        print()
    for name, region in sorted(regions.items()):
        problems = gate_problems(analysis, f"regions/{name}.yaml", list(region.locales))
        verdict = "ready" if not problems else f"blocked ({len(problems)} locale(s))"
        print(f"region {name}: {', '.join(region.locales)}: {verdict}")
        for problem in problems:
            print(f"  {problem}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``l10n`` and its subcommands on the main CLI's subparsers."""
    l10n = subparsers.add_parser(
        "l10n", help="translation catalogs: check, build bundles, XLIFF exchange, status"
    )
    sub = l10n.add_subparsers(dest="l10n_command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="run every catalog check; exit 1 on any error")
    check.add_argument(
        "--locale", help="comma-separated locales to check (default: all, with the source)"
    )
    check.set_defaults(func=cmd_check)

    build = sub.add_parser("build", help="compile hashed JSON bundles and the manifest")
    build.add_argument("--out", type=Path, default=Path("build/l10n"), help="output directory")
    build.set_defaults(func=cmd_build)

    export = sub.add_parser("export", help="write a locale as XLIFF 2.0 for translators")
    export.add_argument("--locale", required=True, help="target locale, e.g. de-DE")
    export.add_argument("--out", type=Path, help="output file (default: stdout)")
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="merge a translated XLIFF 2.0 file into locales/")
    imp.add_argument("file", type=Path, help="the XLIFF file")
    imp.set_defaults(func=cmd_import)

    status = sub.add_parser("status", help="coverage per locale and go-live readiness per region")
    status.set_defaults(func=cmd_status)
