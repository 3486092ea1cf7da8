"""The quota pre-flight `rollout validate` prints: numbers worked out here from the YAML itself.

The expected figures are computed in this file from the raw files (defaults < region file <
stack overrides, by hand, and a predefined machine type's vCPUs from its name), not through
the program's merge or the catalog's table, so a mistake in either shows up here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout import cli

ROOT = Path(__file__).resolve().parent.parent
STACKS = {"eu": "europe-west2", "apac": "asia-southeast1"}


def load(path: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / path).read_text())


def setting(section: str, key: str, stack: str, region: str, *inner: str) -> Any:
    """``section.key`` (and deeper) as the last of defaults, region file and stack overrides
    that sets it."""
    found = None
    overrides = load(f"stacks/Pulumi.{stack}.yaml")["config"].get("demobank:overrides", {})
    for layer in (load("regions/defaults.yaml"), load(f"regions/{region}.yaml"), overrides):
        value = layer.get(section, {})
        for part in (key, *inner):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            found = value
    return found


def expected_line(stack: str, region: str) -> str:
    cells = len(load(f"regions/{region}.yaml")["cells"])
    per_zone = setting("cluster", "max_nodes_per_zone", stack, region)
    machine = setting("cluster", "machine_type", stack, region)
    disk = setting("cluster", "disk_size_gb", stack, region)
    pu = setting("spanner", "autoscaling", stack, region, "max_processing_units")
    vcpus_each = int(machine.rsplit("-", 1)[1])  # a predefined type's name ends in its vCPUs
    nodes = cells * 3 * per_zone  # a regional cluster runs in 3 zones
    family = machine.split("-")[0].upper()
    return (
        f"quota {stack} ({region}): {nodes * vcpus_each} vCPUs ({family}_CPUS, CPUS), "
        f"{nodes * disk} GB pd-balanced (SSD_TOTAL_GB), {pu} Spanner processing units; "
        f"from {cells} cells x 3 zones x {per_zone} nodes of {machine} ({vcpus_each} vCPUs, "
        f"{disk} GB)"
    )


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    monkeypatch.chdir(ROOT)
    assert cli.main(["validate"]) == 0
    return capsys.readouterr().out.splitlines()


def test_validate_prints_the_quota_each_region_needs_after_the_result(printed: list[str]) -> None:
    assert printed[0].startswith("ok: ")
    quota = [line for line in printed if line.startswith("quota ")]
    assert printed[1 : 1 + len(quota)] == quota  # right after the result, nothing between
    assert set(quota[:-1]) == {expected_line(s, r) for s, r in STACKS.items()}


def test_the_shipped_numbers(printed: list[str]) -> None:
    """The figures themselves, so a reader sees what the shipped YAML asks for: London runs 6
    nodes a zone (its stack override), Singapore the default 5, both on n2-standard-4."""
    assert expected_line("eu", "europe-west2").startswith(
        "quota eu (europe-west2): 144 vCPUs (N2_CPUS, CPUS), 3600 GB pd-balanced (SSD_TOTAL_GB), "
        "5000 Spanner processing units"
    )
    assert expected_line("apac", "asia-southeast1").startswith(
        "quota apac (asia-southeast1): 120 vCPUs (N2_CPUS, CPUS), 3000 GB pd-balanced"
    )
    directory = load("regions/global.yaml")["directory"]
    assert (
        f"quota global ({directory['instance_config']}): "
        f"{directory['autoscaling']['max_processing_units']} Spanner processing units"
    ) == printed[-1]


def test_a_stack_override_moves_its_region_alone(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project_copy / "stacks/Pulumi.eu.yaml"
    path.write_text(path.read_text().replace("max_nodes_per_zone: 6", "max_nodes_per_zone: 10"))
    monkeypatch.chdir(project_copy)
    assert cli.main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "quota eu (europe-west2): 240 vCPUs (N2_CPUS, CPUS), 6000 GB" in out
    assert "quota apac (asia-southeast1): 120 vCPUs" in out
