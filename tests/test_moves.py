"""Bucket moves (rollout/moves.py) on the real Spanner emulator.

The mover runs as ``python -m rollout.moves`` in a subprocess, as an operator would run it;
``ROLLOUT_MOVE_KILL_AT=CHECKPOINT[@N]`` makes it SIGKILL itself at a named point, and the next
run of the same command resumes. Each test owns fresh databases in one emulator instance. What
is checked at the end is the whole bank, read back from every database: every row exactly once
in exactly one cell, the one the map names; the same rows and values as before (so balances and
transaction counts per customer too); the directory and the recorded map version agreeing.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rollout import moves
from rollout.ddl import read_ddl
from rollout.shards import add_cell, bucket_for, even_split, render_table
from tests.spanner_emulator import emulator_instance, spanner_emulator  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[1]
CELL_DDL = ROOT / "schema" / "cell.sql"
DIRECTORY_DDL = ROOT / "schema" / "directory.sql"
REGION = "europe-west2"
PROJECT = "demo-test"
INSTANCE = "moves-test"
BUCKETS = 1024
TABLES = ("Customers", "Accounts", "Transactions", "Outbox")
KEYS = {"Customers": 1, "Accounts": 2, "Transactions": 3, "Outbox": 1}
BASE = even_split(["eu-1", "eu-2"], BUCKETS)  # as committed: eu-1 0-511, eu-2 512-1023
TARGET, _ = add_cell(BASE, "eu-3")  # add-cell eu-3: 341-511 and 854-1023 move
_tags = itertools.count()


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="module")
def instance(spanner_emulator: str) -> Any:  # noqa: F811
    return emulator_instance(PROJECT, INSTANCE, "moves")


@pytest.fixture
def new_bank(instance: Any) -> Iterator[Any]:
    """Bank(cells) for one test, its databases dropped afterwards (an instance holds 100)."""
    made: list[Bank] = []

    def make(cells: tuple[str, ...]) -> Bank:
        made.append(Bank(instance, cells))
        return made[-1]

    yield make
    for bank in made:
        bank.drop()


@dataclass
class Bank:
    """One test's databases: the directory and a database per cell (``home`` included)."""

    instance: Any
    cells: tuple[str, ...]
    tag: str = field(default_factory=lambda: f"t{os.getpid() % 1000}x{next(_tags)}")
    dbs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("dir", *self.cells):
            ddl = DIRECTORY_DDL if name == "dir" else CELL_DDL
            db = self.instance.database(self.db_id(name), ddl_statements=read_ddl(ddl))
            db.create().result(timeout=60)
            self.dbs[name] = db

    def drop(self) -> None:
        for db in self.dbs.values():
            db.drop()

    def db_id(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def args(self) -> list[str]:
        out = ["--project", PROJECT, "--instance", INSTANCE, "--directory", self.db_id("dir")]
        for cell in self.cells:
            out += ["--database", f"{cell}={self.db_id(cell)}"]
        return out


def rows(db: Any, sql: str, **params: Any) -> list[list[Any]]:
    from google.cloud import spanner

    types = {k: spanner.param_types.INT64 if isinstance(v, int) else spanner.param_types.STRING
             for k, v in params.items()}  # fmt: skip
    with db.snapshot() as snap:
        return [list(r) for r in snap.execute_sql(sql, params=params or None, param_types=types)]


def table_file(tmp_path: Path, name: str, assignment: Mapping[int, str]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(render_table(REGION, BUCKETS, assignment))
    return path


# --------------------------------------------------------------------------- the data


def customer_in(bucket: int, rng: random.Random) -> str:
    """A canonical UUIDv4 that hashes into ``bucket`` (rejection sampling)."""
    while True:
        cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if bucket_for(cid, BUCKETS) == bucket:
            return cid


def seed(
    bank: Bank,
    where: Mapping[int, str],
    per_bucket: Mapping[int, int],
    *,
    seed_value: int = 7,
    directory: float = 1.0,
    accounts: tuple[int, int] = (1, 3),
    transactions: tuple[int, int] = (0, 6),
) -> dict[str, int]:
    """Customers with accounts, transactions (balances their sum), one pending and one
    published event each, and per cell one pending event of no customer. ``directory``: the
    share of customers the directory lists (the home database's may not all be listed yet).
    Returns customer -> bucket."""
    from google.cloud import spanner
    from google.cloud.spanner_v1 import JsonObject

    rng = random.Random(seed_value)
    ts = spanner.COMMIT_TIMESTAMP
    out: dict[str, int] = {}
    batches: dict[str, dict[str, list[list[Any]]]] = defaultdict(lambda: defaultdict(list))
    for bucket, n in sorted(per_bucket.items()):
        cell = where[bucket]
        data = batches[cell]
        for i in range(n):
            cid = customer_in(bucket, rng)
            out[cid] = bucket
            name = rng.choice(["Zoë Example", "Li Wei", "Ana", "O'Brien; --"])
            email = None if i % 3 == 0 else f"c{i}@example.test"
            data["Customers"].append([cid, bucket, name, email, "GB", ts, ts])
            for _ in range(rng.randint(*accounts)):
                aid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                amounts = [
                    Decimal(rng.randint(-500_000, 500_000)) / 1000
                    for _ in range(rng.randint(*transactions))
                ]
                data["Accounts"].append([cid, aid, "GBP", sum(amounts, Decimal(0)), "open", ts, ts])
                for amount in amounts:
                    tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    note = None if rng.random() < 0.3 else f"payment {tid[:8]}"
                    data["Transactions"].append([cid, aid, tid, amount, "GBP", note, ts])
            for pending in (True, False):
                payload = JsonObject({"customer": cid, "n": [i, {"x": None}]})
                data["Outbox"].append(
                    [str(uuid.uuid4()), rng.randrange(64), bucket, "accounts.opened", cid,
                     payload, ts, ts if pending else None, None if pending else ts]
                )  # fmt: skip
            if rng.random() < directory:
                data["CustomerDirectory"].append([cid, REGION, cell, bucket, ts])
    for cell in bank.cells:
        batches[cell]["Outbox"].append(
            [str(uuid.uuid4()), 1, None, "cell.heartbeat", None, JsonObject({}), ts, ts, None]
        )
    columns = {
        "Customers": ["CustomerId", "Bucket", "LegalName", "Email", "CountryCode", "CreatedAt",
                      "UpdatedAt"],
        "Accounts": ["CustomerId", "AccountId", "Currency", "Balance", "Status", "OpenedAt",
                     "UpdatedAt"],
        "Transactions": ["CustomerId", "AccountId", "TransactionId", "Amount", "Currency",
                         "Description", "BookedAt"],
        "Outbox": ["EventId", "ShardId", "Bucket", "Topic", "EventKey", "Payload", "CreatedAt",
                   "PendingSince", "PublishedAt"],
        "CustomerDirectory": ["CustomerId", "HomeRegion", "Cell", "Bucket", "UpdatedAt"],
    }  # fmt: skip
    for cell, data in batches.items():
        for table in ("Customers", "Accounts", "Transactions", "Outbox", "CustomerDirectory"):
            db = bank.dbs["dir" if table == "CustomerDirectory" else cell]
            items = data.get(table, [])
            for start in range(0, len(items), 200):  # the emulator likes small commits
                with db.batch() as batch:
                    batch.insert(table, columns[table], items[start : start + 200])
    return out


def world(
    bank: Bank, cells: Sequence[str] | None = None
) -> dict[str, dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]]]:
    """table -> key -> (cell, row) over every cell; a row in two cells fails here."""
    out: dict[str, dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]]] = {t: {} for t in TABLES}
    twice = []
    for cell in cells or bank.cells:
        for table in TABLES:
            for row in rows(bank.dbs[cell], f"SELECT * FROM {table}"):
                key = tuple(row[: KEYS[table]])
                if key in out[table]:
                    twice.append((table, key, out[table][key][0], cell))
                out[table][key] = (cell, tuple(row))
    assert not twice, f"rows in two cells: {twice[:5]}"
    return out


