"""The file importer checks rows inside DuckDB; the form checks them with pandas. Both must give the same answers."""

from __future__ import annotations

import csv
import itertools
import json
import random
from datetime import date

import pandas as pd
import pytest

from hipdata import catalog
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import READING_COLUMNS, ValidationError
from hipdata.file_import import import_file
from hipdata.store import AccessDenied, Store, csv_file
from hipdata.validate import clean_readings

TODAY = date(2026, 3, 1)
ODD = {
    "patient_id": ["P1", "", "   ", "x" * 64, "x" * 65, "Zoë 🦵", "'; DROP TABLE readings; --", "<b>x</b>"],
    "date": [
        "2026-01-05",
        "2026-02-30",
        "2026/01/05",
        "05-01-2026",
        "",
        " 2026-01-06 ",
        "2026-03-02",
        "2026-03-01",
        "1500-01-01",
        "0026-01-05",
        "1900-01-01",
        "2026-1-5",
        "26-01-05",
        "2026-01-05T00:00:00",
        "2026-01-05 ",
    ],
    "measure": [
        "hip_flexion",
        "pain_low_back",
        "fingertip_to_floor",
        "pain_hip",
        "hip_extension",
        "nope",
        "",
    ],
    "side": ["left", "right", "", "Left", " left", "both"],
    "value": [
        "35",
        "-12.5",
        "3.5",
        "1e2",
        "+5",
        "nan",
        "inf",
        "1e400",
        "",
        "abc",
        "0",
        "160",
        "160.0001",
        " 7 ",
        "-40",
        "1_000",
        "0x10",
        ".5",
        "5.",
        "1,5",
        "Infinity",
        "-inf",
        "-0",
        "1.5e",
        "1E1",
        "١٢",
    ],
    "method": ["", "goniometer", "phone_app", "ruler"],
    "position": ["", "seated", "upside_down"],
    "mode": ["", "active", "Active"],
    "measured_by": ["", "self", "robot"],
    "note": ["", "a,b", 'say "hi"', "x" * 2001, "line\nbreak"],
}


def rows(n: int, seed: int) -> list[dict[str, str]]:
    pick = random.Random(seed)
    return [{column: pick.choice(values) for column, values in ODD.items()} for _ in range(n)]


def pandas_answer(raw: list[dict[str, str]]):
    try:
        return clean_readings(pd.DataFrame(raw, columns=list(READING_COLUMNS), dtype=str), today=TODAY)
    except ValidationError as error:
        return [(p.row, p.column, p.value, p.message) for p in error.problems]


def write_rows(path, raw: list[dict[str, str]]):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(READING_COLUMNS))
        writer.writeheader()
        writer.writerows(raw)
    return path


def sql_answer(raw: list[dict[str, str]], tmp_path, new_db, name: str = "rules", stored_first: bool = False):
    """The file's problems, or what the store holds after importing it. With stored_first, the store already
    holds another patient's reading (left out of the answer): the import then stages its rows to deduplicate
    them, where into an empty store it writes them as it reads them."""
    path = write_rows(tmp_path / f"{name}.csv", raw)
    store = Store(new_db(name))
    if stored_first:
        import_file(
            store, SYSTEM, write_rows(tmp_path / "first.csv", [{**BASE, "patient_id": "FIRST"}]), TODAY
        )
    try:
        import_file(store, SYSTEM, path, today=TODAY)
    except ValidationError as error:
        return [(p.row, p.column, p.value, p.message) for p in error.problems]
    finally:
        answer = store.export_readings(SYSTEM)
        answer = answer[answer["patient_id"] != "FIRST"] if stored_first else answer
        store.close()
    return answer


def plain(answer) -> list:
    """Problems as they are; stored or cleaned readings as plain rows with None for missing values."""
    if isinstance(answer, list):
        return answer
    out = answer.astype({"date": "datetime64[ns]"}).astype(object)
    rows = out.where(out.notna(), None).values.tolist()
    return sorted(rows, key=repr)  # the store lists readings by patient and date, not in file order


