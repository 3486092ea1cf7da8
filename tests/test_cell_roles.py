"""The cell app's database role: exactly the privileges it needs, no DDL, on the emulator.

Fine-grained access control is real Spanner DDL (schema/cell_roles.sql), part of every cell
database's ``ddls``. Google's Spanner emulator does not implement it: ``CREATE ROLE`` and
``GRANT`` fail there with "Unsupported ddl statement" (checked below, so this file says so the
day the emulator learns them), and the emulator enforces no role either. What can be proven
offline is proven here: each grant names a table and privileges the schema really has, the
ledger is append-only for the app, and no grant is DDL; the schema itself still applies on
the emulator with the role statements removed.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from rollout import args
from rollout.ddl import read_ddl
from tests.spanner_emulator import emulator_instance, spanner_emulator  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parent.parent
GRANT = re.compile(
    r"^GRANT (?P<privileges>[A-Z, ]+) ON TABLE (?P<tables>[\w, ]+) TO ROLE (?P<role>\w+)$"
)
TABLE = re.compile(r"^CREATE TABLE (\w+) ")

# What the app may do, table by table: the review of a new grant starts here.
EXPECTED = {
    "Customers": {"SELECT", "INSERT", "UPDATE"},
    "Accounts": {"SELECT", "INSERT", "UPDATE"},
    "Transactions": {"SELECT", "INSERT"},
    "Outbox": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "BucketFences": {"SELECT"},
}


def grants() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in read_ddl(args.CELL_ROLES_SCHEMA):
        if match := GRANT.match(" ".join(statement.split())):
            assert match["role"] == args.APP_DATABASE_ROLE
            for table in match["tables"].split(","):
                out.setdefault(table.strip(), set()).update(
                    p.strip() for p in match["privileges"].split(",")
                )
    return out


def test_the_app_role_holds_exactly_the_reviewed_privileges() -> None:
    statements = read_ddl(args.CELL_ROLES_SCHEMA)
    assert statements[0] == f"CREATE ROLE {args.APP_DATABASE_ROLE}"
    assert grants() == EXPECTED
    tables = {m.group(1) for s in read_ddl(args.CELL_SCHEMA) if (m := TABLE.match(s))}
    assert set(EXPECTED) <= tables  # every grant names a real table
    # Only CREATE ROLE and table grants: nothing that changes the schema.
    assert all(s.startswith(("CREATE ROLE ", "GRANT ")) for s in statements)


def test_every_cell_database_gets_the_roles(plans: dict) -> None:  # type: ignore[type-arg]
    roles = list(read_ddl(args.CELL_ROLES_SCHEMA))
    from rollout import catalog

    for stack in ("eu", "apac"):
        for db in plans[stack].of_type(catalog.SPANNER_DATABASE):
            assert db.inputs["ddls"][-len(roles) :] == roles


def test_the_emulator_lacks_fine_grained_access_control(spanner_emulator: str) -> None:  # noqa: F811
    """Applied on the emulator: the tables go in; CREATE ROLE and GRANT are refused there."""
    from google.api_core import exceptions

    instance = emulator_instance("demo-test", f"roles-{uuid.uuid4().hex[:8]}", "roles")
    database = instance.database("cell", ddl_statements=read_ddl(args.CELL_SCHEMA))
    database.create().result(timeout=60)
    for statement in read_ddl(args.CELL_ROLES_SCHEMA):
        with pytest.raises(exceptions.GoogleAPICallError, match="Unsupported ddl statement"):
            database.update_ddl([statement]).result(timeout=30)
