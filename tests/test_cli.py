"""The `hipdata` command line through click's CliRunner, and in real subprocesses where start-up matters."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from hipdata import auth
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import READING_COLUMNS
from hipdata.store import Store

HEADER = "patient_id,date,measure,side,value,method,position,mode,measured_by,note"
GOOD_CSV = (
    f"{HEADER}\n"
    "P1,2020-01-06,hip_flexion,left,100,goniometer,supine,active,self,\n"
    "P1,2020-01-08,hip_flexion,left,110,,,,,\n"
    "P2,2020-01-07,fingertip_to_floor,,-3.5,tape_measure,standing,,,warm\n"
)
AWKWARD_CSV = (
    f"{HEADER}\n"
    'P1,2020-01-06,hip_flexion,left,0.1,,,,,"comma, and ""quotes"""\n'
    'P1,2020-01-06,hip_flexion,left,0.3333333333333333,,,,,"two\nlines"\n'
    "P1,2020-01-13,hip_flexion,right,1e-07,goniometer,,,,Zoë 🦵 患者\n"
    "P1,2020-01-13,hip_flexion,right,123.456789012345,,,,,\n"
    "P1,2020-01-13,hip_flexion,right,123.456789012345,,,,,\n"  # a repeated trial: both kept
    "P2,2020-02-29,hip_extension,left,-12.5,,,passive,therapist,<script>alert(1)</script>\n"
    "'; DROP TABLE readings; --,2020-03-02,pain_low_back,,3,,,,,\n"
)
PASSWORD = "correct horse battery"


def stored(db) -> pd.DataFrame:
    s = Store(db)
    try:
        return s.export_readings(SYSTEM)
    finally:
        s.close()


def exported_rows(result) -> list[str]:
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(READING_COLUMNS)
    return lines[1:]


# ---- import ----------------------------------------------------------------------------------------------


def test_import_good_file(run_cli, csv_file):
    result = run_cli("import", csv_file(GOOD_CSV))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Imported 3 readings (0 already present, 2 new patients)."
    frame = stored(run_cli.db)
    assert frame["value"].tolist() == [100.0, 110.0, -3.5]
    assert frame["note"].tolist()[2] == "warm"


def test_import_bad_file_names_every_problem_and_writes_nothing(run_cli, csv_file):
    bad = (
        "patient_id,date,measure,side,value\n"
        "P1,2020-01-06,hip_flexion,left,100\n"  # row 2: fine
        "P1,2020-01-06,hip_flexion,left,999\n"  # row 3
        "P1,2020-01-06,hip_flexion,both,100\n"  # row 4
        "P1,2020/01/06,hip_flexion,left,100\n"  # row 5
        "P1,2020-01-06,hip_wiggle,left,100\n"  # row 6
        "P1,2020-01-06,pain_hip,left,3.5\n"  # row 7
    )
    path = csv_file(bad)
    result = run_cli("import", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert "nothing imported" in err and str(path) in err
    assert "5 problems in 5 rows" in err
    assert "row 3, value = '999': Hip flexion (hip_flexion), left: must be a number from 0° to 160°" in err
    assert "row 4, side = 'both': Hip flexion (hip_flexion): needs side left or right" in err
    assert "row 5, date = '2020/01/06': must be a calendar date written YYYY-MM-DD" in err
    assert "row 6, measure = 'hip_wiggle': is not a measure hipdata knows; allowed: hip_flexion," in err
    assert (
        "row 7, value = '3.5': Hip pain (pain_hip), left: must be a whole number of points out of 10" in err
    )
    assert "row 2," not in err
    assert "Traceback" not in err
    export = run_cli("export")
    assert export.exit_code == 0 and exported_rows(export) == []


def test_bad_import_leaves_earlier_data_untouched(run_cli, csv_file):
    run_cli("import", csv_file(GOOD_CSV))
    before = stored(run_cli.db)
    result = run_cli("import", csv_file(GOOD_CSV + "P3,2020-01-06,hip_flexion,left,-1,,,,,\n"))
    assert result.exit_code == 2 and "row 5, value = '-1'" in result.stderr
    pd.testing.assert_frame_equal(stored(run_cli.db), before)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (
            "patient_id,date,measure,side,value,note\nP1,2020-01-06,hip_flexion,left,1,caf\xe9\n".encode(
                "latin-1"
            ),
            "UTF-8",
        ),
        (b"patient_id,date,value\n", "required column is missing"),
        (b"patient_id,date,measure,side,value,value\n", "more than once"),
    ],
)
def test_import_file_problems_exit_2(run_cli, csv_file, content, message):
    result = run_cli("import", csv_file(content))
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_import_missing_file_exit_2(run_cli, tmp_path):
    result = run_cli("import", tmp_path / "nope.csv")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_import_future_date_refused(run_cli, csv_file):
    tomorrow = (datetime.now() + timedelta(days=2)).date().isoformat()
    result = run_cli(
        "import", csv_file(f"patient_id,date,measure,side,value\nP1,{tomorrow},hip_flexion,left,1\n")
    )
    assert result.exit_code == 2 and "must not be in the future" in result.stderr


