"""The offline engine: run the real Pulumi program under the SDK's mocks and record the plan.

``pulumi up`` and this engine run the same ``rollout.program.build``; only the resource monitor
differs. Ours is the SDK's ``MockMonitor`` with one addition: every registration (components
included) is recorded with its URN, type, name, parent, inputs, dependencies, protect and
retain-on-delete flags, and the properties whose changes it ignores. Mocked resources get
plausible ids and outputs (addresses, emails, names) so that code depending on them runs as it
would in a preview.

Config reaches the program as the CLI would give it: the stack file's ``config`` map, objects
as JSON text, through ``pulumi.runtime.set_all_config``. A ``pulumi.StackReference`` resolves
to the referenced stack's offline outputs (planned first, once).

What it returns is the plain plan model of ``rollout.plan``, which everything downstream reads.
This module patches SDK internals while a program runs (:func:`collector_paused`,
:func:`sdk_shortcuts`; the bench reuses both), so only the CLI, the tests and the bench import
it: the real program never does (tests/test_structure.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import ipaddress
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import wait_for_rpcs

from rollout import catalog
from rollout.catalog import PROJECT_NAME
from rollout.config import GlobalFile, Project, StackSpec, load_project
from rollout.plan import Plan, Resource

# ---------------------------------------------------------------------------------------------
# Mocks: plausible outputs for the resources the program creates
# ---------------------------------------------------------------------------------------------


def _fake_ip(seed: str) -> str:
    """A stable address in 198.18.0.0/15 (RFC 2544, never routed): same name, same address."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")
    return str(ipaddress.ip_address(int(ipaddress.ip_address("198.18.0.0")) + digest % (1 << 17)))


