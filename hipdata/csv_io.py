"""Readings CSV with pandas: the upload reader (checked in chunks, for the Data page) and the export writer."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable
from typing import BinaryIO

import pandas as pd

from hipdata.contract import READING_COLUMNS, Problem, ValidationError, header_problems
from hipdata.validate import clean_readings

CHUNK_ROWS = 250_000


def read_readings(source: BinaryIO, progress: Callable[[float], None] | None = None) -> pd.DataFrame:
    """Validate every row of a readings CSV; raise one ValidationError naming every bad row of the file."""
    source.seek(0, io.SEEK_END)
    size = max(source.tell(), 1)
    source.seek(0)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    clean, problems, first_row = [], [], 2
    try:
        header = next(csv.reader([text.readline()]), [])
        text.seek(0)
        if len(set(header)) < len(header):  # pandas would silently rename a repeated column to "name.1"
            raise ValidationError(header_problems(header))
        with warnings.catch_warnings():
            # index_col=False: a first row with extra fields must not turn the first column into an index;
            # pandas then warns that it drops data, and here that warning is an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            chunks = pd.read_csv(
                text, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS, index_col=False
            )
            for chunk in chunks:
                try:  # a row with fewer fields reads as empty fields, which the rules then name
                    clean.append(clean_readings(chunk, first_row=first_row))
                except ValidationError as error:
                    if any(p.row is None for p in error.problems):
                        raise  # a header problem: no row can be read
                    problems += error.problems
                first_row += len(chunk)
                if progress:
                    progress(min(source.tell() / size, 1.0))
    except UnicodeDecodeError:
        raise ValidationError(
            [Problem(None, "file", "", "is not UTF-8 text; save it as CSV UTF-8")]
        ) from None
    except pd.errors.EmptyDataError:
        raise ValidationError([Problem(None, "file", "", "is empty; it needs a header row")]) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
        source.seek(0)
        found = _structure_problems(source)
        raise ValidationError(
            found or [Problem(None, "file", "", f"is not a readable CSV: {error}")]
        ) from None
    if problems:
        raise ValidationError(problems)
    if not clean:  # a header and no rows
        return clean_readings(pd.DataFrame(columns=list(READING_COLUMNS), dtype=str))
    return pd.concat(clean, ignore_index=True)


def _structure_problems(source: BinaryIO) -> list[Problem]:
    """Rows with more fields than the header (read only when pandas could not parse the file)."""
    rows = csv.reader(io.TextIOWrapper(source, encoding="utf-8-sig", newline=""))
    width = len(next(rows, []))
    return [
        Problem(number, "row", ",".join(fields)[:80], f"has {len(fields)} fields; the header has {width}")
        for number, fields in enumerate(rows, start=2)
        if len(fields) > width  # fewer fields read as empty ones, which the rules name
    ]


def readings_csv(frame: pd.DataFrame) -> bytes:
    """Readings as CSV bytes; default float text is the shortest that reads back to the same number."""
    out = frame.loc[:, list(READING_COLUMNS)].assign(
        date=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    )
    # CRLF line ends (RFC 4180) also make the writer quote a bare carriage return inside a note.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
