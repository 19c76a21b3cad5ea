"""The audit trail: every write path of the Store leaves its entries, and the Audit page pages in SQL."""

from __future__ import annotations

import inspect
import json
import time
from datetime import date, datetime

import pandas as pd
import pytest

from hipdata.auth import SYSTEM, Actor
from hipdata.file_import import import_file
from hipdata.store import PATIENT_TABLES, Store
from hipdata.validate import clean_exercise_log, clean_readings

ADMIN = Actor("boss", "admin")
TESS = Actor("tess", "therapist")
PAT = Actor("pat", "patient", "P1")
TODAY = date(2026, 3, 1)
WEEK = date(2026, 1, 5)


def readings(*values: int, patient: str = "P1") -> pd.DataFrame:
    raw = pd.DataFrame(
        [{"patient_id": patient, "date": "2026-01-05", "measure": "hip_flexion", "side": "left", "value": str(v)}
         for v in values], dtype=str,
    )  # fmt: skip
    return clean_readings(raw, today=TODAY)


def log(sessions: int) -> pd.DataFrame:
    return clean_exercise_log(pd.DataFrame([{"exercise": "ninety_ninety", "sessions": str(sessions)}]))


RECORDS = {
    "exercise_log": {"week": pd.Timestamp(WEEK), "exercise": "ninety_ninety", "sessions": 3},
    "goals": {"measure": "hip_flexion", "side": "left", "target": 120.0, "target_date": pd.Timestamp("2026-06-01")},
    "notes": {"week": pd.Timestamp(WEEK), "text": "=cmd"},
    "programme": {"exercise": "ninety_ninety", "sessions_per_week": 4, "dose": "2x10"},
    "lefs": {"date": pd.Timestamp(WEEK), "answers": "4" * 20, "total": 80},
    "plans": {"series": "fingertip_to_floor|pain_low_back"},
    "psfs": {"date": pd.Timestamp(WEEK), "activities": '["Squat", "Run", "Hike"]', "ratings": "[4, 5, 6]", "score": 5.0},
}  # fmt: skip