def test_import_header_only_adds_nothing(run_cli, csv_file):
    result = run_cli("import", csv_file(HEADER + "\n"))
    assert result.exit_code == 0
    assert result.stdout.strip() == "Imported 0 readings (0 already present, 0 new patients)."


def test_import_twice_adds_nothing(run_cli, csv_file):
    path = csv_file(AWKWARD_CSV)
    first = run_cli("import", path)
    assert first.stdout.strip() == "Imported 7 readings (0 already present, 3 new patients)."
    second = run_cli("import", path)
    assert second.exit_code == 0
    assert second.stdout.strip() == "Imported 0 readings (7 already present, 0 new patients)."
    assert len(stored(run_cli.db)) == 7


def test_import_with_bom_and_crlf(run_cli, csv_file):
    content = b"\xef\xbb\xbf" + GOOD_CSV.replace("\n", "\r\n").encode()
    result = run_cli("import", csv_file(content))
    assert result.exit_code == 0, result.stderr
    assert stored(run_cli.db)["note"].tolist()[2] == "warm"


# ---- export ----------------------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_database_is_identical(run_cli, csv_file, tmp_path, new_db):
    run_cli("import", csv_file(AWKWARD_CSV))
    out = tmp_path / "export.csv"
    result = run_cli("export", "-o", out)
    assert result.exit_code == 0
    assert result.stderr.strip() == f"Exported 7 readings to {out}."
    assert result.stdout == ""

    other = new_db("other")
    again = run_cli("import", out, db=other)
    assert again.stdout.strip() == "Imported 7 readings (0 already present, 3 new patients)."
    pd.testing.assert_frame_equal(stored(other), stored(run_cli.db))
    assert run_cli("export", db=other).stdout_bytes == out.read_bytes()


def test_export_to_stdout_matches_the_file(run_cli, csv_file, tmp_path):
    run_cli("import", csv_file(GOOD_CSV))
    out = tmp_path / "e.csv"
    run_cli("export", "--output", out)
    stdout = run_cli("export")
    assert stdout.exit_code == 0 and stdout.stdout_bytes == out.read_bytes()
    frame = pd.read_csv(io.StringIO(stdout.stdout), dtype=str, keep_default_na=False)
    assert frame["value"].tolist() == ["100.0", "110.0", "-3.5"]


def test_export_one_patient(run_cli, csv_file):
    run_cli("import", csv_file(GOOD_CSV))
    result = run_cli("export", "--patient", "P2")
    assert result.exit_code == 0
    rows = exported_rows(result)
    assert rows == ["P2,2020-01-07,fingertip_to_floor,,-3.5,tape_measure,standing,,,warm"]


def test_export_unknown_patient_exit_2(run_cli, csv_file):
    run_cli("import", csv_file(GOOD_CSV))
    result = run_cli("export", "--patient", "P9")
    assert result.exit_code == 2
    assert "no patient with id 'P9'" in result.stderr and result.stdout == ""


