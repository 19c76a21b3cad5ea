"""Tables (DataFrames) written as CSV by DuckDB's writer: several times faster than pandas' on wide tables.

Text cells are spreadsheet-safe (contract.SPREADSHEET_ESCAPED); otherwise the text matches pandas'
`to_csv`: numbers as the shortest text that reads back the same, a missing
value (None or NaN) as an empty field, an empty string unquoted, booleans as True/False, dates as
YYYY-MM-DD, LF line ends.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import duckdb

from hipdata.store.csv_file import spreadsheet_escaped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def _column(name: str, kind: str, safe: bool) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind == "BOOLEAN":
        return f"CASE WHEN {quoted} THEN 'True' WHEN NOT {quoted} THEN 'False' END AS {quoted}"
    if kind.startswith(("TIMESTAMP", "DATE")):
        return f"strftime({quoted}, '%Y-%m-%d') AS {quoted}"
    if kind in ("VARCHAR",) or kind.startswith("ENUM"):  # DuckDB quotes '' to tell it from NULL
        text = quoted + "::VARCHAR"
        return f"nullif({text if safe else spreadsheet_escaped(text)}, '') AS {quoted}"
    return quoted


def frame_csv(
    frame: pd.DataFrame | dict[str, np.ndarray],
    con: duckdb.DuckDBPyConnection | None = None,
    safe: tuple[str, ...] = (),
) -> bytes:
    """The table (a DataFrame, or a dict of numpy columns) as CSV bytes with a header row; list columns must
    be joined into text first. con: a DuckDB connection to write with (by default a new in-memory one).
    safe: text columns that never start with a formula character (catalog ids, the rules' words), written
    without the per-cell check."""
    if isinstance(frame, dict):  # numpy text arrays as objects: DuckDB would sort each one into an enum
        frame = {name: c.astype(object) if c.dtype.kind == "U" else c for name, c in frame.items()}
    own = con is None
    con = duckdb.connect() if own else con
    try:
        con.register("table_for_csv", frame)
        kinds = con.execute("SELECT column_name, column_type FROM (DESCRIBE table_for_csv)").fetchall()
        select = ", ".join(_column(name, kind, name in safe) for name, kind in kinds)
        with tempfile.TemporaryDirectory(prefix="hipdata-") as folder:
            path = os.path.join(folder, "table.csv")
            con.execute(f"COPY (SELECT {select} FROM table_for_csv) TO '{path}' (HEADER)")
            with open(path, "rb") as file:
                return file.read()
    finally:
        if own:
            con.close()
        else:
            con.unregister("table_for_csv")
