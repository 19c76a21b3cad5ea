"""csv_io: reading a readings CSV in chunks (row numbers, encodings, empty files) and the lossless export."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from hipdata import csv_io
from hipdata.contract import READING_COLUMNS, ValidationError

HEADER = "patient_id,date,measure,side,value"
GOOD = "P1,2020-01-06,hip_flexion,left,100"


def read(content: str | bytes, **kwargs) -> pd.DataFrame:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return csv_io.read_readings(io.BytesIO(data), **kwargs)


def refused(content: str | bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        read(content)
    return info.value


def test_reads_a_good_file():
    frame = read(f"{HEADER}\n{GOOD}\nP2,2020-01-07,fingertip_to_floor,,-3.5\n")
    assert list(frame.columns) == list(READING_COLUMNS)
    assert list(frame["patient_id"]) == ["P1", "P2"]
    assert list(frame["value"]) == [100.0, -3.5]
    assert list(frame["side"]) == ["left", ""]
    assert frame["date"].tolist() == [pd.Timestamp("2020-01-06"), pd.Timestamp("2020-01-07")]


def test_reads_from_a_file_on_disk(csv_file):
    path = csv_file(f"{HEADER},note\n{GOOD},from disk\n")
    with open(path, "rb") as handle:
        frame = csv_io.read_readings(handle)
    assert frame.loc[0, "note"] == "from disk"


def test_na_like_text_is_kept_as_text():
    frame = read(
        f"{HEADER},note\nNA,2020-01-06,hip_flexion,left,1,NULL\nnan,2020-01-06,hip_flexion,left,2,N/A\n"
    )
    assert list(frame["patient_id"]) == ["NA", "nan"]
    assert list(frame["note"]) == ["NULL", "N/A"]


def test_windows_line_endings():
    frame = read(f"{HEADER}\r\n{GOOD}\r\n{GOOD}\r\n")
    assert len(frame) == 2 and frame.loc[1, "value"] == 100.0


def test_bom_accepted():
    frame = read(b"\xef\xbb\xbf" + f"{HEADER}\n{GOOD}\n".encode())
    assert list(frame.columns)[0] == "patient_id" and frame.loc[0, "patient_id"] == "P1"


def test_non_utf8_refused():
    error = refused(f"{HEADER},note\n{GOOD},café\n".encode("latin-1"))
    assert [(p.row, p.column) for p in error.problems] == [(None, "file")]
    assert "not UTF-8" in error.problems[0].message


def test_utf16_refused():
    error = refused(f"{HEADER}\n{GOOD}\n".encode("utf-16"))
    assert error.problems[0].column == "file"


@pytest.mark.parametrize("content", [b"", b"\n", b"\n\n\n"])
def test_empty_file_refused(content):
    error = refused(content)
    assert [(p.row, p.column) for p in error.problems] == [(None, "file")]
    assert "empty" in error.problems[0].message


def test_header_only_gives_no_readings():
    frame = read(f"{HEADER}\n")
    assert len(frame) == 0
    assert list(frame.columns) == list(READING_COLUMNS)
    assert frame["value"].dtype == "float64"


def test_header_only_with_every_column():
    assert len(read(",".join(READING_COLUMNS) + "\n")) == 0


def test_header_problems_reported_without_rows():
    error = refused(f"patient_id,date,measure,side,valu,comment\n{GOOD}\n")
    assert {(p.row, p.column) for p in error.problems} == {(None, "value"), (None, "valu"), (None, "comment")}


def test_duplicated_header_column_named_as_such():
    # pandas renames a repeated column to "value.1"; the error must still say what is wrong.
    error = refused(f"{HEADER},value\n{GOOD},5\n")
    assert [(p.column, p.message) for p in error.problems] == [
        ("value", "column appears more than once in the header")
    ]


def test_missing_header():
    error = refused(f"{GOOD}\n{GOOD}\n")
    assert all(p.row is None for p in error.problems)
    assert "patient_id" in {p.column for p in error.problems}


def test_short_row_reports_its_missing_fields():
    error = refused(f"{HEADER}\n{GOOD}\nP1,2020-01-06,hip_flexion\n")
    assert {(p.row, p.column) for p in error.problems} == {(3, "side"), (3, "value")}


def test_unclosed_quote_is_reported_not_raised():
    error = refused(f'{HEADER},note\n{GOOD},"never closed\n')
    assert error.problems, "a parse problem is a ValidationError, never a crash"


def test_row_numbers_follow_the_file_lines():
    lines = [GOOD, "P1,2020-01-06,hip_flexion,left,999", GOOD, "P1,2020-01-06,hip_flexion,right,abc"]
    error = refused("\n".join([HEADER, *lines]) + "\n")
    assert [(p.row, p.column, p.value) for p in error.problems] == [(3, "value", "999"), (5, "value", "abc")]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 7])
def test_chunked_reading_keeps_row_numbers_across_boundaries(monkeypatch, chunk_rows):
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", chunk_rows)
    bad_rows = {3, 4, 6, 9}  # spreadsheet rows: header = 1
    lines = [
        "P1,2020-01-06,hip_flexion,left,999" if row in bad_rows else f"P1,2020-01-06,hip_flexion,left,{row}"
        for row in range(2, 10)
    ]
    error = refused("\n".join([HEADER, *lines]) + "\n")
    assert [p.row for p in error.problems] == sorted(bad_rows)
    assert all(p.column == "value" and p.value == "999" for p in error.problems)


def test_chunked_reading_keeps_every_row_in_order(monkeypatch):
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 3)
    lines = [f"P{i % 3},2020-01-06,hip_flexion,left,{i}" for i in range(10)]
    progress = []
    frame = read("\n".join([HEADER, *lines]) + "\n", progress=progress.append)
    assert list(frame["value"]) == [float(i) for i in range(10)]
    assert list(frame.index) == list(range(10))
    assert len(progress) == 4  # one call per chunk
    assert progress == sorted(progress) and 0 < progress[-1] <= 1.0


def test_chunked_quoted_newline_counts_as_one_row(monkeypatch):
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    content = (
        f"{HEADER},note\n"
        f'{GOOD},"two\nlines"\n'  # row 2 spans two lines of text
        f"{GOOD},\n"
        "P1,2020-01-06,hip_flexion,left,-5,\n"  # row 4
    )
    error = refused(content)
    assert [(p.row, p.value) for p in error.problems] == [(4, "-5")]


def test_header_problem_in_a_chunked_file_is_reported_once(monkeypatch):
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 1)
    error = refused(f"{HEADER},colour\n{GOOD},red\n{GOOD},blue\n")
    assert [(p.row, p.column) for p in error.problems] == [(None, "colour")]


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


def test_export_then_import_round_trip_is_exact():
    original = awkward_frame()
    data = csv_io.readings_csv(original)
    back = csv_io.read_readings(io.BytesIO(data))
    assert list(back.columns) == list(READING_COLUMNS)
    # Bit-for-bit: the float text is the shortest that reads back to the same number.
    assert np.array_equal(
        back["value"].to_numpy().view(np.int64), original["value"].to_numpy().view(np.int64)
    )
    pd.testing.assert_frame_equal(back, original, check_dtype=False)
    assert back["date"].dtype == "datetime64[ns]"
    for column in ("method", "position", "mode", "measured_by"):
        assert [v is None for v in back[column]] == [v is None for v in original[column]]


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


def test_export_of_nothing_is_a_header_that_imports_as_nothing():
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in READING_COLUMNS}).assign(
        date=pd.Series(dtype="datetime64[ns]"), value=pd.Series(dtype="float64")
    )
    data = csv_io.readings_csv(empty)
    assert data == (",".join(READING_COLUMNS) + "\r\n").encode()
    assert len(csv_io.read_readings(io.BytesIO(data))) == 0