def test_export_empty_database(run_cli):
    result = run_cli("export")
    assert result.exit_code == 0 and exported_rows(result) == []


# ---- entry points and the database option ----------------------------------------------------------------


def test_python_m_hipdata_help():
    result = subprocess.run(
        [sys.executable, "-m", "hipdata", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    for command in (
        "import",
        "export",
        "demo",
        "readings",
        "weekly",
        "trends",
        "flags",
        "users",
        "report",
        "--db",
    ):
        assert command in result.stdout


def test_hipdata_db_env_var_is_the_default(run_cli, csv_file, tmp_path, monkeypatch, new_db, store_engine):
    monkeypatch.chdir(tmp_path)
    env_db = new_db("from_env/env")
    result = run_cli("import", csv_file(GOOD_CSV), env={"HIPDATA_DB": env_db}, db=None)
    assert result.exit_code == 0
    if store_engine == "duckdb":
        assert Path(env_db).exists()
    assert not (tmp_path / "data").exists(), "the built-in default was not used"
    assert len(stored(env_db)) == 3
    # --db wins over the environment.
    explicit = run_cli("export", env={"HIPDATA_DB": env_db})
    assert exported_rows(explicit) == []


@pytest.mark.duckdb_only  # the built-in default is a DuckDB file
def test_default_database_path(run_cli, csv_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HIPDATA_DB", raising=False)
    result = run_cli("import", csv_file(GOOD_CSV), db=None)
    assert result.exit_code == 0
    assert (tmp_path / "data" / "hipdata.duckdb").exists()


# ---- users -----------------------------------------------------------------------------------------------


def account(db, username):
    s = Store(db)
    try:
        return s.account(username)
    finally:
        s.close()


@pytest.mark.parametrize("stdin", [f"{PASSWORD}\n", f"{PASSWORD}\n{PASSWORD}\n", PASSWORD, f"{PASSWORD}\n\n"])
def test_users_add_reads_the_password_from_stdin(run_cli, fast_hashing, stdin):
    result = run_cli("users", "add", "boss", "--role", "admin", input=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Added admin boss."
    row = account(run_cli.db, "boss")
    assert row["role"] == "admin"
    assert auth.password_matches(row["password_hash"], PASSWORD)
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (f"{PASSWORD}\nsomething else\n", "differ"),
        ("short\n", "at least 8"),
        ("short\nshort\n", "at least 8"),
        ("", "no password"),
        ("\n", "no password"),
    ],
)
def test_users_add_bad_password_exit_2(run_cli, fast_hashing, stdin, message):
    result = run_cli("users", "add", "boss", "--role", "admin", input=stdin)
    assert result.exit_code == 2
    assert message in result.stderr
    assert account(run_cli.db, "boss") is None


def test_users_add_patient_links_and_assigns(run_cli, fast_hashing):
    assert run_cli("users", "add", "t1", "--role", "therapist", input=PASSWORD).exit_code == 0
    result = run_cli(
        "users", "add", "pat", "--role", "patient", "--patient", "P1", "--therapist", "t1",
        "--email", "pat@example.org", input=PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    s = Store(run_cli.db)
    try:
        row = s.account("pat")
        assert (row["role"], row["patient_id"], row["email"]) == ("patient", "P1", "pat@example.org")
        assert s.patients(SYSTEM)[["patient_id", "therapist"]].values.tolist() == [["P1", "t1"]]
        assert s.may_see(Actor("t1", "therapist"), "P1")
        assert s.patients(Actor("pat", "patient", "P1"))["patient_id"].tolist() == ["P1"]
    finally:
        s.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "patient"], "needs --patient"),
        (
            ["--role", "patient", "--patient", "P1", "--therapist", "ghost"],
            "no therapist account named 'ghost'",
        ),
        (["--role", "wizard"], "Invalid value"),
    ],
)
def test_users_add_refusals_exit_2(run_cli, fast_hashing, args, message):
    result = run_cli("users", "add", "someone", *args, input=PASSWORD)
    assert result.exit_code == 2 and message in result.stderr


