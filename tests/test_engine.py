"""The offline engine and the CLI around it: what is recorded, how config flows, the JSON shape."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from rollout import catalog, cli, engine
from rollout.catalog import STACK
from rollout.config import Project
from rollout.engine import offline_config, plan_all, plan_stack, run_program
from rollout.plan import Plan, load, save

ROOT = Path(__file__).resolve().parent.parent


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        import pulumi_gcp as gcp

        self.net = gcp.compute.Network(
            "net", auto_create_subnetworks=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.sub = gcp.compute.Subnetwork(
            "sub",
            network=self.net.id,
            ip_cidr_range="10.0.0.0/24",
            region="europe-west2",
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.register_outputs({})


def _box_program() -> None:
    box = Box("box")
    config = pulumi.Config("demobank")
    pulumi.export("role", config.require("role"))
    pulumi.export("overrides", config.require_object("overrides"))
    pulumi.export("network", box.net.name)
    import pulumi_gcp as gcp

    gcp.compute.Network("hushed", description=pulumi.Output.secret("s3cr3t-value"))
    ref = pulumi.StackReference("demobank/demobank/eu")
    pulumi.export("ref_region", ref.get_output("region"))


@pytest.fixture(scope="module")
def box_plan() -> Plan:
    return run_program(
        _box_program,
        stack="test",
        config={
            "demobank:role": "regional",
            "demobank:overrides": '{"cluster": {"max_nodes_per_zone": 3}}',
        },
        stack_outputs={"eu": {"region": "europe-west2"}},
    )


def test_components_and_children_are_recorded_with_their_parent(box_plan: Plan) -> None:
    stack = box_plan.resources[0]
    assert stack.type == STACK
    box = box_plan.one("test:index:Box", "box")
    assert box.parent == stack.urn and not box.custom and box.is_component
    net = box_plan.one(catalog.NETWORK, "net")
    sub = box_plan.one(catalog.SUBNETWORK, "sub")
    assert net.parent == box.urn and sub.parent == box.urn
    assert [r.name for r in box_plan.children(box.urn)] == ["net", "sub"]
    assert box_plan.ancestors(sub) == [box, stack]


def test_inputs_dependencies_and_flags_are_recorded(box_plan: Plan) -> None:
    net = box_plan.one(catalog.NETWORK, "net")
    sub = box_plan.one(catalog.SUBNETWORK, "sub")
    assert net.inputs["autoCreateSubnetworks"] is False
    assert sub.inputs["ipCidrRange"] == "10.0.0.0/24"
    assert sub.dependencies == [net.urn]
    assert sub.protect and sub.retain_on_delete
    assert not net.protect and not net.retain_on_delete


def test_config_reaches_pulumi_config_as_the_cli_passes_it(box_plan: Plan) -> None:
    assert box_plan.outputs["role"] == "regional"
    assert box_plan.outputs["overrides"] == {"cluster": {"max_nodes_per_zone": 3}}
    assert box_plan.outputs["network"] == "net"  # mocked outputs come back into the program


def test_stack_reference_resolves_to_the_referenced_offline_outputs(box_plan: Plan) -> None:
    assert box_plan.outputs["ref_region"] == "europe-west2"


def test_program_runs_many_times_in_one_process(box_plan: Plan) -> None:
    again = run_program(
        _box_program,
        stack="test",
        config={"demobank:role": "regional", "demobank:overrides": "{}"},
        stack_outputs={"eu": {"region": "europe-west2"}},
    )
    assert [r.urn for r in again.resources] == [r.urn for r in box_plan.resources]


def test_secrets_are_seen_in_memory_and_redacted_when_saved(box_plan: Plan) -> None:
    hushed = box_plan.one(catalog.NETWORK, "hushed")
    assert hushed.inputs["description"] == "s3cr3t-value" and hushed.secrets == ["description"]
    [saved] = [r for r in box_plan.to_json()["resources"] if r["name"] == "hushed"]
    assert saved["inputs"]["description"].startswith("[secret sha256:")
    assert "s3cr3t-value" not in json.dumps(box_plan.to_json())


def test_plan_json_round_trip(box_plan: Plan, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save([box_plan], path)
    [back] = load(path)
    assert [r.urn for r in back.resources] == [r.urn for r in box_plan.resources]
    assert back.outputs == box_plan.outputs


def test_fast_struct_paths_give_what_the_sdk_gives(
    monkeypatch: pytest.MonkeyPatch, project: Project
) -> None:
    """The monitor's protobuf fast paths against the SDK's own (de)serialisers, registration by
    registration: every shipped stack (plain data) and the box program (a secret: the SDK path)."""
    paths: Counter[str] = Counter()
    fast_deserialize, fast_serialize = engine._deserialize, engine._serialize

    def deserialize(struct: Any) -> tuple[dict[str, Any], bool]:
        inputs, plain = fast_deserialize(struct)
        pulumi_mocks._ensure_event_loop()
        expected = rpc.deserialize_properties(struct)
        assert json.dumps(inputs, sort_keys=True, default=repr) == json.dumps(
            expected, sort_keys=True, default=repr
        )
        paths["plain" if plain else "sdk"] += 1
        return inputs, plain

    def serialize(state: dict[str, Any]) -> Any:
        struct = fast_serialize(state)
        assert struct == pulumi_mocks._sync_await(rpc.serialize_properties(state, {}))
        return struct

    monkeypatch.setattr(engine, "_deserialize", deserialize)
    monkeypatch.setattr(engine, "_serialize", serialize)
    shipped = plan_all(project)
    registrations = sum(len(p.resources) - 1 for p in shipped.values())
    boxed = run_program(
        _box_program,
        stack="test",
        config={"demobank:role": "regional", "demobank:overrides": "{}"},
        stack_outputs={"eu": {"region": "europe-west2"}},
    )
    # Only registrations holding a secret (bucket objects' content; the box's description) need
    # the SDK's path; everything else is plain data and takes the fast one.
    with_secrets = sum(1 for p in [*shipped.values(), boxed] for r in p.resources if r.secrets)
    assert with_secrets >= 2
    assert paths["sdk"] == with_secrets, paths
    assert paths["plain"] == registrations + len(boxed.resources) - 1 - with_secrets, paths
    hushed = boxed.one(catalog.NETWORK, "hushed")
    assert hushed.inputs["description"] == "s3cr3t-value"
    assert hushed.secrets == ["description"]


def _depth() -> int:
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _many_secrets_program() -> None:
    import pulumi_gcp as gcp

    for i in range(300):  # secrets and invokes: the mock monitor's paths through _sync_await
        project = gcp.organizations.get_project_output()
        gcp.compute.Network(
            f"n{i}", description=pulumi.Output.secret(f"s{i}"), project=project.project_id
        )
    pulumi.export("project", project.project_id)


def test_monitor_calls_run_inline_on_the_program_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Monitor calls run inline on the program's loop (no worker thread), and the mock
    monitor's serialiser no longer pumps that running loop: registrations never nest, however
    many secrets or invokes the program has."""
    import threading

    seen: list[tuple[int, int]] = []
    register = engine.RecordingMonitor.RegisterResource

    def recording(self: engine.RecordingMonitor, request: Any) -> Any:
        seen.append((threading.get_ident(), _depth()))
        return register(self, request)

    def invoking(self: engine.RecordingMonitor, request: Any) -> Any:
        seen.append((threading.get_ident(), _depth()))
        return invoke(self, request)

    invoke = engine.RecordingMonitor.Invoke
    monkeypatch.setattr(engine.RecordingMonitor, "RegisterResource", recording)
    monkeypatch.setattr(engine.RecordingMonitor, "Invoke", invoking)
    threads = threading.active_count()
    plan = run_program(_many_secrets_program, stack="test", config={}, project_id="p-1")
    assert threading.active_count() == threads
    assert {ident for ident, _ in seen} == {threading.get_ident()}
    depths = [depth for _, depth in seen]
    assert max(depths) - min(depths) < 10, (min(depths), max(depths))
    assert len(seen) == 1 + 300 + 300  # the stack, the networks, the invokes
    assert len(plan.of_type(catalog.NETWORK)) == 300
    assert plan.one(catalog.NETWORK, "n7").secrets == ["description"]
    assert plan.outputs["project"] == "p-1"


