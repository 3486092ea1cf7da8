"""Both Spanner schemas: structural rules offline, then applied and exercised on the emulator."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rollout.ddl import read_ddl
from rollout.shards import bucket_for
from tests.spanner_emulator import spanner_emulator  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[1]
CELL_DDL = ROOT / "schema" / "cell.sql"
DIRECTORY_DDL = ROOT / "schema" / "directory.sql"
PROJECT = "demo-test"
PERSONAL = re.compile(r"name|e-?mail|phone|address|birth|dob|ssn|passport|tax", re.IGNORECASE)

_TABLE = re.compile(r"CREATE TABLE (\w+) \((.*)\) PRIMARY KEY \(([^)]*)\)", re.DOTALL)
_INDEX = re.compile(r"CREATE (?:UNIQUE )?(?:NULL_FILTERED )?INDEX \w+ ON (\w+) \(([^)]*)\)")
_COLUMN = re.compile(r"^\s*(\w+)\s+([A-Z]+[0-9]*)", re.MULTILINE)


def bounded(statements: list[str], table: str, column: str) -> bool:
    """``column`` of ``table`` is a small bounded number: CHECK (c >= 0 AND c < N)."""
    rule = re.compile(rf"CHECK \({column} >= 0 AND {column} < (\d+)\)")
    for stmt in statements:
        if (m := _TABLE.match(stmt)) and m.group(1) == table and (found := rule.search(stmt)):
            return int(found.group(1)) <= 65_536
    return False


def tables(statements: list[str]) -> dict[str, tuple[dict[str, str], list[str]]]:
    """Table -> (column -> type, primary key columns) from read_ddl output."""
    out: dict[str, tuple[dict[str, str], list[str]]] = {}
    for stmt in statements:
        if m := _TABLE.match(stmt):
            columns = {
                name: kind
                for name, kind in _COLUMN.findall(m.group(2))
                if name not in ("CONSTRAINT", "FOREIGN")
            }
            out[m.group(1)] = (columns, [k.split()[0] for k in m.group(3).split(",")])
    return out


# --------------------------------------------------------------------------- offline


def test_read_ddl_strips_comments_and_splits() -> None:
    statements = read_ddl(CELL_DDL)
    assert [s.split("(")[0].strip() for s in statements] == [
        "CREATE TABLE Customers",
        "CREATE INDEX CustomersByBucket ON Customers",
        "CREATE TABLE Accounts",
        "CREATE TABLE Transactions",
        "CREATE TABLE Outbox",
        "CREATE NULL_FILTERED INDEX OutboxPending ON Outbox",
        "CREATE NULL_FILTERED INDEX OutboxPendingByBucket ON Outbox",
        "CREATE TABLE BucketFences",
    ]
    assert not any("--" in s or s.endswith(";") for s in statements)


def test_read_ddl_respects_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x.sql"
    path.write_text("-- head\nCREATE T (A STRING(9) DEFAULT ('a;--b'));  -- tail\n\n;\nDROP T;")
    assert read_ddl(path) == ["CREATE T (A STRING(9) DEFAULT ('a;--b'))", "DROP T"]


@pytest.mark.parametrize("ddl", [CELL_DDL, DIRECTORY_DDL])
def test_no_monotonic_first_key(ddl: Path) -> None:
    statements = read_ddl(ddl)
    found = tables(statements)
    assert found, "no CREATE TABLE parsed"
    for table, (columns, key) in found.items():
        # A random UUIDv4 string (or a content hash) leads every key, or a small bounded shard
        # number (a bucket); an unbounded INT64 or a TIMESTAMP first key would let a sequence
        # or clock send every insert to the last split.
        kind = columns[key[0]]
        assert kind in ("STRING", "UUID") or (
            kind == "INT64" and bounded(statements, table, key[0])
        ), f"{table} key starts with {key[0]}"
    for stmt in statements:
        if m := _INDEX.match(stmt):
            columns = found[m.group(1)][0]
            first = m.group(2).split(",")[0].split()[0]
            assert columns[first] not in ("TIMESTAMP", "DATE"), f"index leads with {first}"


def test_cell_schema_shape() -> None:
    found = tables(read_ddl(CELL_DDL))
    assert found["Customers"][1] == ["CustomerId"]
    assert found["Customers"][0]["Bucket"] == "INT64"
    assert found["Accounts"][1] == ["CustomerId", "AccountId"]
    assert found["Transactions"][1] == ["CustomerId", "AccountId", "TransactionId"]
    assert found["Transactions"][0]["Amount"] == "NUMERIC"
    assert found["Outbox"][0]["Payload"] == "JSON"


def test_directory_holds_no_personal_data() -> None:
    found = tables(read_ddl(DIRECTORY_DDL))
    assert list(found) == ["CustomerDirectory", "BucketMoves", "ShardMapVersions"]
    columns, key = found["CustomerDirectory"]
    assert key == ["CustomerId"]
    assert set(columns) == {"CustomerId", "HomeRegion", "Cell", "Bucket", "UpdatedAt"}
    for table, (columns, _) in found.items():
        assert [c for c in columns if PERSONAL.search(c)] == [], table


# --------------------------------------------------------------------------- emulator


@pytest.fixture(scope="module")
def instance(spanner_emulator: str) -> Iterator[object]:  # noqa: F811
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import spanner

    client = spanner.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": spanner_emulator},
    )
    inst = client.instance(
        "test-instance",
        configuration_name=f"projects/{PROJECT}/instanceConfigs/emulator-config",
        display_name="test",
        node_count=1,
    )
    inst.create().result(timeout=30)
    yield inst


def apply(instance: object, name: str, ddl: Path) -> object:
    """Create an empty database, then apply one statement at a time so a failure names it."""
    database = instance.database(name)  # type: ignore[attr-defined]
    database.create().result(timeout=30)
    for stmt in read_ddl(ddl):
        try:
            database.update_ddl([stmt]).result(timeout=30)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{ddl.name}: statement failed on the emulator:\n{stmt}\n{exc}")
    return database


@pytest.fixture(scope="module")
def cell_db(instance: object) -> object:
    return apply(instance, "cell", CELL_DDL)


def new_customer(cell_db: object, amount: str = "-12.345") -> tuple[str, str, str, str]:
    from google.cloud import spanner
    from google.cloud.spanner_v1.data_types import JsonObject

    customer, account, txn, event = (str(uuid.uuid4()) for _ in range(4))

    def write(tx: object) -> None:
        ts = spanner.COMMIT_TIMESTAMP
        tx.insert(  # type: ignore[attr-defined]
            "Customers",
            ["CustomerId", "Bucket", "LegalName", "Email", "CountryCode", "CreatedAt", "UpdatedAt"],
            [[customer, bucket_for(customer), "Zoë Example", "zoe@example.test", "GB", ts, ts]],
        )
        tx.insert(  # type: ignore[attr-defined]
            "Accounts",
            ["CustomerId", "AccountId", "Currency", "Balance", "Status", "OpenedAt", "UpdatedAt"],
            [[customer, account, "GBP", Decimal(amount), "open", ts, ts]],
        )
        tx.insert(  # type: ignore[attr-defined]
            "Transactions",
            ["CustomerId", "AccountId", "TransactionId", "Amount", "Currency", "BookedAt"],
            [[customer, account, txn, Decimal(amount), "GBP", ts]],
        )
        tx.insert(  # type: ignore[attr-defined]
            "Outbox",
            ["EventId", "ShardId", "Topic", "EventKey", "Payload", "CreatedAt", "PendingSince"],
            [
                [
                    event,
                    bucket_for(event, 64),
                    "transactions.booked",
                    customer,
                    JsonObject({"transaction": txn, "amount": amount}),
                    ts,
                    ts,
                ]
            ],
        )

    cell_db.run_in_transaction(write)  # type: ignore[attr-defined]
    return customer, account, txn, event


def query(db: object, sql: str, **params: object) -> list[list[Any]]:
    with db.snapshot() as snap:  # type: ignore[attr-defined]
        return [list(row) for row in snap.execute_sql(sql, params=params or None)]


def test_cell_schema_round_trip(cell_db: object) -> None:
    customer, account, txn, event = new_customer(cell_db)
    [[bucket]] = query(cell_db, "SELECT Bucket FROM Customers WHERE CustomerId = @c", c=customer)
    assert bucket == bucket_for(customer)
    [[currency, balance]] = query(
        cell_db, "SELECT Currency, Balance FROM Accounts WHERE AccountId = @a", a=account
    )
    assert (currency, balance) == ("GBP", Decimal("-12.345"))
    [[amount, booked]] = query(
        cell_db, "SELECT Amount, BookedAt FROM Transactions WHERE TransactionId = @t", t=txn
    )
    assert amount == Decimal("-12.345") and booked is not None
    [[topic, payload, pending]] = query(
        cell_db,
        "SELECT Topic, Payload, PendingSince FROM Outbox WHERE EventId = @e",
        e=event,
    )
    assert topic == "transactions.booked" and payload["transaction"] == txn
    assert pending is not None


def test_outbox_pending_index_drops_published_events(cell_db: object) -> None:
    from google.cloud import spanner

    _, _, _, event = new_customer(cell_db)
    shard = bucket_for(event, 64)
    # The statement hint only silences the emulator's conservative null-filter check;
    # production Spanner ignores it and uses the index (PendingSince IS NOT NULL matches it).
    pending_sql = (
        "@{spanner_emulator.disable_query_null_filtered_index_check=true} "
        "SELECT EventId FROM Outbox@{FORCE_INDEX=OutboxPending} "
        "WHERE ShardId = @s AND PendingSince IS NOT NULL"
    )
    assert [event] in query(cell_db, pending_sql, s=shard)

    def publish(tx: object) -> None:
        tx.update(  # type: ignore[attr-defined]
            "Outbox",
            ["EventId", "PendingSince", "PublishedAt"],
            [[event, None, spanner.COMMIT_TIMESTAMP]],
        )

    cell_db.run_in_transaction(publish)  # type: ignore[attr-defined]
    assert [event] not in query(cell_db, pending_sql, s=shard)


def test_ledger_survives_customer_delete(cell_db: object) -> None:
    customer, _, _, _ = new_customer(cell_db)
    from google.cloud import spanner

    def erase(tx: object) -> None:
        tx.delete("Customers", spanner.KeySet(keys=[[customer]]))  # type: ignore[attr-defined]

    with pytest.raises(Exception, match="(?i)child|interleave|cannot|FAILED_PRECONDITION"):
        cell_db.run_in_transaction(erase)  # type: ignore[attr-defined]
    assert query(cell_db, "SELECT COUNT(*) FROM Customers WHERE CustomerId = @c", c=customer) == [
        [1]
    ]


def test_currency_must_be_iso_code(cell_db: object) -> None:
    customer, _, _, _ = new_customer(cell_db)
    from google.cloud import spanner

    def bad(tx: object) -> None:
        ts = spanner.COMMIT_TIMESTAMP
        tx.insert(  # type: ignore[attr-defined]
            "Accounts",
            ["CustomerId", "AccountId", "Currency", "Balance", "Status", "OpenedAt", "UpdatedAt"],
            [[customer, str(uuid.uuid4()), "gbp", Decimal(0), "open", ts, ts]],
        )

    with pytest.raises(Exception, match="AccountsCurrencyIso4217"):
        cell_db.run_in_transaction(bad)  # type: ignore[attr-defined]


def test_directory_schema_round_trip(instance: object) -> None:
    from google.cloud import spanner

    db = apply(instance, "directory", DIRECTORY_DDL)
    customer = str(uuid.uuid4())

    def write(tx: object) -> None:
        tx.insert(  # type: ignore[attr-defined]
            "CustomerDirectory",
            ["CustomerId", "HomeRegion", "Cell", "Bucket", "UpdatedAt"],
            [[customer, "europe-west2", "eu-1", bucket_for(customer), spanner.COMMIT_TIMESTAMP]],
        )

    db.run_in_transaction(write)  # type: ignore[attr-defined]
    [[region, cell, bucket, updated]] = query(
        db,
        "SELECT HomeRegion, Cell, Bucket, UpdatedAt FROM CustomerDirectory WHERE CustomerId = @c",
        c=customer,
    )
    assert (region, cell, bucket) == ("europe-west2", "eu-1", bucket_for(customer))
    assert updated is not None

    def negative(tx: object) -> None:
        tx.insert(  # type: ignore[attr-defined]
            "CustomerDirectory",
            ["CustomerId", "HomeRegion", "Cell", "Bucket", "UpdatedAt"],
            [[str(uuid.uuid4()), "europe-west2", "eu-1", -1, spanner.COMMIT_TIMESTAMP]],
        )

    with pytest.raises(Exception, match="CustomerDirectoryBucketNonNegative"):
        db.run_in_transaction(negative)  # type: ignore[attr-defined]