def test_users_add_duplicate_exit_2(run_cli, fast_hashing):
    run_cli("users", "add", "boss", "--role", "admin", input=PASSWORD)
    result = run_cli("users", "add", "boss", "--role", "therapist", input=PASSWORD)
    assert result.exit_code == 2 and "already exists" in result.stderr


def test_users_list_shows_no_hash(run_cli, fast_hashing):
    assert run_cli("users", "list").stdout.strip() == "No accounts yet."
    run_cli("users", "add", "boss", "--role", "admin", input=PASSWORD)
    run_cli("users", "add", "t1", "--role", "therapist", input=PASSWORD)
    run_cli(
        "users", "add", "pat", "--role", "patient", "--patient", "P1", "--therapist", "t1", input=PASSWORD
    )
    result = run_cli("users", "list")
    assert result.exit_code == 0
    out = result.stdout
    for word in ("boss", "t1", "pat", "admin", "therapist", "patient", "P1"):
        assert word in out
    assert "argon2" not in out and "password" not in out and "$" not in out
    assert "created_at" not in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["t1"] == ["t1", "therapist", "False", "False", "P1"]  # its patient; no None or NaN
    assert rows["pat"] == ["pat", "patient", "P1", "False", "False"]


def test_users_disable(run_cli, fast_hashing):
    run_cli("users", "add", "t1", "--role", "therapist", input=PASSWORD)
    s = Store(run_cli.db)
    token = auth.sign_in(s, "t1", PASSWORD, now=datetime(2026, 1, 5, 9))
    s.close()
    assert token
    result = run_cli("users", "disable", "t1")
    assert result.exit_code == 0 and result.stdout.strip() == "Disabled t1."
    s = Store(run_cli.db)
    try:
        assert s.account("t1")["disabled"]
        assert auth.current_actor(s, token, now=datetime(2026, 1, 5, 9, 1)) is None
        assert auth.sign_in(s, "t1", PASSWORD, now=datetime(2026, 1, 5, 9, 2)) is None
    finally:
        s.close()
    missing = run_cli("users", "disable", "ghost")
    assert missing.exit_code == 2 and "no account named 'ghost'" in missing.stderr


def test_users_reset_password_lifts_lockout(run_cli, fast_hashing):
    run_cli("users", "add", "t1", "--role", "therapist", input=PASSWORD)
    now = datetime(2026, 1, 5, 9)
    s = Store(run_cli.db)
    for i in range(auth.MAX_FAILED_ATTEMPTS):
        auth.sign_in(s, "t1", "wrong password", now=now + timedelta(seconds=i))
    assert s.account("t1")["locked_until"] is not None
    assert auth.sign_in(s, "t1", PASSWORD, now=now + timedelta(minutes=1)) is None
    s.close()
    result = run_cli("users", "reset-password", "t1", input="a brand new password\n")
    assert result.exit_code == 0 and result.stdout.strip() == "Password reset for t1."
    s = Store(run_cli.db)
    try:
        assert s.account("t1")["locked_until"] is None and s.account("t1")["failed_attempts"] == 0
        assert auth.sign_in(s, "t1", "a brand new password", now=now + timedelta(minutes=2))
        assert auth.sign_in(s, "t1", PASSWORD, now=now + timedelta(minutes=3)) is None
    finally:
        s.close()


