"""A readings CSV file on disk into the store: the header is checked here, every row inside DuckDB.

Kept apart from csv_io (the pandas reader for uploads and the writer for exports), so the `import`
command starts without loading pandas.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hipdata.contract import Problem, ValidationError, header_problems


def read_header(path: Path) -> list[str]:
    """The header row of a CSV file, or a ValidationError when there is none or it is not UTF-8."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise ValidationError(
            [Problem(None, "file", "", "is not UTF-8 text; save it as CSV UTF-8")]
        ) from None
    if not header:
        raise ValidationError([Problem(None, "file", "", "is empty; it needs a header row")])
    return header


def import_file(store, actor, path: Path, today=None, progress=lambda stage: None):
    """Import a readings CSV straight from disk: checked and written inside the database, all or nothing."""
    header = read_header(path)
    problems = header_problems(header)
    if problems:
        raise ValidationError(problems)
    return store.import_csv(actor, path, header, today, progress)
