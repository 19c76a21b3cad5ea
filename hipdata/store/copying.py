"""A whole database copied into an empty one, of either engine, and verified table by table.

Every table is dumped from one snapshot of the source as CSV, loaded into the target in one transaction
(so a failed copy leaves the target empty), dumped again from the target, and both dumps are read into the
same typed in-memory tables: the row counts and a checksum of every column of every row must match.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from hipdata.store.duckdb_engine import CSV_IN
from hipdata.store.schema import MIGRATIONS

if TYPE_CHECKING:
    from hipdata.store import Store

# Everything a clinic keeps, deleted rows included; the schema's own bookkeeping is made by the migrations.
COPIED_TABLES = (
    "patients", "users", "assignments", "sessions", "readings", "exercise_log", "goals", "notes",
    "programme", "lefs", "psfs", "plans", "audit",
)  # fmt: skip


class CopyError(ValueError):
    pass


@dataclass(frozen=True)
class CopiedTable:
    table: str
    rows: int
    checksum: str  # of every column of every row, as read back from the target
    matches: bool  # the target's rows and checksum are the source's


def row_counts(store: Store) -> dict[str, int]:
    return {t: int(store._one(f"SELECT count(*) FROM {t}")) for t in COPIED_TABLES}


def copy_database(source: Store, target: Store) -> list[CopiedTable]:
    """Copy every table of `source` into the empty `target`; raise CopyError when it is not empty or the
    two are at different schema versions, or when the copy does not read back the same."""
    if source.schema_version() != target.schema_version():
        raise CopyError(
            f"the source is at schema version {source.schema_version()} and the target at "
            f"{target.schema_version()}: open both with this version of hipdata first"
        )
    held = {t: n for t, n in row_counts(target).items() if n}
    if held:
        listed = ", ".join(f"{n:,} in {t}" for t, n in held.items())
        raise CopyError(f"the target already holds rows ({listed}): copy only into a new, empty database")
    columns = {t: source._columns[t] for t in COPIED_TABLES}
    with tempfile.TemporaryDirectory(prefix="hipdata-copy-") as folder:
        sent, back = os.path.join(folder, "source"), os.path.join(folder, "target")
        os.mkdir(sent), os.mkdir(back)
        source._engine.dump(columns, sent)
        version = source.data_version()
        with target._write_lock, target._engine.transaction() as cur:
            for table, names in columns.items():
                target._engine.load(cur, table, names, os.path.join(sent, f"{table}.csv"))
            cur.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", [version])
        target._engine.dump(columns, back)
        return [
            CopiedTable(table, rows, f"{checksum:032x}", (rows, checksum) == _digest(sent, table, names))
            for table, names in columns.items()
            for rows, checksum in [_digest(back, table, names)]
        ]


def _digest(folder: str, table: str, columns: list[str]) -> tuple[int, int]:
    """Rows and a checksum of a dumped table, read into the schema's own column types (so the two
    engines' spellings of the same value, t or true, agree)."""
    con = duckdb.connect()
    try:
        for script in MIGRATIONS:
            con.execute(script)
        path = os.path.join(folder, f"{table}.csv").replace("'", "''")
        con.execute(f"COPY {table} ({', '.join(columns)}) FROM '{path}' ({CSV_IN})")
        rows, total = con.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(columns)})::HUGEINT), 0) FROM {table}"
        ).fetchall()[0]
        return int(rows), int(total) % (1 << 128)
    finally:
        con.close()