BASE = {"patient_id": "P1", "date": "2026-01-05", "measure": "hip_flexion", "side": "left", "value": "35",
        "method": "", "position": "", "mode": "", "measured_by": "", "note": ""}  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_file_and_form_rules_find_the_same_problems(seed, tmp_path, new_db):
    raw = rows(150, seed)
    expected, found = pandas_answer(raw), sql_answer(raw, tmp_path, new_db)
    assert isinstance(expected, list) and len(expected) > 50
    assert found == expected


def test_every_odd_value_on_its_own_gets_the_same_verdict(tmp_path, new_db):
    raw = [{**BASE, column: value} for column, values in ODD.items() for value in values]
    raw += [{**BASE, "measure": m, "side": s} for m, s in itertools.product(ODD["measure"], ODD["side"])]
    assert sql_answer(raw, tmp_path, new_db) == pandas_answer(raw)


@pytest.mark.parametrize("stored_first", [False, True], ids=["empty store", "store with readings"])
@pytest.mark.parametrize(
    ("column", "value"), [(column, value) for column, values in ODD.items() for value in values]
)
def test_a_file_with_one_odd_value_gets_the_same_verdict(tmp_path, new_db, column, value, stored_first):
    """One odd cell in an otherwise clean file: the typed pass takes it, or hands it to the text pass."""
    raw = [{**BASE, "side": "right", "method": "goniometer"}, {**BASE, column: value}]
    assert plain(sql_answer(raw, tmp_path, new_db, stored_first=stored_first)) == plain(pandas_answer(raw))


def test_a_clean_file_is_read_once_and_typed_by_duckdb(tmp_path, new_db, monkeypatch):
    def text_pass(*args):
        raise AssertionError("a clean file must not need the text pass")

    monkeypatch.setattr(csv_file, "read_text", text_pass)
    raw = [
        {**BASE, "method": "phone_app", "position": "supine", "mode": "active", "measured_by": "self",
         "note": 'a, "b"\nc'},
        {**BASE, "measure": "pain_low_back", "side": "", "value": "3", "date": "2026-03-01"},
        {**BASE, "patient_id": "Zoë 🦵", "value": "-0.5", "date": "1900-01-01", "measure": "hip_extension"},
    ]  # fmt: skip
    stored = sql_answer(raw, tmp_path, new_db)
    assert plain(stored) == plain(pandas_answer(raw)) and len(stored) == 3


def test_a_spreadsheet_export_with_bom_and_crlf_is_typed_by_duckdb_too(tmp_path, new_db, monkeypatch):
    monkeypatch.setattr(csv_file, "read_text", lambda *args: pytest.fail("needed the text pass"))
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"\xef\xbb\xbfpatient_id,date,measure,side,value,note\r\n"
        b'P1,2026-01-05,hip_flexion,left,30,"two\r\nlines"\r\nP1,2026-01-05,pain_low_back,,3,\r\n'
    )
    store = Store(new_db("excel"))
    assert import_file(store, SYSTEM, path, today=TODAY).added == 2
    stored = store.export_readings(SYSTEM)
    assert stored[["measure", "side", "value"]].values.tolist() == [
        ["hip_flexion", "left", 30.0],
        ["pain_low_back", "", 3.0],
    ]
    assert stored["note"].iloc[0] == "two\r\nlines"


def test_a_file_DuckDB_cannot_type_as_written_is_still_imported_by_the_rules(tmp_path, new_db):
    raw = [{**BASE, "side": " left ", "value": " 35 ", "date": " 2026-01-05", "method": "goniometer "}]
    stored = sql_answer(raw, tmp_path, new_db)
    assert plain(stored) == plain(pandas_answer(raw))
    assert stored[["side", "value", "method"]].values.tolist() == [["left", 35.0, "goniometer"]]


