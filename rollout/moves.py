"""Bucket moves: a shard-table change carried out on the data, resumable and reversible.

``rollout shards add-cell`` rewrites ``regions/shards/<region>.yaml``; this module moves the
rows of every bucket that changed cell, modelled on Vitess MoveTables/Reshard (VReplication
copy, VDiff, SwitchTraffic, the reverse workflow), in small, exact steps::

    rollout shards move europe-west2 --plan                # the moves the table change implies
    rollout shards move europe-west2 --run --project P --instance I --directory DB
    rollout shards move europe-west2 --undo 341-350 ...    # before clean-up, without loss
    rollout shards move europe-west2 --status ...

A *move* carries a run of buckets from one cell to another (at most ``--move-customers``
customers and ``--move-buckets`` buckets, so the write pause and the switch commit stay
small); every step is one transaction per database for the whole move:

1. **fence**: ``BucketMoves`` rows in the directory (state ``fencing``), then ``BucketFences``
   rows in the target cell (``in``) and the source cell (``out``). From the source fence's
   commit on, the source writes nothing for those buckets (the contract in ``schema/cell.sql``:
   a writing transaction reads its bucket's fence row first). That commit timestamp is the
   move's ``ReadTimestamp``; state ``copying``.
2. **copy**: every row of the buckets (``Customers``, each table interleaved in it, the
   ``Outbox`` events still pending) read from one multi-use snapshot at ``ReadTimestamp`` and
   inserted into the target in batches under Spanner's mutation limit. Each batch commits with
   its cursor in the target's fence rows, so a resume starts right after the last batch.
3. **verify** (the VDiff): rows and an order-free checksum per table and bucket, the source at
   ``ReadTimestamp`` against the target; any difference stops the move with one line.
4. **switch**: one directory transaction points the buckets' ``CustomerDirectory`` rows at the
   target, records the new shard map (``ShardMapVersions``) and sets ``switched``; then the
   target's fences are lifted and the source's become ``away`` (state ``serving``).
5. **clean up**: once the grace period after the switch has passed, the source's rows are
   deleted (state ``cleaned``).

Every step checks the state it expects before it writes (compare and set) and does nothing
twice, so a process killed at any instant resumes with the same command, and two movers never
both proceed. ``--undo`` before the switch discards the copy and lifts the source fence (for
the whole move); after it, until clean-up, it runs the reverse move, which carries back every
write the target took since.

``home`` is the bank's one database from before the cells: ``--from-home`` records the base
map "every bucket in home", and the same machinery partitions it into the cells.

Test hook: ``ROLLOUT_MOVE_KILL_AT=CHECKPOINT[@N]`` makes the process SIGKILL itself the N-th
time (default 1st) it reaches ``CHECKPOINT`` (see ``CHECKPOINTS``), so a test can prove that a
kill at any step boundary, or in the middle of a copy batch, loses nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import re
import signal
import socket
import sys
import time
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rollout import files, names, shards, yamlfile
from rollout.catalog import MAX_BUCKETS
from rollout.errors import InputError

# Spanner's limits per commit (https://cloud.google.com/spanner/quotas#limits-for-creating-
# reading-updating-and-deleting-data): 80,000 mutations, secondary indexes included, and
# 100 MB. An insert or update counts one mutation per column it writes; a delete or delete
# range counts one, plus one per secondary-index entry it removes
# (https://cloud.google.com/spanner/docs/reference/rest/v1/CommitResponse#CommitStats).
MUTATION_LIMIT = 80_000
DEFAULT_BATCH_MUTATIONS = 40_000  # half: how index entries count on insert is under-documented
COMMIT_BYTES = 50 * 1024 * 1024  # half the 100 MB limit
# A directory row written by the switch: key, Cell and UpdatedAt updated (no indexed column),
# or all five columns inserted plus the three of CustomerDirectoryByBucket.
SWITCH_UPDATE, SWITCH_INSERT = 3, 8
DEFAULT_MOVE_CUSTOMERS = 5_000  # its switch: at most 40,000 mutations, half the limit
DEFAULT_MOVE_BUCKETS = 64
# A read older than version_retention_period fails (https://cloud.google.com/spanner/docs/pitr);
# 1 hour is Spanner's default, and the cells' config sets 7 days.
DEFAULT_RETENTION = timedelta(hours=1)
RETENTION_MARGIN = timedelta(minutes=10)
DEFAULT_GRACE = "24h"

HOME = "home"
ROOT_TABLE = "Customers"
OUTBOX = "Outbox"
FENCES = "BucketFences"
BUCKET = "Bucket"
DIRECTORY_TABLES = ("CustomerDirectory", "BucketMoves", "ShardMapVersions")

FENCING, COPYING, COPIED, VERIFIED = "fencing", "copying", "copied", "verified"
SWITCHED, SERVING, CLEANED, UNDOING, UNDONE = "switched", "serving", "cleaned", "undoing", "undone"
TERMINAL = (CLEANED, UNDONE)
BEFORE_SWITCH = (FENCING, COPYING, COPIED, VERIFIED)
AFTER_SWITCH = (SWITCHED, SERVING)
# The order a move's rows are advanced in: a kill in the middle of a chunked switch leaves
# some rows switched and others verified; the earliest go first.
ORDER = (UNDOING, FENCING, COPYING, COPIED, VERIFIED, SWITCHED, SERVING)

FENCE_IN, FENCE_OUT, FENCE_AWAY = "in", "out", "away"
# Target fence cursors: NULL = nothing copied (and nothing there), CLEAR = delete what is
# there first (a reverse move, or a copy restarted), DONE, else [table, bucket, *key].
CURSOR_CLEAR = json.dumps(["clear"])
CURSOR_DONE = json.dumps(["done"])

KILL_ENV = "ROLLOUT_MOVE_KILL_AT"
CHECKPOINTS = (
    FENCING,  # directory rows written, no cell fenced
    "fence:target",
    "fence:source",
    COPYING,  # both cells fenced, ReadTimestamp recorded
    "copy:mid-batch",  # a batch read and buffered, not committed
    "copy:batch",  # a batch committed with its cursor
    COPIED,
    VERIFIED,
    SWITCHED,  # directory and map switched (one chunk), fences unchanged
    "switch:target",  # target fences lifted, source still 'out'
    SERVING,
    "cleanup:batch",
    CLEANED,
    UNDOING,
    "undo:target",
    "undo:source",
    UNDONE,
)

_T = TypeVar("_T")
_passes: Counter[str] = Counter()


def checkpoint(name: str) -> None:
    """Die here (SIGKILL: no clean-up, no flush) if ``ROLLOUT_MOVE_KILL_AT`` names this point."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point != name:
        return
    _passes[name] += 1
    if _passes[name] >= int(nth or 1):
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def check_kill_spec() -> None:
    """A mistyped checkpoint would never fire, and a kill test would pass without a kill."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point not in CHECKPOINTS or (nth and not nth.isdigit()):
        raise InputError.one(
            f"${KILL_ENV}",
            "(environment)",
            f"found {spec!r}; expected CHECKPOINT[@N], CHECKPOINT one of {', '.join(CHECKPOINTS)}",
        )


# --------------------------------------------------------------------------- maps and plans


@dataclass(frozen=True)
class ShardMap:
    """Which cell holds each bucket of a region: a table, a published map, or all ``home``."""

    region: str
    buckets: int
    assignment: Mapping[int, str]

    def moved(self, buckets: Iterable[int], cell: str) -> ShardMap:
        return ShardMap(
            self.region, self.buckets, {**self.assignment, **dict.fromkeys(buckets, cell)}
        )


def home_map(region: str, buckets: int) -> ShardMap:
    return ShardMap(region, buckets, dict.fromkeys(range(buckets), HOME))


def _ranges_to_assignment(cells: Mapping[str, Iterable[tuple[int, int]]]) -> dict[int, str]:
    return {b: cell for cell, ranges in cells.items() for a, z in ranges for b in range(a, z + 1)}


def _parse_range(item: object) -> tuple[int, int]:
    """One entry of a table that ``shards.validate_table`` has accepted."""
    if isinstance(item, int):
        return item, item
    first, _, last = str(item).partition("-")
    return int(first), int(last or first)


def read_map(path: Path, region: str) -> ShardMap:
    """A shard table (YAML) or a published map (JSON), checked; one line per problem."""
    file = str(path)
    if path.suffix == ".json":
        data = files.read_bytes(path, max_bytes=yamlfile.MAX_BYTES, file=file)
        try:
            doc = json.loads(data)
            buckets = int(doc["buckets"])
            assignment = _ranges_to_assignment(
                {c: [(int(a), int(z)) for a, z in rs] for c, rs in doc["cells"].items()}
            )
            found = (doc["region"], doc["version"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError.one(
                file,
                "(file)",
                f"not a published shard map ({exc}); give the JSON that "
                "`rollout shards publish` writes, or a shard table (.yaml)",
            ) from None
        if found[0] != region:
            raise InputError.one(file, "region", f"map of {found[0]}, not of {region}")
        shard_map = ShardMap(region, buckets, assignment)
        try:
            _, content = _artifact(shard_map, doc.get("origins"))
        except ValueError as exc:
            raise InputError.one(file, "cells", str(exc)) from None
        if content != data.strip():
            raise InputError.one(
                file, "version", "content does not hash to its version (edited by hand?)"
            )
        return shard_map
    doc = yamlfile.read(path)
    cells = doc.data.get("cells")
    declared = [c for c in cells if isinstance(c, str)] if isinstance(cells, dict) else []
    found_buckets = doc.data.get("buckets")
    buckets = found_buckets if isinstance(found_buckets, int) and found_buckets > 0 else 0
    if not 0 < buckets <= MAX_BUCKETS:
        raise InputError.one(file, "buckets", f"found {found_buckets!r}; expected 1..{MAX_BUCKETS}")
    problems = shards.validate_table(doc, region, declared, buckets, 1.0)
    if problems:
        raise InputError(problems)
    assignment = _ranges_to_assignment(
        {c: [_parse_range(i) for i in items] for c, items in doc.data["cells"].items()}
    )
    return ShardMap(region, buckets, assignment)


def plan_moves(base: ShardMap, target: ShardMap, *, file: str) -> list[shards.Move]:
    """Every bucket whose cell differs, in bucket order (the moves a table change implies)."""
    if base.buckets != target.buckets:
        raise InputError.one(
            file,
            "buckets",
            f"{target.buckets} buckets, but the base map has {base.buckets}; the bucket count "
            "never changes after go-live",
        )
    if HOME in set(target.assignment.values()):
        raise InputError.one(file, f"cells.{HOME}", f"{HOME!r} is the pre-cell database")
    return [
        shards.Move(b, base.assignment[b], target.assignment[b])
        for b in range(base.buckets)
        if base.assignment[b] != target.assignment[b]
    ]


OriginsFn = Callable[[Iterable[str]], Mapping[str, str] | None]


def _artifact(shard_map: ShardMap, origins: Mapping[str, str] | None) -> tuple[str, bytes]:
    """(version, bytes) exactly as ``rollout shards publish`` writes the map."""
    name, content = shards.publish_artifact(
        shard_map.region, dict(shard_map.assignment), shard_map.buckets, origins
    )
    return Path(name).stem, content


def project_origins(root: Path | None, region: str) -> OriginsFn:
    """Cell -> origin hostname from the project (routers refuse a map without them), so a
    recorded map is byte for byte the one ``rollout shards publish`` would write."""
    if root is None:
        return lambda cells: None
    project_root = root

    @functools.lru_cache(maxsize=64)
    def cached(cells: tuple[str, ...]) -> Mapping[str, str]:
        return shards.project_origins(project_root, region, cells)

    return lambda cells: cached(tuple(sorted(set(cells))))


def parse_buckets(text: str, buckets: int | None = None) -> set[int]:
    """``341-350,900`` -> {341..350, 900}."""
    out: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m or (m[2] and int(m[2]) < int(m[1])):
            raise InputError.one(
                "(command line)", "--buckets", f"found {text!r}; expected e.g. 341-350,900"
            )
        out.update(range(int(m[1]), int(m[2] or m[1]) + 1))
    if buckets is not None and max(out) >= buckets:
        raise InputError.one(
            "(command line)", "--buckets", f"bucket {max(out)} is outside 0-{buckets - 1}"
        )
    return out


def _duration(text: str) -> timedelta | None:
    """``90s``, ``30m``, ``24h``, ``7d`` (Spanner's own notation for version retention)."""
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m:
        return None
    return timedelta(seconds=int(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]])


