"""The YAML model: valid input merges as documented; every kind of bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout import cli, yamlfile
from rollout.args import CellRanges, carve
from rollout.config import Project, StackConfig, json_schemas, load_project
from rollout.errors import InputError
from rollout.yamlfile import MAX_NODES, parse_text

ROOT = Path(__file__).resolve().parent.parent


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def errors_of(root: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_project(root)
    lines = [str(p) for p in info.value.problems]
    assert all("\n" not in line for line in lines)
    return lines


# ---- the shipped project ------------------------------------------------------------------


def test_shipped_project_merges_defaults_region_and_stack(project: Project) -> None:
    eu = project.regions["europe-west2"]
    apac = project.regions["asia-southeast1"]
    assert eu.cluster.max_nodes_per_zone == 6  # stack override beats the default (5)
    assert apac.cluster.max_nodes_per_zone == 5  # default
    assert eu.cluster.release_channel == "REGULAR"
    assert eu.spanner_config == "regional-europe-west2"
    assert eu.hub.name == "london" and apac.hub.name == "singapore"
    assert list(eu.cells) == ["eu-1", "eu-2"] and list(apac.cells) == ["apac-1", "apac-2"]
    assert set(project.stacks) == {"eu", "apac", "global"}
    assert project.stacks["global"].config.regionalStacks == {
        "eu": "demobank/demobank/eu",
        "apac": "demobank/demobank/apac",
    }
    # config reaches Pulumi as the CLI passes it: objects as JSON text
    assert json.loads(project.stacks["eu"].raw["demobank:overrides"]) == {
        "cluster": {"max_nodes_per_zone": 6}
    }


def test_carve_splits_a_cell_without_overlap() -> None:
    parts = carve("10.16.0.0/17")
    assert parts == CellRanges(
        pods="10.16.0.0/18",
        nodes="10.16.64.0/20",
        services="10.16.80.0/20",
        master="10.16.127.240/28",
    )


def test_pulumi_yaml_declares_only_types_pulumi_accepts() -> None:
    """Pulumi's project schema types config as string, integer, boolean or array; anything
    else makes every `pulumi` command refuse the project."""
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "demobank" and project["stackConfigDir"] == "stacks"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert project["config"], "typed project config is declared"
    for key, decl in project["config"].items():
        assert ":" not in key, f"{key}: project keys are declared without the namespace"
        assert decl["type"] in {"string", "integer", "boolean", "array"}, key
        if decl["type"] == "array":
            assert "items" in decl, key
    stack_keys = set(StackConfig.model_fields)
    assert set(project["config"]) <= stack_keys


def test_shipped_yaml_files_carry_a_schema_line() -> None:
    files = [*ROOT.glob("regions/*.yaml"), *ROOT.glob("stacks/*.yaml")]
    assert len(files) >= 6
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=")[1]).resolve()
        assert target.exists(), f"{path}: schema {target} missing; run `rollout schema`"


def test_exported_schemas_are_current() -> None:
    schemas = json_schemas()
    for name, schema in schemas.items():
        path = ROOT / "schema" / "json" / f"{name}.schema.json"
        assert json.loads(path.read_text()) == schema, f"{path} is stale; run `rollout schema`"
    assert schemas["region"]["additionalProperties"] is False


def test_every_exported_schema_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shard table's and the catalogs' schemas too (they are not config models)."""
    monkeypatch.chdir(ROOT)
    assert cli.main(["schema", "--check"]) == 0, "stale schema/json/; run `rollout schema`"


