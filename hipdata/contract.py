"""The readings CSV contract: its columns and limits, and the error that lists every problem of an input.

No pandas here: the `import` command checks files inside DuckDB and starts without loading it.
"""

from __future__ import annotations

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

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [str(p) for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"... and {len(problems) - MAX_LISTED} more problems")
        rows = {p.row for p in problems if p.row is not None}
        head = counted(len(problems), "problem") + (f" in {counted(len(rows), 'row')}" if rows else "")
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
