"""The embedded engine: one DuckDB file, opened by one process, which also reads and checks CSV files.

DuckDB lets only one process open a database file for writing: stop the app before running a CLI command
that writes to the same file (or move to PostgreSQL, see postgres_engine).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

# Weekly medians per series (see Store.weekly): patient code, measure and side enum codes in one integer,
# whole weeks since a Monday. Parameters: the patient ids in code order, their count, the as-of date.
# The live readings of the coded patients on or before a day, as (series, week) cells (see series.py),
# and each coded patient's latest reading day. Weeks count from 1900-01-01 (series.MONDAY_ZERO_DAYS), a
# Monday on or before contract.EARLIEST_DATE: every week number is >= 0, so integer division (which rounds
# toward zero in both engines) never puts a reading in the following week.
_CODES = "WITH codes AS (SELECT unnest(?::VARCHAR[]) AS patient_id, unnest(range(?)) AS code)"
SERIES_READINGS = (
    _CODES
    + """
    SELECT ((code * {measures} + enum_code(measure)) * {sides} + enum_code(side)) * {weeks}
           + (date - DATE '1900-01-01') // 7 AS cell, value
    FROM readings JOIN codes USING (patient_id) WHERE deleted_at IS NULL AND date <= ?::DATE"""
)
LAST_DAYS = (
    _CODES
    + """
    SELECT code, (max(date) - DATE '1970-01-01')::BIGINT AS day
    FROM readings JOIN codes USING (patient_id) WHERE deleted_at IS NULL AND date <= ?::DATE GROUP BY code"""
)


# How a dump is read back: exactly the CSV it was written as (no guessing, so an empty table reads too).
CSV_IN = "FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', ESCAPE '\"', AUTO_DETECT false, allow_quoted_nulls false"


class Engine:
    name = "duckdb"
    # Staged rows keep the input order in DuckDB's rowid (a table made inside a transaction numbers its rows
    # from a large offset, hence the minimum); a registered DataFrame is scanned in order.
    input_order = "rowid"
    input_position = "rowid - (SELECT min(rowid) FROM incoming) + 1"
    frame_position = "row_number() OVER ()"
    staged_columns: tuple[str, ...] = ()
    series_readings = SERIES_READINGS
    last_days = LAST_DAYS
    enum_code = "enum_code({column})"  # an enum value's position in its type, from 0

    def __init__(self, path: str):
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = duckdb.connect(path)
        self._local = threading.local()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread: DuckDB connections must not be shared between threads."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._db.cursor()
        return cur

    checker = cursor  # CSV files are read into this database's temporary tables

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on this thread's cursor (the store serialises writers within the process)."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

    def checkpoint(self) -> None:
        """Write what the log holds into the file now, on this thread, rather than when the file closes."""
        self.cursor().execute("CHECKPOINT")

    @contextmanager
    def registered(self, cur, name: str, frame: pd.DataFrame | dict, like: str | None) -> Iterator[None]:
        """A DataFrame (or a dict of numpy arrays) visible to SQL as `name` for the duration of the block
        (DuckDB reads it in place; `like` matters to PostgreSQL only)."""
        cur.register(name, frame)
        try:
            yield
        finally:
            with suppress(duckdb.Error):  # an aborted transaction refuses this too; its own error matters
                cur.unregister(name)

    def stage_readings(self, cur, frame: pd.DataFrame, columns: str) -> None:
        """Clean readings as the temporary table `incoming`, in input order."""
        with self.registered(cur, "incoming_frame", frame, "readings"):
            cur.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {columns} FROM incoming_frame")

    def stage_checked(self, checker, cur) -> None:
        """The checked file is already the temporary table `incoming` of this database."""

    @staticmethod
    def replace_table(cur, name: str, select: str, params: list | tuple = ()) -> None:
        """(Re)create the temporary table `name` from a query, which may read the old `name`."""
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", list(params))

    def dump(self, tables: dict[str, list[str]], folder: str) -> None:
        """Every row of each table as `folder/<table>.csv` (no header; NULL as an empty field, '' quoted),
        all from one snapshot."""
        with self.transaction() as cur:
            for table, columns in tables.items():
                path = _quoted(os.path.join(folder, f"{table}.csv"))
                cur.execute(
                    f"COPY (SELECT {', '.join(columns)} FROM {table}) TO '{path}' (FORMAT csv, HEADER false)"
                )

    def load(self, cur, table: str, columns: list[str], path: str) -> None:
        """Append the rows of a CSV file written by dump (either engine's) to `table`."""
        cur.execute(f"COPY {table} ({', '.join(columns)}) FROM '{_quoted(path)}' ({CSV_IN})")


def _quoted(path: str) -> str:
    return path.replace("'", "''")