def test_drive_refuses_a_mocked_value_that_waits() -> None:
    import asyncio

    async def waits() -> None:
        await asyncio.sleep(0)

    async def plain() -> int:
        return 7

    assert engine._drive(plain()) == 7
    with pytest.raises(RuntimeError, match="mocks must return plain data"):
        engine._drive(waits())


def test_a_run_frees_its_own_garbage(project: Project) -> None:
    """The collection that follows a run frees everything the SDK made for it: nothing is left
    for whatever runs next (a benchmark's floor, the next stack) to collect and pay for."""
    plan_stack("eu", project)
    leftover = gc.collect(1)
    assert leftover < 100, leftover  # 4,708 when the SDK's settings still held the monitor


def test_repeated_runs_do_not_grow_the_frozen_heap(project: Project) -> None:
    """run_program freezes the heap (so collections skip the SDKs' million objects); garbage
    frozen with it would never be freed. Planning the same stack again must not grow it."""
    frozen = []
    for _ in range(4):
        plan_stack("eu", project)
        frozen.append(gc.get_freeze_count())
    # the leak this guards against froze about 5,000 objects per run of this stack
    assert frozen[-1] - frozen[1] < 2_000, frozen


def test_shipped_plans_build_every_stack(plans: dict[str, Plan]) -> None:
    assert set(plans) == {"eu", "apac", "global"}
    for name, plan in plans.items():
        assert plan.stack == name
        assert plan.resources[0].type == STACK
        assert len({r.urn for r in plan.resources}) == len(plan.resources), "URNs must be unique"
        # every resource but the stack hangs under a component of ours
        for r in plan.resources[1:]:
            assert r.parent is not None, r.urn


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(ROOT)
    return cli.main(args)