def test_users_reset_password_refusals(run_cli, fast_hashing):
    missing = run_cli("users", "reset-password", "ghost", input=PASSWORD)
    assert missing.exit_code == 2 and "no account named 'ghost'" in missing.stderr
    run_cli("users", "add", "t1", "--role", "therapist", input=PASSWORD)
    short = run_cli("users", "reset-password", "t1", input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.stderr
    assert auth.password_matches(account(run_cli.db, "t1")["password_hash"], PASSWORD)


# ---- demo, trend tables and report (hipdata.demo, hipdata.trends, hipdata.report) -------------------------

WEEKLY_CSV = (
    "patient_id,date,measure,side,value\n"
    + "".join(
        f"P1,{day},hip_flexion,left,{value}\n"
        for day, value in [
            ("2020-01-06", 90), ("2020-01-08", 94),  # week 2020-01-06: median 92
            ("2020-01-13", 95),
            ("2020-01-20", 100),
            ("2020-01-27", 104), ("2020-01-28", 106), ("2020-01-29", 150),  # median 106
        ]
    )
    + "P2,2020-01-06,pain_low_back,,4\n"
)  # fmt: skip


@pytest.fixture
def weekly_db(run_cli, csv_file):
    assert run_cli("import", csv_file(WEEKLY_CSV)).exit_code == 0
    return run_cli


def test_weekly_csv(weekly_db):
    result = weekly_db("weekly", "--as-of", "2020-02-02")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout), dtype={"side": str}, keep_default_na=False)
    assert list(frame.columns) == ["patient_id", "measure", "side", "week", "value", "n"]
    p1 = frame[frame["patient_id"] == "P1"]
    assert p1["week"].tolist() == ["2020-01-06", "2020-01-13", "2020-01-20", "2020-01-27"]
    assert p1["value"].tolist() == [92.0, 95.0, 100.0, 106.0]
    assert p1["n"].tolist() == [2, 1, 1, 3]
    assert frame[frame["patient_id"] == "P2"][["side", "value"]].values.tolist() == [["", 4.0]]


