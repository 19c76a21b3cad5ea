"""The server engine: a PostgreSQL database that many app servers and command-line runs share.

The store's SQL is written once, in the dialect both engines read; what PostgreSQL spells differently is
translated or defined here: `?` placeholders become psycopg's `%s`, DOUBLE becomes DOUBLE PRECISION, a
column's change of type says how to cast it, and the
few statements that differ (temporary tables replaced in place, the weekly medians) have their own text.

Writers are serialised across every process by a transaction-level advisory lock on the schema: ids taken
as max(id) + 1, the data version and the import's dedupe rule hold however many servers write at once, and a
killed writer's lock ends with its transaction. Readers never wait for it.

CSV files are still read and checked by DuckDB, in an in-memory database per thread; checked rows (and
DataFrames) reach PostgreSQL through COPY into a temporary staging table, inside the write's transaction.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb
import psycopg
from psycopg_pool import ConnectionPool

from hipdata.store.schema import ENUM_DEFINITIONS

if TYPE_CHECKING:
    import pandas as pd

URL_SCHEMES = ("postgresql://", "postgres://")
_DOUBLE = re.compile(r"\bDOUBLE\b(?!\s+PRECISION)")
# A column changed to an enum type: PostgreSQL casts its text only when told how (DuckDB does it itself, and
# replays its log of the change only without the clause).
_ALTER_TYPE = re.compile(r"ALTER TABLE (\w+) ALTER (\w+) TYPE (\w+);")
_DATES = {1082, 1114, 1184}  # date, timestamp, timestamptz type oids: DataFrame columns of datetime64
_NUMBERS = {
    20,
    21,
    23,
    700,
    701,
}  # integers and floats: numeric columns, a NULL as NaN (as DuckDB gives them)
_CHUNK = 1 << 20
# Column types of staged numpy arrays (see Engine._stage); any other is staged as text.
_PG_TYPES = {"BIGINT": "BIGINT", "INTEGER": "BIGINT", "UBIGINT": "NUMERIC", "DOUBLE": "DOUBLE PRECISION"}

# As in duckdb_engine: readings as (series, week) cells, and each coded patient's latest reading day.
_CODES = "WITH codes AS (SELECT unnest(?::VARCHAR[]) AS patient_id, generate_series(0, ? - 1) AS code)"
SERIES_READINGS = (
    _CODES
    + """
    SELECT ((code * {measures} + array_position(enum_range(NULL::measure_id), measure) - 1) * {sides}
             + array_position(enum_range(NULL::side_id), side) - 1) * {weeks}
           + (date - DATE '1900-01-01') / 7 AS cell, value
    FROM readings JOIN codes USING (patient_id) WHERE deleted_at IS NULL AND date <= ?::DATE"""
)
LAST_DAYS = (
    _CODES
    + """
    SELECT code, max(date) - DATE '1970-01-01' AS day
    FROM readings JOIN codes USING (patient_id) WHERE deleted_at IS NULL AND date <= ?::DATE GROUP BY code"""
)


def is_url(target: str) -> bool:
    return str(target).startswith(URL_SCHEMES)


def _translated(sql: str, with_params: bool) -> str:
    sql = _ALTER_TYPE.sub(
        r"ALTER TABLE \1 ALTER \2 TYPE \3 USING \2::\3;", _DOUBLE.sub("DOUBLE PRECISION", sql)
    )
    return sql.replace("%", "%%").replace("?", "%s") if with_params else sql


class _Result:
    """A statement's rows, read in full (the connection goes back to the pool at once)."""

    def __init__(self, cur: psycopg.Cursor):
        self.description = [(c.name, c.type_code) for c in cur.description] if cur.description else None
        self._rows = cur.fetchall() if cur.description else []

    def fetchall(self) -> list[tuple]:
        return self._rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def df(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame.from_records(self._rows, columns=[name for name, _ in self.description])
        for name, oid in self.description:
            if oid in _DATES:
                frame[name] = pd.to_datetime(frame[name])
            elif oid in _NUMBERS and frame[name].dtype == object:
                frame[name] = pd.to_numeric(frame[name])
        return frame

    def fetchnumpy(self) -> dict:
        import numpy as np

        columns = list(zip(*self._rows, strict=True)) or [()] * len(self.description)
        return {name: np.asarray(col) for (name, _), col in zip(self.description, columns, strict=True)}


class _Cursor:
    """One connection behind the part of DuckDB's cursor interface that the store uses."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: list | tuple = ()) -> _Result:
        with self.conn.cursor() as cur:
            cur.execute(_translated(sql, bool(params)), list(params) if params else None)
            return _Result(cur)


class _PooledReader:
    """Reads outside any transaction: each statement borrows a connection for as long as it runs."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    def execute(self, sql: str, params: list | tuple = ()) -> _Result:
        with self._pool.connection() as conn:
            return _Cursor(conn).execute(sql, params)


class Engine:
    name = "postgres"
    # Staged rows carry their input position in `ord`, numbered by COPY.
    input_order = "ord"
    input_position = "row_number() OVER (ORDER BY ord)"
    frame_position = "row_number() OVER (ORDER BY ord)"
    staged_columns: tuple[str, ...] = ("ord",)
    series_readings = SERIES_READINGS
    last_days = LAST_DAYS
    enum_code = "(array_position(enum_range(NULL::{type}), {column}) - 1)"

    def __init__(self, url: str, pool_size: int = 8):
        psycopg.connect(url, connect_timeout=10).close()  # an unreachable server says why, at once
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=True,
            kwargs={"autocommit": True, "prepare_threshold": None},
        )  # fmt: skip
        self._reader = _PooledReader(self._pool)
        self._local = threading.local()

    def cursor(self) -> _PooledReader:
        return self._reader

    def checker(self) -> duckdb.DuckDBPyConnection:
        """This thread's in-memory DuckDB, which reads and checks CSV files (with the catalog's enum types)."""
        con = getattr(self._local, "checker", None)
        if con is None:
            # no progress bar: a long check would draw one into the command's output
            con = self._local.checker = duckdb.connect()
            con.execute("SET enable_progress_bar = false")
            for definition in ENUM_DEFINITIONS:
                con.execute(definition)
        return con

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        """One transaction holding the schema's write lock until it commits or rolls back."""
        with self._pool.connection() as conn, conn.transaction():
            cur = _Cursor(conn)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
            yield cur

    def close(self) -> None:
        self._pool.close()

    def checkpoint(self) -> None:
        """Nothing to do: the server writes its log out itself."""

    # ---- staging: rows from DuckDB (a checked file, a DataFrame) into a temporary table, by COPY -------

    def _stage(self, cur: _Cursor, name: str, like: str, select: str, source) -> None:
        """The rows of `select` on the DuckDB connection `source` as the temporary table `name`, its
        columns typed as the same columns of the table `like` (None: as DuckDB typed them), with their input
        position in `ord`."""
        with tempfile.TemporaryDirectory(prefix="hipdata-") as folder:
            path = os.path.join(folder, "rows.csv")
            relation = source.sql(select)
            columns = relation.columns
            relation.write_csv(path, header=False)
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            if like is None:  # numbers and text, typed as DuckDB typed them
                typed = (
                    f"{c} {_PG_TYPES.get(str(t), 'VARCHAR')}"
                    for c, t in zip(columns, relation.types, strict=True)
                )
                cur.execute(f"CREATE TEMP TABLE {name} ({', '.join(typed)})")
            else:
                cur.execute(
                    f"CREATE TEMP TABLE {name} AS SELECT {', '.join(columns)} FROM {like} WITH NO DATA"
                )
            cur.execute(f"ALTER TABLE {name} ADD COLUMN ord BIGINT GENERATED ALWAYS AS IDENTITY")
            self._copy_in(cur, name, columns, path)

    @staticmethod
    def _copy_in(cur: _Cursor, table: str, columns: list[str], path: str) -> None:
        with (
            cur.conn.cursor() as pg,
            pg.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy,
            open(path, "rb") as file,
        ):
            while chunk := file.read(_CHUNK):
                copy.write(chunk)

    @contextmanager
    def registered(
        self, cur: _Cursor, name: str, frame: pd.DataFrame | dict, like: str | None
    ) -> Iterator[None]:
        """A DataFrame (or a dict of numpy arrays) as the temporary table `name` for the duration of the
        block, its columns typed as those of the table `like` (None: as DuckDB types them)."""
        checker = self.checker()
        checker.register("staged_frame", frame)
        try:
            self._stage(cur, name, like, "SELECT * FROM staged_frame", checker)
        finally:
            checker.unregister("staged_frame")
        yield
        cur.execute(f"DROP TABLE IF EXISTS {name}")

    def stage_readings(self, cur: _Cursor, frame: pd.DataFrame, columns: str) -> None:
        checker = self.checker()
        checker.register("incoming_frame", frame)
        try:
            self._stage(cur, "incoming", "readings", f"SELECT {columns} FROM incoming_frame", checker)
        finally:
            checker.unregister("incoming_frame")

    def stage_checked(self, checker: duckdb.DuckDBPyConnection, cur: _Cursor) -> None:
        """Move the checked file from the checker's `incoming` into this transaction's `incoming`."""
        try:
            self._stage(cur, "incoming", "readings", "SELECT * FROM incoming", checker)
        finally:
            checker.execute("DROP TABLE IF EXISTS incoming")

    @staticmethod
    def replace_table(cur: _Cursor, name: str, select: str, params: list | tuple = ()) -> None:
        """(Re)create the temporary table `name` from a query, which may read the old `name`."""
        cur.execute(f"DROP TABLE IF EXISTS {name}_next")
        cur.execute(f"CREATE TEMP TABLE {name}_next AS {select}", params)
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"ALTER TABLE {name}_next RENAME TO {name}")

    # ---- whole tables, for copying a database ------------------------------------------------------

    def dump(self, tables: dict[str, list[str]], folder: str) -> None:
        """Every row of each table as `folder/<table>.csv` (no header; NULL as an empty field, '' quoted),
        all from one snapshot, while other servers go on writing."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as pg:
            pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for table, columns in tables.items():
                select = f"COPY (SELECT {', '.join(columns)} FROM {table}) TO STDOUT (FORMAT csv)"
                with pg.copy(select) as copy, open(os.path.join(folder, f"{table}.csv"), "wb") as file:
                    for chunk in copy:
                        file.write(chunk)

    def load(self, cur: _Cursor, table: str, columns: list[str], path: str) -> None:
        """Append the rows of a CSV file written by dump (either engine's) to `table`."""
        self._copy_in(cur, table, columns, path)