def test_cli_plan_rejects_unknown_stack_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["plan", "emea"], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "stacks/Pulumi.emea.yaml: (file): no stack named 'emea'; known stacks: apac, eu, global"
    )
    assert _cli(["plan"], monkeypatch) == 2
    assert "name a stack or pass --all" in capsys.readouterr().err


def test_cli_check_rejects_a_file_that_is_not_a_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nope": 1}')
    assert _cli(["check", str(bad)], monkeypatch) == 2
    assert 'expected {"stack", "resources": [...]}' in capsys.readouterr().err


def test_cli_plan_json_shape_and_clean_exit(tmp_path: Path) -> None:
    """A real process: the JSON shape, and nothing on stderr (no asyncio noise at exit)."""
    out = tmp_path / "apac.json"
    proc = subprocess.run(
        [sys.executable, "-m", "rollout.cli", "plan", "apac", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "+   pulumi:pulumi:Stack" in proc.stdout and "Resources by type:" in proc.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    assert data["stack"] == "apac"
    assert set(data) >= {"stack", "resources", "outputs"}
    keys = {"urn", "type", "name", "parent", "inputs", "dependencies", "protect"}
    assert all(keys <= set(r) for r in data["resources"])
    assert data["outputs"]["region"] == "asia-southeast1"


def test_main_py_is_the_program_the_engine_plans(
    plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pulumi up` runs __main__.py; run it under the engine and get the same plan."""
    import runpy

    from rollout.config import load_project

    monkeypatch.chdir(ROOT)
    project = load_project(ROOT)
    spec = project.stacks["apac"]
    # what the CLI passes: the stack file, and the cells' TLS config (placeholders offline)
    config, secrets = offline_config(spec, project.global_)
    plan = run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
        stack="apac",
        config=config,
        secret_keys=secrets,
        project_id=spec.raw["gcp:project"],
    )
    assert [r.urn for r in plan.resources] == [r.urn for r in plans["apac"].resources]
    assert plan.outputs == plans["apac"].outputs