class PlanMocks(pulumi.runtime.Mocks):
    """Returns inputs as outputs, plus the computed fields the program reads."""

    def __init__(self, project_id: str, stack_outputs: dict[str, dict[str, Any]]):
        self.project_id = project_id
        self.stack_outputs = stack_outputs

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        typ = args.typ
        name = state.get("name") or args.name
        if typ == catalog.STACK_REFERENCE:
            ref = state.get("name", args.name)
            stack = str(ref).rsplit("/", 1)[-1]
            if stack not in self.stack_outputs:
                raise KeyError(f"StackReference to {ref!r}: no such stack was planned")
            return ref, {"name": ref, "outputs": self.stack_outputs[stack], "secretOutputNames": []}
        if not args.custom:
            return None, {}
        if typ in (catalog.ADDRESS, catalog.GLOBAL_ADDRESS):
            state.setdefault("address", _fake_ip(f"{self.project_id}/{name}"))
        elif typ == catalog.SERVICE_ACCOUNT:
            state["email"] = (
                f"{state.get('accountId', name)}@{self.project_id}.iam.gserviceaccount.com"
            )
            state["member"] = f"serviceAccount:{state['email']}"
        elif typ == catalog.GKE_CLUSTER:
            state["endpoint"] = _fake_ip(f"gke/{name}")
            # GKE names the DNS-based endpoint itself: gke-<hash>.<location>.gke.goog
            endpoints = state.get("controlPlaneEndpointsConfig")
            if isinstance(endpoints, dict) and isinstance(endpoints.get("dnsEndpointConfig"), dict):
                digest = hashlib.sha256(f"{self.project_id}/{name}".encode()).hexdigest()[:32]
                dns = {  # new dicts: the recorded inputs must not change
                    **endpoints["dnsEndpointConfig"],
                    "endpoint": f"gke-{digest}.{state.get('location')}.gke.goog",
                }
                state["controlPlaneEndpointsConfig"] = {**endpoints, "dnsEndpointConfig": dns}
        elif typ == catalog.GKE_NODE_POOL:
            # GKE picks a regional pool's zones (three of the region's); the plan assumes the
            # first three, which is what the cell's NEG backends are built from.
            suffixes = "abcdefghij"[: catalog.GKE_REGIONAL_ZONES]
            state.setdefault("nodeLocations", [f"{state.get('location')}-{z}" for z in suffixes])
        elif typ == catalog.KMS_CRYPTO_KEY:
            state["id"] = f"{state.get('keyRing', 'keyring')}/cryptoKeys/{name}"
        elif typ == catalog.CF_DNSSEC:
            # Cloudflare computes the DS record (RFC 4034) from the zone's key-signing key.
            digest = hashlib.sha256(str(state.get("zoneId")).encode()).hexdigest().upper()
            state.setdefault("ds", f"zone. 3600 IN DS 2371 13 2 {digest}")
        elif typ == catalog.KMS_KEY_RING:
            state["id"] = (
                f"projects/{self.project_id}/locations/{state.get('location')}/keyRings/{name}"
            )
        else:
            self._weblate_outputs(typ, str(name), state)
        state.setdefault("name", name)
        state.setdefault("project", self.project_id)
        state.setdefault("selfLink", f"https://mock.googleapis.com/{self.project_id}/{args.name}")
        rid = state.get("id") or f"{args.name}-id"
        return str(rid), state

    def _weblate_outputs(self, typ: str, name: str, state: dict[str, Any]) -> None:
        """What Weblate's component reads back from its resources (components/weblate.py)."""
        if typ == catalog.SQL_INSTANCE:
            state["connectionName"] = f"{self.project_id}:{state.get('region')}:{name}"
            state["privateIpAddress"] = _fake_ip(f"sql/{name}")
        elif typ == catalog.REDIS_INSTANCE:
            state.update(
                host=_fake_ip(f"redis/{name}"),
                port=6378,  # Memorystore's TLS port
                authString="offline placeholder for the Memorystore AUTH string",
                serverCaCerts=[{"cert": "offline placeholder for the Memorystore server CA"}],
            )
        elif typ == catalog.FILESTORE_INSTANCE:
            state["networks"] = [  # new dicts: the recorded inputs must not change
                {**n, "ipAddresses": [_fake_ip(f"filestore/{name}")]}
                for n in state.get("networks") or []
                if isinstance(n, dict)
            ]
        elif typ == catalog.SECRET:
            state["id"] = f"projects/{self.project_id}/secrets/{state.get('secretId', name)}"
        elif typ == catalog.SECRET_VERSION:
            state["version"] = "1"
        elif typ == catalog.CLOUD_RUN_SERVICE:
            state["uri"] = f"https://{name}-offline.a.run.app"

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == catalog.GET_PROJECT:
            return {"number": "123456789012", "projectId": self.project_id, "name": self.project_id}
        if args.token == catalog.GET_CLIENT_CONFIG:
            return {"project": self.project_id, "region": "", "zone": "", "accessToken": ""}
        if args.token == catalog.GET_LOGGING_CMEK_SETTINGS:
            # Cloud Logging's own account for the project's CMEK (its format varies by project
            # age, which is why the program asks for it rather than building it).
            account = "service-123456789012@gcp-sa-logging.iam.gserviceaccount.com"
            return {"project": self.project_id, "serviceAccountId": account}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, recording every registration for the plan."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.recorded: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        common = {
            "urn": urn,
            "type": request.type,
            "name": request.name,
            "parent": request.parent or None,
            "dependencies": sorted(set(request.dependencies)),
            "protect": bool(request.protect),
            "retain_on_delete": bool(request.retainOnDelete),
            "ignore_changes": list(request.ignoreChanges),
            "custom": bool(request.custom),
        }
        if request.type == catalog.STACK:
            self.recorded.append(Resource(inputs={}, **common))
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs, plain = _deserialize(request.object)
        resource_args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(resource_args)
        obj_proto = _serialize(state)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        secrets: list[str] = []
        if not plain:
            inputs = _plain(inputs, secrets)
        self.recorded.append(Resource(inputs=inputs, secrets=secrets, outputs=state, **common))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)


SECRET_SIG_KEY = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig


# The SDK's own (de)serialisers dispatch on every value (assets, archives, resource references,
# secrets, unknowns, input types) and serialise through a coroutine per value. Almost every
# registration is plain JSON data, for which protobuf's Struct does the same conversion
# directly: that is the fast path below. Anything else (a signature key, an unknown, a non-JSON
# value) goes to the SDK's code. tests/test_engine.py checks both paths give identical results
# for every registration of the shipped stacks.


class _NotPlain(Exception):
    """The fast path met a value only the SDK's (de)serialiser knows how to handle."""


def _deserialize(struct: struct_pb2.Struct) -> tuple[dict[str, Any], bool]:
    """``rpc.deserialize_properties(struct)``, and whether the result is plain JSON data."""
    try:
        return _from_struct(struct), True
    except _NotPlain:
        pulumi_mocks._ensure_event_loop()
        return rpc.deserialize_properties(struct), False


def _from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    out = {}
    for key, value in struct.fields.items():
        item = _from_value(value)
        if item is not None:  # as the SDK does: a null property does not exist
            out[key] = item
    if SECRET_SIG_KEY in out:  # a secret, asset, archive or resource reference
        raise _NotPlain
    return out


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        if value.string_value == rpc.UNKNOWN:
            raise _NotPlain
        return value.string_value
    if kind == "struct_value":
        return _from_struct(value.struct_value)
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _serialize(state: dict[str, Any]) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state, {})`` for the mocks' outputs."""
    struct = struct_pb2.Struct()
    try:
        if any(v is None for v in state.values()):
            raise _NotPlain  # the SDK drops null properties; let it
        struct.update(state)
    except (_NotPlain, ValueError, TypeError):
        return _drive(rpc.serialize_properties(state, {}))
    return struct


def _drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits to its end, here; the mock monitor's ``_sync_await``.

    Monitor calls run inline on the program's event loop (:class:`_InlineLoop`), where the SDK's
    ``_sync_await`` would pump that same running loop re-entrantly: other registrations would
    run inside this one, each a few frames deeper. What the monitor serialises (mocked state,
    call results) is plain data, held by no future, so its coroutine finishes on the first
    step without the loop.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError(
        "offline engine: a mocked value had to wait on a future while it was serialised; "
        "mocks must return plain data (str, number, bool, list, dict), not Outputs"
    )


class _InlineLoop(asyncio.SelectorEventLoop):
    """An event loop that runs ``run_in_executor`` work inline, at once.

    The SDK sends each monitor call (register, invoke, read) through the loop's executor: a
    real monitor is a gRPC server and its calls block. Ours is in-process and quick. In a worker
    thread each call paid two GIL hand-offs and a self-pipe wake-up (14% of a 2x2 plan);
    inline, the calls run in the order the program issues them, so the plan's order is the same
    on every run, as it was with one worker. An exception is the future's, as in the executor;
    KeyboardInterrupt and SystemExit stop the plan.
    """

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        future = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:  # noqa: BLE001 (handed to whoever awaits the call)
            future.set_exception(exc)
        return future


def _plain(value: Any, secrets: list[str] | None = None, path: str = "") -> Any:
    """Inputs as JSON-able data. Secret values are unwrapped in memory (tests and policies see
    them) and their key paths noted in ``secrets``, so a saved plan can redact them."""
    try:
        return _plain_fast(value)
    except _SecretFound:  # rare: walk again, building key paths this time
        return _plain_paths(value, secrets, path)


_SCALARS = (str, int, float, bool, type(None))


class _SecretFound(Exception):
    pass


