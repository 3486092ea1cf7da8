"""Bucket moves on the Spanner emulator: the whole workflow against a plain bulk copy.

    python bench/moves.py [--buckets 8] [--sizes 25,100,400] [--rounds 2] [--batch-mutations 2000]

For each size M, N buckets of M customers each (2 accounts, 4 transactions per account, one
pending and one published event per customer) are seeded into eu-1, then moved to eu-3 two
ways in the same run, in alternating order:

- **plain**: the same rows read with the mover's own queries from a snapshot and inserted
  into an empty database in batches of the same size: no fence, cursor, verify or switch;
- **move**: ``rollout.moves.Mover.run`` with grace 0, as ``--run --grace 0s`` does it: fence,
  copy, verify, switch, lift the fences, and the clean-up of the source (timed apart).

It prints a table (seconds, rows/second, ratios; medians over rounds) and, last,
``move ratio: X.XX``: the worst ratio over all sizes of the move (fence to serving: what a
move costs before its customers are served by the new cell) to the plain copy. The clean-up,
which runs after the grace period, is compared with a plain delete of the same rows in the
same batches, and the whole workflow with copy plus delete. The emulator's commit time grows
faster than linearly with the batch, so both sides use the same small batches
(``--batch-mutations``).
Uses ``$SPANNER_EMULATOR_HOST`` if set, else starts the emulator (tests/spanner_emulator.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rollout import moves  # noqa: E402
from rollout.shards import add_cell, even_split  # noqa: E402
from tests import spanner_emulator  # noqa: E402
from tests.test_moves import INSTANCE, PROJECT, REGION, Bank, seed  # noqa: E402

BASE = even_split(["eu-1", "eu-2"], 1024)
TARGET, _ = add_cell(BASE, "eu-3")
FIRST = 341  # eu-1's buckets from here on move to eu-3


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The emulator SPANNER_EMULATOR_HOST names, or one started for the run."""
    if host := os.environ.get("SPANNER_EMULATOR_HOST"):
        yield host
        return
    if spanner_emulator.find_emulator() is None:
        sys.exit(spanner_emulator.INSTALL_HINT)
    with spanner_emulator.running_emulator() as host:
        os.environ["SPANNER_EMULATOR_HOST"] = host
        yield host


def instance() -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import spanner

    client = spanner.Client(project=PROJECT, credentials=AnonymousCredentials())
    inst = client.instance(
        INSTANCE,
        configuration_name=f"projects/{PROJECT}/instanceConfigs/emulator-config",
        display_name="bench",
        node_count=1,
    )
    with contextlib.suppress(Exception):  # already there from an earlier run on this emulator
        inst.create().result(timeout=60)
    return inst


def ref(bank: Bank, name: str) -> moves.DbRef:
    return moves.DbRef(PROJECT, INSTANCE, bank.db_id(name))


def plain_copy(bank: Bank, cell: str, buckets: list[int], budget: int) -> int:
    """The floor: read the buckets' rows as the mover does, insert them, nothing else."""
    spanner = moves.Spanner()
    source = moves.Cell(cell, ref(bank, cell), spanner)
    target = spanner.database(ref(bank, "plain"))
    copied = 0
    groups: dict[str, list[list[Any]]] = {}
    mutations = 0

    def flush() -> None:
        nonlocal groups, mutations
        with target.batch() as batch:
            for name, rows in groups.items():
                batch.insert(name, source.schema.by_name(name).names, rows)
        groups, mutations = {}, 0

    with source.db.snapshot(multi_use=True) as snap:
        for table, _, row in source.rows(snap, buckets, None):
            if groups and mutations + table.insert_cost > budget:
                flush()
            groups.setdefault(table.name, []).append(row)
            mutations += table.insert_cost
            copied += 1
    if groups:
        flush()
    return copied