def test_clean_rows_are_stored_exactly_as_the_form_would_clean_them(tmp_path, new_db):
    raw = [
        {"patient_id": " P 1 ", "date": " 2026-01-05 ", "measure": " pain_low_back ", "side": "", "value": " 3 ",
         "method": " goniometer ", "position": "", "mode": "", "measured_by": "self", "note": " keep  spaces "},
        {"patient_id": "P2", "date": "2026-01-06", "measure": "hip_extension", "side": "right", "value": "-12.25",
         "method": "", "position": "prone", "mode": "passive", "measured_by": "", "note": "a,\"b\"\nc"},
    ]  # fmt: skip
    assert plain(sql_answer(raw, tmp_path, new_db)) == plain(pandas_answer(raw))


def write_text(tmp_path, text: str):
    path = tmp_path / "structure.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of_both(
    tmp_path, new_db, body: str, header: str = "patient_id,date,measure,side,value", end: str = "\n"
):
    """The problems the Data page's check and the `import` command find in one file; neither writes."""
    from hipdata.file_import import check_file

    path = write_text(tmp_path, header + end + body)
    store = Store(new_db("structure"))
    with pytest.raises(ValidationError) as by_page:
        check_file(store, path, today=TODAY)
    with pytest.raises(ValidationError) as by_file:
        import_file(store, SYSTEM, path, today=TODAY)
    assert store.export_readings(SYSTEM).empty
    return by_page.value.problems, by_file.value.problems


@pytest.mark.parametrize(
    "body",
    [
        "P1,2026-01-05,hip_flexion,left,30\nP1,2026-01-05,hip_flexion,left,30,extra\n",
        'P1,2026-01-05,hip_flexion,left,30,"a, quoted, note",x\n',
    ],
)
def test_rows_with_more_fields_than_the_header_are_named_the_same_way(tmp_path, new_db, body):
    by_page, by_file = problems_of_both(tmp_path, new_db, body)
    assert by_page == by_file
    assert [p.row for p in by_file] == [body.count("\n") + 1] and "the header has 5" in by_file[0].message


def test_a_row_with_too_few_fields_is_refused_by_both_with_the_same_message(tmp_path, new_db):
    by_page, by_file = problems_of_both(
        tmp_path, new_db, "P1,2026-01-05,hip_flexion,left,30\nP1,2026-01-05,hip_flexion\n"
    )
    assert by_page == by_file
    assert [(p.row, p.column, p.value, p.message) for p in by_file] == [
        (3, "row", "P1,2026-01-05,hip_flexion", "has 3 fields; the header has 5")
    ]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_row_without_its_optional_note_field_is_refused_by_both(tmp_path, new_db, line_end):
    """Only the last, optional field missing: still a row that does not match its header."""
    body = line_end.join(
        ['P1,2026-01-05,hip_flexion,left,30,"a, b"', "P1,2026-01-05,hip_flexion,left,31", ""]
    )
    by_page, by_file = problems_of_both(
        tmp_path, new_db, body, "patient_id,date,measure,side,value,note", line_end
    )
    assert by_page == by_file
    assert [str(p) for p in by_file] == [
        "row 3, row = 'P1,2026-01-05,hip_flexion,left,31': has 5 fields; the header has 6"
    ]


def test_a_file_import_reports_its_stages(tmp_path, new_db):
    path = write_text(tmp_path, "patient_id,date,measure,side,value\nP1,2026-01-05,hip_flexion,left,30\n")
    stages = []
    result = import_file(Store(new_db("stages")), SYSTEM, path, today=TODAY, progress=stages.append)
    assert stages == ["checking", "writing", "saving"] and result.added == 1


def test_the_sample_file_in_data_imports_cleanly(new_db):
    from pathlib import Path

    sample = Path(__file__).parents[1] / "data" / "sample-readings.csv"
    result = import_file(Store(new_db("sample")), SYSTEM, sample)
    assert result.added == sum(1 for _ in sample.open()) - 1 and result.patients_created == 3


