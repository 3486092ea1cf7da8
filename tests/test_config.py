"""The YAML model: valid input merges as documented; every kind of bad input is one line."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from rollout import cli, yamlfile
from rollout.args import CellRanges, carve
from rollout.config import Project, StackConfig, json_schemas, load_project
from rollout.config.problems import describe, is_credential_key
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
            "regions/europe-west2.yaml:18:5: cells.eu-2.cdir: "
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
        "regions/europe-west2.yaml:18:5: cells.eu-2.cidr: 10.16.0.0/17 overlaps cells.eu-1.cidr "
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
    edit(project_copy / "stacks/Pulumi.apac.yaml", "gcp:region: asia-southeast1", "gcp:region: x")
    edit(
        project_copy / "stacks/Pulumi.apac.yaml",
        "demobank:region: asia-southeast1",
        "demobank:region: asia-east9",
    )
    edit(project_copy / "stacks/Pulumi.apac.yaml", "gcp:region: x", "gcp:region: asia-east9")
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
    assert err == (
        "stacks/Pulumi.global.yaml:13:3: config.cloudflare:apiToken: found a value of 40 "
        "characters in plain text under a key that names a credential; set it with `pulumi "
        "config set --secret cloudflare:apiToken` (a secure: value) or export CLOUDFLARE_API_TOKEN"
    )


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


# ---- secrets: a credential is a secure: value, and no message quotes one ------------------

# Built at run time, so no committed line looks like a credential (tests/test_global.py scans).
FAKE_TOKEN = "Ab3" * 14  # 42 characters: token-shaped, and opaque to describe()
V1_CIPHERTEXT = (
    "v1:" + base64.b64encode(bytes(range(12))).decode() + ":"
    + base64.b64encode(bytes(range(40, 72))).decode()
)  # fmt: skip
SERVICE_CIPHERTEXT = base64.b64encode(bytes(range(100, 160))).decode()


def add_config(root: Path, stack: str, text: str) -> None:
    """Append lines (already indented under `config:`) to a stack file."""
    with (root / f"stacks/Pulumi.{stack}.yaml").open("a") as f:
        f.write(text)


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("cloudflare:apiToken", True),
        ("gcp:credentials", True),
        ("gcp:accessToken", True),
        ("demobank:sessionKey", True),
        ("aws:secretKey", True),
        ("azure:clientCertificatePassword", True),
        ("vault:PASSPHRASE", True),
        ("custom:api_token", True),
        ("custom:apitoken", True),  # one lowercase word still contains the marker
        ("password", True),  # a nested key, without a namespace
        ("demobank:regionalStacks", False),
        ("demobank:region", False),
        ("gcp:project", False),
        ("gcp:kmsKeyName", False),  # names a key, holds no secret
        ("custom:keyRing", False),
        ("aws:skipCredentialsValidation", False),
        ("aws:sharedCredentialsFiles", False),
        ("custom:sshPublicKey", False),
        ("custom:secretId", False),
    ],
)
def test_which_keys_name_a_credential(key: str, credential: bool) -> None:
    assert is_credential_key(key) is credential


@pytest.mark.parametrize(
    ("stack", "text", "path"),
    [
        ("global", f"  cloudflare:apiToken: {FAKE_TOKEN}\n", "config.cloudflare:apiToken"),
        ("global", "  gcp:credentials: {type: service_account}\n", "config.gcp:credentials"),
        ("eu", "  demobank:sessionKey: hunter2\n", "config.demobank:sessionKey"),
        ("eu", "  demobank:apiKey: 1234\n", "config.demobank:apiKey"),
        ("eu", f"  custom:provider:\n    auth:\n      password: {FAKE_TOKEN}\n",
         "config.custom:provider.auth.password"),
        ("eu", f"  custom:hosts:\n    - name: a\n      apiKey: {FAKE_TOKEN}\n",
         "config.custom:hosts[0].apiKey"),
        ("eu", f"  custom:provider: {{token: {FAKE_TOKEN}}}\n", "config.custom:provider.token"),
        ("eu", f'  "custom:provider": {{"clientSecret": "{FAKE_TOKEN}"}}\n',
         "config.custom:provider.clientSecret"),
    ],
)  # fmt: skip
def test_plain_credentials_are_refused_without_quoting_them(
    project_copy: Path, stack: str, text: str, path: str
) -> None:
    add_config(project_copy, stack, text)
    [err] = errors_of(project_copy)
    assert f"{path}: found " in err and "in plain text under a key that names a credential" in err
    assert "pulumi config set --secret" in err
    assert FAKE_TOKEN not in err and "hunter2" not in err and "1234" not in err


@pytest.mark.parametrize(
    "text",
    [
        f"  cloudflare:apiToken:\n    secure: {V1_CIPHERTEXT}\n",
        f"  gcp:credentials: {{secure: {SERVICE_CIPHERTEXT}}}\n",
        f"  custom:provider:\n    user: ci\n    password:\n      secure: {V1_CIPHERTEXT}\n",
        "  custom:skipCredentialsValidation: true\n",
    ],
)
def test_secure_credentials_are_accepted(project_copy: Path, text: str) -> None:
    add_config(project_copy, "global", text)
    assert "global" in load_project(project_copy).stacks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('""', "found an empty secure: value"),
        ('"   "', "found an empty secure: value"),
        ("1234", "found a number under secure:, not ciphertext text"),
        ("hunter2", "found a value of 7 characters under secure: that is not Pulumi ciphertext"),
        ("password", "found a value of 8 characters under secure: that is not Pulumi ciphertext"),
        ("v1:AAAA:BBBB", "that is not Pulumi ciphertext"),  # far too short for AES-GCM
        ("v1:!!!!:????", "that is not Pulumi ciphertext"),
        ('"my secret value"', "found a value of 15 characters with whitespace under secure:"),
        (f"{FAKE_TOKEN}-{FAKE_TOKEN}", "that is not Pulumi ciphertext"),  # not base64
    ],
)
def test_a_secure_value_must_be_ciphertext(project_copy: Path, value: str, expected: str) -> None:
    add_config(project_copy, "global", f"  cloudflare:apiToken:\n    secure: {value}\n")
    [err] = errors_of(project_copy)
    assert err.startswith("stacks/Pulumi.global.yaml:13:3: config.cloudflare:apiToken: "), err
    assert expected in err and "`pulumi config set --secret cloudflare:apiToken`" in err
    for plain in ("hunter2", "password", "my secret value", FAKE_TOKEN, "AAAA"):
        assert plain not in err


def test_a_secure_mapping_holds_secure_alone(project_copy: Path) -> None:
    add_config(project_copy, "global", f"  gcp:credentials: {{secure: {V1_CIPHERTEXT}, a: b}}\n")
    [err] = errors_of(project_copy)
    assert "config.gcp:credentials: found secure: beside other keys" in err
    assert V1_CIPHERTEXT not in err


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("europe-west2", "'europe-west2'"),
        ("apac-platform-oncall@demobank.example", "'apac-platform-oncall@demobank.example'"),
        ("australia-southeast1-typo", "'australia-southeast1-typo'"),  # long, but words
        ("fedcba9876543210fedcba9876543210", "a value of 32 characters"),  # a hex id: opaque
        (FAKE_TOKEN, "a value of 42 characters"),
        ("v1:" + "Ab3" * 10, "a value of 33 characters"),
        ({"secure": V1_CIPHERTEXT}, "a secure: value"),
        ({"name": "x", "apiToken": "ab"}, '{"name": "x", "apiToken": "a value of 2 characters"}'),
        ([FAKE_TOKEN, "ok"], '["a value of 42 characters", "ok"]'),
        (True, "true"),
    ],
)
def test_describe_shows_the_length_of_anything_opaque(value: object, shown: str) -> None:
    assert describe(value) == shown
    assert describe("europe-west2", secret=True) == "a value of 12 characters"


def test_no_message_quotes_an_opaque_value_or_key(project_copy: Path) -> None:
    edit(project_copy / "regions/europe-west2.yaml", "name: london", f"name: {FAKE_TOKEN}")
    edit(project_copy / "regions/europe-west2.yaml", "  eu-2:", f"  {FAKE_TOKEN.lower()}:")
    errs = errors_of(project_copy)
    assert errs and not any(FAKE_TOKEN in e or FAKE_TOKEN.lower() in e for e in errs), errs
    assert any("hub.name: found a value of 42 characters: String should match" in e for e in errs)
    assert any("cells.<a key of 42 characters>" in e for e in errs), errs


# ---- every stack file planned or refused ----------------------------------------------------


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("defaults", "regions/defaults.yaml holds every region's defaults, not a region"),
        ("global", "regions/global.yaml holds the global stack's edge, not a region"),
        ("shards/europe-west2", "the name of a file in regions/, without folders or .yaml"),
        ("../regions/europe-west2", "without folders or .yaml"),
        ("europe-west2.yaml", "without folders or .yaml"),
        ("Europe_West2", "a region file's name is lowercase letters, digits and hyphens"),
    ],
)
def test_stack_region_names_a_region_file(project_copy: Path, region: str, expected: str) -> None:
    stack = project_copy / "stacks/Pulumi.eu.yaml"
    edit(stack, "demobank:region: europe-west2", f"demobank:region: {region}")
    edit(stack, "  gcp:region: europe-west2\n", "")
    errs = errors_of(project_copy)
    assert any(
        e.startswith("stacks/Pulumi.eu.yaml:6:3: config.demobank:region: found ") and expected in e
        for e in errs
    ), errs


def test_gcp_region_is_the_stacks_own_region(project_copy: Path) -> None:
    edit(project_copy / "stacks/Pulumi.eu.yaml", "gcp:region: europe-west2", "gcp:region: us-east1")
    [err] = errors_of(project_copy)
    assert err == (
        "stacks/Pulumi.eu.yaml:5:3: config.gcp:region: found 'us-east1' but demobank:region is "
        "'europe-west2'; a regional stack deploys into its own region: write gcp:region: "
        "europe-west2, or remove it"
    )


def test_gcp_region_of_the_global_stack_is_a_gcp_region(project_copy: Path) -> None:
    edit(project_copy / "stacks/Pulumi.global.yaml", "gcp:region: europe-west2", "gcp:region: eu")
    [err] = errors_of(project_copy)
    assert err == "stacks/Pulumi.global.yaml:8:3: config.gcp:region: found 'eu': not a GCP region"


def test_gcp_region_may_be_left_out(project_copy: Path) -> None:
    edit(project_copy / "stacks/Pulumi.eu.yaml", "  gcp:region: europe-west2\n", "")
    edit(project_copy / "stacks/Pulumi.global.yaml", "  gcp:region: europe-west2\n", "")
    assert load_project(project_copy).stacks["eu"].region is not None


@pytest.mark.parametrize(
    ("stack", "text", "expected"),
    [
        ("global", "  demobank:overrides:\n    kafka:\n      vcpu: 4\n",
         "config.demobank:overrides: found {\"kafka\": {\"vcpu\": 4}}: only a regional stack "
         "takes demobank:overrides"),
        ("global", "  demobank:region: europe-west2\n",
         "config.demobank:region: found 'europe-west2': the global stack spans every region"),
        ("apac", "  demobank:regionalStacks:\n    eu: demobank/demobank/eu\n",
         "config.demobank:regionalStacks: found {\"eu\": \"demobank/demobank/eu\"}: only the "
         "global stack takes demobank:regionalStacks"),
    ],
)  # fmt: skip
def test_stack_keys_belong_to_their_role(
    project_copy: Path, stack: str, text: str, expected: str
) -> None:
    add_config(project_copy, stack, text)
    [err] = errors_of(project_copy)
    assert expected in err and err.startswith(f"stacks/Pulumi.{stack}.yaml:"), err


def test_unknown_stack_key_is_named_as_written(project_copy: Path) -> None:
    add_config(project_copy, "apac", "  demobank:regoin: asia-southeast1\n")
    [err] = errors_of(project_copy)
    assert err == (
        "stacks/Pulumi.apac.yaml:8:3: config.demobank:regoin: unknown key 'demobank:regoin'; "
        "did you mean 'demobank:region'? accepted keys: demobank:role, demobank:region, "
        "demobank:overrides, demobank:regionalStacks"
    )


def test_exactly_one_global_stack(project_copy: Path) -> None:
    (project_copy / "stacks/Pulumi.global.yaml").rename(project_copy / "stacks/Pulumi.edge.yaml")
    shutil.copy(project_copy / "stacks/Pulumi.edge.yaml", project_copy / "stacks/Pulumi.edge2.yaml")
    [err] = errors_of(project_copy)
    assert err == (
        "stacks/Pulumi.edge2.yaml:9:3: config.demobank:role: found a second global stack (the "
        "first is stacks/Pulumi.edge.yaml); exactly one stack is global: make this one regional "
        "or remove it"
    )
    (project_copy / "stacks/Pulumi.edge.yaml").unlink()
    (project_copy / "stacks/Pulumi.edge2.yaml").unlink()
    errs = errors_of(project_copy)
    assert "stacks/: (folder): no global stack; exactly one stack file sets demobank:role" in (
        " | ".join(errs)
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Pulumi.EU prod.yaml", "found stack name 'EU prod': a stack file is Pulumi.<stack>.yaml"),
        ("Pulumi..yaml", "found stack name '': a stack file is Pulumi.<stack>.yaml"),
        ("Pulumi.eu2.yml", "found a .yml stack file, which rollout would never validate"),
        ("Pulumi.eu2.json", "found a .json stack file, which rollout would never validate"),
    ],
)
def test_stack_file_names_are_planned_or_refused(
    project_copy: Path, name: str, expected: str
) -> None:
    shutil.copy(project_copy / "stacks/Pulumi.apac.yaml", project_copy / "stacks" / name)
    [err] = errors_of(project_copy)
    assert err.startswith(f"stacks/{name}: (file name): {expected}"), err


def test_any_valid_stack_name_is_planned(project_copy: Path) -> None:
    (project_copy / "stacks/Pulumi.apac.yaml").rename(project_copy / "stacks/Pulumi.Apac_1.yaml")
    edit(project_copy / "stacks/Pulumi.global.yaml", "demobank/apac", "demobank/Apac_1")
    assert load_project(project_copy).stacks["Apac_1"].region is not None


def test_a_region_is_built_by_one_stack(project_copy: Path) -> None:
    shutil.copy(project_copy / "stacks/Pulumi.eu.yaml", project_copy / "stacks/Pulumi.eu2.yaml")
    [err] = errors_of(project_copy)
    assert err == (
        "stacks/Pulumi.eu2.yaml:7:3: config.demobank:region: found 'europe-west2', which stack "
        "eu (stacks/Pulumi.eu.yaml) already builds; each region file is built by one regional "
        "stack"
    )


@pytest.mark.parametrize(
    "ref", ["apac", "demobank/apac", "demobank/otherproject/apac", "demobank//apac"]
)
def test_regional_stacks_are_fully_qualified_in_this_project(project_copy: Path, ref: str) -> None:
    edit(project_copy / "stacks/Pulumi.global.yaml", "demobank/demobank/apac", ref)
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"stacks/Pulumi.global.yaml:12:5: config.demobank:regionalStacks.apac: found {ref!r}: "
        "a fully qualified stack of this project, <org>/demobank/<stack>"
    ), err


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("name: demobank", "name: otherbank",
         "Pulumi.yaml:1:1: name: found 'otherbank': the project is demobank: its config keys"),
        ("name: demobank\n", "", "Pulumi.yaml: name: missing required key"),
        ("  name: python", "  name: nodejs", "Pulumi.yaml:3:1: runtime: found {\"name\": "
         "\"nodejs\", \"options\": {\"toolchain\": \"pip\", \"virtu...: the program is Python"),
        ("stackConfigDir: stacks", "stackConfigDir: config",
         "Pulumi.yaml:8:1: stackConfigDir: found 'config': rollout validates and plans"),
    ],
)  # fmt: skip
def test_pulumi_yaml_is_this_project(project_copy: Path, old: str, new: str, expected: str) -> None:
    edit(project_copy / "Pulumi.yaml", old, new)
    [err] = errors_of(project_copy)
    assert err.startswith(expected), err


def test_pulumi_yaml_not_a_mapping(project_copy: Path) -> None:
    (project_copy / "Pulumi.yaml").write_text("- name: demobank\n")
    [err] = errors_of(project_copy)
    assert err.startswith("Pulumi.yaml:1:1: (root): found a list at the root")


def test_pulumi_yaml_runtime_may_be_a_plain_string(project_copy: Path) -> None:
    text = (project_copy / "Pulumi.yaml").read_text()
    start = text.index("runtime:")
    end = text.index("stackConfigDir:")
    (project_copy / "Pulumi.yaml").write_text(text[:start] + "runtime: python\n" + text[end:])
    assert load_project(project_copy).stacks


# ---- meaning holes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cidr", ["0.0.0.0/1", "128.0.0.0/1", "8.8.8.0/24", "100.64.0.0/10", "192.0.2.0/24"]
)
def test_authorized_networks_are_private(project_copy: Path, cidr: str) -> None:
    edit(project_copy / "regions/defaults.yaml", "corp-vpn: 10.200.0.0/16", f"corp-vpn: {cidr}")
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"regions/defaults.yaml:21:5: cluster.authorized_networks.corp-vpn: found '{cidr}': the "
        "control plane is reachable only from private networks"
    ), err


def test_the_internet_in_two_halves_is_refused(project_copy: Path) -> None:
    path = project_copy / "regions/defaults.yaml"
    edit(path, "corp-vpn: 10.200.0.0/16", "corp-vpn: 0.0.0.0/1")
    edit(path, "ci-runners: 10.201.0.0/24", "ci-runners: 128.0.0.0/1")
    errs = errors_of(project_copy)
    assert [e.split(": found")[0] for e in errs] == [
        "regions/defaults.yaml:21:5: cluster.authorized_networks.corp-vpn",
        "regions/defaults.yaml:22:5: cluster.authorized_networks.ci-runners",
    ]


def test_private_authorized_networks_pass(project_copy: Path) -> None:
    path = project_copy / "regions/defaults.yaml"
    edit(path, "corp-vpn: 10.200.0.0/16", "corp-vpn: 172.16.0.0/12")
    edit(path, "ci-runners: 10.201.0.0/24", "ci-runners: 192.168.10.0/24")
    networks = load_project(project_copy).regions["europe-west2"].cluster.authorized_networks
    assert networks == {"corp-vpn": "172.16.0.0/12", "ci-runners": "192.168.10.0/24"}


def test_host_bits_name_the_network_meant(project_copy: Path) -> None:
    path = project_copy / "regions/defaults.yaml"
    edit(path, "corp-vpn: 10.200.0.0/16", "corp-vpn: 10.200.0.1/16")
    [err] = errors_of(project_copy)
    assert "found '10.200.0.1/16': host bits are set; the network is 10.200.0.0/16" in err


def test_region_range_is_rfc1918(project_copy: Path) -> None:
    path = project_copy / "regions/asia-southeast1.yaml"
    edit(path, "substrate_cidr: 10.47.255.0/24", "substrate_cidr: 100.64.0.0/24")
    [err] = errors_of(project_copy)
    assert "network.substrate_cidr: found '100.64.0.0/24': expected a private IPv4 range" in err


@pytest.mark.parametrize(("hours", "ok"), [(0, False), (-2, False), (-1, True), (1, True)])
def test_topic_retention(project_copy: Path, hours: int, ok: bool) -> None:
    path = project_copy / "regions/defaults.yaml"
    edit(path, "retention_hours: 72\n", f"retention_hours: {hours}\n")
    if ok:
        topics = load_project(project_copy).regions["europe-west2"].topics
        assert topics["notifications"].retention_hours == hours
        return
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"regions/defaults.yaml:63:5: topics.notifications.retention_hours: found {hours}: "
    ), err


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("regions/defaults.yaml", "disk_size_gb: 100", "disk_size_gb: true",
         "regions/defaults.yaml:11:3: cluster.disk_size_gb: found true: Input should be a valid "
         "integer"),
        ("regions/defaults.yaml", "partitions: 24", "partitions: 24.0",
         "regions/defaults.yaml:54:5: topics.ledger.entries.partitions: found 24.0: Input should "
         "be a valid integer"),
        ("stacks/Pulumi.eu.yaml", "max_nodes_per_zone: 6", "max_nodes_per_zone: true",
         "stacks/Pulumi.eu.yaml:10:7: config.demobank:overrides.cluster.max_nodes_per_zone: "
         "found true: Input should be a valid integer"),
        ("regions/global.yaml", "sign_in_rate_limit: 10", "sign_in_rate_limit: false",
         "regions/global.yaml:60:3: edge.sign_in_rate_limit: found false: Input should be a "
         "valid integer"),
        ("regions/defaults.yaml", "max_cell_share: 0.75", "max_cell_share: yes",
         "regions/defaults.yaml:68:3: shards.max_cell_share: found true: Input should be a "
         "valid number"),
    ],
)  # fmt: skip
def test_booleans_and_fractions_are_not_integers(
    project_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(project_copy / file, old, new)
    [err] = errors_of(project_copy)
    assert err == expected


def test_an_integer_is_a_float(project_copy: Path) -> None:
    edit(project_copy / "regions/defaults.yaml", "max_cell_share: 0.75", "max_cell_share: 1")
    shards = load_project(project_copy).regions["europe-west2"].shards
    assert shards.max_cell_share == 1.0 and isinstance(shards.max_cell_share, float)


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2026-01-03T00:00:00Z", "the window must end after it starts"),
        ("2026-01-02T08:00:00Z", "the window must end after it starts"),
        ("2026-02-30T08:00:00Z", "not a real date and time"),
        ("2026-01-03T24:00:00Z", "not a real date and time"),
    ],
)
def test_maintenance_window_ends_after_it_starts(
    project_copy: Path, end: str, expected: str
) -> None:
    edit(project_copy / "regions/defaults.yaml", '"2026-01-03T08:00:00Z"', f'"{end}"')
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"regions/defaults.yaml:17:5: cluster.maintenance_window.end_time: found '{end}': "
        f"{expected}"
    ), err


def test_maintenance_window_may_span_days(project_copy: Path) -> None:
    path = project_copy / "regions/defaults.yaml"
    edit(path, '"2026-01-03T08:00:00Z"', '"2026-01-04T23:59:00Z"')
    window = load_project(project_copy).regions["europe-west2"].cluster.maintenance_window
    assert window.end_time == "2026-01-04T23:59:00Z"


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("60 2 * * *", "minute field: '60' is outside 0-59"),
        ("0 24 * * *", "hour field: '24' is outside 0-23"),
        ("0 2 0 * *", "day of month field: '0' is outside 1-31"),
        ("0 2 * 13 *", "month field: '13' is outside 1-12"),
        ("0 2 * * 8", "day of week field: '8' is outside 0-7"),
        ("0 5-2 * * *", "hour field: '5-2' runs backwards"),
        ("0 2/0 * * *", "hour field: step 0 is outside 1-23"),
        ("0 x * * *", "hour field: 'x' is not *, N or N-M"),
        ("0 2,,14 * * *", "hour field: '' is not *, N or N-M"),
        ("0 2 * JAN *", "month field: 'JAN' is not *, N or N-M"),
        ("0 2 * *", "String should match pattern"),
    ],
)
def test_backup_cron_is_a_crontab(project_copy: Path, cron: str, expected: str) -> None:
    edit(project_copy / "regions/defaults.yaml", 'cron: "0 2 * * *"', f'cron: "{cron}"')
    [err] = errors_of(project_copy)
    assert err.startswith(f"regions/defaults.yaml:36:5: spanner.backup.cron: found '{cron}': ")
    assert expected in err, err


@pytest.mark.parametrize("cron", ["0 2/12 * * *", "0 2,14 * * *", "30 1 1 1-12/2 0,7"])
def test_backup_cron_accepts_spanner_examples(project_copy: Path, cron: str) -> None:
    edit(project_copy / "regions/defaults.yaml", 'cron: "0 2 * * *"', f'cron: "{cron}"')
    assert load_project(project_copy).regions["europe-west2"].spanner.backup.cron == cron


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=SX", "BYDAY 'SX' is not a day"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY '1MO' is not a day"),
        ("FREQ=WEEKLY;BYDAY=SA;BYDAY=SU", "BYDAY is given twice"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL '0' is not a whole number of at least 1"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "UNTIL and COUNT cannot both be given"),
        ("FREQ=DAILY;UNTIL=2026-01-01", "UNTIL '2026-01-01' is not a date"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR '24' is outside 0..23"),
        ("FREQ=WEEKLY;FOO=1", "unknown rule part 'FOO'"),
        ("FREQ=WEEKLY;", "'' is not NAME=VALUE"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS needs another BY... part"),
        ("FREQ=MONTHLY", "String should match pattern"),
    ],
)
def test_maintenance_recurrence_is_an_rrule(project_copy: Path, rule: str, expected: str) -> None:
    edit(project_copy / "regions/defaults.yaml", '"FREQ=WEEKLY;BYDAY=SA,SU"', f'"{rule}"')
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"regions/defaults.yaml:18:5: cluster.maintenance_window.recurrence: found '{rule}': "
    )
    assert expected in err, err


@pytest.mark.parametrize(
    "rule",
    ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;WKST=MO",
     "FREQ=DAILY;INTERVAL=2;BYHOUR=0;BYMINUTE=0"],
)  # fmt: skip
def test_maintenance_recurrence_accepts_rrules(project_copy: Path, rule: str) -> None:
    edit(project_copy / "regions/defaults.yaml", '"FREQ=WEEKLY;BYDAY=SA,SU"', f'"{rule}"')
    window = load_project(project_copy).regions["europe-west2"].cluster.maintenance_window
    assert window.recurrence == rule


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "a private"),
        ("192.168.1.1", "a private"),
        ("127.0.0.1", "a loopback"),
        ("169.254.1.1", "a link-local"),
        ("224.0.0.1", "a multicast"),
        ("0.0.0.0", "an unspecified"),
        ("240.0.0.1", "a reserved"),
        ("100.64.0.1", "a non-public"),
        ("::1", "a loopback"),
        ("fe80::1", "a link-local"),
        ("fc00::1", "a private"),
        ("not-an-ip", "not an IP address"),
    ],
)
def test_home_origin_is_public(project_copy: Path, address: str, kind: str) -> None:
    edit(project_copy / "regions/global.yaml", "address: 203.0.113.10", f'address: "{address}"')
    [err] = errors_of(project_copy)
    assert err.startswith(
        f"regions/global.yaml:16:3: home_origin.address: found '{address}': {kind}"
    ), err


@pytest.mark.parametrize("address", ["198.51.100.7", "192.0.2.1", "8.8.8.8", "2606:4700::1111"])
def test_home_origin_accepts_public_and_documentation_addresses(
    project_copy: Path, address: str
) -> None:
    # documentation ranges stay accepted: the shipped 203.0.113.10 is a placeholder (RFC 5737)
    edit(project_copy / "regions/global.yaml", "address: 203.0.113.10", f'address: "{address}"')
    assert load_project(project_copy).global_.home_origin.address == address