def parse_duration(text: str) -> timedelta:
    found = _duration(text)
    if found is None:
        raise InputError.one(
            "(command line)", "--grace", f"found {text!r}; expected e.g. 0s, 30m, 24h, 7d"
        )
    return found


# --------------------------------------------------------------------------- Spanner access


@dataclass(frozen=True)
class DbRef:
    """A Spanner database: ``projects/P/instances/I/databases/D``."""

    project: str
    instance: str
    database: str

    @property
    def path(self) -> str:
        return f"projects/{self.project}/instances/{self.instance}/databases/{self.database}"


_ID = r"[a-z][a-z0-9_-]*[a-z0-9]"


def parse_ref(text: str, project: str | None, instance: str | None, *, flag: str) -> DbRef:
    """``DB`` (in --instance), ``INSTANCE/DB`` or ``projects/P/instances/I/databases/DB``."""
    full = re.fullmatch(rf"projects/([a-z][-a-z0-9.:]*)/instances/({_ID})/databases/({_ID})", text)
    if full:
        return DbRef(full[1], full[2], full[3])
    parts = text.split("/")
    if len(parts) in (1, 2) and all(re.fullmatch(_ID, p) for p in parts):
        inst = parts[0] if len(parts) == 2 else instance
        if project and inst:
            return DbRef(project, inst, parts[-1])
        need = "--project" if not project else "--instance"
        raise InputError.one(
            "(command line)", flag, f"{text!r} needs {need}, or projects/P/instances/I/databases/D"
        )
    raise InputError.one(
        "(command line)",
        flag,
        f"found {text!r}; expected DATABASE, INSTANCE/DATABASE or "
        "projects/PROJECT/instances/INSTANCE/databases/DATABASE",
    )


def _spanner_module() -> Any:
    try:
        with warnings.catch_warnings():  # google-api-core's Python-support notices
            warnings.simplefilter("ignore")
            from google.cloud import spanner
    except ImportError:
        raise InputError.one(
            "(environment)",
            "google-cloud-spanner",
            "not installed; it is a dependency of the project: `pip install -e .` again",
        ) from None
    return spanner


def _describe(exc: BaseException) -> str:
    """A Google API error as a short reason and what to do about it."""
    from google.api_core import exceptions as gexc

    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    text = re.sub(r"\s*\[resource_type:.*", "", text)[:240]
    if isinstance(exc, gexc.NotFound):
        return f"not found ({text}); check the ids, and that the schema (schema/*.sql) is applied"
    if isinstance(exc, gexc.PermissionDenied | gexc.Unauthenticated):
        return f"permission denied ({text}); the mover needs roles/spanner.databaseUser"
    if isinstance(exc, gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.RetryError):
        return f"unreachable ({text})"
    return text


class Spanner:
    """Clients per project, databases per reference; every call's failure becomes one line."""

    def __init__(self) -> None:
        self.module = _spanner_module()
        self._clients: dict[str, Any] = {}
        self._databases: dict[DbRef, Any] = {}
        if host := os.environ.get("SPANNER_EMULATOR_HOST"):
            self._probe_emulator(host)

    @staticmethod
    def _probe_emulator(host: str) -> None:
        """Fail in seconds, not after the client's 30 s of retries, when nothing listens."""
        name, _, port = host.rpartition(":")
        try:
            with socket.create_connection((name or "localhost", int(port)), timeout=3):
                return
        except (OSError, ValueError) as exc:
            raise InputError.one(
                "$SPANNER_EMULATOR_HOST",
                "(environment)",
                f"{host}: no Spanner emulator answers ({exc}); start it or unset the variable",
            ) from None

    def database(self, ref: DbRef) -> Any:
        if ref not in self._databases:
            client = self._clients.get(ref.project)
            if client is None:
                kwargs: dict[str, Any] = {}
                if os.environ.get("SPANNER_EMULATOR_HOST"):
                    from google.auth.credentials import AnonymousCredentials

                    kwargs["credentials"] = AnonymousCredentials()
                try:
                    client = self.module.Client(project=ref.project, **kwargs)
                except Exception as exc:  # google.auth's DefaultCredentialsError and kin
                    raise InputError.one(
                        ref.path,
                        "(credentials)",
                        f"{' '.join(str(exc).split())[:200]}; run `gcloud auth "
                        "application-default login` or set SPANNER_EMULATOR_HOST",
                    ) from None
                self._clients[ref.project] = client
            self._databases[ref] = client.instance(ref.instance).database(ref.database)
        return self._databases[ref]


@contextlib.contextmanager
def _calling(ref: DbRef, key: str) -> Iterator[None]:
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except (gexc.GoogleAPIError, auth_exc.GoogleAuthError) as exc:
        raise InputError.one(ref.path, key, _describe(exc)) from None


def _transact(db: Any, fn: Callable[[Any], _T]) -> tuple[_T, datetime]:
    """Run ``fn`` in a read-write transaction; its result and the commit timestamp.

    The client retries an aborted transaction for 30 s. The emulator runs one read-write
    transaction at a time and answers a displaced one's commit with NOT_FOUND "Transaction
    not found"; that is retried here too. Running a transaction of this module again is
    safe: each one checks the state it expects first, so a repeat can stop a run (one line)
    but never applies a change twice.
    """
    from google.api_core import exceptions as gexc

    box: list[Any] = []

    def body(tx: Any) -> _T:
        box[:] = [tx]
        return fn(tx)

    deadline, pause = time.monotonic() + 120, 0.01
    while True:
        try:
            value = db.run_in_transaction(body)
            return value, box[0].committed
        except (gexc.Aborted, gexc.NotFound) as exc:
            displaced = isinstance(exc, gexc.Aborted) or "Transaction not found" in str(exc)
            if not displaced or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.5)


def _params(module: Any, **values: Any) -> dict[str, Any]:
    """Query parameters with their Spanner types: a list is ARRAY<INT64> (bucket lists)."""
    t = module.param_types

    def kind(value: Any) -> Any:
        if isinstance(value, list):
            return t.Array(t.INT64)
        return t.INT64 if isinstance(value, int) else t.STRING

    return {"params": values, "param_types": {k: kind(v) for k, v in values.items()}}


# --------------------------------------------------------------------------- cell schema