def content(w: Mapping[str, Mapping[tuple[Any, ...], tuple[str, tuple[Any, ...]]]]) -> dict:
    """The rows without where they are."""
    return {t: {k: row for k, (_, row) in w[t].items()} for t in TABLES}


def ledger(w: Mapping[str, Mapping[tuple[Any, ...], tuple[str, tuple[Any, ...]]]]) -> dict:
    """Customer -> (sum of balances, transactions booked, sum of amounts)."""
    out: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0, Decimal(0)])
    for (cid, _), (_, row) in w["Accounts"].items():
        out[cid][0] += row[3]
    for (cid, _, _), (_, row) in w["Transactions"].items():
        out[cid][1] += 1
        out[cid][2] += row[3]
    return {c: tuple(v) for c, v in out.items()}


def assert_bank(
    bank: Bank,
    before: Mapping[str, Mapping[tuple[Any, ...], tuple[str, tuple[Any, ...]]]],
    customers: Mapping[str, int],
    expected: Mapping[int, str],
) -> None:
    """Every row once, where ``expected`` puts its bucket, unchanged; directory and map agree."""
    after = world(bank)
    assert content(after) == content(before)
    assert ledger(after) == ledger(before)
    for table in ("Customers", "Accounts", "Transactions"):
        for key, (cell, _) in after[table].items():
            assert cell == expected[customers[key[0]]], (table, key, cell)
    for key, (cell, row) in after["Outbox"].items():
        was = before["Outbox"][key][0]
        pending, bucket = row[7] is not None, row[2]
        # A pending event goes with its bucket; published ones and cell events stay.
        assert cell == (expected[bucket] if pending and bucket is not None else was), key
    routed = {c: (cell, b) for c, cell, b in rows(bank.dbs["dir"],
              "SELECT CustomerId, Cell, Bucket FROM CustomerDirectory")}  # fmt: skip
    assert routed == {c: (expected[b], b) for c, b in customers.items()}
    assert recorded_map(bank) == expected
    [[version]] = rows(
        bank.dbs["dir"],
        "SELECT Version FROM ShardMapVersions WHERE HomeRegion = @r "
        "ORDER BY RecordedAt DESC LIMIT 1",
        r=REGION,
    )
    origins = moves.project_origins(ROOT, REGION)
    shard_map = moves.ShardMap(REGION, BUCKETS, dict(expected))
    assert version == moves._artifact(shard_map, origins(expected.values()))[0]


