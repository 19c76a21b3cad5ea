"""A readings CSV file into the store: the header is checked here, every row inside DuckDB.

The `import` command and the Data page's upload take this one path, so they apply the same rules with the
same messages. No pandas here: the `import` command starts without loading it.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hipdata.contract import Problem, ValidationError, header_problems, spreadsheet_cell


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


def checked_header(path: Path) -> list[str]:
    header = read_header(path)
    problems = header_problems(header)
    if problems:
        raise ValidationError(problems)
    return header


def import_file(store, actor, path: Path, today=None, progress=lambda stage: None):
    """Import a readings CSV straight from disk: checked and written inside the database, all or nothing."""
    return store.import_csv(actor, path, checked_header(path), today, progress)


def check_file(store, path: Path, today=None, problems_to: Path | None = None):
    """Check a readings CSV as import_file would, writing nothing (see Store.check_csv)."""
    return store.check_csv(path, checked_header(path), today, problems_to)


@contextmanager
def saved(data: bytes) -> Iterator[Path]:
    """Uploaded bytes as a temporary file, for DuckDB to read; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hipdata-upload-") as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(data)
        yield path


def problems_csv(store, data: bytes, today=None) -> bytes:
    """Every problem of a readings CSV (as bytes) as a spreadsheet-safe CSV: row, column, value, message."""
    with saved(data) as path:
        out = path.with_name("problems.csv")
        try:
            check_file(store, path, today, problems_to=out)
        except ValidationError as error:
            if out.exists():
                return out.read_bytes()
            text = io.StringIO()  # a header or file problem: the error holds every one of them
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(["row", "column", "value", "message"])
            writer.writerows(
                ["" if p.row is None else p.row, *map(spreadsheet_cell, (p.column, p.value, p.message))]
                for p in error.problems
            )
            return text.getvalue().encode("utf-8")
    return b"row,column,value,message\r\n"
