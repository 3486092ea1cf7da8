"""A session-scoped Cloud Spanner emulator for tests: ``spanner_emulator`` yields ``host:port``.

The emulator's gRPC server (``emulator_main``) is started directly, without gcloud or the REST
gateway, on a free port, in its own process group so teardown ends it and anything it spawned.
``SPANNER_EMULATOR_HOST`` is set only while the fixture is alive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KNOWN_DIR = Path("/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator")
BINARY = "emulator_main"
START_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "Cloud Spanner emulator not installed: apt-get install google-cloud-cli-spanner-emulator "
    "(or gcloud components install cloud-spanner-emulator)"
)


def find_emulator() -> Path | None:
    """``$SPANNER_EMULATOR_BIN_DIR``, else the gcloud SDK's copy, else the Debian package path."""
    candidates: list[Path] = []
    if env_dir := os.environ.get("SPANNER_EMULATOR_BIN_DIR"):
        candidates.append(Path(env_dir))
    if gcloud := shutil.which("gcloud"):
        # <sdk_root>/bin/gcloud: asking `gcloud info` costs seconds, so try the path first.
        candidates.append(Path(gcloud).resolve().parent / "cloud_spanner_emulator")
    for directory in candidates:
        if (binary := _executable(directory)) is not None:
            return binary
    if gcloud:
        try:
            sdk_root = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            sdk_root = ""
        sdk_dir = Path(sdk_root) / "bin" / "cloud_spanner_emulator"
        if sdk_root and (binary := _executable(sdk_dir)) is not None:
            return binary
    return _executable(KNOWN_DIR)


def _executable(directory: Path) -> Path | None:
    binary = directory / BINARY
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Spanner emulator exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Spanner emulator did not listen on port {port} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_emulator() -> Iterator[str]:
    """A running emulator's ``host:port``, stopped on exit (the fixture and bench/moves.py)."""
    binary = find_emulator()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    port = _free_port()
    host = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(binary), f"--host_port={host}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # own process group: killpg at teardown reaches everything
    )
    try:
        _wait_for_port(proc, port, START_TIMEOUT_S)
        yield host
    finally:
        _stop(proc)


def emulator_instance(project: str, instance_id: str, display_name: str) -> Any:
    """A new instance on the emulator that ``SPANNER_EMULATOR_HOST`` names."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import spanner

    client = spanner.Client(project=project, credentials=AnonymousCredentials())
    inst = client.instance(
        instance_id,
        configuration_name=f"projects/{project}/instanceConfigs/emulator-config",
        display_name=display_name,
        node_count=1,
    )
    inst.create().result(timeout=60)
    return inst


@pytest.fixture(scope="session")
def spanner_emulator() -> Iterator[str]:
    if find_emulator() is None:  # a missing service fails the suite: a skipped check is no check
        pytest.fail(INSTALL_HINT)
    with running_emulator() as host, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPANNER_EMULATOR_HOST", host)
        yield host