# ---- YAML-level mistakes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "f.yaml:2:1: a: duplicate key 'a' (first at line 1)"),
        ("a:\n\tb: 1\n", "f.yaml:2:1: (indentation): found a tab"),
        ("", "f.yaml: (root): file is empty"),
        ("# only a comment\n", "f.yaml: (root): file is empty"),
        ("- 1\n- 2\n", "f.yaml:1:1: (root): found a list at the root; expected a mapping"),
        ("just text\n", "f.yaml:1:1: (root): found the value 'just text' at the root"),
        ("a: !!python/object/apply:os.system [ls]\n", "f.yaml:1:4: a: found tag"),
        ("a: !Ref x\n", "f.yaml:1:4: a: found tag '!Ref'"),
        ("a: [1, 2\n", "f.yaml:2:1: (syntax): YAML syntax error"),
        ("a: b: c\n", "f.yaml:1:5: (syntax): YAML syntax error: mapping values are not allowed"),
        ("<<: {a: 1}\n", "'<<' merge key"),
    ],
)
def test_yaml_mistakes_are_one_line(text: str, expected: str) -> None:
    with pytest.raises(InputError) as info:
        parse_text(text, "f.yaml")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_alias_bomb_fails_fast_in_bounded_memory() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    with pytest.raises(InputError) as info:
        parse_text("\n".join(lines) + "\n", "bomb.yaml")
    assert f"past {MAX_NODES} nodes" in str(info.value)


