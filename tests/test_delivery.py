"""What the global stack publishes (localization bundles, shard maps) and the go-live gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout import catalog, cli, shards
from rollout.l10n import build_bundles
from rollout.plan import Plan

ROOT = Path(__file__).resolve().parent.parent
OBJECT = catalog.BUCKET_OBJECT


def test_every_bundle_is_a_bucket_object_with_the_right_cache_headers(
    plans: dict[str, Plan],
) -> None:
    plan = plans["global"]
    bundles = build_bundles(ROOT)
    objects = {r.inputs["name"]: r for r in plan.of_type(OBJECT) if r.name.startswith("l10n/")}
    assert set(objects) == {b.path for b in bundles.objects}
    bucket = plan.one(catalog.BUCKET, "bundles")
    for b in bundles.bundles:
        r = objects[b.path]
        assert r.inputs["cacheControl"] == "public, max-age=31536000, immutable"
        assert r.inputs["contentType"] == "application/json"
        assert json.loads(r.inputs["content"]) == json.loads(b.content)
        assert r.parent == bucket.parent  # under the LocalizationPlatform component
    manifest = objects["l10n/manifest.json"]
    assert manifest.inputs["cacheControl"] == "public, max-age=60, must-revalidate"
    listed = json.loads(manifest.inputs["content"])["bundles"]
    assert set(listed) >= {"en-GB", "de-DE", "pl-PL", "zh-Hans-SG", "ta-SG"}
    for per_ns in listed.values():
        for path in per_ns.values():
            assert path in objects, path


def test_l10n_path_is_routed_to_the_bucket_and_cached_as_the_origin_says(
    plans: dict[str, Plan],
) -> None:
    plan = plans["global"]
    rulesets = {r.name: r.inputs for r in plan.of_type(catalog.CF_RULESET)}
    [origin] = rulesets["l10n-origin"]["rules"]
    assert origin["action"] == "route"
    # Cloud Storage by its own name (the Host header, and with it the SNI) through a hostname
    # of the zone (a DNS record override must name one on the account)
    assert origin["actionParameters"] == {
        "hostHeader": "storage.googleapis.com",
        "origin": {"host": "l10n-origin.demobank.example"},
    }
    (record,) = [r for r in plan.of_type(catalog.CF_DNS_RECORD) if r.name == "l10n-origin-host"]
    assert record.inputs["name"] == "l10n-origin.demobank.example"
    assert record.inputs["type"] == "CNAME"
    assert record.inputs["content"] == "storage.googleapis.com"
    assert record.inputs["proxied"] is True and record.inputs["ttl"] == 1
    assert record.inputs["zoneId"] == plan.outputs["zone_id"]
    assert record.urn in plan.one(catalog.CF_RULESET, "l10n-origin").dependencies
    [rewrite] = rulesets["l10n-rewrite"]["rules"]
    assert rewrite["actionParameters"]["uri"]["path"]["expression"] == (
        'concat("/demobank-global-prod-l10n-bundles", http.request.uri.path)'
    )
    cache = {r["ref"]: r for r in rulesets["cache-rules"]["rules"]}
    assert cache["l10n"]["actionParameters"]["edgeTtl"]["mode"] == "respect_origin"
    # The rewrite (transform phase) runs before the origin and cache phases and changes
    # http.request.uri.path; every rule for the path matches the raw path, as the client sent it.
    raw = 'starts_with(raw.http.request.uri.path, "/l10n/")'
    for rule in (origin, rewrite, cache["l10n"]):
        assert raw in rule["expression"], rule["ref"]
        assert "starts_with(http.request.uri.path" not in rule["expression"], rule["ref"]
    assert "raw." not in cache["static"]["expression"]  # no rewrite there: the normalized path


def test_one_ruleset_per_phase(plans: dict[str, Plan]) -> None:
    """A zone has one entry point ruleset per phase: the edge configures each phase once, so an
    existing one is imported (README) rather than created beside it."""
    rulesets = plans["global"].of_type(catalog.CF_RULESET)
    assert sorted(r.inputs["phase"] for r in rulesets) == sorted(catalog.CF_ZONE_PHASES)
    for r in rulesets:
        assert r.inputs["kind"] == "zone"
        assert r.inputs["zoneId"] == plans["global"].outputs["zone_id"]


def test_the_ds_record_is_a_stack_output(plans: dict[str, Plan]) -> None:
    """The registrar must publish the zone's DS record, or validating resolvers fail the zone."""
    dnssec = plans["global"].one(catalog.CF_DNSSEC, "dnssec")
    assert plans["global"].outputs["dnssec_ds"] == dnssec.outputs["ds"]
    assert " IN DS " in plans["global"].outputs["dnssec_ds"]


def test_shard_maps_are_published_as_immutable_versions(plans: dict[str, Plan]) -> None:
    plan = plans["global"]
    published = plan.outputs["shard_maps"]
    assert set(published) == {"europe-west2", "asia-southeast1"}
    for region, name in published.items():
        table, _ = shards.load_table(ROOT, region)
        cells = set(table.assignment.values())
        origins = shards.project_origins(ROOT, region, cells)
        expected_name, content = shards.publish_artifact(
            region, table.assignment, table.buckets, origins
        )
        assert name == expected_name
        obj = plan.one(OBJECT, region)
        assert obj.inputs["name"] == name and obj.inputs["content"] == content.decode()
        assert obj.retain_on_delete  # an old version stays for routers pinned to it
        assert json.loads(content)["version"] in name
        # the cell router reads the very same bytes from Workers KV, and the pointer names them
        kv = plan.one(catalog.CF_WORKERS_KV, f"cell-router-map-{region}")
        assert kv.inputs["keyName"] == name and kv.inputs["value"] == content.decode()
        assert kv.retain_on_delete
        current = plan.one(catalog.CF_WORKERS_KV, f"cell-router-current-{region}")
        assert current.inputs == {**current.inputs, "keyName": f"current/{region}"}
        assert f"{current.inputs['value']}.json" in name and kv.urn in current.dependencies


# The go-live gate guards the bundle publish (the global stack), not a regional `pulumi up`:
# tests/test_l10n_delivery.py::test_a_locale_goes_live_only_when_ready shows both sides.


def test_validate_rejects_a_shard_table_with_a_gap(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project_copy / "regions" / "shards" / "europe-west2.yaml"
    text = path.read_text()
    assert '"512-1023"' in text
    path.write_text(text.replace('"512-1023"', '"520-1023"'))
    monkeypatch.chdir(project_copy)
    assert cli.main(["validate"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("regions/shards/europe-west2.yaml")
    assert "buckets 512-519 are assigned to no cell" in line
