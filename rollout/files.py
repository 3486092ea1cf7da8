"""Reading and writing the project's files so that nothing is lost and nothing hangs.

- **Bounded reads** (:func:`read_bytes`): only regular files are read (a FIFO or a device is
  refused, never waited on), their size is checked before reading, and a symlink that resolves
  outside the project is refused without its target's content ever being read or printed.
- **Atomic writes** (:func:`write_files`): each file is written to a temporary file in its own
  folder, flushed and fsynced, then ``os.replace``-d over the old one, and the folder is
  fsynced. A command that writes several files stages every one first; if any staging fails
  (a full disk, a read-only folder) none is replaced. A kill at any instant leaves each file
  either as it was or as intended, never empty or half-written.
- **Locked read-modify-write** (:func:`locked`): an exclusive ``flock`` on a lock file beside
  the target, so two runs that change the same file never lose one's change: the second waits
  (up to ``LOCK_WAIT`` seconds), then re-reads what the first wrote, or refuses with one line.
- **The environment's faults as one line** (:func:`os_problem`): permission denied, a
  read-only file system, no space, a missing or non-folder parent, a folder where a file is
  expected — each names the path and the fix; the CLI exits 2.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from rollout.errors import InputError, Problem

LOCK_WAIT = 30.0
"""Seconds a command waits for another one changing the same file before it refuses."""

# errno -> (what happened, how to fix it); the path is named by the caller.
_FIXES: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "check the owner and mode of the file and its folder"),
    errno.EPERM: ("operation not permitted", "check the owner and mode of the file"),
    errno.EROFS: ("read-only file system", "run the command where the project is writable"),
    errno.ENOSPC: ("no space left on the device", "free some space and run it again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run it again"),
    errno.EFBIG: ("file too large for this system", "free space or raise the file size limit"),
    errno.ENOENT: ("not found", "check the path; a missing folder is not created for you"),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path"),
    errno.EISDIR: ("is a folder", "give the path of a file"),
    errno.ELOOP: ("too many levels of symbolic links", "check the links on the path"),
    errno.ENAMETOOLONG: ("name too long", "use a shorter path"),
    errno.EIO: ("input/output error", "check the device; /proc and /sys files are not input"),
    errno.EINVAL: ("invalid argument for this file", "give the path of a regular file"),
    errno.ENXIO: ("no such device", "give the path of a regular file"),
    errno.EBUSY: ("device or resource busy", "try again once it is free"),
    errno.EEXIST: ("a file stands where a folder is needed", "check the folders on the path"),
}

# Kernel interfaces look like files but hold none: reading or writing them is never meant.
_KERNEL = ("/proc/", "/sys/", "/dev/")


def os_problem(exc: OSError, path: Path | str | None = None, key: str = "(file)") -> Problem:
    """An OSError as one line: the path, what happened, how to fix it. Never a traceback."""
    where = str(path if path is not None else (exc.filename or "(file)"))
    what, fix = _FIXES.get(exc.errno or 0, (exc.strerror or type(exc).__name__, "check the path"))
    if where.startswith(_KERNEL):
        fix = "/proc, /sys and /dev are kernel interfaces: give a path in the project"
    return Problem(where, key, f"{what}; {fix}")


def os_error(exc: OSError, path: Path | str | None = None, key: str = "(file)") -> InputError:
    return InputError([os_problem(exc, path, key)])


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_bytes(
    path: Path,
    *,
    max_bytes: int,
    root: Path | None = None,
    file: str | None = None,
    expected: str = "expected a regular file",
) -> bytes:
    """The file's bytes, or InputError if it is not a regular file within bounds.

    ``root``: when given, ``path`` must resolve inside it (a symlink pointing elsewhere is
    refused before anything is read). ``file`` is how messages name it (default: the path);
    ``expected`` ends each refusal, saying what the command reads.
    """
    name = file or str(path)
    at_most = f"expected at most {max_bytes} bytes"
    try:
        if root is not None and not path.resolve().is_relative_to(root.resolve()):
            raise InputError.one(
                name,
                "(file)",
                "resolves outside the project (a symbolic link?); only files inside the "
                "project are read: copy the file in instead",
            )
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block forever, a device never end
            raise InputError.one(name, "(file)", f"found {_kind(info.st_mode)}; {expected}")
        if info.st_size > max_bytes:
            raise InputError.one(name, "(file)", f"found {info.st_size} bytes; {at_most}")
        # O_NONBLOCK: had the path been swapped for a FIFO since the stat, open does not block.
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | os.O_NOCTTY
        with os.fdopen(os.open(path, flags), "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise InputError.one(name, "(file)", f"found {_kind(mode)}; {expected}")
            data = handle.read(max_bytes + 1)  # /proc files report size 0: bound the read too
    except FileNotFoundError:
        raise InputError.one(name, "(file)", f"file not found; {expected}") from None
    except OSError as exc:
        raise os_error(exc, name) from None
    if len(data) > max_bytes:
        raise InputError.one(name, "(file)", f"found more than {max_bytes} bytes; {at_most}")
    return data


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "something other than a file"


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_file(path: Path, data: bytes | str, *, file: str | None = None) -> None:
    """Write one file atomically (see the module docstring)."""
    write_files({path: data}, names={path: file} if file else None)


def write_files(
    files: Mapping[Path, bytes | str], *, names: Mapping[Path, str] | None = None
) -> None:
    """Write several files: all are staged first, then each replaces its old version.

    Missing parent folders are created. If staging any file fails, every staged temporary
    file is removed and no target has changed.
    """
    staged: list[tuple[Path, Path]] = []
    current: Path | None = None
    try:
        for path, data in files.items():
            current = path
            staged.append((_stage(path, data), path))
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
        for folder in {path.parent for _, path in staged}:
            _fsync_folder(folder)
    except OSError as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        shown = (names or {}).get(current, str(current)) if current is not None else None
        raise os_error(exc, shown) from None


def _stage(path: Path, data: bytes | str) -> Path:
    """``data`` in a fsynced temporary file beside ``path``; its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            # a rewrite keeps the file's mode (mkstemp makes 0600)
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable: a crash after this keeps the new names."""
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------------------------
# Locking
# --------------------------------------------------------------------------------------------


def lock_path(target: Path) -> Path:
    """The lock file of ``target``: hidden, beside it (git ignores ``.*.lock``)."""
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def locked(target: Path, *, file: str | None = None, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold an exclusive lock for changing ``target`` (a file or a folder of files).

    Read ``target`` again inside the block: whatever another run wrote while this one waited
    is then the starting point, and its change is kept. The lock goes with the process, so a
    killed run never leaves a stale lock behind.
    """
    name = file or str(target)
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise os_error(exc, path) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError.one(
                        name,
                        "(lock)",
                        f"another rollout command has been changing it for {wait:.0f} s; "
                        "wait for it to finish and run this again",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


__all__ = [
    "LOCK_WAIT",
    "lock_path",
    "locked",
    "os_error",
    "os_problem",
    "read_bytes",
    "refuse_hand_edits",
    "write_file",
    "write_files",
]


def refuse_hand_edits(current: str, canonical: str, *, file: str, writer: str) -> None:
    """A file a command rewrites must hold exactly what it would write, or the command refuses.

    ``canonical`` is the file's own content as ``writer`` renders it. Anything else in the
    file (a comment, a hand layout) would be silently dropped by the rewrite, so nothing is
    written and the line says where the difference starts.
    """
    if current == canonical:
        return
    have, want = current.splitlines(), canonical.splitlines()
    line = next(
        (i for i, (a, b) in enumerate(zip(have, want, strict=False), 1) if a != b),
        min(len(have), len(want)) + 1,
    )
    raise InputError.one(
        file,
        "(file)",
        f"differs from what {writer} writes from line {line} (a comment or a hand edit?); "
        "rewriting it would drop that, so nothing was written: move comments to the region "
        "or config file, restore the layout, and run again",
        line,
    )