def test_weekly_as_of_mid_week_and_patient(weekly_db):
    result = weekly_db("weekly", "--as-of", "2020-01-27", "--patient", "P1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert {r["patient_id"] for r in records} == {"P1"}
    last = records[-1]
    assert (last["week"], last["value"], last["n"]) == ("2020-01-27", 104.0, 1)


def test_table_commands_refuse_unknown_patient_and_bad_date(weekly_db):
    for command in ("weekly", "trends", "flags"):
        unknown = weekly_db(command, "--patient", "P9")
        assert unknown.exit_code == 2 and "no patient with id 'P9'" in unknown.stderr
        bad_date = weekly_db(command, "--as-of", "2020/01/01")
        assert bad_date.exit_code == 2
        bad_format = weekly_db(command, "--format", "xml")
        assert bad_format.exit_code == 2


def test_trends_columns_and_values(weekly_db):
    result = weekly_db("trends", "--as-of", "2020-02-02", "--format", "json")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert list(records[0]) == [
        "patient_id", "measure", "side", "weeks", "baseline", "current", "change", "improvement", "mdc",
        "slope_per_week", "status",
    ]  # fmt: skip
    p1 = next(r for r in records if r["patient_id"] == "P1")
    assert p1["weeks"] == 4
    assert p1["baseline"] == pytest.approx(93.5)  # median of weekly 92 and 95
    assert p1["current"] == pytest.approx(103.0)  # median of weekly 100 and 106
    assert p1["change"] == pytest.approx(9.5) and p1["improvement"] == pytest.approx(9.5)
    assert p1["mdc"] == 10 and p1["status"] == "no_detectable_change"
    p2 = next(r for r in records if r["patient_id"] == "P2")
    assert p2["status"] == "insufficient_data" and p2["slope_per_week"] is None


def test_trends_csv(weekly_db):
    result = weekly_db("trends", "--as-of", "2020-02-02", "--patient", "P1")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame["patient_id"].tolist() == ["P1"] and frame["status"].tolist() == ["no_detectable_change"]


def test_flags_columns(weekly_db):
    result = weekly_db("flags", "--as-of", "2020-03-01")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    assert list(frame.columns) == [
        "patient_id",
        "last_reading",
        "inactive",
        "worsening",
        "pain_rising",
        "asymmetry",
        "plateau",
    ]
    by_patient = frame.set_index("patient_id")
    assert by_patient.loc["P1", "last_reading"] == "2020-01-29"
    assert str(by_patient.loc["P1", "inactive"]) == "True"  # 32 days without a reading
    assert by_patient.loc["P1", "asymmetry"] == ""
    json_result = weekly_db("flags", "--as-of", "2020-01-30", "--format", "json")
    records = {r["patient_id"]: r for r in json.loads(json_result.stdout)}
    assert records["P1"]["inactive"] is False and records["P1"]["asymmetry"] == []


def test_report_writes_html_and_csv(weekly_db, tmp_path):
    out = tmp_path / "report.html"
    result = weekly_db("report", "P1", "-o", out, "--as-of", "2020-02-02")
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "P1" in html
    csv_path = tmp_path / "report-readings.csv"
    assert csv_path.exists() and str(csv_path) in result.stdout
    assert len(csv_path.read_text().splitlines()) == 1 + 7
    unknown = weekly_db("report", "P9", "-o", tmp_path / "x.html")
    assert unknown.exit_code == 2 and not (tmp_path / "x.html").exists()


def test_demo_loads_once(run_cli):
    result = run_cli("demo", "--patients", "3", "--weeks", "4", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    assert "for 3 patients over 4 weeks" in result.stdout
    added = int(result.stdout.split("Demo data: ")[1].split(" readings")[0])
    assert added > 0
    s = Store(run_cli.db)
    try:
        assert s.patient_count() == 3
        assert len(s.export_readings(SYSTEM)) == added
    finally:
        s.close()
    again = run_cli("demo", "--patients", "3", "--weeks", "4", "--seed", "1")
    assert again.exit_code == 0 and "Demo data: 0 readings added" in again.stdout
    assert run_cli("demo", "--patients", "0").exit_code == 2


def test_readings_restore_brings_back_a_deleted_reading(run_cli):
    assert run_cli("demo", "--patients", "1", "--weeks", "2", "--seed", "1").exit_code == 0
    s = Store(run_cli.db)
    try:
        reading = s.readings(SYSTEM).iloc[0]
        s.delete_row(SYSTEM, "readings", int(reading["id"]))
        assert len(s.deleted_readings(SYSTEM)) == 1
    finally:
        s.close()
    result = run_cli("readings", "restore", reading["id"])
    assert result.exit_code == 0, result.stderr
    assert (
        f"Restored reading {reading['id']}: {reading['patient_id']} {reading['date']:%Y-%m-%d}"
        in result.stdout
    )
    s = Store(run_cli.db)
    try:
        assert s.deleted_readings(SYSTEM).empty and int(reading["id"]) in set(s.readings(SYSTEM)["id"])
        assert s.audit_log(SYSTEM).iloc[0]["action"] == "restore"
    finally:
        s.close()
    again = run_cli("readings", "restore", reading["id"])
    assert again.exit_code == 2 and f"no deleted reading with id {reading['id']}" in again.stderr
    assert run_cli("readings", "restore", "12345678").exit_code == 2
    assert run_cli("readings", "restore", "x").exit_code == 2


def test_table_commands_write_many_patients_as_csv_and_json(run_cli):
    assert run_cli("demo", "--patients", "4", "--weeks", "6").exit_code == 0
    for command in ("weekly", "trends", "flags"):
        for fmt in ("csv", "json"):
            result = run_cli(command, "--format", fmt)
            assert result.exit_code == 0, result.stderr
            assert "P0004" in result.stdout
    rows = pd.read_csv(io.StringIO(run_cli("trends").stdout), dtype={"side": str}, keep_default_na=False)
    keys = list(zip(rows["patient_id"], rows["measure"], rows["side"], strict=True))
    assert keys == sorted(keys)  # sorted by patient, measure, side


def test_the_import_command_runs_without_loading_pandas_or_argon2(tmp_path, new_db):
    """Python start-up is part of the import's time: the command checks files in DuckDB and needs neither."""
    path = tmp_path / "readings.csv"
    path.write_text(
        "patient_id,date,measure,side,value\nP1,2026-01-05,hip_flexion,left,30\n", encoding="utf-8"
    )
    code = (
        "import sys; from hipdata.cli import main;"
        f"main(['--db', {new_db('db')!r}, 'import', {str(path)!r}], standalone_mode=False);"
        "print(sorted(m for m in ('pandas', 'numpy', 'argon2') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Imported 1 reading " in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
