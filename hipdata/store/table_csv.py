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
    import pandas as pd


def _column(name: str, kind: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind == "BOOLEAN":
        return f"CASE WHEN {quoted} THEN 'True' WHEN NOT {quoted} THEN 'False' END AS {quoted}"
    if kind.startswith(("TIMESTAMP", "DATE")):
        return f"strftime({quoted}, '%Y-%m-%d') AS {quoted}"
    if kind in ("VARCHAR",) or kind.startswith("ENUM"):  # DuckDB quotes '' to tell it from NULL
        return f"nullif({spreadsheet_escaped(quoted + '::VARCHAR')}, '') AS {quoted}"
    return quoted


def frame_csv(frame: pd.DataFrame) -> bytes:
    """The frame as CSV bytes with a header row (list columns must be joined into text first)."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        kinds = con.execute("SELECT column_name, column_type FROM (DESCRIBE frame)").fetchall()
        select = ", ".join(_column(name, kind) for name, kind in kinds)
        with tempfile.TemporaryDirectory(prefix="hipdata-") as folder:
            path = os.path.join(folder, "table.csv")
            con.execute(f"COPY (SELECT {select} FROM frame) TO '{path}' (HEADER)")
            with open(path, "rb") as file:
                return file.read()
    finally:
        con.close()