def plain_delete(bank: Bank, buckets: list[int], budget: int, rows: int) -> None:
    """The floor of a clean-up: the plain copy's rows deleted, batches of as many cells."""
    spanner = moves.Spanner()
    cell = moves.Cell("plain", ref(bank, "plain"), spanner)
    module = spanner.module
    ids = [c for found in cell.customer_ids(buckets).values() for c in found]
    cells_per_customer = 7 * rows / max(1, len(ids))
    step = max(1, int(budget // cells_per_customer))
    for start in range(0, len(ids), step):
        keys = [[c] for c in ids[start : start + step]]
        ranges = [module.KeyRange(start_closed=k, end_closed=k) for k in keys]
        with cell.db.batch() as batch:
            batch.delete("Transactions", module.KeySet(ranges=ranges))
            batch.delete("Accounts", module.KeySet(ranges=ranges))
            batch.delete("Customers", module.KeySet(keys=keys))
    with cell.db.snapshot() as snap:  # the pending events (no customer key): by their bucket
        found = snap.execute_sql(
            "SELECT EventId FROM Outbox WHERE Bucket IN UNNEST(@b)",
            params={"b": buckets},
            param_types={"b": module.param_types.Array(module.param_types.INT64)},
        )
        events = [list(r) for r in found]
    for start in range(0, len(events), step):
        with cell.db.batch() as batch:
            batch.delete("Outbox", module.KeySet(keys=events[start : start + step]))


def workflow(bank: Bank, buckets: list[int], budget: int) -> tuple[float, float, int]:
    """One ``--run --grace 0s``: seconds to serving (fence ... switch), seconds of the
    clean-up (timed around the mover's own clean step), rows verified."""
    mover = moves.Mover(
        REGION,
        ref(bank, "dir"),
        {c: ref(bank, c) for c in ("eu-1", "eu-3")},
        options=moves.Options(grace=timedelta(0), batch_mutations=budget),
        origins=moves.project_origins(ROOT, REGION),
        say=lambda line: None,
    )
    cleaning = 0.0
    clean = mover.clean

    def timed(rows: list[moves.MoveRow]) -> list[moves.MoveRow]:
        nonlocal cleaning
        t0 = time.perf_counter()
        try:
            return clean(rows)
        finally:
            cleaning += time.perf_counter() - t0

    mover.clean = timed  # type: ignore[method-assign]
    base = moves.ShardMap(REGION, 1024, BASE)
    target = moves.ShardMap(REGION, 1024, TARGET)
    t0 = time.perf_counter()
    mover.run(target, base, file="bench", only=set(buckets))
    total = time.perf_counter() - t0
    rows = 0
    for [verified] in _rows(bank.dbs["dir"], "SELECT Verified FROM BucketMoves"):
        rows += sum(int(t["rows"]) for t in verified.values())
    state = {s for [s] in _rows(bank.dbs["dir"], "SELECT DISTINCT State FROM BucketMoves")}
    assert state == {moves.CLEANED}, state
    return total - cleaning, cleaning, rows


def _rows(db: Any, sql: str) -> list[list[Any]]:
    with db.snapshot() as snap:
        return [list(r) for r in snap.execute_sql(sql)]


def measure(inst: Any, n: int, size: int, budget: int, order: int) -> dict[str, float]:
    bank = Bank(inst, ("eu-1", "eu-3", "plain"))
    buckets = list(range(FIRST, FIRST + n))
    seed(bank, BASE, dict.fromkeys(buckets, size), accounts=(2, 2), transactions=(4, 4))
    out: dict[str, float] = {}
    for side in ("plain", "move") if order % 2 == 0 else ("move", "plain"):
        if side == "plain":  # from wherever the rows are: eu-1 before the move, eu-3 after
            t0 = time.perf_counter()
            out["plain_rows"] = plain_copy(bank, "eu-3" if out else "eu-1", buckets, budget)
            out["plain"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            plain_delete(bank, buckets, budget, int(out["plain_rows"]))
            out["delete"] = time.perf_counter() - t0
        else:
            out["move"], out["clean"], out["rows"] = workflow(bank, buckets, budget)
    assert out["rows"] == out["plain_rows"], out  # both carried exactly the same rows
    bank.drop()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--buckets", type=int, default=8, help="buckets moved per size (8)")
    p.add_argument("--sizes", default="25,100,400", help="customers per bucket (25,100,400)")
    p.add_argument("--rounds", type=int, default=2, help="rounds per size (2)")
    p.add_argument("--batch-mutations", type=int, default=2000, help="both sides (2000)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    with emulator():
        inst = instance()
        print(
            f"# {args.buckets} buckets per size, {args.rounds} rounds, batches of "
            f"{args.batch_mutations} mutations; Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs"
        )
        print(
            "| customers/bucket | rows | plain copy s | plain rows/s | move s | move rows/s | "
            "move / plain | ms/bucket | plain delete s | clean-up s | clean-up / delete | "
            "all / (copy + delete) |"
        )
        print("| ---: " * 12 + "|")
        worst = worst_all = 0.0
        for size in sizes:
            runs = [measure(inst, args.buckets, size, args.batch_mutations, r)
                    for r in range(args.rounds)]  # fmt: skip

            def median(key: Any, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(key(r) for r in runs)

            plain, move = median(lambda r: r["plain"]), median(lambda r: r["move"])
            delete, clean = median(lambda r: r["delete"]), median(lambda r: r["clean"])
            ratio = median(lambda r: r["move"] / r["plain"])
            clean_ratio = median(lambda r: r["clean"] / r["delete"])
            whole = median(lambda r: (r["move"] + r["clean"]) / (r["plain"] + r["delete"]))
            rows = int(runs[0]["rows"])
            worst, worst_all = max(worst, ratio), max(worst_all, whole)
            print(
                f"| {size} | {rows} | {plain:.2f} | {rows / plain:,.0f} | {move:.2f} | "
                f"{rows / move:,.0f} | **{ratio:.2f}** | {1000 * move / args.buckets:.0f} | "
                f"{delete:.2f} | {clean:.2f} | {clean_ratio:.2f} | {whole:.2f} |"
            )
        print(
            f"# worst whole workflow (clean-up included) / (plain copy + delete): {worst_all:.2f}"
        )
        print(f"# {time.perf_counter() - started:.0f} s in all")
    print(f"move ratio: {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