@dataclass(frozen=True)
class Table:
    """A table whose rows move with their bucket, as the database itself describes it."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, base type: STRING, INT64, JSON, ...)
    key: tuple[str, ...]
    depth: int  # 0 Customers, 1 interleaved in it, ...; -1 the Outbox
    index_columns: int  # columns over all secondary indexes: each insert writes them too
    indexes: int
    hint: str = ""

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def insert_cost(self) -> int:
        return len(self.columns) + self.index_columns


@dataclass(frozen=True)
class CellSchema:
    tables: tuple[Table, ...]  # copy order: Customers, its descendants by depth, Outbox
    root_key: tuple[str, ...]

    def by_name(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    @property
    def descendants(self) -> list[Table]:
        return [t for t in self.tables if t.depth > 0]


_CHECKSUM_TYPES = ("STRING", "INT64", "FLOAT64", "NUMERIC", "BOOL", "DATE", "TIMESTAMP", "JSON")


def discover(db: Any, ref: DbRef) -> CellSchema:
    """The bucket's tables from INFORMATION_SCHEMA, so a new column is copied and verified
    without a code change; a table the mover cannot place stops it instead of being left."""
    with _calling(ref, "schema"), db.snapshot(multi_use=True) as snap:
        tables = {
            r[0]: r[1]
            for r in snap.execute_sql(
                "SELECT TABLE_NAME, PARENT_TABLE_NAME FROM INFORMATION_SCHEMA.TABLES "
                "WHERE TABLE_SCHEMA = '' AND TABLE_TYPE = 'BASE TABLE'"
            )
        }
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind, generated in snap.execute_sql(
            "SELECT TABLE_NAME, COLUMN_NAME, SPANNER_TYPE, IS_GENERATED "
            "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '' "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ):
            if generated == "NEVER":  # generated columns are computed, never written
                columns.setdefault(table, []).append((column, str(kind).split("(")[0]))
        keys: dict[str, list[str]] = {}
        index_cols: Counter[str] = Counter()
        indexes: dict[str, set[str]] = {}
        by_bucket: dict[str, str] = {}
        for table, index, column, position in snap.execute_sql(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, ORDINAL_POSITION "
            "FROM INFORMATION_SCHEMA.INDEX_COLUMNS WHERE TABLE_SCHEMA = '' "
            "ORDER BY TABLE_NAME, INDEX_NAME, ORDINAL_POSITION"
        ):
            if index == "PRIMARY_KEY":
                keys.setdefault(table, []).append(column)
                continue
            index_cols[table] += 1
            indexes.setdefault(table, set()).add(index)
            if position == 1 and column == BUCKET:
                by_bucket[table] = index
    missing = [t for t in (ROOT_TABLE, OUTBOX, FENCES) if t not in tables]
    if missing or BUCKET not in dict(columns.get(OUTBOX, [])):
        what = ", ".join(missing) if missing else f"{OUTBOX}.{BUCKET}"
        raise InputError.one(
            ref.path, "schema", f"has no {what}; apply schema/cell.sql before moving buckets"
        )
    depth = {ROOT_TABLE: 0}
    changed = True
    while changed:  # walk the interleave tree down from Customers
        changed = False
        for table, parent in tables.items():
            if table not in depth and parent in depth:
                depth[table] = depth[parent] + 1
                changed = True
    unknown = sorted(set(tables) - set(depth) - {OUTBOX, FENCES})
    if unknown:
        raise InputError.one(
            ref.path,
            f"schema.{unknown[0]}",
            f"table {unknown[0]} is neither interleaved in {ROOT_TABLE} nor the {OUTBOX}; "
            "rollout/moves.py would leave its rows behind: teach it where they belong",
        )
    out: list[Table] = []
    for name in sorted(depth, key=lambda t: (depth[t], t)) + [OUTBOX]:
        bad = [c for c, k in columns[name] if k not in _CHECKSUM_TYPES]
        if bad:
            raise InputError.one(
                ref.path, f"schema.{name}.{bad[0]}", "column type not supported by the verify"
            )
        if depth.get(name, 0) > 0 and name in indexes:
            # A delete range counts one mutation per index entry it removes: the clean-up
            # could not size its batches from customer counts alone.
            raise InputError.one(
                ref.path,
                f"schema.{name}",
                "a table interleaved in Customers has a secondary index; rollout/moves.py "
                "sizes its deletes per customer and must count that table's rows first",
            )
        pk = len(keys[name])
        hint = ""
        if name == ROOT_TABLE and name in by_bucket:
            hint = f"@{{FORCE_INDEX={by_bucket[name]}}}"
        out.append(
            Table(
                name,
                tuple(columns[name]),
                tuple(keys[name]),
                depth.get(name, -1),
                index_cols[name] + pk * len(indexes.get(name, ())),
                len(indexes.get(name, ())),
                hint,
            )
        )
    return CellSchema(tuple(out), tuple(keys[ROOT_TABLE]))


def _checksum_expr(column: str, kind: str) -> str:
    value = {
        "STRING": f"t.{column}",
        "TIMESTAMP": f"FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', t.{column}, 'UTC')",
        "JSON": f"TO_JSON_STRING(t.{column})",
    }.get(kind, f"CAST(t.{column} AS STRING)")
    # Length-prefixed, NULL distinct from any value: no two different rows encode alike.
    return (
        f"IF(t.{column} IS NULL, 'n', CONCAT('v', CAST(LENGTH({value}) AS STRING), ':', {value}))"
    )


def _source(schema: CellSchema, table: Table) -> tuple[str, str]:
    """FROM and WHERE for the rows of ``@buckets`` in ``table`` (pending events: the Outbox).

    Customers is read through its Bucket index, every interleaved table by joining its
    customer, the Outbox through OutboxPendingByBucket (pending events only).
    """
    root = schema.by_name(ROOT_TABLE)
    if table.name == OUTBOX:
        return (
            f"{OUTBOX}@{{FORCE_INDEX=OutboxPendingByBucket}} t",
            f"t.{BUCKET} IN UNNEST(@buckets) AND t.PendingSince IS NOT NULL",
        )
    if table.depth == 0:
        return f"{ROOT_TABLE}{root.hint} t", f"t.{BUCKET} IN UNNEST(@buckets)"
    on = " AND ".join(f"t.{k} = c.{k}" for k in schema.root_key)
    return (
        f"{ROOT_TABLE}{root.hint} c JOIN {table.name} t ON {on}",
        f"c.{BUCKET} IN UNNEST(@buckets)",
    )


def _bucket_of(table: Table) -> str:
    return f"c.{BUCKET}" if table.depth > 0 else f"t.{BUCKET}"


# The emulator refuses a NULL_FILTERED index unless told to; Spanner ignores the hint.
_HINT = "@{spanner_emulator.disable_query_null_filtered_index_check=true} "


# --------------------------------------------------------------------------- one cell


@dataclass(frozen=True)
class Fence:
    move_id: str
    state: str
    cursor: str | None


class Stop(Exception):
    """A check inside a transaction failed: the transaction rolls back, the run stops."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _run(db: Any, ref: DbRef, key: str, fn: Callable[[Any], _T]) -> tuple[_T, datetime]:
    try:
        with _calling(ref, key):
            return _transact(db, fn)
    except Stop as stop:
        raise InputError.one(ref.path, stop.key, stop.message) from None


def _span(buckets: Iterable[int]) -> str:
    return ",".join(shards.format_ranges(shards.compact_ranges(buckets)))