@pytest.mark.parametrize("stray", ["", " "])
def test_both_passes_take_off_exactly_the_apostrophe_an_export_added(tmp_path, new_db, monkeypatch, stray):
    """A clean file (typed by DuckDB) and one with a stray space (read as text) decode the same way."""
    if not stray:
        monkeypatch.setattr(csv_file, "read_text", lambda *args: pytest.fail("needed the text pass"))
    path = write_text(
        tmp_path,
        "patient_id,date,measure,side,value,note\n"
        f"'=1+2,2026-01-05,hip_flexion,left,{stray}30,'@SUM(1)\n"
        "''-x,2026-01-05,hip_flexion,left,31,'plain\n"
        "\"'\tP3\",2026-01-05,hip_extension,left,-1,''=\n"
        "' =P4,2026-01-05,hip_flexion,left,32,'\u3000\uff0bx\n"
        "\uff1dP5,2026-01-05,hip_flexion,left,33,' plain\n",
    )
    store = Store(new_db("decode"))
    import_file(store, SYSTEM, path, today=TODAY)
    stored = store.readings(SYSTEM).sort_values("id")
    assert stored["patient_id"].tolist() == ["=1+2", "'-x", "\tP3", " =P4", "\uff1dP5"]
    assert stored["note"].tolist() == ["@SUM(1)", "'plain", "'=", "\u3000\uff0bx", "' plain"]
    assert stored["value"].tolist() == [30.0, 31.0, -1.0, 32.0, 33.0]


def shuffled_rows(n: int, seed: int) -> list[dict[str, str]]:
    """n clean readings of 40 patients, in no particular order, each with its position in the note."""
    pick = random.Random(seed)
    return [
        {**BASE, "patient_id": f"P{pick.randrange(40)}", "date": f"2025-{pick.randrange(1, 13):02}-{pick.randrange(1, 29):02}",
         "value": str(pick.randrange(0, 160)), "note": f"row {i}" if i % 3 else ""}
        for i in range(n)
    ]  # fmt: skip


def test_a_large_import_keeps_the_file_order_and_one_audit_entry(tmp_path, new_db, monkeypatch):
    """DuckDB reads a large file in blocks, in parallel: ids follow the file's order all the same, and the
    import keeps its one audit entry, its new patients and their change marks."""
    store = Store(new_db("in_order"))
    read_csv = csv_file._read_csv  # small reading blocks: a file of a few of them, read in parallel
    monkeypatch.setattr(csv_file, "_read_csv", lambda *a, **k: read_csv(*a, **k, buffer_size=1 << 18))
    raw = shuffled_rows(40_000, 3)
    result = import_file(store, SYSTEM, write_rows(tmp_path / "big.csv", raw), today=TODAY)
    assert (result.added, result.skipped, result.patients_created) == (len(raw), 0, 40)
    stored = store.readings(SYSTEM).sort_values("id")
    assert stored["id"].tolist() == list(range(1, len(raw) + 1))
    assert stored["note"].fillna("").tolist() == [r["note"] for r in raw]
    assert stored["patient_id"].tolist() == [r["patient_id"] for r in raw]
    log = store.audit_log(SYSTEM)
    imports = log[log["action"] == "import"]
    assert len(imports) == 1 and json.loads(imports["new_value"].iloc[0]) == {
        "readings": len(raw), "first_id": 1, "last_id": len(raw), "skipped": 0
    }  # fmt: skip
    assert (log["action"] == "insert").sum() == 40  # one per new patient
    assert set(store.patient_versions(SYSTEM)) == {store.data_version()}