def last_id(store: Store, table: str) -> int:
    return int(store._cursor().execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


def write_paths(store: Store, tmp_path) -> list[tuple[str, callable, list[tuple[str, str]]]]:
    """Every kind of write, in an order that works, with the (action, entity) entries each must leave."""
    path = tmp_path / "file.csv"
    path.write_text(
        "patient_id,date,measure,side,value\nP1,2026-01-06,hip_flexion,left,50\nP9,2026-01-06,pain_low_back,,2\n"
    )
    paths = [
        ("create_account", lambda: store.create_account(SYSTEM, "tess", "therapist", "h"), [("insert", "user")]),
        ("add_patient", lambda: store.add_patient(ADMIN, "P1"), [("insert", "patient")]),
        ("add_patient", lambda: store.add_patient(TESS, "P2"), [("insert", "patient"), ("insert", "assignment")]),
        ("add_patients", lambda: store.add_patients(ADMIN, pd.DataFrame({"patient_id": ["P3", "P4"], "display_name": ["", ""]})),
         [("insert", "patient")] * 2),
        ("assign", lambda: store.assign(ADMIN, "P1", "tess"), [("insert", "assignment")]),
        ("create_account", lambda: store.create_account(SYSTEM, "tom", "therapist", "h"), [("insert", "user")]),
        ("assign", lambda: store.assign(ADMIN, "P1", "tom"), [("update", "assignment")]),
        ("create_account", lambda: store.create_account(SYSTEM, "pat", "patient", "h", "P1"), [("insert", "user")]),
        ("add_readings", lambda: store.add_readings(ADMIN, readings(10, 20)), [("insert", "readings")] * 2),
        ("import_csv", lambda: import_file(store, ADMIN, path, today=TODAY),
         [("insert", "patient"), ("import", "readings")]),
        ("save_checkin", lambda: store.save_checkin(PAT, "P1", WEEK, readings(30), log(2)),
         [("insert", "readings"), ("insert", "exercise_log")]),
        ("save_checkin", lambda: store.save_checkin(PAT, "P1", WEEK, readings(31), log(3)),
         [("insert", "readings"), ("delete", "exercise_log"), ("insert", "exercise_log")]),
        ("replace_week_log", lambda: store.replace_week_log(PAT, "P1", WEEK, log(4)),
         [("delete", "exercise_log"), ("insert", "exercise_log")]),
        ("replace_week_log", lambda: store.replace_week_log(PAT, "P1", WEEK, log(0).iloc[:0]),
         [("delete", "exercise_log")]),
        ("update_reading", lambda: store.update_reading(ADMIN, 1, readings(11)), [("update", "readings")]),
        *[("add_records", lambda t=t: store.add_records(ADMIN, t, pd.DataFrame([{"patient_id": "P1", **RECORDS[t]}])),
           [("insert", t)]) for t in RECORDS],
        *[("delete_row", lambda t=t: store.delete_row(ADMIN, t, last_id(store, t)), [("delete", t)])
          for t in PATIENT_TABLES],
        ("disable_account", lambda: store.disable_account(ADMIN, "tom"), [("update", "user")]),
        ("set_password", lambda: store.set_password(ADMIN, "tess", "h2"), [("update", "user")]),
        ("link_email", lambda: store.link_email(ADMIN, "tess", "t@example.org"), [("update", "user")]),
        ("restore_reading", lambda: store.restore_reading(ADMIN, last_id(store, "readings")), [("restore", "readings")]),
        ("add_demo", lambda: store.add_demo(
            ADMIN, pd.DataFrame({"patient_id": ["P7"], "display_name": ["Demo"]}), readings(40, patient="P7"),
            {t: pd.DataFrame([{"patient_id": "P7", **RECORDS[t]}]) for t in ("exercise_log", "programme")}),
         [("insert", "patient"), ("insert", "readings"), ("insert", "exercise_log"), ("insert", "programme")]),
        ("import_records", lambda: store.import_records(
            ADMIN, pd.DataFrame({"patient_id": ["P8"], "display_name": [""]}), readings(41, patient="P8"),
            {"psfs": pd.DataFrame([{"patient_id": "P8", **RECORDS["psfs"]}])}),
         [("insert", "patient"), ("insert", "readings"), ("insert", "psfs")]),
        # an attempt is counted when it begins (audited when it ends), a lock when it comes into force
        ("begin_sign_in", lambda: store.begin_sign_in("tess", datetime.now(), 5, datetime(2030, 1, 1)), []),
        ("fail_sign_in", lambda: store.fail_sign_in("tess", 5, datetime(2030, 1, 1)), [("sign_in_failed", "user")]),
        ("begin_sign_in", lambda: store.begin_sign_in("tess", datetime.now(), 5, datetime(2030, 1, 1)), []),
        ("finish_sign_in", lambda: store.finish_sign_in("tess", datetime.now()), [("sign_in", "user")]),
        ("open_session", lambda: store.open_session("tess", datetime.now()), [("sign_in", "user")]),
    ]  # fmt: skip
    return paths


# Writes that change no record a person entered: a session's heartbeat and its end.
NOT_AUDITED = {"session_actor", "end_session"}


def test_every_write_path_leaves_its_audit_entries(store, tmp_path):
    walked = set()
    entities: dict[str, set] = {}
    for name, write, expected in write_paths(store, tmp_path):
        before = int(store._cursor().execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0])
        write()
        log_now = store.audit_log(SYSTEM)
        new = log_now[log_now["id"] > before].sort_values("id")
        assert sorted(zip(new["action"], new["entity"], strict=True)) == sorted(expected), name
        for entry in new.itertuples():
            assert entry.actor in {"boss", "tess", "pat", "system"}, name
            if entry.action == "delete":  # the old row in full, the new value empty
                old = json.loads(entry.old_value)
                assert old["id"] == int(entry.entity_id) and old["patient_id"] == entry.patient_id, name
                assert entry.new_value is None or pd.isna(entry.new_value), name
            if entry.action == "update":
                assert json.loads(entry.new_value), name
                assert name == "set_password" or json.loads(entry.old_value), name  # a hash is never shown
            if entry.action in ("insert", "import"):
                assert json.loads(entry.new_value), name
            entities.setdefault(entry.entity, set()).add(entry.action)
        walked.add(name)
    store_writes = {
        name for name, method in inspect.getmembers(Store, inspect.isfunction)
        if not name.startswith("_") and ("self._write()" in inspect.getsource(method)
                                         or "self._update_account(" in inspect.getsource(method))
    }  # fmt: skip
    assert store_writes - NOT_AUDITED <= walked, "a write path of the Store that this test does not walk"
    # One entity name per table: the readings are `readings` whether inserted, corrected, deleted or imported.
    assert entities["readings"] == {"insert", "update", "delete", "import", "restore"}
    assert set(entities) == {"user", "patient", "assignment", *PATIENT_TABLES}


