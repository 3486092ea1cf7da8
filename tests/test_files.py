"""Nothing lost, nothing hangs: atomic writes, locks, bounded reads, the environment's faults.

The kill and concurrency tests run real processes (bounded: a few seconds each, 127.0.0.1 is
not involved); the full-disk test makes the kernel refuse writes with RLIMIT_FSIZE.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rollout import catalog, files
from rollout.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
ROLLOUT = [sys.executable, "-m", "rollout.cli"]
PROBLEM_LINE = r"^\S[^:]*(:\d+(:\d+)?)?: \S.*: .+$"


def run(cwd: Path, *argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROLLOUT, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        **kw,  # type: ignore[arg-type]
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single problem line a refused command prints; never a traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line


# --------------------------------------------------------------------------- atomic writes

WRITER = """
import sys
from pathlib import Path
from rollout import catalog, files
target = Path(sys.argv[1])
blobs = [b"A" * 4_000_000, b"B" * 4_000_000]
i = 0
while True:
    files.write_file(target, blobs[i % 2])
    i += 1
"""


def test_a_writer_killed_at_any_instant_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """SIGKILL a process that rewrites one file in a loop, at random moments, 12 times."""
    target = tmp_path / "table.yaml"
    target.write_bytes(b"A" * 4_000_000)
    rng = random.Random(20261201)
    seen = set()
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        time.sleep(0.3 + rng.random() * 0.4)  # past the import, inside the write loop
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        data = target.read_bytes()
        assert data in (b"A" * 4_000_000, b"B" * 4_000_000), len(data)
        seen.add(data[:1])
    assert seen, "the writer never ran"


def test_a_full_disk_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    """The kernel refuses writes past RLIMIT_FSIZE (EFBIG), as a full disk refuses them."""
    out = tmp_path / "json"
    out.mkdir()
    before = {}
    for name in ("region", "global", "stack", "defaults"):
        path = out / f"{name}.schema.json"
        path.write_text(f"old {name}\n")
        before[path] = path.read_text()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))

    done = subprocess.run(
        [*ROLLOUT, "schema", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = one_line(done)
    assert "file too large" in line and str(out) in line
    assert {p: p.read_text() for p in before} == before  # every schema old: none half-new
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_staging_failure_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("old a\n")
    b.write_text("old b\n")
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the second staged file: no space left
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(InputError) as info:
        files.write_files({a: "new a\n", b: "new b\n"})
    assert (
        str(info.value)
        == f"{b}: (file): no space left on the device; free some space and run it again"
    )
    assert (a.read_text(), b.read_text()) == ("old a\n", "old b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


def test_a_rewrite_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    path.chmod(0o640)
    files.write_file(path, "a: 2\n")
    assert (path.read_text(), path.stat().st_mode & 0o777) == ("a: 2\n", 0o640)


# --------------------------------------------------------------------------- locks


def test_a_second_writer_waits_or_refuses(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    with (
        files.locked(target),
        pytest.raises(InputError) as info,
        files.locked(target, file="regions/shards/t.yaml", wait=0.2),
    ):
        pytest.fail("took a lock another holder has")
    assert str(info.value).startswith("regions/shards/t.yaml: (lock): another rollout command")
    released = threading.Event()

    def hold() -> None:
        with files.locked(target):
            time.sleep(0.5)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.1)
    with files.locked(target, wait=10):  # waits for the holder, then gets it
        assert released.is_set()
    holder.join()


def test_concurrent_add_cells_keep_both_changes(project_copy: Path) -> None:
    """Two `shards add-cell` runs at once: the second waits and starts from the first's table."""
    region = project_copy / "regions" / "europe-west2.yaml"
    region.write_text(
        region.read_text() + "  eu-3:\n    cidr: 10.17.0.0/17\n  eu-4:\n    cidr: 10.17.128.0/17\n"
    )
    defaults = project_copy / "regions" / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace("max_cell_share: 0.75", "max_cell_share: 1"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [*ROLLOUT, "shards", "add-cell", "europe-west2", cell],
            cwd=project_copy,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cell in ("eu-3", "eu-4")
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    table = (project_copy / "regions" / "shards" / "europe-west2.yaml").read_text()
    assert all(f"  {cell}: " in table for cell in ("eu-1", "eu-2", "eu-3", "eu-4")), table
    done = run(project_copy, "validate")
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- bounded reads


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"found a named pipe \(FIFO\); expected a regular file"):
        files.read_bytes(fifo, max_bytes=100)
    assert time.monotonic() - started < 5


