"""The readings CSV contract: its columns and limits, and the error that lists every problem of an input.

No pandas here: the `import` command checks files inside DuckDB and starts without loading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hipdata.text import counted

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("patient_id", "date", "measure", "side", "value")
CONTEXT_COLUMNS = ("method", "position", "mode", "measured_by")
OPTIONAL_COLUMNS = (*CONTEXT_COLUMNS, "note")
READING_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
PATIENT_ID_MAX = 64
EARLIEST_DATE = "1900-01-01"  # also keeps dates inside what pandas timestamps can hold
NOTE_MAX = 2000
MAX_LISTED = 200  # problems listed in one message; the count always covers all of them
MAX_KEPT = 1000  # problems a file check hands back (the Data page shows them); the count covers all

# Spreadsheet-safe CSV: a text cell that a spreadsheet would run as a formula is written with one added
# apostrophe, and so is a cell that already starts with apostrophes before such a start; reading removes
# exactly one apostrophe from a cell of that shape. So every text survives the round trip, and a cell like
# "'hello" is never touched. A formula starts (OWASP, CSV injection) with a tab or a carriage return, or
# with = + - @ or their full-width forms, after any leading whitespace, which a spreadsheet may trim.
# The whitespace is written out (what Python's str.isspace or JavaScript's trim takes off) so that Python's
# re and DuckDB's RE2 read the same class.
SPREADSHEET_BLANKS = "\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
SPREADSHEET_FORMULA = "=+\\-@\uff1d\uff0b\uff0d\uff20"  # = + - @ and ＝ ＋ － ＠
# A cell that gets (or, read back, got) one added apostrophe.
SPREADSHEET_ESCAPED = f"^'*(?:[\t\r]|[{SPREADSHEET_BLANKS}]*[{SPREADSHEET_FORMULA}])"


def spreadsheet_cell(text: str) -> str:
    """One text cell as a spreadsheet-safe CSV writes it (csv_io does whole columns at once)."""
    return "'" + text if re.match(SPREADSHEET_ESCAPED, text) else text


@dataclass(frozen=True)
class Problem:
    row: int | None  # spreadsheet row: the header is row 1, the first reading row 2; None = whole file
    column: str
    value: str
    message: str  # what is wrong and what is allowed

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.column} = {self.value!r}: {self.message}"


class ValidationError(ValueError):
    """Every problem found in one input; nothing may be written while any remain."""

    def __init__(self, problems: list[Problem], total: int | None = None, rows: int | None = None):
        """`problems` may be the first of `total` (a file check keeps MAX_KEPT), in `rows` distinct rows."""
        self.problems = problems
        self.total = len(problems) if total is None else total
        lines = [str(p) for p in problems[:MAX_LISTED]]
        if self.total > len(lines):
            lines.append(f"... and {counted(self.total - len(lines), 'more problem')}")
        if rows is None:
            rows = len({p.row for p in problems if p.row is not None})
        self.rows = rows
        head = counted(self.total, "problem") + (f" in {counted(rows, 'row')}" if rows else "")
        super().__init__(head + ":\n" + "\n".join(lines))

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # only where problems are shown: the import command runs without pandas

        return pd.DataFrame(
            [p.__dict__ for p in self.problems], columns=["row", "column", "value", "message"]
        )


def header_problems(columns: list[str]) -> list[Problem]:
    problems = [
        Problem(
            None, c, "", "required column is missing; the header must name " + ", ".join(REQUIRED_COLUMNS)
        )
        for c in REQUIRED_COLUMNS
        if c not in columns
    ]
    problems += [
        Problem(None, c, "", "unknown column; allowed columns are " + ", ".join(READING_COLUMNS))
        for c in columns
        if c not in READING_COLUMNS
    ]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    problems += [Problem(None, c, "", "column appears more than once in the header") for c in dupes]
    return problems