def test_replacing_a_week_log_keeps_every_old_row_in_the_audit_trail(store):
    store.add_patient(ADMIN, "P1")
    two = clean_exercise_log(
        pd.DataFrame([{"exercise": "ninety_ninety", "sessions": "2"}, {"exercise": "banded_glute_bridge", "sessions": "5"}])
    )  # fmt: skip
    store.replace_week_log(ADMIN, "P1", WEEK, two)
    store.replace_week_log(ADMIN, "P1", WEEK, log(1))
    deletes = store.audit_log(SYSTEM).query("action == 'delete'").sort_values("id")
    olds = [json.loads(v) for v in deletes["old_value"]]
    assert [(o["exercise"], o["sessions"]) for o in olds] == [
        ("ninety_ninety", 2),
        ("banded_glute_bridge", 5),
    ]
    assert deletes["entity_id"].tolist() == ["1", "2"]


def test_an_older_database_names_its_reading_entries_readings(new_db, bare_db):
    from hipdata.store.schema import MIGRATIONS

    path = new_db("old")
    with bare_db(path) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        for version, script in enumerate(MIGRATIONS[:4], start=1):
            con.execute(script)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
        con.execute("INSERT INTO audit VALUES (1, now(), 'boss', 'insert', 'reading', '1', 'P1', NULL, '{}')")
    assert Store(path).audit_log(SYSTEM)["entity"].tolist() == ["readings"]


# ---- the Audit page with a million entries ----------------------------------------------------------------


@pytest.fixture
def million(new_db, monkeypatch) -> Store:
    path = new_db("audit")
    monkeypatch.setenv("HIPDATA_DB", path)
    store = Store(path)
    store._cursor().execute(  # SQL that DuckDB and PostgreSQL both read
        """INSERT INTO audit SELECT i, TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', 'user' || (i % 50),
                  'insert', 'readings', CAST(i AS VARCHAR), 'P' || (i % 1000), NULL, '{"value": 1}'
           FROM generate_series(1, 1000000) AS t(i)"""
    )
    return store


def test_the_first_audit_page_of_a_million_entries_is_read_in_under_a_second(million):
    started = time.perf_counter()
    page = million.audit_log(SYSTEM, limit=100)
    total = million.audit_count(SYSTEM)
    assert time.perf_counter() - started <= 1.0
    assert total == 1_000_000 and page["id"].tolist() == list(range(1_000_000, 999_900, -1))
    started = time.perf_counter()
    filtered = million.audit_log(SYSTEM, patient_id="P7", since=date(2026, 1, 5), limit=100, offset=100)
    # one entry a second from 2026-01-01: from 5 January on means id >= 4 days of seconds
    assert million.audit_count(SYSTEM, patient_id="P7", since=date(2026, 1, 5)) == 654
    assert time.perf_counter() - started <= 1.0
    assert len(filtered) == 100 and set(filtered["patient_id"]) == {"P7"}
    assert filtered["id"].iloc[0] == 999_007 - 100 * 1000


def test_the_audit_page_shows_one_page_of_a_million_entries_in_under_a_second(million):
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP, account, auth_key

    token = account(million, "ada", "admin")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[auth_key()] = token
    at.run()
    at.switch_page("app_pages/audit.py").run()  # the first visit imports the page's modules
    started = time.perf_counter()
    at.run()
    assert time.perf_counter() - started <= 1.0
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert len(shown) == 100 and shown["id"].iloc[0] > 1_000_000  # the account's own entries are newest
    assert any("1,000," in c.value and "entries" in c.value for c in at.caption)
    at.number_input[0].set_value(2).run()
    assert at.dataframe[0].value["id"].iloc[0] == shown["id"].iloc[-1] - 1