def test_small_aliases_are_fine() -> None:
    doc = parse_text("a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


def test_non_utf8_bytes_name_line_and_column(project_copy: Path) -> None:
    path = project_copy / "regions" / "europe-west2.yaml"
    path.write_bytes(path.read_bytes().replace(b"london", b"l\xf6ndon"))
    [line] = [e for e in errors_of(project_copy) if "europe-west2" in e]
    assert "regions/europe-west2.yaml:" in line and "0xf6 that is not UTF-8" in line


# ---- model-level mistakes -------------------------------------------------------------------


def test_unknown_key_suggests_the_close_match(project_copy: Path) -> None:
    edit(
        project_copy / "regions/europe-west2.yaml",
        "    cidr: 10.16.128.0/17",
        "    cdir: 10.16.128.0/17",
    )
    errs = errors_of(project_copy)
    assert any(
        e.startswith(
            "regions/europe-west2.yaml:16:5: cells.eu-2.cdir: "
            "unknown key 'cdir'; did you mean 'cidr'?"
        )
        for e in errs
    ), errs


def test_wrong_type_names_file_key_found_and_accepted(project_copy: Path) -> None:
    edit(project_copy / "regions/defaults.yaml", "disk_size_gb: 100", "disk_size_gb: lots")
    [err] = errors_of(project_copy)
    assert err.startswith("regions/defaults.yaml:")
    assert "cluster.disk_size_gb: found 'lots': Input should be a valid integer" in err


def test_stack_override_error_points_into_the_stack_file(project_copy: Path) -> None:
    edit(project_copy / "stacks/Pulumi.eu.yaml", "max_nodes_per_zone: 6", "max_nodes_per_zone: 0")
    [err] = errors_of(project_copy)
    assert err.startswith(
        "stacks/Pulumi.eu.yaml:10:7: config.demobank:overrides.cluster.max_nodes_per_zone"
    )


def test_kafka_memory_per_vcpu_is_checked(project_copy: Path) -> None:
    edit(project_copy / "regions/defaults.yaml", "memory_gib: 12", "memory_gib: 40")
    errs = errors_of(project_copy)
    assert any(
        "Managed Kafka needs 1-8 GiB per vCPU" in e and e.startswith("regions/defaults.yaml")
        for e in errs
    )


def test_overlapping_cells_are_named(project_copy: Path) -> None:
    edit(project_copy / "regions/europe-west2.yaml", "cidr: 10.16.128.0/17", "cidr: 10.16.0.0/17")
    [err] = errors_of(project_copy)
    assert err == (
        "regions/europe-west2.yaml:16:5: cells.eu-2.cidr: 10.16.0.0/17 overlaps cells.eu-1.cidr "
        "(10.16.0.0/17); give each cell its own range inside network.cidr 10.16.0.0/12"
    )


def test_cell_outside_region_range(project_copy: Path) -> None:
    edit(project_copy / "regions/europe-west2.yaml", "cidr: 10.16.128.0/17", "cidr: 10.48.0.0/17")
    [err] = errors_of(project_copy)
    assert "cells.eu-2.cidr: 10.48.0.0/17 is outside network.cidr 10.16.0.0/12" in err


def test_region_ranges_may_not_overlap(project_copy: Path) -> None:
    edit(project_copy / "regions/asia-southeast1.yaml", "cidr: 10.32.0.0/12", "cidr: 10.16.0.0/12")
    errs = errors_of(project_copy)
    assert any("network.cidr: 10.16.0.0/12 overlaps the network of" in e for e in errs), errs


def test_cell_names_are_unique_across_regions(project_copy: Path) -> None:
    edit(project_copy / "regions/asia-southeast1.yaml", "  apac-2:", "  eu-1:")
    errs = errors_of(project_copy)
    assert any("cell name 'eu-1' is also used by region" in e for e in errs), errs


def test_region_name_must_be_real(project_copy: Path) -> None:
    (project_copy / "regions/europe-west2.yaml").rename(project_copy / "regions/europe-wets2.yaml")
    edit(project_copy / "regions/europe-wets2.yaml", "region: europe-west2", "region: europe-wets2")
    edit(
        project_copy / "stacks/Pulumi.eu.yaml",
        "demobank:region: europe-west2",
        "demobank:region: europe-wets2",
    )
    errs = errors_of(project_copy)
    assert any(
        "region: found 'europe-wets2': not a GCP region; did you mean 'europe-west2'?" in e
        for e in errs
    )


def test_stack_must_name_an_existing_region_file(project_copy: Path) -> None:
    edit(
        project_copy / "stacks/Pulumi.apac.yaml",
        "demobank:region: asia-southeast1",
        "demobank:region: asia-east9",
    )
    [err] = errors_of(project_copy)
    assert err.startswith(
        "stacks/Pulumi.apac.yaml:7:3: config.demobank:region: "
        "found 'asia-east9': no file regions/asia-east9.yaml"
    )


def test_plain_text_token_in_stack_file_is_refused(project_copy: Path) -> None:
    with (project_copy / "stacks/Pulumi.global.yaml").open("a") as f:
        # an obviously fake token, built here so no committed line looks like a real one
        f.write(f"  cloudflare:apiToken: {'fake' * 10}\n")
    [err] = errors_of(project_copy)
    assert "config.cloudflare:apiToken: found a plain-text token" in err


def test_authorized_network_never_the_internet(project_copy: Path) -> None:
    edit(project_copy / "regions/defaults.yaml", "corp-vpn: 10.200.0.0/16", "corp-vpn: 0.0.0.0/0")
    [err] = errors_of(project_copy)
    assert (
        "cluster.authorized_networks.corp-vpn: found '0.0.0.0/0': 0.0.0.0/0 is never accepted"
        in err
    )


# ---- the CLI on bad input --------------------------------------------------------------------


def test_validate_exit_codes_and_no_traceback(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project_copy)
    assert cli.main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    edit(
        project_copy / "regions/defaults.yaml",
        "owner: platform-engineering",
        "owner: platform-engineering\n  ownr: x",
    )
    assert cli.main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == (
        "regions/defaults.yaml:6:3: labels.ownr: unknown key 'ownr'; did you mean 'owner'? "
        "accepted keys: owner, cost_center"
    )


def test_libyaml_and_python_parsers_read_every_shipped_file_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """yamlfile composes with libyaml when it is there (it is, with PyYAML's wheels); the data
    and every key path's line and column must be what the Python parser gives."""
    import yaml

    assert yamlfile._FAST_LOADER is yaml.CSafeLoader
    files = sorted(
        p for folder in ("regions", "stacks", "locales") for p in (ROOT / folder).rglob("*.yaml")
    )
    assert len(files) > 20
    fast = [yamlfile.read(p, ROOT) for p in files]
    monkeypatch.setattr(yamlfile, "_FAST_LOADER", yaml.SafeLoader)
    for path, doc in zip(files, fast, strict=True):
        slow = yamlfile.read(path, ROOT)
        assert (doc.data, doc.positions) == (slow.data, slow.positions), path