@pytest.mark.parametrize("bad", ["value", "side"])
def test_a_refused_file_leaves_the_store_as_it_was(tmp_path, new_db, bad):
    """The last row breaks a rule (or cannot be typed), found by the typed pass after every row before it
    was read: nothing is written, not even the patients, the audit entries or the data version."""
    raw = shuffled_rows(5_000, 4)
    raw[-1] = {**raw[-1], "value": "161"} if bad == "value" else {**raw[-1], "side": "both"}
    store = Store(new_db("refused"))
    version = store.data_version()
    with pytest.raises(ValidationError) as error:
        import_file(store, SYSTEM, write_rows(tmp_path / "bad.csv", raw), today=TODAY)
    assert [(p.row, p.column) for p in error.value.problems] == [(len(raw) + 1, bad)]
    assert store.export_readings(SYSTEM).empty and store.patients(SYSTEM).empty
    assert store.audit_count(SYSTEM) == 0 and store.data_version() == version
    assert (
        import_file(store, SYSTEM, write_rows(tmp_path / "good.csv", raw[:-1]), today=TODAY).added
        == len(raw) - 1
    )


@pytest.mark.parametrize("value", ["3.5", "0.5", "9.99", "3.0000001"])
def test_a_pain_with_decimals_is_refused_by_the_file_import(tmp_path, new_db, value):
    """A clean file but for a pain of 3.5: the typed pass hands it to the text pass, which refuses it as the
    form does; it is not stored as 3, and nothing of the file is written."""
    raw = [{**BASE, "value": "40"}, {**BASE, "measure": "pain_knee", "value": value}]
    message = "Knee pain (pain_knee), left: must be a whole number of points out of 10, with no decimals"
    assert pandas_answer(raw) == [(3, "value", value, message)]
    store = Store(new_db("decimals"))
    import_file(store, SYSTEM, write_rows(tmp_path / "first.csv", [{**BASE, "patient_id": "FIRST"}]), TODAY)
    with pytest.raises(ValidationError) as error:
        import_file(store, SYSTEM, write_rows(tmp_path / "pain.csv", raw), today=TODAY)
    assert [(p.row, p.column, p.value, p.message) for p in error.value.problems] == [
        (3, "value", value, message)
    ]
    assert store.export_readings(SYSTEM)["patient_id"].tolist() == ["FIRST"]
    whole = [{**BASE, "measure": "pain_knee", "value": "3.0"}]
    assert import_file(store, SYSTEM, write_rows(tmp_path / "whole.csv", whole), today=TODAY).added == 1


def test_an_import_refused_for_one_patient_leaves_the_store_as_it_was(tmp_path, new_db):
    store = Store(new_db("refused_patient"))
    for name in ("tess", "tom"):
        store.create_account(SYSTEM, name, "therapist", "h")
    store.add_patient(Actor("tom", "therapist"), "P7")
    audited = store.audit_count(SYSTEM)
    with pytest.raises(AccessDenied, match="tess may not add or change patient 'P7'"):
        import_file(
            store, Actor("tess", "therapist"), write_rows(tmp_path / "p.csv", shuffled_rows(500, 5)), TODAY
        )
    assert store.export_readings(SYSTEM).empty and store.audit_count(SYSTEM) == audited
    assert store.patients(SYSTEM)["patient_id"].tolist() == ["P7"]


def test_an_import_into_a_store_with_readings_still_skips_what_is_stored(tmp_path, new_db):
    raw = shuffled_rows(3_000, 6)
    store = Store(new_db("again"))
    path = write_rows(tmp_path / "once.csv", raw)
    assert import_file(store, SYSTEM, path, today=TODAY).added == len(raw)
    again = import_file(store, SYSTEM, write_rows(tmp_path / "twice.csv", raw + raw[:10]), today=TODAY)
    assert (again.added, again.skipped, again.patients_created) == (10, len(raw), 0)


def test_the_measure_enum_lists_the_catalog_in_alphabetical_order(new_db):
    """The typed rules index each measure's limits by its enum code (csv_file._by_measure)."""
    store = Store(new_db())
    try:
        cur = store._engine.checker()
        names = [r[0] for r in cur.execute("SELECT unnest(enum_range(NULL::measure_id))").fetchall()]
        assert names == sorted(catalog.MEASURES)
    finally:
        store.close()