def recorded_map(bank: Bank) -> dict[int, str]:
    [[artifact]] = rows(
        bank.dbs["dir"],
        "SELECT Artifact FROM ShardMapVersions WHERE HomeRegion = @r "
        "ORDER BY RecordedAt DESC LIMIT 1",
        r=REGION,
    )
    doc = json.loads(artifact)
    return {b: c for c, rs in doc["cells"].items() for a, z in rs for b in range(a, z + 1)}


def where(bank: Bank, cell: str, table: str, condition: str) -> dict[tuple[Any, ...], Any]:
    """Rows of one cell as ``world`` holds them."""
    found = rows(bank.dbs[cell], f"SELECT * FROM {table} WHERE {condition}")
    return {tuple(r[: KEYS[table]]): (cell, tuple(r)) for r in found}


def moving_rows(
    w: Mapping[str, Any], customers: Mapping[str, int], buckets: range, cell: str
) -> int:
    """Rows in ``cell`` that move with ``buckets``: the customers' and their pending events."""
    n = 0
    for table in TABLES:
        for key, (where_, row) in w[table].items():
            if table == "Outbox":
                moving = row[2] in buckets and row[7] is not None
            else:
                moving = customers[key[0]] in buckets
            n += moving and where_ == cell
    return n


def fences(bank: Bank, cell: str) -> dict[int, str]:
    return {b: s for b, s in rows(bank.dbs[cell], "SELECT Bucket, State FROM BucketFences")}


def states(bank: Bank) -> Counter[str]:
    return Counter(s for [s] in rows(bank.dbs["dir"], "SELECT State FROM BucketMoves"))


def book(db: Any, customer: str, bucket: int, amount: Decimal) -> str | None:
    """A cell app's write under the contract in schema/cell.sql: the bucket's fence row is
    read in the same transaction; with a fence there, nothing is written (None)."""
    from google.cloud import spanner

    tid = str(uuid.uuid4())
    ts = spanner.COMMIT_TIMESTAMP

    def write(tx: Any) -> str | None:
        if list(tx.read("BucketFences", ["State"], spanner.KeySet(keys=[[bucket]]))):
            return None
        [[account, balance]] = list(
            tx.execute_sql(
                "SELECT AccountId, Balance FROM Accounts WHERE CustomerId = @c "
                "ORDER BY AccountId LIMIT 1",
                params={"c": customer},
                param_types={"c": spanner.param_types.STRING},
            )
        )
        tx.insert(
            "Transactions",
            ["CustomerId", "AccountId", "TransactionId", "Amount", "Currency", "BookedAt"],
            [[customer, account, tid, amount, "GBP", ts]],
        )
        tx.update(
            "Accounts",
            ["CustomerId", "AccountId", "Balance", "UpdatedAt"],
            [[customer, account, balance + amount, ts]],
        )
        return tid

    return db.run_in_transaction(write)