def test_reads_are_bounded_and_stay_inside_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    big = project / "big.yaml"
    big.write_bytes(b"a: 1\n" * 100)
    with pytest.raises(InputError, match="found 500 bytes; expected at most 100 bytes"):
        files.read_bytes(big, max_bytes=100)
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("hunter2-very-secret-value\n")
    link = project / "region.yaml"
    link.symlink_to(secret)
    with pytest.raises(InputError) as info:
        files.read_bytes(link, max_bytes=10_000, root=project, file="region.yaml")
    assert "outside the project" in str(info.value) and "hunter2" not in str(info.value)
    with pytest.raises(InputError, match="found a directory"):
        files.read_bytes(project, max_bytes=100)
    # /proc reports size 0: the read itself is bounded too.
    with pytest.raises(InputError, match="found more than 10 bytes"):
        files.read_bytes(Path("/proc/self/status"), max_bytes=10)


# --------------------------------------------------------------------------- the CLI


def test_the_cli_names_environment_faults_in_one_line(project_copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = {
        f"{blocker}/plan.json": "a file stands where a folder is needed",
        "/proc/demobank-plan.json": "kernel interfaces",
        str(project_copy / "regions"): "is a folder",
    }
    for target, found in cases.items():
        line = one_line(run(project_copy, "policy-config", "eu", "--out", target))
        assert found in line, line
    line = one_line(run(project_copy, "check", str(tmp_path / "missing.json")))
    assert "missing.json" in line


def test_a_vanished_working_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.Popen(
        ["sh", "-c", f"cd {gone} && rmdir {gone} && exec {sys.executable} -m rollout.cli validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip() == (
        "(working directory): (cwd): the current folder no longer exists (deleted or moved); "
        "cd into the project again"
    )


@pytest.mark.skipif(os.geteuid() != 0 and shutil.which("setpriv") is None, reason="no setpriv")
def test_permission_denied_is_one_line(project_copy: Path) -> None:
    """As an unprivileged user (root passes every permission check, so drop to nobody)."""
    out = project_copy / "locked"
    out.mkdir(mode=0o555)
    for folder in (project_copy, *project_copy.parents):
        folder.chmod(folder.stat().st_mode | 0o005)  # nobody may enter and read the project
    project_copy.chmod(0o755)
    prefix = (
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    )
    # nobody must also reach the code and the interpreter: a checkout under a private folder
    # (mktemp -d is 0700) would otherwise fail on the import, not on the write. Traverse only,
    # and put every mode back afterwards.
    reach = {
        folder: folder.stat().st_mode
        for start in (ROOT, Path(sys.prefix))
        for folder in (start, *start.parents)
        if not folder.stat().st_mode & 0o001
    }
    try:
        for folder, mode in reach.items():
            folder.chmod(mode | 0o001)
        done = subprocess.run(
            [*prefix, *ROLLOUT, "policy-config", "eu", "--out", str(out / "c.json")],
            cwd=project_copy,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(project_copy)},
        )
    finally:
        for folder, mode in reach.items():
            folder.chmod(mode)
    line = one_line(done)
    fix = "check the owner and mode of the file and its folder"
    assert line == f"{out / 'c.json'}: (file): permission denied; {fix}"


FAILING_PLAN_RESOURCES = 4000  # each a violation line: far more than a pipe buffer holds


def test_a_closed_pipe_keeps_the_failing_exit_code(tmp_path: Path) -> None:
    """`rollout check plan.json | head -1` still exits 1; nothing is printed about the pipe."""
    plan = {
        "stack": "eu",
        "project": "demobank",
        "resources": [
            {
                "urn": f"urn:pulumi:eu::demobank::{catalog.BUCKET}::b{i}",
                "type": catalog.BUCKET,
                "name": f"b{i}",
                "parent": None,
                "inputs": {"name": f"b{i}", "location": "europe-west2", "forceDestroy": True},
                "dependencies": [],
                "protect": False,
                "custom": True,
            }
            for i in range(FAILING_PLAN_RESOURCES)
        ],
        "outputs": {"region": "europe-west2"},
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    proc = subprocess.Popen(
        [*ROLLOUT, "check", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert first.startswith(b"stateful-protect: ") or b": urn:pulumi:eu::" in first
    assert "Traceback" not in err and "BrokenPipe" not in err