class Cell:
    """One cell database (or ``home``): its fences, its buckets' rows and their checksums."""

    def __init__(self, name: str, ref: DbRef, spanner: Spanner) -> None:
        self.name = name
        self.ref = ref
        self.module = spanner.module
        self.db = spanner.database(ref)
        self._schema: CellSchema | None = None
        self._retention: timedelta | None = None

    @property
    def schema(self) -> CellSchema:
        if self._schema is None:
            self._schema = discover(self.db, self.ref)
        return self._schema

    def _query(self, reader: Any, sql: str, **params: Any) -> Iterable[list[Any]]:
        return reader.execute_sql(sql, **_params(self.module, **params))

    def fences(self, reader: Any, buckets: Sequence[int]) -> dict[int, Fence]:
        keys = self.module.KeySet(keys=[[b] for b in buckets])
        rows = reader.read(FENCES, ["Bucket", "MoveId", "State", "CopyCursor"], keys)
        return {r[0]: Fence(r[1], r[2], r[3]) for r in rows}

    def read_fences(self, buckets: Sequence[int]) -> dict[int, Fence]:
        with _calling(self.ref, FENCES), self.db.snapshot() as snap:
            return self.fences(snap, buckets)

    def set_fences(
        self,
        buckets: Sequence[int],
        move_id: str,
        state: str,
        *,
        take_over: Iterable[str] = (),
        require_empty: bool = False,
        cursor: str | None = None,
        restart: bool = False,
    ) -> datetime:
        """Fence ``buckets`` for ``move_id`` in one commit; its timestamp.

        A fence this move already holds keeps its cursor (unless ``restart``: then
        ``cursor``). One held by a move in ``take_over`` (the move a reverse undoes) is
        replaced, and so is an ``away`` one when fencing ``in`` (the bucket comes back); any
        other stops. ``require_empty``: a bucket fenced afresh must have no row here.
        """
        takeable = set(take_over)
        ts = self.module.COMMIT_TIMESTAMP

        def fn(tx: Any) -> None:
            found = self.fences(tx, buckets)
            rows = []
            fresh = []
            for b in buckets:
                f = found.get(b)
                if f is not None and (f.move_id, f.state) == (move_id, state):
                    rows.append([b, move_id, state, cursor if restart else f.cursor, ts])
                    continue
                back = state == FENCE_IN and f is not None and f.state == FENCE_AWAY
                if f is not None and f.move_id not in takeable and not back:
                    raise Stop(
                        f"{FENCES}[{b}]",
                        f"bucket {b} is fenced here by move {f.move_id} ({f.state!r}); another "
                        "move holds it: see `rollout shards move --status`",
                    )
                fresh.append(b)
                rows.append([b, move_id, state, cursor, ts])
            if require_empty and fresh:
                held = {b: n for b, n in self.counts(tx, fresh).items() if n}
                if held:
                    b = min(held)
                    raise Stop(
                        f"{FENCES}[{b}]",
                        f"cell {self.name} already holds {held[b]} customers or events of bucket "
                        f"{b} that no move put there; check --database, and that the base map "
                        "is where the data is",
                    )
            tx.insert_or_update(
                FENCES, ["Bucket", "MoveId", "State", "CopyCursor", "UpdatedAt"], rows
            )

        return _run(self.db, self.ref, f"{FENCES}[{_span(buckets)}]", fn)[1]

    def change_fences(
        self, buckets: Sequence[int], move_id: str, state: str | None, expect: str
    ) -> None:
        """Lift (``state`` None) or change the fences this move holds in ``expect``."""
        ts = self.module.COMMIT_TIMESTAMP

        def fn(tx: Any) -> None:
            mine = [
                b
                for b, f in self.fences(tx, buckets).items()
                if f.move_id == move_id and f.state == expect
            ]
            if mine and state is None:
                tx.delete(FENCES, self.module.KeySet(keys=[[b] for b in mine]))
            elif mine:
                tx.update(FENCES, ["Bucket", "State", "UpdatedAt"], [[b, state, ts] for b in mine])

        _run(self.db, self.ref, f"{FENCES}[{_span(buckets)}]", fn)

    def counts(self, reader: Any, buckets: Sequence[int]) -> Counter[int]:
        """Customers and pending events per bucket (every other row hangs off a customer)."""
        out: Counter[int] = Counter()
        for table in (self.schema.by_name(ROOT_TABLE), self.schema.by_name(OUTBOX)):
            source, where = _source(self.schema, table)
            sql = f"{_HINT}SELECT {_bucket_of(table)}, COUNT(*) FROM {source} WHERE {where} "
            sql += f"GROUP BY {_bucket_of(table)}"
            for b, n in self._query(reader, sql, buckets=list(buckets)):
                out[b] += n
        return out

    def customers(self, buckets: Sequence[int]) -> Counter[int]:
        """Customers per bucket now (a strong read): sizes the moves before they start."""
        root = self.schema.by_name(ROOT_TABLE)
        source, where = _source(self.schema, root)
        sql = f"SELECT t.{BUCKET}, COUNT(*) FROM {source} WHERE {where} GROUP BY t.{BUCKET}"
        with _calling(self.ref, f"{ROOT_TABLE}.{BUCKET}"), self.db.snapshot() as snap:
            return Counter({b: n for b, n in self._query(snap, sql, buckets=list(buckets))})

    def rows(
        self, snap: Any, buckets: Sequence[int], cursor: list[Any] | None
    ) -> Iterator[tuple[Table, int, list[Any]]]:
        """(table, bucket, row) in copy order, strictly after ``cursor`` when given.

        Table by table, parents first (an interleaved row needs its parent); within a table in
        (bucket, key) order, which is the order a cursor counts in.
        """
        tables = self.schema.tables
        start = (
            0 if cursor is None else next(i for i, t in enumerate(tables) if t.name == cursor[0])
        )
        for i, table in enumerate(tables[start:], start):
            params: dict[str, Any] = {"buckets": list(buckets)}
            source, where = _source(self.schema, table)
            bucket = _bucket_of(table)
            order = [bucket, *(f"t.{k}" for k in table.key)]
            if cursor is not None and i == start:
                # (bucket, key) > cursor: (a > x) OR (a = x AND b > y) OR ...
                terms = []
                for n, column in enumerate(order):
                    equal = [f"{c} = @k{j}" for j, c in enumerate(order[:n])]
                    terms.append("(" + " AND ".join([*equal, f"{column} > @k{n}"]) + ")")
                    params[f"k{n}"] = cursor[1 + n]
                where += " AND (" + " OR ".join(terms) + ")"
            columns = ", ".join([bucket, *(f"t.{c}" for c in table.names)])
            sql = f"{_HINT}SELECT {columns} FROM {source} WHERE {where} ORDER BY {', '.join(order)}"
            for row in self._query(snap, sql, **params):
                yield table, row[0], list(row[1:])

    def write_batch(
        self,
        lead: int,
        move_id: str,
        groups: Mapping[str, list[list[Any]]],
        expect: str | None,
        cursor: str,
    ) -> None:
        """Insert a batch and move the cursor (in the fence row of the move's lowest bucket)
        in the same commit, if the cursor is where this run left it. Inserts, not upserts: a
        row already there means something else wrote to a fenced bucket; the commit fails."""
        ts = self.module.COMMIT_TIMESTAMP

        def fn(tx: Any) -> None:
            f = self.fences(tx, [lead]).get(lead)
            if f is None or (f.move_id, f.state, f.cursor) != (move_id, FENCE_IN, expect):
                raise Stop(
                    f"{FENCES}[{lead}].CopyCursor",
                    f"the copy is not where this run left it ({f}); is another "
                    "`rollout shards move` running on this region?",
                )
            for name, rows in groups.items():
                tx.insert(name, self.schema.by_name(name).names, rows)
            tx.update(FENCES, ["Bucket", "CopyCursor", "UpdatedAt"], [[lead, cursor, ts]])

        _run(self.db, self.ref, f"copy[{lead}]", fn)

    def checksums(
        self, buckets: Sequence[int], read_ts: datetime | None
    ) -> dict[tuple[str, int], tuple[int, int]]:
        """(table, bucket) -> (rows, XOR of FARM_FINGERPRINT of each row), at ``read_ts``."""
        parts = []
        for table in self.schema.tables:
            row = ", ".join(_checksum_expr(c, k) for c, k in table.columns)
            source, where = _source(self.schema, table)
            bucket = _bucket_of(table)
            parts.append(
                f"SELECT '{table.name}', {bucket}, COUNT(*), BIT_XOR(FARM_FINGERPRINT("
                f"CONCAT({row}))) FROM {source} WHERE {where} GROUP BY {bucket}"
            )
        sql = _HINT + " UNION ALL ".join(parts)
        kw = {"read_timestamp": read_ts} if read_ts is not None else {}
        with _calling(self.ref, f"verify[{_span(buckets)}]"), self.db.snapshot(**kw) as snap:
            return {(t, b): (n, x) for t, b, n, x in self._query(snap, sql, buckets=list(buckets))}

    def customer_ids(self, buckets: Sequence[int]) -> dict[int, list[str]]:
        root = self.schema.by_name(ROOT_TABLE)
        source, where = _source(self.schema, root)
        sql = f"SELECT t.{BUCKET}, t.{root.key[0]} FROM {source} WHERE {where}"
        out: dict[int, list[str]] = {b: [] for b in buckets}
        with _calling(self.ref, f"{ROOT_TABLE}[{_span(buckets)}]"), self.db.snapshot() as snap:
            for b, customer in self._query(snap, sql, buckets=list(buckets)):
                out[b].append(customer)
        return out

    def delete_buckets(
        self,
        buckets: Sequence[int],
        move_id: str,
        fence_state: str,
        budget: int,
        point: str | None = None,
        cells: float | None = None,
    ) -> int:
        """Delete every row of ``buckets`` in batches, while this move holds their fences.

        A customer counts as one delete range per interleaved table, its row and its index
        entries, but it is the cells under them that a commit works through: a batch takes as
        many customers as hold ``budget`` cells (``cells`` per customer, else one row per
        table), so a delete commit does the work of a copy commit.
        """
        module, schema = self.module, self.schema
        root, outbox = schema.by_name(ROOT_TABLE), schema.by_name(OUTBOX)
        mutations = len(schema.descendants) + 1 + root.indexes
        one_each = sum(len(t.columns) for t in schema.tables if t.depth >= 0)
        limit = max(1, int(budget // max(mutations, cells or one_each)))
        event_limit = max(1, budget // max(1 + outbox.indexes, len(outbox.columns)))
        key = ", ".join(f"t.{k}" for k in root.key)
        root_from, root_where = _source(schema, root)
        event_from, event_where = _source(schema, outbox)
        # Listed once per round, outside the deleting transactions: a LIMIT query repeated in
        # each of them would scan the bucket again every time. The buckets are fenced, so no
        # row joins them meanwhile; the last round finds none left.
        list_ids = f"SELECT {key} FROM {root_from} WHERE {root_where} LIMIT {50 * limit}"
        list_events = (
            f"{_HINT}SELECT t.EventId FROM {event_from} WHERE {event_where} "
            f"LIMIT {50 * event_limit}"
        )

        def delete(ids: list[list[Any]], events: list[list[Any]]) -> Callable[[Any], None]:
            def fn(tx: Any) -> None:
                found = self.fences(tx, buckets)
                for b in buckets:
                    f = found.get(b)
                    if f is None or (f.move_id, f.state) != (move_id, fence_state):
                        raise Stop(
                            f"{FENCES}[{b}]",
                            f"bucket {b} is not fenced {fence_state!r} by move {move_id} here "
                            f"({f}); nothing was deleted",
                        )
                ranges = [module.KeyRange(start_closed=k, end_closed=k) for k in ids]
                # Deepest first: Transactions are ON DELETE NO ACTION under Accounts.
                for table in sorted(schema.descendants, key=lambda t: -t.depth):
                    if ranges:
                        tx.delete(table.name, module.KeySet(ranges=ranges))
                if ids:
                    tx.delete(ROOT_TABLE, module.KeySet(keys=ids))
                if events:
                    tx.delete(OUTBOX, module.KeySet(keys=events))

            return fn

        deleted = 0
        gone: set[tuple[Any, ...]] = set()
        while True:
            with (
                _calling(self.ref, f"delete[{_span(buckets)}]"),
                self.db.snapshot(multi_use=True) as snap,
            ):
                ids = [list(r) for r in self._query(snap, list_ids, buckets=list(buckets))]
                events = [list(r) for r in self._query(snap, list_events, buckets=list(buckets))]
            if not ids and not events:
                return deleted
            listed = {tuple(k) for k in ids + events}
            if listed & gone:  # deleted, yet listed again: never loop on it
                raise InputError.one(
                    self.ref.path,
                    f"delete[{_span(buckets)}]",
                    f"{len(listed & gone)} rows are still there after their delete committed; "
                    "does something write to these fenced buckets? (see schema/cell.sql)",
                )
            gone |= listed
            for n in range(max(-(-len(ids) // limit), -(-len(events) // event_limit))):
                part = ids[n * limit : (n + 1) * limit]
                more = events[n * event_limit : (n + 1) * event_limit]
                _run(self.db, self.ref, f"delete[{_span(buckets)}]", delete(part, more))
                deleted += len(part) + len(more)
                if point:
                    checkpoint(point)

    def retention(self) -> timedelta:
        """The database's version_retention_period (Spanner's default if it reports none)."""
        if self._retention is None:
            sql = (
                "SELECT OPTION_VALUE FROM INFORMATION_SCHEMA.DATABASE_OPTIONS "
                "WHERE OPTION_NAME = 'version_retention_period'"
            )
            with _calling(self.ref, "version_retention_period"), self.db.snapshot() as snap:
                found = [r[0] for r in snap.execute_sql(sql)]
            self._retention = (found and _duration(str(found[0]))) or DEFAULT_RETENTION
        return self._retention


def _row_bytes(row: Sequence[Any]) -> int:
    size = 0
    for value in row:
        if isinstance(value, str | bytes):
            size += len(value)
        elif isinstance(value, dict | list):
            size += len(json.dumps(value, default=str))
        else:
            size += 16
    return size


# --------------------------------------------------------------------------- the directory


@dataclass(frozen=True)
class MoveRow:
    """A ``BucketMoves`` row: one bucket's part in a move, and where it stands."""

    bucket: int
    move_id: str
    from_cell: str
    to_cell: str
    state: str
    read_ts: datetime | None = None
    verified: Mapping[str, Any] | None = None
    map_version: str | None = None
    switched_at: datetime | None = None
    reverse_of: str | None = None


_MOVE_COLUMNS = [
    "Bucket",
    "MoveId",
    "FromCell",
    "ToCell",
    "State",
    "ReadTimestamp",
    "Verified",
    "MapVersion",
    "SwitchedAt",
    "ReverseOf",
]


class Directory:
    """The global directory: the move rows, the recorded maps, the customers' routing rows."""

    def __init__(self, region: str, ref: DbRef, spanner: Spanner, origins: OriginsFn) -> None:
        self.region = region
        self.ref = ref
        self.module = spanner.module
        self.db = spanner.database(ref)
        self.origins = origins

    def _query(self, reader: Any, sql: str, **params: Any) -> list[list[Any]]:
        return [list(r) for r in reader.execute_sql(sql, **_params(self.module, **params))]

    def key(self, buckets: Iterable[int]) -> str:
        return f"BucketMoves[{self.region}: {_span(buckets)}]"

    def check_schema(self) -> None:
        sql = "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ''"
        with _calling(self.ref, "schema"), self.db.snapshot() as snap:
            found = {r[0] for r in snap.execute_sql(sql)}
        missing = [t for t in DIRECTORY_TABLES if t not in found]
        if missing:
            raise InputError.one(
                self.ref.path,
                "schema",
                f"has no {', '.join(missing)}; apply schema/directory.sql before moving buckets",
            )

    def now(self) -> datetime:
        """Spanner's clock, the one commit timestamps come from."""
        with _calling(self.ref, "CURRENT_TIMESTAMP"), self.db.snapshot() as snap:
            return next(iter(snap.execute_sql("SELECT CURRENT_TIMESTAMP()")))[0]

    # ----------------------------------------------------------------- maps

    def _current(self, reader: Any) -> tuple[str, ShardMap] | None:
        rows = self._query(
            reader,
            "SELECT Version, Artifact FROM ShardMapVersions@{FORCE_INDEX=ShardMapVersionsByRegion}"
            " WHERE HomeRegion = @region ORDER BY RecordedAt DESC LIMIT 1",
            region=self.region,
        )
        if not rows:
            return None
        doc = json.loads(rows[0][1])
        cells = {c: [(a, z) for a, z in rs] for c, rs in doc["cells"].items()}
        return rows[0][0], ShardMap(self.region, doc["buckets"], _ranges_to_assignment(cells))

    def current_map(self) -> tuple[str, ShardMap] | None:
        """The region's recorded map (the base, or the last one a switch recorded)."""
        with _calling(self.ref, "ShardMapVersions"), self.db.snapshot() as snap:
            return self._current(snap)

    def recorded(self, shard_map: ShardMap) -> bool:
        """Whether this region's moves went through ``shard_map`` (a resumed command's base)."""
        version, _ = _artifact(shard_map, self.origins(shard_map.assignment.values()))
        keys = self.module.KeySet(keys=[[version]])
        with _calling(self.ref, "ShardMapVersions"), self.db.snapshot() as snap:
            rows = list(snap.read("ShardMapVersions", ["HomeRegion"], keys))
        return bool(rows) and rows[0][0] == self.region

    def _record(self, tx: Any, shard_map: ShardMap) -> str:
        version, content = _artifact(shard_map, self.origins(shard_map.assignment.values()))
        tx.insert_or_update(
            "ShardMapVersions",
            ["Version", "HomeRegion", "Artifact", "RecordedAt"],
            [[version, self.region, content.decode("ascii"), self.module.COMMIT_TIMESTAMP]],
        )
        return version

    def record_base(self, base: ShardMap) -> str:
        """Record where the data is before the region's first move."""

        def fn(tx: Any) -> str:
            current = self._current(tx)
            if current is not None:
                if current[1].assignment != base.assignment:
                    raise Stop(
                        "ShardMapVersions", "another run recorded a map meanwhile; run again"
                    )
                return current[0]
            return self._record(tx, base)

        return _run(self.db, self.ref, "ShardMapVersions", fn)[0]

    # ----------------------------------------------------------------- move rows

    @staticmethod
    def _move(row: Sequence[Any]) -> MoveRow:
        return MoveRow(*row)

    def _rows(self, reader: Any, buckets: Iterable[int]) -> dict[int, MoveRow]:
        keys = self.module.KeySet(keys=[[b, self.region] for b in buckets])
        return {r[0]: self._move(r) for r in reader.read("BucketMoves", _MOVE_COLUMNS, keys)}

    def moves(self) -> dict[int, MoveRow]:
        sql = (
            f"SELECT {', '.join(_MOVE_COLUMNS)} FROM BucketMoves"
            "@{FORCE_INDEX=BucketMovesByRegion} WHERE HomeRegion = @region"
        )
        with _calling(self.ref, "BucketMoves"), self.db.snapshot() as snap:
            return {r[0]: self._move(r) for r in self._query(snap, sql, region=self.region)}

    def _write(self, tx: Any, rows: Sequence[MoveRow], switched: bool = False) -> None:
        from google.cloud.spanner_v1 import JsonObject

        ts = self.module.COMMIT_TIMESTAMP
        tx.insert_or_update(
            "BucketMoves",
            ["HomeRegion", "UpdatedAt", *_MOVE_COLUMNS],
            [
                [
                    self.region,
                    ts,
                    m.bucket,
                    m.move_id,
                    m.from_cell,
                    m.to_cell,
                    m.state,
                    m.read_ts,
                    JsonObject(dict(m.verified)) if m.verified else None,
                    m.map_version,
                    ts if switched else m.switched_at,
                    m.reverse_of,
                ]
                for m in rows
            ],
        )

    def start(self, rows: Sequence[MoveRow], replaces: str | None = None) -> list[MoveRow]:
        """Write a new move's rows (``fencing``) if the directory agrees the buckets are where
        the move takes them from. ``replaces``: the switched move a reverse takes over; without
        it, only a finished move's row may be overwritten."""
        buckets = [m.bucket for m in rows]
        source = rows[0].from_cell

        def fn(tx: Any) -> None:
            for b, old in self._rows(tx, buckets).items():
                if old.move_id == rows[0].move_id:
                    continue  # a retried commit
                if replaces is None:
                    free = old.state in TERMINAL
                else:
                    free = old.move_id == replaces and old.state in AFTER_SWITCH
                if not free:
                    raise Stop(
                        self.key([b]),
                        f"bucket {b} is in move {old.move_id} ({old.from_cell} -> "
                        f"{old.to_cell}, {old.state}); let it finish or undo it first",
                    )
            current = self._current(tx)
            for b in buckets:
                held = current[1].assignment.get(b) if current else None
                if held != source:
                    raise Stop(self.key([b]), f"the recorded map puts bucket {b} in {held}")
            for b, cell, n in self._query(
                tx,
                "SELECT Bucket, Cell, COUNT(*) FROM CustomerDirectory@{FORCE_INDEX="
                "CustomerDirectoryByBucket} WHERE HomeRegion = @region AND Bucket IN "
                "UNNEST(@buckets) GROUP BY Bucket, Cell",
                region=self.region,
                buckets=buckets,
            ):
                if cell != source:
                    raise Stop(
                        f"CustomerDirectory[{self.region}, {b}]",
                        f"{n} customers of bucket {b} are routed to {cell}, not {source}; the "
                        "directory and the recorded map disagree: mend the directory first",
                    )
            self._write(tx, rows)

        _run(self.db, self.ref, self.key(buckets), fn)
        return list(rows)

    def advance(
        self,
        rows: Sequence[MoveRow],
        expect: Sequence[str],
        state: str,
        per_bucket: Mapping[int, Mapping[str, Any]] | None = None,
        **changes: Any,
    ) -> list[MoveRow]:
        """Compare and set: every row must still be this move in one of ``expect``."""
        new = [
            dataclasses.replace(m, state=state, **changes, **(per_bucket or {}).get(m.bucket, {}))
            for m in rows
        ]
        buckets = [m.bucket for m in rows]

        def fn(tx: Any) -> None:
            found = self._rows(tx, buckets)
            for m in rows:
                row = found.get(m.bucket)
                if row is None or row.move_id != m.move_id or row.state not in expect:
                    what = f"{row.state} in move {row.move_id}" if row else "no row"
                    raise Stop(
                        self.key([m.bucket]),
                        f"expected move {m.move_id} in {'/'.join(expect)}, found {what}; is "
                        "another `rollout shards move` running on this region?",
                    )
            self._write(tx, new)

        _run(self.db, self.ref, self.key(buckets), fn)
        return new

    def routed(self, buckets: Sequence[int]) -> Counter[int]:
        """Directory rows per bucket now: sizes the switch's commits."""
        sql = (
            "SELECT Bucket, COUNT(*) FROM CustomerDirectory@{FORCE_INDEX="
            "CustomerDirectoryByBucket} WHERE HomeRegion = @region AND Bucket IN "
            "UNNEST(@buckets) GROUP BY Bucket"
        )
        with _calling(self.ref, "CustomerDirectory"), self.db.snapshot() as snap:
            return Counter(
                {b: n for b, n in self._query(snap, sql, region=self.region, buckets=list(buckets))}
            )

    def switch(
        self, rows: Sequence[MoveRow], customers: Mapping[int, Sequence[str]]
    ) -> list[MoveRow]:
        """In one transaction: the buckets' routing rows point at the target, the new map is
        recorded, the rows say ``switched``. Nothing happens unless all were verified."""
        buckets = [m.bucket for m in rows]
        source, target = rows[0].from_cell, rows[0].to_cell
        ts = self.module.COMMIT_TIMESTAMP

        def fn(tx: Any) -> str:
            found = self._rows(tx, buckets)
            for m in rows:
                row = found.get(m.bucket)
                if row is None or (row.move_id, row.state) != (m.move_id, VERIFIED):
                    raise Stop(self.key([m.bucket]), f"expected move {m.move_id} verified: {row}")
            current = self._current(tx)
            if current is None or any(current[1].assignment.get(b) != source for b in buckets):
                raise Stop(self.key(buckets), f"the recorded map no longer has them in {source}")
            existing = self._query(
                tx,
                "SELECT CustomerId FROM CustomerDirectory@{FORCE_INDEX="
                "CustomerDirectoryByBucket} WHERE HomeRegion = @region AND Bucket IN "
                "UNNEST(@buckets)",
                region=self.region,
                buckets=buckets,
            )
            known = {r[0] for r in existing}
            missing = [(b, c) for b in buckets for c in customers[b] if c not in known]
            needed = SWITCH_UPDATE * len(known) + SWITCH_INSERT * len(missing) + 16 * len(rows)
            if needed > MUTATION_LIMIT:
                raise Stop(
                    f"CustomerDirectory[{self.region}, {_span(buckets)}]",
                    f"the switch needs {needed} mutations in one commit, over Spanner's "
                    f"{MUTATION_LIMIT}; a bucket has more customers than one commit can route",
                )
            if known:
                tx.update(
                    "CustomerDirectory",
                    ["CustomerId", "Cell", "UpdatedAt"],
                    [[c, target, ts] for c in sorted(known)],
                )
            if missing:  # the first partition: home's customers need not all be listed yet
                tx.insert(
                    "CustomerDirectory",
                    ["CustomerId", "HomeRegion", "Cell", "Bucket", "UpdatedAt"],
                    [[c, self.region, target, b, ts] for b, c in missing],
                )
            version = self._record(tx, current[1].moved(buckets, target))
            self._write(
                tx,
                [dataclasses.replace(m, state=SWITCHED, map_version=version) for m in rows],
                switched=True,
            )
            return version

        version, committed = _run(self.db, self.ref, self.key(buckets), fn)
        return [
            dataclasses.replace(m, state=SWITCHED, map_version=version, switched_at=committed)
            for m in rows
        ]


# --------------------------------------------------------------------------- the workflow


@dataclass
class Options:
    grace: timedelta = dataclasses.field(default_factory=lambda: parse_duration(DEFAULT_GRACE))
    batch_mutations: int = DEFAULT_BATCH_MUTATIONS
    move_customers: int = DEFAULT_MOVE_CUSTOMERS
    move_buckets: int = DEFAULT_MOVE_BUCKETS


Say = Callable[[str], None]


class Mover:
    """The moves of one region: each move's buckets advanced from wherever they stand."""

    def __init__(
        self,
        region: str,
        directory: DbRef,
        databases: Mapping[str, DbRef],
        *,
        options: Options | None = None,
        origins: OriginsFn = lambda cells: None,
        say: Say = print,
    ) -> None:
        self.region = region
        self.spanner = Spanner()
        self.directory = Directory(region, directory, self.spanner, origins)
        self.databases = dict(databases)
        self.options = options or Options()
        self.say = say
        self._cells: dict[str, Cell] = {}
        self._checked: set[tuple[str, str]] = set()
        self._buckets = 0

    def cell(self, name: str) -> Cell:
        if name not in self._cells:
            ref = self.databases.get(name)
            if ref is None:
                default = "" if name == HOME else " (or --instance: CELL-db is the default)"
                raise InputError.one(
                    "(command line)",
                    "--database",
                    f"no database for {name}: pass --database {name}=DATABASE{default}",
                )
            self._cells[name] = Cell(name, ref, self.spanner)
        return self._cells[name]

    def pair(self, move: MoveRow) -> tuple[Cell, Cell]:
        """Source and target; their schemas compared once per run."""
        source, target = self.cell(move.from_cell), self.cell(move.to_cell)
        if source.ref == target.ref:
            raise InputError.one(
                source.ref.path, "--database", f"{move.from_cell} and {move.to_cell} are one"
            )
        if (source.name, target.name) not in self._checked:
            a = {t.name: t.columns for t in source.schema.tables}
            b = {t.name: t.columns for t in target.schema.tables}
            if a != b:
                table = next(t for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t))
                raise InputError.one(
                    target.ref.path,
                    f"schema.{table}",
                    f"differs from {source.ref.path} ({b.get(table)} against {a.get(table)}); "
                    "apply the same schema/cell.sql to both",
                )
            self._checked.add((source.name, target.name))
        return source, target

    # ----------------------------------------------------------------- maps

    def _given(self, given: ShardMap | None) -> ShardMap:
        if given is None:
            raise InputError.one(
                self.directory.ref.path,
                f"ShardMapVersions[{self.region}]",
                "no map recorded for this region yet: pass --from-table FILE (the table or "
                "published map the data is in now) or --from-home (the first partition)",
            )
        return given

    def base(self, given: ShardMap | None, *, record: bool) -> ShardMap:
        """Where the data is: the recorded map, else ``given`` (recorded if ``record``)."""
        current = self.directory.current_map()
        if current is None:
            base = self._given(given)
            if record:
                version = self.directory.record_base(base)
                self.say(f"recorded the base map of {self.region}: {version}")
            self._buckets = base.buckets
            return base
        version, recorded = current
        if (
            given is not None
            and given.assignment != recorded.assignment
            and not self.directory.recorded(given)  # the same command, resumed
        ):
            b = next(
                b for b, c in sorted(recorded.assignment.items()) if given.assignment.get(b) != c
            )
            raise InputError.one(
                self.directory.ref.path,
                f"ShardMapVersions[{version}]",
                f"the recorded map puts bucket {b} in {recorded.assignment[b]}, the given base "
                f"in {given.assignment.get(b)}; the recorded map is where the data is: drop "
                "--from-table/--from-home",
            )
        self._buckets = recorded.buckets
        return recorded

    def _pack(self, planned: Sequence[shards.Move]) -> list[list[MoveRow]]:
        """New moves: runs of consecutive planned buckets with one source and target, each
        within the customer and bucket bounds (a larger bucket moves alone)."""
        by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        for m in planned:
            by_pair[(m.from_cell, m.to_cell)].append(m.bucket)
        groups: list[list[MoveRow]] = []
        for (src, dst), buckets in sorted(by_pair.items()):
            sizes = self.cell(src).customers(buckets)
            run: list[int] = []
            total = 0
            for b in buckets:
                if run and (
                    total + sizes[b] > self.options.move_customers
                    or len(run) >= self.options.move_buckets
                    or b != run[-1] + 1
                ):
                    groups.append(self._rows(run, src, dst))
                    run, total = [], 0
                run.append(b)
                total += sizes[b]
            if run:
                groups.append(self._rows(run, src, dst))
        return sorted(groups, key=lambda g: g[0].bucket)

    @staticmethod
    def _rows(buckets: Sequence[int], src: str, dst: str, **kw: Any) -> list[MoveRow]:
        move_id = str(uuid.uuid4())
        return [MoveRow(b, move_id, src, dst, FENCING, **kw) for b in buckets]

    # ----------------------------------------------------------------- entry points

    def plan(
        self, target: ShardMap, given: ShardMap | None, *, file: str, only: set[int] | None
    ) -> tuple[ShardMap, list[MoveRow]]:
        """The moves under way and those the table implies; changes nothing."""
        self.directory.check_schema()
        base = self.base(given, record=False)
        out = {b: r for b, r in self.directory.moves().items() if r.state not in TERMINAL}
        for m in plan_moves(base, target, file=file):
            out.setdefault(m.bucket, MoveRow(m.bucket, "", m.from_cell, m.to_cell, "planned"))
        return base, [out[b] for b in sorted(out) if only is None or b in only]

    def run(
        self, target: ShardMap, given: ShardMap | None, *, file: str, only: set[int] | None = None
    ) -> Counter[str]:
        """Advance every move of the region as far as it goes now; buckets per state reached."""
        self.directory.check_schema()
        base = self.base(given, record=True)
        active = [r for r in self.directory.moves().values() if r.state not in TERMINAL]
        busy = {r.bucket for r in active}
        planned = [
            m
            for m in plan_moves(base, target, file=file)
            if m.bucket not in busy and (only is None or m.bucket in only)
        ]
        # A move under way goes on as a whole: its buckets share one snapshot and one cursor.
        moves = [
            (group, False)
            for _, group in _groups(active)
            if only is None or any(r.bucket in only for r in group)
        ]
        for name in sorted({c for m in planned for c in (m.from_cell, m.to_cell)}):
            self.cell(name).schema  # noqa: B018  every database reachable before any step
        moves += [(rows, True) for rows in self._pack(planned)]
        reached: Counter[str] = Counter()
        if not moves:
            self.say(f"nothing to move: the recorded map of {self.region} matches {file}")
        for rows, new in sorted(moves, key=lambda m: m[0][0].bucket):
            t0 = time.monotonic()
            if new:
                rows = self.directory.start(rows)
                checkpoint(FENCING)
            rows = self.advance(rows)
            self._report(rows, time.monotonic() - t0, reached)
        self._summary(reached)
        return reached

    def undo(self, buckets: set[int] | None) -> Counter[str]:
        """Before a switch: discard the copy and lift the source fence, for the whole move
        (its buckets share one snapshot). After it, until clean-up: run the reverse move of
        the named buckets, which carries back every write the target took since. Run again,
        the same command resumes an undo, or finds nothing left to do."""
        self.directory.check_schema()
        current = self.directory.current_map()
        if current is None:
            raise InputError.one(
                self.directory.ref.path,
                f"ShardMapVersions[{self.region}]",
                f"no move of {self.region} was ever recorded; there is nothing to undo",
            )
        self._buckets = current[1].buckets
        rows = self.directory.moves()
        named = sorted(
            buckets
            if buckets is not None
            else (b for b, r in rows.items() if r.state not in TERMINAL)
        )
        done: list[MoveRow] = []
        for b in named:
            row = rows.get(b)
            if row is not None and (
                row.state == UNDONE or (row.reverse_of and row.state == CLEANED)
            ):
                done.append(row)  # undone already
            elif row is None or row.state in TERMINAL:
                raise InputError.one(
                    self.directory.ref.path,
                    self.directory.key([b]),
                    f"bucket {b} has no move to undo ({row.state if row else 'never moved'}); "
                    "a cleaned bucket goes back by a table change and --run",
                )
        active = {rows[b].move_id for b in named if rows[b].state not in TERMINAL}
        work: list[list[MoveRow]] = []
        for _, group in _groups(r for r in rows.values() if r.move_id in active):
            group = [r for r in group if r.state not in TERMINAL]
            if group[0].reverse_of:  # an undo under way: carry on with it
                work.append(group)
                continue
            undoing = [r for r in group if r.state == UNDOING]
            before = [r for r in group if r.state in BEFORE_SWITCH]
            if before:
                undoing += self.directory.advance(before, BEFORE_SWITCH, UNDOING)
                checkpoint(UNDOING)
            if undoing:
                work.append(undoing)
            after = [r for r in group if r.state in AFTER_SWITCH and r.bucket in named]
            if after:
                first = after[0]
                self.pair(first)
                reverse = self._rows(
                    [r.bucket for r in after], first.to_cell, first.from_cell,
                    reverse_of=first.move_id,
                )  # fmt: skip
                work.append(self.directory.start(reverse, replaces=first.move_id))
                checkpoint(FENCING)
        reached: Counter[str] = Counter()
        finished = {r.move_id for r in done}
        for _, group in _groups(r for r in rows.values() if r.move_id in finished):
            self._report(group, 0.0, reached)
        for group in sorted(work, key=lambda g: g[0].bucket):
            t0 = time.monotonic()
            group = self.advance(group)
            self._report(group, time.monotonic() - t0, reached)
        self._summary(reached)
        return reached

    # ----------------------------------------------------------------- steps

    def advance(self, rows: list[MoveRow]) -> list[MoveRow]:
        """Step the move's earliest rows until all are finished or wait for the grace."""
        steps: dict[str, Callable[[list[MoveRow]], list[MoveRow]]] = {
            UNDOING: self.rollback,
            FENCING: self.fence,
            COPYING: self.copy,
            COPIED: self.verify,
            VERIFIED: self.switch,
            SWITCHED: self.open,
            SERVING: self.clean,
        }
        by_bucket = {r.bucket: r for r in rows}
        while True:
            live = [r for r in by_bucket.values() if r.state in steps]
            if not live:
                break
            state = min((r.state for r in live), key=ORDER.index)
            subset = sorted((r for r in live if r.state == state), key=lambda r: r.bucket)
            after = steps[state](subset)
            by_bucket.update({r.bucket: r for r in after})
            if all(a.state == state for a in after):  # waiting: the grace period
                break
        return sorted(by_bucket.values(), key=lambda r: r.bucket)

    def fence(self, rows: list[MoveRow]) -> list[MoveRow]:
        source, target = self.pair(rows[0])
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        reversing = [r.reverse_of for r in rows if r.reverse_of]
        # A reverse finds the old copy in its target: clear it before copying afresh.
        target.set_fences(
            buckets,
            move_id,
            FENCE_IN,
            take_over=reversing,
            require_empty=not reversing,
            cursor=CURSOR_CLEAR if reversing else None,
        )
        checkpoint("fence:target")
        read_ts = source.set_fences(buckets, move_id, FENCE_OUT, take_over=reversing)
        checkpoint("fence:source")
        rows = self.directory.advance(rows, (FENCING,), COPYING, read_ts=read_ts)
        checkpoint(COPYING)
        return rows

    def _fresh(self, rows: list[MoveRow], source: Cell, target: Cell) -> list[MoveRow]:
        """The rows with a ReadTimestamp still inside the source's version retention.

        A resume long after the fence would read a version Spanner has dropped. The source
        has been fenced since, so its rows of these buckets are unchanged: take a new
        timestamp from a fresh fence commit and copy again from the start.
        """
        read_ts = rows[0].read_ts
        assert read_ts is not None
        if datetime.now(UTC) - read_ts < source.retention() - RETENTION_MARGIN:
            return rows
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        target.set_fences(buckets, move_id, FENCE_IN, cursor=CURSOR_CLEAR, restart=True)
        new_ts = source.set_fences(buckets, move_id, FENCE_OUT)
        self.say(
            f"{_span(buckets)}: snapshot {read_ts.isoformat()} is past the version retention of "
            f"{source.ref.database}; copying again from {new_ts.isoformat()}"
        )
        return self.directory.advance(rows, (COPYING, COPIED), COPYING, read_ts=new_ts)

    def copy(self, rows: list[MoveRow]) -> list[MoveRow]:
        source, target = self.pair(rows[0])
        rows = self._fresh(rows, source, target)
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        fences = target.read_fences(buckets)
        wrong = [b for b in buckets if b not in fences or fences[b].move_id != move_id]
        if wrong or any(f.state != FENCE_IN for f in fences.values()):
            b = wrong[0] if wrong else buckets[0]
            raise InputError.one(
                target.ref.path,
                f"{FENCES}[{b}]",
                f"expected this move's fence, found {fences.get(b)}",
            )
        expect = fences[buckets[0]].cursor  # the move's cursor: in its lowest bucket's row
        if expect == CURSOR_CLEAR:
            target.delete_buckets(buckets, move_id, FENCE_IN, self.options.batch_mutations)
        if expect != CURSOR_DONE:
            self._copy_rows(rows, source, target, expect)
        rows = self.directory.advance(rows, (COPYING,), COPIED)
        checkpoint(COPIED)
        return rows

    def _copy_rows(
        self, rows: list[MoveRow], source: Cell, target: Cell, expect: str | None
    ) -> None:
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        budget = self.options.batch_mutations - 4  # the cursor update rides along
        decoded = json.loads(expect) if expect else None
        cursor = decoded if decoded and decoded[0] not in ("clear", "done") else None
        groups: dict[str, list[list[Any]]] = {}
        mutations = size = 0
        last: list[Any] | None = None

        def commit(new_cursor: str) -> None:
            nonlocal expect, groups, mutations, size
            checkpoint("copy:mid-batch")
            target.write_batch(buckets[0], move_id, groups, expect, new_cursor)
            checkpoint("copy:batch")
            expect, groups, mutations, size = new_cursor, {}, 0, 0

        with (
            _calling(source.ref, f"copy[{_span(buckets)}]"),
            source.db.snapshot(read_timestamp=rows[0].read_ts, multi_use=True) as snap,
        ):
            for table, bucket, row in source.rows(snap, buckets, cursor):
                if table.depth == 0:
                    self._check_bucket(source, table, row, bucket)
                cost, nbytes = table.insert_cost, _row_bytes(row)
                if groups and (mutations + cost > budget or size + nbytes > COMMIT_BYTES):
                    commit(json.dumps(last))
                groups.setdefault(table.name, []).append(row)
                mutations += cost
                size += nbytes
                last = [table.name, bucket, *(row[table.names.index(k)] for k in table.key)]
        commit(CURSOR_DONE)

    def _check_bucket(self, cell: Cell, table: Table, row: list[Any], bucket: int) -> None:
        """A row whose Bucket disagrees with its id's hash would land where no router looks."""
        customer = row[table.names.index(table.key[0])]
        try:
            hashed = shards.bucket_for(customer, self._buckets)
        except ValueError as exc:
            raise InputError.one(cell.ref.path, f"{ROOT_TABLE}[{customer}]", str(exc)) from None
        if hashed != bucket:
            raise InputError.one(
                cell.ref.path,
                f"{ROOT_TABLE}[{customer}].{BUCKET}",
                f"is {bucket} but bucket_for gives {hashed}: the row would land where no router "
                f"looks; --undo {bucket}, mend the row, then --run again",
            )

    def verify(self, rows: list[MoveRow]) -> list[MoveRow]:
        source, target = self.pair(rows[0])
        fresh = self._fresh(rows, source, target)
        if fresh[0].state != rows[0].state:
            return fresh  # to be copied again from a new snapshot first
        buckets, read_ts = [r.bucket for r in rows], rows[0].read_ts
        assert read_ts is not None
        want = source.checksums(buckets, read_ts)
        have = target.checksums(buckets, None)
        for b in buckets:
            for table in source.schema.tables:
                key = (table.name, b)
                if want.get(key) != have.get(key):
                    (n0, x0), (n1, x1) = want.get(key, (0, 0)), have.get(key, (0, 0))
                    raise InputError.one(
                        target.ref.path,
                        f"verify[{b}].{table.name}",
                        f"{n1} rows, checksum {_hex(x1)} here; {source.name} has {n0} rows, "
                        f"checksum {_hex(x0)} at {read_ts.isoformat()}; nothing was switched: "
                        f"discard the copy with --undo {b}, then --run again",
                    )
        verified = {
            b: {
                "verified": {
                    t.name: {"rows": want.get((t.name, b), (0, 0))[0],
                             "checksum": _hex(want.get((t.name, b), (0, 0))[1])}
                    for t in source.schema.tables
                }
            }
            for b in buckets
        }  # fmt: skip
        rows = self.directory.advance(rows, (COPIED,), VERIFIED, per_bucket=verified)
        checkpoint(VERIFIED)
        return rows

    def switch(self, rows: list[MoveRow]) -> list[MoveRow]:
        """One transaction per run of buckets whose routing rows fill about one batch (never
        part of a bucket: a bucket switches whole, within Spanner's limit, or not at all)."""
        _, target = self.pair(rows[0])
        buckets = [r.bucket for r in rows]
        customers = target.customer_ids(buckets)  # verified equal to the source's
        routed = self.directory.routed(buckets)
        out: list[MoveRow] = []
        chunk: list[MoveRow] = []
        cost = 0
        for r in rows:
            listed = min(routed[r.bucket], len(customers[r.bucket]))
            need = SWITCH_UPDATE * routed[r.bucket] + SWITCH_INSERT * (
                len(customers[r.bucket]) - listed
            )
            if chunk and cost + need > self.options.batch_mutations:
                out += self.directory.switch(chunk, customers)
                checkpoint(SWITCHED)
                chunk, cost = [], 0
            chunk.append(r)
            cost += need + 16  # its BucketMoves row
        out += self.directory.switch(chunk, customers)
        checkpoint(SWITCHED)
        return out

    def open(self, rows: list[MoveRow]) -> list[MoveRow]:
        source, target = self.pair(rows[0])
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        target.change_fences(buckets, move_id, None, FENCE_IN)
        checkpoint("switch:target")
        source.change_fences(buckets, move_id, FENCE_AWAY, FENCE_OUT)
        rows = self.directory.advance(rows, (SWITCHED,), SERVING)
        checkpoint(SERVING)
        return rows

    def clean(self, rows: list[MoveRow]) -> list[MoveRow]:
        grace = self.options.grace
        due = [r for r in rows if r.switched_at is not None]
        if grace:
            now = self.directory.now()
            due = [r for r in due if r.switched_at is not None and now >= r.switched_at + grace]
        if not due:
            return rows
        source, _ = self.pair(due[0])
        # Cells per customer, from what the verify counted.
        counted: Counter[str] = Counter()
        for r in due:
            for table, found in (r.verified or {}).items():
                counted[table] += int(found["rows"])
        columns = {t.name: len(t.columns) for t in source.schema.tables if t.depth >= 0}
        cells = sum(counted[t] * n for t, n in columns.items()) / max(1, counted[ROOT_TABLE])
        source.delete_buckets(
            [r.bucket for r in due],
            due[0].move_id,
            FENCE_AWAY,
            self.options.batch_mutations,
            "cleanup:batch",
            cells or None,
        )
        done = self.directory.advance(due, (SERVING,), CLEANED)
        checkpoint(CLEANED)
        return done + [r for r in rows if r not in due]

    def rollback(self, rows: list[MoveRow]) -> list[MoveRow]:
        source, target = self.pair(rows[0])
        buckets, move_id = [r.bucket for r in rows], rows[0].move_id
        fences = target.read_fences(buckets)
        mine = [b for b, f in fences.items() if (f.move_id, f.state) == (move_id, FENCE_IN)]
        if mine:  # only what this move put there
            target.delete_buckets(mine, move_id, FENCE_IN, self.options.batch_mutations)
            target.change_fences(mine, move_id, FENCE_AWAY, FENCE_IN)
        checkpoint("undo:target")
        source.change_fences(buckets, move_id, None, FENCE_OUT)
        checkpoint("undo:source")
        rows = self.directory.advance(rows, (UNDOING,), UNDONE)
        checkpoint(UNDONE)
        return rows

    # ----------------------------------------------------------------- output

    def _report(self, rows: list[MoveRow], seconds: float, reached: Counter[str]) -> None:
        for state, group in _groups_by(rows, lambda r: r.state):
            reached[state] += len(group)
            first = group[0]
            detail = ""
            copied = sum(int(v["rows"]) for r in group for v in (r.verified or {}).values())
            if copied:
                detail += f"  {copied} rows"
            if state == SERVING and first.switched_at is not None:
                after = (first.switched_at + self.options.grace).isoformat(timespec="seconds")
                detail += f"  clean-up of {first.from_cell} after {after}"
            if first.reverse_of:
                detail += f"  (reverses {first.reverse_of})"
            self.say(
                f"{_span(r.bucket for r in group)}  {first.from_cell} -> {first.to_cell}  "
                f"{state}{detail}  {seconds:.2f} s"
            )

    def _summary(self, reached: Counter[str]) -> None:
        if not reached:
            return
        states = ", ".join(f"{n} {s}" for s, n in sorted(reached.items()))
        current = self.directory.current_map()
        version = current[0] if current else "none"
        n = sum(reached.values())
        self.say(f"{n} bucket{'' if n == 1 else 's'}: {states}; recorded map {version}")


def _hex(checksum: int | None) -> str:
    return f"{(checksum or 0) & (2**64 - 1):016x}"


def _groups_by(
    rows: Iterable[MoveRow], key: Callable[[MoveRow], Any]
) -> list[tuple[Any, list[MoveRow]]]:
    out: dict[Any, list[MoveRow]] = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return [(k, sorted(v, key=lambda r: r.bucket)) for k, v in out.items()]


def _groups(rows: Iterable[MoveRow]) -> list[tuple[str, list[MoveRow]]]:
    """Rows by move."""
    return _groups_by(rows, lambda r: r.move_id)


# --------------------------------------------------------------------------- CLI


def _database_map(args: argparse.Namespace, cells: Iterable[str]) -> dict[str, DbRef]:
    out: dict[str, DbRef] = {}
    for item in args.database or []:
        cell, sep, ref = item.partition("=")
        if not sep or not cell or not ref:
            raise InputError.one(
                "(command line)", "--database", f"found {item!r}; expected CELL=DATABASE"
            )
        out[cell] = parse_ref(ref, args.project, args.instance, flag="--database")
    for cell in cells:
        if cell not in out and cell != HOME and args.project and args.instance:
            out[cell] = DbRef(args.project, args.instance, names.database_name(cell))
    return out


def _maps(args: argparse.Namespace) -> tuple[ShardMap, str, ShardMap | None]:
    root: Path | None = getattr(args, "root", None)
    if args.to_table is not None:
        to_file = str(args.to_table)
        target = read_map(args.to_table, args.region)
    else:
        if root is None:
            raise InputError.one("(command line)", "--to-table", "outside a project: give it")
        table, _ = shards.load_table(root, args.region)
        to_file = f"regions/shards/{args.region}.yaml"
        target = ShardMap(table.region, table.buckets, table.assignment)
    given: ShardMap | None = None
    if args.from_home:
        given = home_map(args.region, target.buckets)
    elif args.from_table is not None:
        given = read_map(args.from_table, args.region)
    return target, to_file, given


def _mover(args: argparse.Namespace, cells: Iterable[str]) -> Mover:
    if not args.directory:
        raise InputError.one(
            "(command line)",
            "--directory",
            "needed to run moves: the directory database (ID in --instance, INSTANCE/ID, or "
            "projects/P/instances/I/databases/ID)",
        )
    directory = parse_ref(args.directory, args.project, args.instance, flag="--directory")
    return Mover(
        args.region,
        directory,
        _database_map(args, cells),
        options=Options(
            grace=parse_duration(args.grace),
            batch_mutations=args.batch_mutations,
            move_customers=args.move_customers,
            move_buckets=args.move_buckets,
        ),
        origins=project_origins(getattr(args, "root", None), args.region),
    )


def _cmd_move(args: argparse.Namespace) -> int:
    check_kill_spec()
    if not 100 <= args.batch_mutations <= MUTATION_LIMIT:
        raise InputError.one(
            "(command line)",
            "--batch-mutations",
            f"found {args.batch_mutations}; expected 100..{MUTATION_LIMIT} (Spanner's limit)",
        )
    for flag, value in (
        ("--move-customers", args.move_customers),
        ("--move-buckets", args.move_buckets),
    ):
        if value < 1:
            raise InputError.one("(command line)", flag, f"found {value}; expected at least 1")
    target, to_file, given = _maps(args)
    cells = {*target.assignment.values(), *(given.assignment.values() if given else ())}
    only = parse_buckets(args.buckets, target.buckets) if args.buckets else None
    if args.undo is not None:
        spec = None if args.undo == "all" else parse_buckets(args.undo, target.buckets)
        _mover(args, cells).undo(spec)
        return 0
    if args.run:
        _mover(args, cells).run(target, given, file=to_file, only=only)
        return 0
    origins = project_origins(getattr(args, "root", None), args.region)
    if args.status or args.directory:
        mover = _mover(args, cells)
        base, moves = mover.plan(target, given, file=to_file, only=only)
        if args.status:
            # 0 only when the data is where the table says: a gate before publishing the map.
            active = [m for m in moves if m.state != "planned"]
            _print_plan(base, target, active, to_file, args.json, origins, status=True)
            left = sum(
                1 for b in range(target.buckets) if base.assignment[b] != target.assignment[b]
            )
            version = _artifact(base, origins(base.assignment.values()))[0]
            if not args.json:
                print(
                    f"recorded map {version}: "
                    + (f"{left} buckets still to move to reach {to_file}" if left else
                       f"the map of {to_file}")
                    + (f"; {len(active)} buckets in moves under way" if active else "")
                )  # fmt: skip
            return 1 if left or active else 0
    else:
        if given is None:
            raise InputError.one(
                "(command line)",
                "--from-table",
                "a plan compares two maps: pass --from-table FILE (the table or published map "
                "the data is in), --from-home, or --directory (its recorded map)",
            )
        base = given
        moves = [
            MoveRow(m.bucket, "", m.from_cell, m.to_cell, "planned")
            for m in plan_moves(given, target, file=to_file)
            if only is None or m.bucket in only
        ]
    _print_plan(base, target, moves, to_file, args.json, origins)
    return 0


def _print_plan(
    base: ShardMap,
    target: ShardMap,
    moves: list[MoveRow],
    to_file: str,
    as_json: bool,
    origins: OriginsFn,
    status: bool = False,
) -> None:
    if as_json:
        doc = {
            "region": target.region,
            "from_version": _artifact(base, origins(base.assignment.values()))[0],
            "to_version": _artifact(target, origins(target.assignment.values()))[0],
            "moves": [
                {"bucket": m.bucket, "from": m.from_cell, "to": m.to_cell, "state": m.state}
                for m in moves
            ],
        }
        print(json.dumps(doc))
        return
    width = len(str(max((m.bucket for m in moves), default=0)))
    for m in moves:
        print(f"{m.bucket:>{width}}  {m.from_cell} -> {m.to_cell}  {m.state}")
    if status:
        return
    pairs = Counter(f"{m.from_cell} -> {m.to_cell}" for m in moves)
    spread = ", ".join(f"{p} {n}" for p, n in sorted(pairs.items()))
    print(f"{len(moves)} moves to reach {to_file}" + (f" ({spread})" if spread else ""))


def add_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``move`` on ``rollout shards``' subcommands (``shards.add_cli``'s ``sub``)."""
    text = "move the data of the buckets a table change reassigns (plan, run, undo, status)"
    p = subparsers.add_parser(
        "move",
        help=text,
        description=text + ". Without --run, --undo or --status: print the plan.",
    )
    p.add_argument("region", metavar="REGION", type=_region)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="print the moves (the default)")
    mode.add_argument("--run", action="store_true", help="run or resume every move")
    mode.add_argument("--undo", metavar="BUCKETS", help="undo these moves (e.g. 341-350, all)")
    mode.add_argument(
        "--status",
        action="store_true",
        help="the moves under way; exit 0 only when the data is where the table says",
    )
    p.add_argument("--to-table", type=Path, help="target table (regions/shards/REGION.yaml)")
    base = p.add_mutually_exclusive_group()
    base.add_argument(
        "--from-table", type=Path, help="the table (.yaml) or published map (.json) data is in now"
    )
    base.add_argument(
        "--from-home", action="store_true", help="every bucket in the home database (partition)"
    )
    p.add_argument("--project", help="Google Cloud project of the databases")
    p.add_argument("--instance", help="Spanner instance of the cell databases")
    p.add_argument("--directory", metavar="DB", help="the directory database (ID, INSTANCE/ID)")
    p.add_argument(
        "--database",
        metavar="CELL=DB",
        action="append",
        help="a cell's database (default CELL-db in --instance); home=DB for the home database",
    )
    p.add_argument("--buckets", metavar="SPEC", help="only these buckets, e.g. 341-350,900")
    p.add_argument(
        "--grace",
        default=DEFAULT_GRACE,
        help=f"wait after a switch before clean-up ({DEFAULT_GRACE})",
    )
    p.add_argument(
        "--batch-mutations",
        type=int,
        default=DEFAULT_BATCH_MUTATIONS,
        help=f"mutations per copy commit (default {DEFAULT_BATCH_MUTATIONS}, at most "
        f"{MUTATION_LIMIT})",
    )
    p.add_argument(
        "--move-customers",
        type=int,
        default=DEFAULT_MOVE_CUSTOMERS,
        help=f"customers per move at most (default {DEFAULT_MOVE_CUSTOMERS}): bounds the write "
        "pause of a move's buckets and its switch commit",
    )
    p.add_argument(
        "--move-buckets", type=int, default=DEFAULT_MOVE_BUCKETS, help="buckets per move at most"
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_move)


def _region(value: str) -> str:
    if not re.fullmatch(shards.REGION_PATTERN, value):
        raise argparse.ArgumentTypeError(f"region {value!r} is not valid; e.g. europe-west2")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rollout.moves REGION ...`` is ``rollout shards move REGION ...``."""
    from rollout import cli

    return cli.main(["shards", "move", *(sys.argv[1:] if argv is None else argv)])


__all__ = [
    "CHECKPOINTS",
    "DbRef",
    "KILL_ENV",
    "MUTATION_LIMIT",
    "Mover",
    "Options",
    "ShardMap",
    "add_cli",
    "home_map",
    "main",
    "plan_moves",
    "read_map",
]

if __name__ == "__main__":
    sys.exit(main())