# --------------------------------------------------------------------------- the mover


def move(bank: Bank, *argv: str, kill: str | None = None, env: Mapping[str, str] = {}) -> Any:
    """``rollout shards move REGION ...`` in a subprocess, as an operator runs it."""
    environ = {k: v for k, v in os.environ.items() if k != moves.KILL_ENV}
    environ.update(env)
    if kill:
        environ[moves.KILL_ENV] = kill
    return subprocess.run(
        [sys.executable, "-m", "rollout.moves", REGION, *argv, *bank.args()],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(result: Any) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", result.stderr
    return str(result.stdout)


def killed(result: Any, point: str) -> None:
    assert result.returncode == -signal.SIGKILL, (
        f"{point}: the mover was not killed there (exit {result.returncode}):\n"
        f"{result.stdout}\n{result.stderr}"
    )


def one_line(result: Any, code: int = 2) -> str:
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return str(lines[0])


@pytest.fixture
def tables(tmp_path: Path) -> list[str]:
    """--from-table (the committed two-cell table) and --to-table (after add-cell eu-3)."""
    base, target = table_file(tmp_path, "base", BASE), table_file(tmp_path, "target", TARGET)
    return ["--from-table", str(base), "--to-table", str(target)]


# --------------------------------------------------------------------------- kills


CHAIN = [
    moves.FENCING,
    "fence:target",
    "fence:source",
    moves.COPYING,
    "copy:mid-batch@2",  # in the middle of the second batch: the first is committed
    "copy:batch",  # right after a batch's commit
    moves.COPIED,
    moves.VERIFIED,
    moves.SWITCHED,
    "switch:target",
    moves.SERVING,
    "cleanup:batch",
    moves.CLEANED,
]


def test_add_cell_move_killed_at_every_step_resumes_exactly(
    new_bank: Any, tables: list[str]
) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    data = {341: 20, 342: 3, 404: 2, 405: 2, 500: 2, 854: 5, 1023: 2, 0: 3, 600: 3}
    customers = seed(bank, BASE, data)
    run = ["--run", *tables, "--grace", "0s", "--batch-mutations", "400"]
    probe = next(c for c, b in customers.items() if b == 341)
    before = world(bank)
    for point in CHAIN:
        killed(move(bank, *run, kill=point), point)
        if point == "fence:target":
            # The source is not fenced yet: its app still books, and the move must carry it.
            assert book(bank.dbs["eu-1"], probe, 341, Decimal("1.5")) is not None
            before = world(bank)
        if point == "fence:source":  # from here on the source refuses the bucket's writes
            assert book(bank.dbs["eu-1"], probe, 341, Decimal("2.5")) is None
            assert fences(bank, "eu-1")[341] == "out" and fences(bank, "eu-3")[341] == "in"
        if point == "copy:mid-batch@2":  # one batch in, the second lost with the process
            first_move = range(341, 405)
            copied = moving_rows(world(bank, ["eu-3"]), customers, first_move, "eu-3")
            assert 0 < copied < moving_rows(before, customers, first_move, "eu-1")
    out = ok(move(bank, *run))
    assert states(bank) == Counter({moves.CLEANED: 341})
    assert_bank(bank, before, customers, TARGET)
    # The first move (341-404) was finished by the killed runs; this one did the other 277.
    assert out.splitlines()[-1].startswith("277 buckets: 277 cleaned; recorded map ")
    moved = [b for b in range(BUCKETS) if BASE[b] != TARGET[b]]
    assert fences(bank, "eu-3") == {}
    assert fences(bank, "eu-1") | fences(bank, "eu-2") == dict.fromkeys(moved, "away")
    # After the move: the new cell takes the bucket's writes, the old one refuses them.
    assert book(bank.dbs["eu-3"], probe, 341, Decimal(1)) is not None
    assert book(bank.dbs["eu-1"], probe, 341, Decimal(1)) is None
    assert "nothing to move" in ok(move(bank, *run))  # the same command again: nothing to do
    status = move(bank, "--status", *tables)  # the gate before publishing: 0, all moved
    assert status.returncode == 0 and status.stdout.endswith(f"the map of {tables[3]}\n")


def test_writes_racing_the_fence_are_carried_or_refused(new_bank: Any, tables: list[str]) -> None:
    """An app books into the moving bucket all the while: every booking it saw commit is in
    the new cell afterwards; none it saw refused is anywhere."""
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    customers = seed(bank, BASE, {341: 6})
    before = world(bank)
    probe = next(iter(customers))
    committed: list[str] = []
    refused = 0
    stop = threading.Event()

    def app() -> None:
        from google.api_core import exceptions

        nonlocal refused
        while not stop.is_set():
            try:
                tid = book(bank.dbs["eu-1"], probe, 341, Decimal("0.01"))
            except (exceptions.Aborted, exceptions.NotFound):
                continue  # displaced by the mover's transaction (the emulator runs one at a time)
            if tid is None:
                refused += 1
            else:
                committed.append(tid)
            stop.wait(0.02)

    writer = threading.Thread(target=app)
    writer.start()
    try:
        ok(move(bank, "--run", *tables, "--buckets", "341", "--grace", "0s"))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert committed and refused, (len(committed), refused)  # the race really ran
    after = world(bank)
    booked = {k[2] for k in after["Transactions"]} - {k[2] for k in before["Transactions"]}
    assert booked == set(committed)
    assert {cell for cell, _ in after["Transactions"].values()} == {"eu-3"}
    assert ledger(after)[probe][1] == ledger(before)[probe][1] + len(committed)
    for customer, (balance, _, amounts) in ledger(after).items():
        assert balance == amounts, customer  # balances are still their ledger's sum


# --------------------------------------------------------------------------- verify


def _change_amount(db: Any, bucket: int) -> None:
    [[cid, aid, tid]] = rows(
        db,
        "SELECT t.CustomerId, t.AccountId, t.TransactionId FROM Transactions t JOIN Customers c "
        "ON c.CustomerId = t.CustomerId WHERE c.Bucket = @b ORDER BY t.TransactionId LIMIT 1",
        b=bucket,
    )
    db.run_in_transaction(
        lambda tx: tx.update(
            "Transactions",
            ["CustomerId", "AccountId", "TransactionId", "Amount"],
            [[cid, aid, tid, Decimal("1000000")]],
        )
    )


def _drop_account(db: Any, bucket: int) -> None:
    from google.cloud import spanner

    [[cid, aid]] = rows(
        db,
        "SELECT a.CustomerId, a.AccountId FROM Accounts a JOIN Customers c ON c.CustomerId = "
        "a.CustomerId WHERE c.Bucket = @b ORDER BY a.AccountId LIMIT 1",
        b=bucket,
    )

    def drop(tx: Any) -> None:
        ledger = spanner.KeyRange(start_closed=[cid, aid], end_closed=[cid, aid])
        tx.delete("Transactions", spanner.KeySet(ranges=[ledger]))
        tx.delete("Accounts", spanner.KeySet(keys=[[cid, aid]]))

    db.run_in_transaction(drop)


def _extra_event(db: Any, bucket: int) -> None:
    from google.cloud import spanner
    from google.cloud.spanner_v1 import JsonObject

    ts = spanner.COMMIT_TIMESTAMP
    with db.batch() as batch:
        batch.insert(
            "Outbox",
            ["EventId", "ShardId", "Bucket", "Topic", "Payload", "CreatedAt", "PendingSince"],
            [[str(uuid.uuid4()), 0, bucket, "planted", JsonObject({}), ts, ts]],
        )


@pytest.mark.parametrize(
    ("plant", "table"),
    [(_change_amount, "Transactions"), (_drop_account, "Accounts"), (_extra_event, "Outbox")],
    ids=["changed-value", "missing-row", "extra-row"],
)
def test_verify_stops_on_a_planted_difference(
    new_bank: Any, tables: list[str], plant: Any, table: str
) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    customers = seed(bank, BASE, {341: 6, 342: 2}, accounts=(2, 3), transactions=(0, 3))
    before = world(bank)
    run = ["--run", *tables, "--buckets", "341", "--grace", "0s"]
    killed(move(bank, *run, kill=moves.COPIED), moves.COPIED)
    plant(bank.dbs["eu-3"], 341)
    line = one_line(move(bank, *run))
    assert f"verify[341].{table}:" in line and "nothing was switched" in line, line
    assert "--undo 341" in line
    # Nothing switched: routing, map and fences as they were during the copy.
    assert {c for [c] in rows(bank.dbs["dir"], "SELECT DISTINCT Cell FROM CustomerDirectory "
            "WHERE Bucket = 341")} == {"eu-1"}  # fmt: skip
    assert recorded_map(bank) == BASE
    assert states(bank) == Counter({moves.COPIED: 1})
    assert fences(bank, "eu-1") == {341: "out"}
    one_line(move(bank, *run))  # it stays stopped: a second run finds the same difference
    ok(move(bank, "--undo", "341", *tables))
    assert fences(bank, "eu-1") == {} and fences(bank, "eu-3") == {341: "away"}
    assert world(bank) == before  # the copy, the planted row with it, is gone
    ok(move(bank, *run))  # copied afresh, verified, switched, cleaned
    assert_bank(bank, before, customers, {**BASE, 341: "eu-3"})


# --------------------------------------------------------------------------- undo


def test_undo_before_the_switch_killed_at_every_step(new_bank: Any, tables: list[str]) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    seed(bank, BASE, {341: 5, 342: 4})
    before = world(bank)
    killed(move(bank, "--run", *tables, "--buckets", "341-342", kill=moves.VERIFIED), "verified")
    for point in (moves.UNDOING, "undo:target", "undo:source", moves.UNDONE):
        killed(move(bank, "--undo", "341", *tables, kill=point), point)
    out = ok(move(bank, "--undo", "341", *tables))  # the same command again: nothing left
    assert "2 buckets: 2 undone" in out
    assert world(bank) == before
    assert states(bank) == Counter({moves.UNDONE: 2})
    assert fences(bank, "eu-1") == {} and fences(bank, "eu-3") == {341: "away", 342: "away"}
    assert recorded_map(bank) == BASE
    plan = ok(move(bank, "--plan", *tables))  # the table still asks for the move
    assert "341  eu-1 -> eu-3  planned" in plan


def test_undo_after_the_switch_runs_the_reverse_move(new_bank: Any, tables: list[str]) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    customers = seed(bank, BASE, {854: 6, 855: 3, 900: 2})
    before = world(bank)
    out = ok(move(bank, "--run", *tables, "--buckets", "854-855,900", "--grace", "1h"))
    assert "clean-up of eu-2 after" in out
    assert states(bank) == Counter({moves.SERVING: 3})
    status = move(bank, "--status", *tables)
    assert status.returncode == 1, status
    assert status.stdout.startswith("854  eu-2 -> eu-3  serving\n")
    assert "338 buckets still to move" in status.stdout  # 341 in the table, 3 moved so far
    assert "3 buckets in moves under way" in status.stdout
    # eu-3 serves the buckets; eu-2 keeps its copy for the grace period and refuses writes.
    probe = next(c for c, b in customers.items() if b == 854)
    tid = book(bank.dbs["eu-3"], probe, 854, Decimal("-7.125"))
    assert tid is not None and book(bank.dbs["eu-2"], probe, 854, Decimal(1)) is None
    expected_rows = {t: dict(before[t]) for t in TABLES}
    expected_rows["Transactions"].update(
        where(bank, "eu-3", "Transactions", f"TransactionId = '{tid}'")
    )
    expected_rows["Accounts"].update(where(bank, "eu-3", "Accounts", f"CustomerId = '{probe}'"))

    undo = ["--undo", "854", *tables, "--grace", "0s"]
    killed(move(bank, *undo, kill="copy:batch"), "copy:batch")
    out = ok(move(bank, *undo))
    assert "854  eu-3 -> eu-2  cleaned" in out and "(reverses " in out
    expected = {**BASE, 855: "eu-3", 900: "eu-3"}
    assert recorded_map(bank) == expected
    assert rows(bank.dbs["eu-2"], f"SELECT COUNT(*) FROM Transactions WHERE TransactionId = "
                f"'{tid}'") == [[1]]  # fmt: skip  # the booking made in eu-3 came back
    assert rows(bank.dbs["eu-3"], "SELECT COUNT(*) FROM Customers WHERE Bucket = 854") == [[0]]
    assert fences(bank, "eu-2") == {855: "away", 900: "away"}
    assert fences(bank, "eu-3") == {854: "away"}
    assert book(bank.dbs["eu-2"], probe, 854, Decimal(0)) is not None  # eu-2 serves 854 again
    zero = f"CustomerId = '{probe}' AND Amount = 0"
    expected_rows["Transactions"].update(where(bank, "eu-2", "Transactions", zero))
    expected_rows["Accounts"].update(where(bank, "eu-2", "Accounts", f"CustomerId = '{probe}'"))

    assert "854  eu-3 -> eu-2  cleaned" in ok(move(bank, *undo))  # again: nothing to do
    ok(move(bank, "--run", *tables, "--buckets", "855,900", "--grace", "0s"))
    assert states(bank) == Counter({moves.CLEANED: 3})
    line = one_line(move(bank, "--undo", "855", *tables))
    assert "bucket 855 has no move to undo (cleaned)" in line
    assert_bank(bank, expected_rows, customers, expected)


# --------------------------------------------------------------------------- first partition


def test_first_partition_from_home_into_two_cells(new_bank: Any, tmp_path: Path) -> None:
    bank = new_bank(("home", "eu-1", "eu-2"))
    rng = random.Random(11)
    spread = {b: rng.randint(1, 3) for b in rng.sample(range(BUCKETS), 40)}
    customers = seed(bank, dict.fromkeys(range(BUCKETS), "home"), spread, directory=0.5)
    before = world(bank)
    target = table_file(tmp_path, "target", even_split(["eu-1", "eu-2"], BUCKETS))
    run = ["--run", "--from-home", "--to-table", str(target), "--grace", "0s",
           "--batch-mutations", "500"]  # fmt: skip
    killed(move(bank, *run, kill="copy:batch@3"), "copy:batch@3")
    killed(move(bank, *run, kill=f"{moves.SWITCHED}@2"), "switched@2")
    ok(move(bank, *run))
    assert states(bank) == Counter({moves.CLEANED: BUCKETS})
    assert_bank(bank, before, customers, even_split(["eu-1", "eu-2"], BUCKETS))
    home = {t: n for t in TABLES for [n] in rows(bank.dbs["home"], f"SELECT COUNT(*) FROM {t}")}
    published = sum(1 for _, row in before["Outbox"].values() if row[7] is None)
    assert home == {"Customers": 0, "Accounts": 0, "Transactions": 0, "Outbox": published + 1}
    assert fences(bank, "home") == dict.fromkeys(range(BUCKETS), "away")
    assert "nothing to move" in ok(move(bank, *run))


# --------------------------------------------------------------------------- snapshot age


def test_a_resume_past_the_version_retention_copies_again(new_bank: Any, tables: list[str]) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    customers = seed(bank, BASE, {341: 12})
    before = world(bank)
    run = ["--run", *tables, "--buckets", "341", "--grace", "0s", "--batch-mutations", "300"]
    killed(move(bank, *run, kill="copy:batch"), "copy:batch")
    bank.dbs["dir"].run_in_transaction(
        lambda tx: tx.execute_update(
            "UPDATE BucketMoves SET ReadTimestamp = TIMESTAMP_SUB(ReadTimestamp, INTERVAL 2 HOUR) "
            "WHERE Bucket = 341"
        )
    )
    out = ok(move(bank, *run))
    assert "past the version retention" in out and "copying again" in out
    assert_bank(bank, before, customers, {**BASE, 341: "eu-3"})
    [[age]] = rows(
        bank.dbs["dir"],
        "SELECT TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), ReadTimestamp, SECOND) FROM BucketMoves",
    )
    assert age < 600


# --------------------------------------------------------------------------- the command line


def run_main(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = moves.main([REGION, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_offline_lists_the_moves_the_table_change_implies(
    tables: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(["--plan", *tables], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == " 341  eu-1 -> eu-3  planned"
    assert lines[-1].endswith("(eu-1 -> eu-3 171, eu-2 -> eu-3 170)")
    assert lines[-1].startswith("341 moves to reach ")
    code, out, _ = run_main([*tables, "--json"], capsys)
    doc = json.loads(out)
    assert len(doc["moves"]) == 341 and doc["moves"][-1] == {
        "bucket": 1023, "from": "eu-2", "to": "eu-3", "state": "planned"}  # fmt: skip
    code, out, _ = run_main(["--from-home", "--to-table", tables[3]], capsys)
    assert out.splitlines()[-1].endswith("(home -> eu-1 341, home -> eu-2 342, home -> eu-3 341)")


def test_plan_from_a_published_map(
    tmp_path: Path, tables: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from-table`` takes the JSON ``rollout shards publish`` wrote, checked by its hash."""
    shard_map = moves.ShardMap(REGION, BUCKETS, BASE)
    origins = moves.project_origins(ROOT, REGION)(BASE.values())
    version, content = moves._artifact(shard_map, origins)
    published = tmp_path / f"{version}.json"
    published.write_bytes(content)
    code, out, err = run_main(["--from-table", str(published), "--to-table", tables[3]], capsys)
    assert (code, err) == (0, "") and out.splitlines()[-1].startswith("341 moves to reach ")
    edited = content.replace(b"[[0,511]]", b"[[0,510]]").replace(b"[[512,", b"[[511,")
    assert edited != content
    published.write_bytes(edited)  # a valid map, but not the one its version names
    code, _, err = run_main(["--from-table", str(published), "--to-table", tables[3]], capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "version: content does not hash to its version" in err


def test_add_cli_registers_under_rollout_shards() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="rollout")
    shards_parser = parser.add_subparsers(dest="command").add_parser("shards")
    moves.add_cli(shards_parser.add_subparsers(dest="shards_command"))
    args = parser.parse_args(["shards", "move", REGION, "--run", "--buckets", "1-3"])
    assert args.func is moves._cmd_move and args.run and args.buckets == "1-3"


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--to-table", "TARGET"], {}, "a plan compares two maps"),
        (["--run", "TABLES"], {}, "--directory: needed to run moves"),
        (["--run", "TABLES", "--project", "p", "--instance", "inst", "--directory", "dir",
          "--database", "eu-1"], {}, "CELL=DATABASE"),
        (["TABLES", "--buckets", "9-2"], {}, "expected e.g. 341-350,900"),
        (["TABLES", "--buckets", "1024"], {}, "bucket 1024 is outside 0-1023"),
        (["--run", "TABLES", "--directory", "inst/dir", "--project", "p", "--grace", "soon"], {},
         "--grace: found 'soon'"),
        (["TABLES", "--batch-mutations", "90000"], {}, "expected 100..80000"),
        (["--run", "TABLES", "--directory", "dir"], {}, "'dir' needs --project"),
        (["--run", "TABLES"], {moves.KILL_ENV: "copy:middle"}, "expected CHECKPOINT[@N]"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    tables: list[str],
    argv: list[str],
    env: dict[str, str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    expanded: list[str] = []
    for arg in argv:
        expanded += tables if arg == "TABLES" else [tables[3]] if arg == "TARGET" else [arg]
    code, out, err = run_main(expanded, capsys)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and expected in err, err


def test_a_to_table_with_another_bucket_count_is_one_line(
    tmp_path: Path, tables: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(render_table(REGION, 16, even_split(["eu-1", "eu-2"], 16)))
    code, _, err = run_main(["--from-table", tables[1], "--to-table", str(small)], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "16 buckets, but the base map has 1024" in err


def test_unreachable_emulator_is_one_line_within_seconds(
    tables: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SPANNER_EMULATOR_HOST", f"127.0.0.1:{port}")
    t0 = time.monotonic()
    code, _, err = run_main(
        ["--run", *tables, "--project", "p", "--instance", "inst", "--directory", "dir"], capsys
    )
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "no Spanner emulator answers" in err and time.monotonic() - t0 < 10


def test_missing_database_and_old_schema_are_one_line(
    new_bank: Any, tables: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bank = new_bank(("eu-1", "eu-2", "eu-3"))
    args = [*bank.args()]
    args[args.index("eu-3=" + bank.db_id("eu-3"))] = "eu-3=no-such-db"
    code, _, err = run_main(["--run", *tables, *args], capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "databases/no-such-db: schema: not found" in err
    old = bank.instance.database(f"old-{bank.tag}", ddl_statements=read_ddl(DIRECTORY_DDL)[:2])
    old.create().result(timeout=60)
    bank.dbs["old"] = old  # dropped with the rest
    args[args.index(bank.db_id("dir"))] = f"old-{bank.tag}"
    code, _, err = run_main(["--run", *tables, *args], capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "has no BucketMoves, ShardMapVersions; apply schema/directory.sql" in err
