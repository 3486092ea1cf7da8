"""Delivery apart from infrastructure: fallback chains, manifest, grace, gate, pseudo-locale."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import regex

from rollout import catalog, cli
from rollout.args import LocalizationPlatformArgs
from rollout.config import load_project
from rollout.gates import stack_checks
from rollout.l10n import analyse, build_bundles, fallback_chain, icu, load_catalogs, pseudo
from rollout.l10n.bundles import BUNDLES, EPOCH_DAYS, bundle_set, publish_problems
from rollout.plan import Plan
from tests.test_l10n import edit, run_cli, set_message

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "l10n"
DAY = date(2026, 12, 5)
SENT = "text: '{amount} sent to {name}'"
PAID = "text: '{amount} paid to {name}'"


def manifest_of(bundles) -> dict:  # noqa: ANN001 - BundleSet
    return json.loads(bundles.manifest.content)


def contents(bundles) -> dict[str, dict[str, str]]:  # noqa: ANN001
    return {o.path: json.loads(o.content) for o in bundles.bundles}


def served(bundles, locale: str, ns: str, key: str) -> str:  # noqa: ANN001
    path = manifest_of(bundles)["bundles"][locale][ns]
    return contents(bundles)[path][key]


def copy_catalogs(src: Path, tmp_path: Path) -> Path:
    shutil.copytree(src / "locales", tmp_path / "locales")
    return tmp_path


# --- fallback chains and the manifest --------------------------------------------------------


def test_fallback_chains_follow_config_then_the_source() -> None:
    cat = load_catalogs(ROOT)
    assert fallback_chain(cat, "ms-SG") == ("ms-SG", "en-SG", "en-GB")
    assert fallback_chain(cat, "zh-Hans-SG") == ("zh-Hans-SG", "en-SG", "en-GB")
    assert fallback_chain(cat, "de-DE") == ("de-DE", "en-GB")
    assert fallback_chain(cat, "en-GB") == ("en-GB",)


def test_fallback_chains_use_cldr_parent_locales(tmp_path: Path) -> None:
    root = copy_catalogs(FIXTURE, tmp_path)
    config = root / "locales/config.yaml"
    edit(config, "- en-SG\n", "- en-SG\n- en-001\n")
    edit(config, "  en-SG: [fixture-sg-reviewer]", "  en-SG: [fixture-sg-reviewer]\n"
         "  en-001: [fixture-sg-reviewer]")  # fmt: skip
    cat = load_catalogs(root)
    # CLDR (through Babel): en-SG's parent is en-001 ("world English"), then the source.
    assert fallback_chain(cat, "en-SG") == ("en-SG", "en-001", "en-GB")
    assert fallback_chain(cat, "zh-Hans-SG") == ("zh-Hans-SG", "en-SG", "en-001", "en-GB")


def test_manifest_carries_chains_fallbacks_and_integrity() -> None:
    bundles = build_bundles(ROOT, today=DAY)
    manifest = manifest_of(bundles)
    assert manifest["schema"] == 2
    assert manifest["locales"]["ms-SG"] == {
        "live": True, "pseudo": False, "chain": ["ms-SG", "en-SG", "en-GB"], "fallbacks": {}
    }  # fmt: skip
    assert set(manifest["integrity"]) == {o.path for o in bundles.bundles}
    for obj in bundles.bundles:
        assert obj.path.startswith(f"{BUNDLES}2026-12/")
        want = "sha384-" + base64.b64encode(hashlib.sha384(obj.content).digest()).decode()
        assert manifest["integrity"][obj.path] == want
    tampered = bundles.bundles[0].content.replace(b"}", b',"x":"y"}')
    assert (
        "sha384-" + base64.b64encode(hashlib.sha384(tampered).digest()).decode()
        != (manifest["integrity"][bundles.bundles[0].path])
    )


def test_live_locales_are_those_a_region_serves() -> None:
    bundles = build_bundles(ROOT, today=DAY, live=["en-GB", "de-DE"])
    live = {t for t, e in manifest_of(bundles)["locales"].items() if e["live"]}
    assert live == {"en-GB", "de-DE"}


def test_current_bundles_move_to_a_new_month_and_keep_their_content() -> None:
    december, january = build_bundles(ROOT, today=DAY), build_bundles(ROOT, today=date(2027, 1, 3))
    names = {o.path.rsplit("/", 2)[-2:][1]: o.content for o in december.bundles}
    assert {o.path.rsplit("/", 2)[-2:][1]: o.content for o in january.bundles}.keys() == (
        names.keys()
    )
    assert all(o.path.startswith(f"{BUNDLES}2027-01/") for o in january.bundles)


# --- grace for stale text, and the gate ------------------------------------------------------


@pytest.fixture
def changed_source(tmp_path: Path) -> Path:
    """The shipped catalogs with one English text changed on 2026-12-01."""
    root = copy_catalogs(ROOT, tmp_path)
    path = root / "locales/en-GB/payments.yaml"
    edit(path, SENT, PAID + "\n    changed: 2026-12-01")
    return root


def test_stale_message_serves_its_last_reviewed_text_within_the_grace(changed_source: Path) -> None:
    bundles = build_bundles(changed_source, today=DAY)
    assert served(bundles, "de-DE", "payments", "transfer_sent") == "{amount} an {name} gesendet"
    assert "de-DE" not in bundles.fallbacks
    analysis = analyse(load_catalogs(changed_source), today=DAY)
    assert publish_problems(analysis, {"regions/europe-west2.yaml": ["de-DE"]}) == []
    stale = [f for f in analysis.findings if f.locale == "de-DE" and f.check == "stale"]
    assert "serving its last reviewed text, in grace until 2026-12-15" in stale[0].message


def test_after_the_grace_it_falls_back_and_blocks_the_publish(changed_source: Path) -> None:
    later = date(2026, 12, 16)
    bundles = build_bundles(changed_source, today=later)
    assert served(bundles, "de-DE", "payments", "transfer_sent") == "{amount} paid to {name}"
    assert bundles.fallbacks["ms-SG"] == {"payments.transfer_sent": "en-GB"}
    analysis = analyse(load_catalogs(changed_source), today=later)
    [problem] = publish_problems(analysis, {"regions/europe-west2.yaml": ["de-DE"]})
    assert str(problem).startswith(
        "regions/europe-west2.yaml: locales.de-DE: 1 of 45 messages stale, their source changed "
        "(payments.transfer_sent); no grace: grace period over"
    )


def test_without_a_changed_date_there_is_no_grace(tmp_path: Path) -> None:
    root = copy_catalogs(ROOT, tmp_path)
    edit(root / "locales/en-GB/payments.yaml", SENT, PAID)
    analysis = analyse(load_catalogs(root), today=DAY)
    [problem] = publish_problems(analysis, {"regions/asia-southeast1.yaml": ["ta-SG"]})
    assert "no grace: the source message has no changed: date" in str(problem)


def test_stale_text_whose_arguments_no_longer_fit_falls_back_at_once(tmp_path: Path) -> None:
    root = copy_catalogs(ROOT, tmp_path)
    edit(root / "locales/en-GB/payments.yaml", SENT,
         "text: '{amount} sent to {name} (fee {fee})'\n    changed: 2026-12-01")  # fmt: skip
    bundles = build_bundles(root, today=DAY)
    assert bundles.fallbacks["de-DE"] == {"payments.transfer_sent": "en-GB"}


def test_a_new_message_falls_back_within_its_grace(tmp_path: Path) -> None:
    root = copy_catalogs(ROOT, tmp_path)
    set_message(root / "locales/en-GB/payments.yaml", "receipt", text="Download the receipt",
                description="Link under a sent payment.", changed="2026-12-01")  # fmt: skip
    analysis = analyse(load_catalogs(root), today=DAY)
    assert publish_problems(analysis, {"regions/europe-west2.yaml": ["de-DE", "pl-PL"]}) == []
    bundles = bundle_set(analysis)
    assert bundles.fallbacks["pl-PL"] == {"payments.receipt": "en-GB"}
    assert manifest_of(bundles)["locales"]["ta-SG"]["fallbacks"] == {"payments.receipt": "en-GB"}


def test_regional_stacks_are_not_blocked_by_a_stale_english_string(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(project_copy / "locales/en-GB/payments.yaml", SENT, PAID)  # no grace: blocks publish
    project = load_project(project_copy)
    assert stack_checks(project, ["eu", "apac"]) == []
    blocked = stack_checks(project, ["global"])  # the global stack publishes the bundles
    assert {p.path for p in blocked} == {f"locales.{t}" for r in project.regions.values()
                                         for t in r.locales if t != "en-GB"}  # fmt: skip
    monkeypatch.chdir(project_copy)
    assert cli.main(["plan", "eu", "--quiet"]) == 0
    assert run_cli(project_copy, "l10n", "publish", "--out", "dist") == 1
    assert not (project_copy / "dist").exists()
    assert "l10n publish: blocked, 10 locale(s) not ready" in capsys.readouterr().out


def test_a_locale_goes_live_only_when_ready(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replaces the first edition's region gate: an unreviewed message blocks the publish
    (validate, the global stack, rollout l10n publish), not the region's own stack."""
    path = project_copy / "locales/pl-PL/payments.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("    review:\n")
    end = text.index("      text_hash:", start)
    path.write_text(text[:start] + text[text.index("\n", end) + 1 :], encoding="utf-8")
    monkeypatch.chdir(project_copy)
    assert cli.main(["validate"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("regions/europe-west2.yaml: locales.pl-PL: 1 of 45 messages not "
                           "reviewed (payments.title)")  # fmt: skip
    assert cli.main(["plan", "eu", "--quiet"]) == 0
    assert cli.main(["plan", "apac", "--quiet"]) == 0
    assert cli.main(["plan", "global", "--quiet"]) == 2
    capsys.readouterr()
    assert run_cli(project_copy, "l10n", "status") == 0
    out = capsys.readouterr().out
    assert "region europe-west2: en-GB, de-DE, fr-FR, es-ES, it-IT, nl-NL, pl-PL: blocked" in out
    assert "region asia-southeast1: en-SG, zh-Hans-SG, ms-SG, ta-SG: ready" in out


def test_publish_writes_the_live_bundles(project_copy: Path) -> None:
    assert run_cli(project_copy, "l10n", "publish", "--out", "dist") == 0
    manifest = json.loads((project_copy / "dist/manifest.json").read_text(encoding="utf-8"))
    assert all(e["live"] and not e["pseudo"] for e in manifest["locales"].values())
    assert "en-XA" not in manifest["locales"]  # the pseudo-locale is never published


# --- the pseudo-locale -----------------------------------------------------------------------


def test_pseudo_locale_is_accented_longer_valid_and_never_live() -> None:
    bundles = build_bundles(ROOT, today=DAY, pseudo=True)
    entry = manifest_of(bundles)["locales"]["en-XA"]
    assert (entry["live"], entry["pseudo"]) == (False, True)
    cat = load_catalogs(ROOT)
    for ns, messages in cat.source.items():
        path = manifest_of(bundles)["bundles"]["en-XA"][ns]
        for key, text in contents(bundles)[path].items():
            source = messages[key].text
            ast = icu.parse(text)  # still valid ICU
            assert icu.formats(ast) == icu.formats(icu.parse(source)), key
            assert icu.longest(ast) >= 1.4 * icu.longest(icu.parse(source)), key
            plain = regex.findall(r"[A-Za-z]", "".join(icu.texts(ast)))
            # only letters Unicode has no accented form of (q) stay plain; URLs have none here
            assert all(pseudo._accented(c) == c for c in plain), (key, text)
    assert "en-XA" not in manifest_of(build_bundles(ROOT, today=DAY))["locales"]


# --- the bucket ------------------------------------------------------------------------------


def test_old_bundles_survive_a_deploy_and_age_out(plans: dict[str, Plan]) -> None:
    plan = plans["global"]
    objects = [r for r in plan.of_type(catalog.BUCKET_OBJECT) if r.name.startswith("l10n/")]
    bundles = [r for r in objects if r.name.startswith(BUNDLES)]
    assert bundles and all(r.retain_on_delete for r in bundles)
    [manifest] = [r for r in objects if not r.name.startswith(BUNDLES)]
    assert not manifest.retain_on_delete  # the manifest is overwritten, versioned, not retained
    rules = plan.one(catalog.BUCKET, "bundles").inputs["lifecycleRules"]
    ages = [r["condition"] for r in rules if "age" in r["condition"]]
    assert ages == [{"age": 90, "matchesPrefixes": [BUNDLES]}]
    assert LocalizationPlatformArgs.bundle_prefix == BUNDLES
    assert LocalizationPlatformArgs.bundle_retention_days >= 2 * EPOCH_DAYS