def _plain_fast(value: Any) -> Any:
    """_plain for the common case, without building a key path for every value it visits."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            raise _SecretFound
        return {k: _plain_fast(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_fast(v) for v in value]
    return str(value)


def _plain_paths(value: Any, secrets: list[str] | None, path: str) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if secrets is not None:
                secrets.append(path)
            return _plain_paths(value.get("value"), secrets, path)
        return {k: _plain_paths(v, secrets, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_paths(v, secrets, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------
# Running a stack
# ---------------------------------------------------------------------------------------------


class _QuietLogger(logging.Logger):
    """Engine log messages (pulumi.log.info/warn/error) are kept, not printed.

    Debug messages are dropped: the SDK logs several per registration ("registering resource",
    "resource registration successful", ...), which at thousands of resources cost a LogRecord
    each (with a stack walk) and memory that nothing reads.
    """

    def __init__(self) -> None:
        super().__init__("rollout.engine", level=logging.INFO)
        self.messages: list[tuple[int, str]] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelno, record.getMessage()))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector paused for a program run, and the heap before it frozen.

    The SDK makes tens of container objects per registration (an Output, its future and task
    per output property), all alive until the program ends; the cyclic collector would walk
    that growing heap again and again (more than half the run time at a few thousand
    resources). Nothing here needs cycles freed mid-run: pause it, restore it after. Objects
    alive before the program (imported SDK modules: about a million) are never garbage;
    frozen, no collection walks them again, during this run or after it. Frozen garbage is
    never freed, though, so whatever is garbage by now is freed first (without this each 5x10
    plan leaked about 25 MiB and asyncio's task registry grew).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    gc.collect(1)
    gc.freeze()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def sdk_shortcuts() -> Iterator[None]:
    """The two SDK internals the offline runner replaces while a program runs, and only then.

    The SDK walks the whole Python stack at every registration to tell the CLI where in the
    program a resource was declared (source positions for `pulumi preview` diagnostics).
    Offline nobody reads them, and the walk grows with component nesting: skipped here.
    The SDK's MockMonitor (Invoke, ReadResource) serialises results with ``_sync_await``, which
    would pump the running loop re-entrantly now that monitor calls run inline: see ``_drive``.
    """
    saved_stack_trace = sdk_resource._get_stack_trace
    saved_sync_await = pulumi_mocks._sync_await
    sdk_resource._get_stack_trace = _no_stack_trace
    pulumi_mocks._sync_await = _drive
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = saved_stack_trace
        pulumi_mocks._sync_await = saved_sync_await


def run_program(
    program: Callable[[], None],
    *,
    stack: str,
    config: dict[str, str],
    secret_keys: Iterable[str] = (),
    project_id: str = "demobank-test",
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    project: str = PROJECT_NAME,
) -> Plan:
    """Run ``program`` as a Pulumi program under recording mocks and return its plan."""
    settings.reset_options(project=project, stack=stack, preview=True)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    mocks = PlanMocks(project_id, stack_outputs or {})
    with collector_paused(), sdk_shortcuts():
        recorded, outputs = _run(program, mocks, project=project, stack=stack)
    return Plan(
        stack=stack,
        project=project,
        resources=_tree_order(recorded),
        outputs=_plain(outputs),
    )


def _run(
    program: Callable[[], None], mocks: PlanMocks, *, project: str, stack: str
) -> tuple[list[Resource], dict[str, Any]]:
    """The program's run proper: its registrations and its stack outputs.

    What the SDK made for the run (the monitor and its registry, tasks, the loop) is held only
    by this frame and by the SDK's settings, which are reset on the way out: the collection
    that follows the run frees all of it, and a run pays for its own garbage. (Held by the
    settings, it outlived that collection, to be walked again and freed by whatever ran next:
    20,000 objects after each 5x10 regional stack.)
    """
    monitor = RecordingMonitor(mocks)
    loop = _InlineLoop()  # monitor calls run inline: see the class
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            mocks,
            project=project,
            stack=stack,
            preview=True,
            monitor=monitor,
            logger=_QuietLogger(),
        )
        root = settings.get_root_resource()
        outputs: dict[str, Any] = {}

        async def body() -> None:
            program()
            await wait_for_rpcs()
            assert root is not None
            for key, value in root.outputs.items():  # type: ignore[attr-defined]
                outputs[key] = await pulumi.Output.from_input(value).future()

        loop.run_until_complete(body())
        loop.run_until_complete(wait_for_rpcs())
        return monitor.recorded, outputs
    finally:
        close_loop(loop)
        settings.reset_options(project=project, stack=stack, preview=True)


def _tree_order(resources: list[Resource]) -> list[Resource]:
    """Parents before children, siblings by (type, name): the same order on every run.

    The SDK registers a resource once its inputs resolve, so raw registration order follows
    when each resource's inputs resolved, not the program's text: a change to one input's
    dependencies would reorder unrelated resources in a plan diff.
    """
    children: dict[str | None, list[Resource]] = {}
    for r in resources:
        children.setdefault(r.parent, []).append(r)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.type, r.name))
    known = {r.urn for r in resources}
    ordered: list[Resource] = []
    stack = [r for r in children.get(None, [])] + [
        r for r in resources if r.parent is not None and r.parent not in known
    ]
    stack.reverse()
    while stack:
        r = stack.pop()
        ordered.append(r)
        stack.extend(reversed(children.get(r.urn, [])))
    return ordered


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close the loop ourselves so nothing complains about it as the interpreter exits."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())  # a worker, if one was made
    asyncio.set_event_loop(None)
    loop.close()


def plan_stack(
    stack: str,
    project: Project | None = None,
    root: Path | None = None,
    cache: dict[str, Plan] | None = None,
) -> Plan:
    """Plan one stack of the project; stacks it references are planned first (and cached)."""
    from rollout import program

    project = project or load_project(root)
    cache = {} if cache is None else cache
    if stack in cache:
        return cache[stack]
    spec = project.stack(stack)
    stack_outputs: dict[str, dict[str, Any]] = {}
    for ref in (spec.config.regionalStacks or {}).values():
        target = ref.rsplit("/", 1)[-1]
        stack_outputs[target] = plan_stack(target, project, cache=cache).outputs
    config, secret_keys = offline_config(spec, project.global_)
    plan = run_program(
        lambda: program.build(project),
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        project_id=spec.project_id,
        stack_outputs=stack_outputs,
    )
    cache[stack] = plan
    return plan


def offline_config(spec: StackSpec, global_: GlobalFile) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would pass, and which keys are secret.

    The global stack's edge secrets (catalog.EDGE_SECRETS) and Weblate's (the keys
    regions/global.yaml names under weblate.secrets) are never in a committed file and the
    offline engine cannot decrypt a ``secure:`` value: each stands in as a marked placeholder,
    a secret, so the plan shows where it goes and a saved plan redacts it. A regional stack's
    cell TLS config (catalog.ORIGIN_TLS_CONFIG) stands in the same way, its key a secret.
    """
    config = dict(spec.raw)
    secrets: list[str] = []
    if spec.role != "global":
        placeholders, secret = origin_tls_placeholders()
        config.update(placeholders)
        secrets += secret
    if spec.role == "global":
        keys = [f"{catalog.EDGE_SECRETS_NAMESPACE}:{key}" for key in catalog.EDGE_SECRETS]
        keys += [str(key) for key in global_.weblate.secrets.model_dump().values()]
        for full in keys:
            config[full] = f"offline placeholder for {full}"
            secrets.append(full)
    return config, secrets


def origin_tls_placeholders() -> tuple[dict[str, str], list[str]]:
    """A regional stack's cell TLS config as marked placeholders, and which are secret."""
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key in catalog.ORIGIN_TLS_CONFIG:
        full = f"{catalog.PROJECT_NAME}:{key}"
        config[full] = f"offline placeholder for {full}"
        if key in catalog.ORIGIN_TLS_SECRETS:
            secrets.append(full)
    return config, secrets


def plan_all(project: Project | None = None, root: Path | None = None) -> dict[str, Plan]:
    project = project or load_project(root)
    cache: dict[str, Plan] = {}
    for name in project.stacks:
        plan_stack(name, project, cache=cache)
    return {name: cache[name] for name in project.stacks}


__all__ = [
    "close_loop",
    "collector_paused",
    "origin_tls_placeholders",
    "plan_all",
    "plan_stack",
    "run_program",
    "sdk_shortcuts",
]
