"""store.Store: migrations, all-or-nothing writes, dedupe, weekly medians, audit, access control, accounts."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from hipdata import auth, catalog
from hipdata.auth import SYSTEM, Actor
from hipdata.store import AccessDenied, Store
from hipdata.store.schema import ENUM_TYPES, MIGRATIONS

ADMIN = Actor("boss", "admin")
T1 = Actor("t1", "therapist")
T2 = Actor("t2", "therapist")
PATIENT_P1 = Actor("p1", "patient", "P1")
PASSWORD = "correct horse battery"
T0 = datetime(2026, 1, 5, 9, 0, 0)


def live(store: Store, actor: Actor = SYSTEM, patient_id: str | None = None) -> pd.DataFrame:
    """Readings in the contract's columns, with missing text as None, for exact comparisons."""
    frame = store.export_readings(actor, patient_id)
    return frame.astype(object).where(frame.notna(), None)


def weekly_table(store: Store) -> list[tuple]:
    """Every weekly median as (patient, measure, side, Monday, median, n)."""
    frame = store.weekly(SYSTEM, date(2026, 12, 31))
    return [
        (str(p), str(m), str(s), w.date().isoformat(), v, n) for p, m, s, w, v, n in frame.values.tolist()
    ]


def count(store: Store, sql: str, params: list | None = None) -> int:
    return store._cursor().execute(sql, params or []).fetchone()[0]


# ---- migrations ------------------------------------------------------------------------------------------


def test_new_file_is_at_the_latest_version(store):
    assert store.schema_version() == len(MIGRATIONS)
    tables = {
        r[0] for r in store._cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {"meta", "patients", "readings", "audit", "users", "sessions", "assignments"} <= tables
    assert "weekly" not in tables  # weekly medians are computed when read
    assert store.data_version() == 0
    assert not store.has_accounts()


def test_version_1_file_upgrades_itself_and_keeps_its_data(new_db, bare_db):
    path = new_db("old")
    with bare_db(path) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        con.execute(MIGRATIONS[0])
        con.execute("INSERT INTO schema_version VALUES (1, TIMESTAMP '2025-01-01 00:00:00')")
        con.execute("UPDATE meta SET value = 41 WHERE key = 'data_version'")
        con.execute(
            "INSERT INTO patients VALUES ('OLD', 'Old patient', TIMESTAMP '2025-01-01', 'system', NULL)"
        )
        con.execute(
            """INSERT INTO readings VALUES (1, 'OLD', DATE '2025-01-06', 'hip_flexion', 'left', 101.5,
               'goniometer', NULL, NULL, NULL, 'kept', TIMESTAMP '2025-01-06', 'system', NULL, NULL)"""
        )

    store = Store(path)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.data_version() == 41
    old = live(store)
    assert old[["patient_id", "measure", "side", "value", "method", "note"]].values.tolist() == [
        ["OLD", "hip_flexion", "left", 101.5, "goniometer", "kept"]
    ]
    assert store.patients(SYSTEM)["display_name"].tolist() == ["Old patient"]
    assert not store.has_accounts()  # the users table of migration 2 now exists
    versions = store._cursor().execute("SELECT version, applied_at FROM schema_version ORDER BY 1").fetchall()
    assert [v for v, _ in versions] == list(range(1, len(MIGRATIONS) + 1))
    assert weekly_table(store) == [("OLD", "hip_flexion", "left", "2025-01-06", 101.5, 1)]
    assert versions[0][1] == datetime(2025, 1, 1)
    store.close()

    reopened = Store(path)  # nothing runs twice: a second run would fail on CREATE TABLE
    after = reopened._cursor().execute("SELECT version, applied_at FROM schema_version ORDER BY 1").fetchall()
    assert after == versions
    assert reopened.data_version() == 41
    assert len(live(reopened)) == 1
    reopened.close()


def test_reading_enums_hold_exactly_the_catalog_ids(store):
    """A catalog change needs a migration that changes these types too; this test says so."""
    expected = {"measure": tuple(catalog.MEASURES), "side": ("", *catalog.SIDES), **catalog.CONTEXT_CHOICES}
    for column, type_name in ENUM_TYPES.items():
        values = (
            store._cursor().execute(f"SELECT CAST(enum_range(NULL::{type_name}) AS VARCHAR[])").fetchone()[0]
        )
        assert values == sorted(values), f"{type_name} is kept in alphabetical order"
        assert set(values) == set(expected[column]), type_name


def test_reopening_a_current_file_keeps_everything(new_db, make_readings):
    path = new_db("db")
    first = Store(path)
    first.add_readings(SYSTEM, make_readings({}))
    version = first.data_version()
    first.close()
    again = Store(path)
    assert again.schema_version() == len(MIGRATIONS)
    assert count(again, "SELECT count(*) FROM schema_version") == len(MIGRATIONS)
    assert again.data_version() == version
    assert len(live(again)) == 1
    again.close()


@pytest.mark.duckdb_only  # about the file on disk
def test_store_creates_the_parent_directory(tmp_path):
    s = Store(tmp_path / "a" / "b" / "db.duckdb")
    assert (tmp_path / "a" / "b" / "db.duckdb").exists()
    s.close()


# ---- add_readings ----------------------------------------------------------------------------------------


def test_round_trip_keeps_every_field(store, make_readings):
    clean = make_readings(
        {
            "value": "0.1",
            "method": "goniometer",
            "position": "supine",
            "mode": "active",
            "measured_by": "self",
        },
        {"value": repr(1 / 3), "note": 'a "note", with\nnewline 🦵'},
        {
            "patient_id": "P2",
            "measure": "fingertip_to_floor",
            "side": "",
            "value": "-12.5",
            "date": "2026-02-28",
        },
    )
    result = store.add_readings(SYSTEM, clean)
    assert (result.added, result.skipped, result.patients_created) == (3, 0, 2)
    back = live(store)
    expected = clean.astype(object).where(clean.notna(), None)
    expected = expected.sort_values(["patient_id", "date", "measure", "side"]).reset_index(drop=True)
    assert back["date"].tolist() == expected["date"].tolist()
    pd.testing.assert_frame_equal(back.drop(columns="date"), expected.drop(columns="date"))
    assert back["value"].tolist()[1] == 1 / 3  # exact float


def test_readings_carry_ids_and_who_entered_them(store, make_readings):
    store.add_readings(SYSTEM, make_readings({}, {"value": "101"}))
    frame = store.readings(SYSTEM)
    assert frame["id"].tolist() == [1, 2]
    assert set(frame["entered_by"]) == {"system"}
    store.add_readings(SYSTEM, make_readings({"value": "102"}))
    assert store.readings(SYSTEM)["id"].tolist() == [1, 2, 3]


def test_readings_filters_by_patient_and_as_of(store, make_readings):
    store.add_readings(
        SYSTEM,
        make_readings(
            {"date": "2026-01-05"}, {"date": "2026-01-12"}, {"patient_id": "P2", "date": "2026-01-05"}
        ),
    )
    assert len(store.readings(SYSTEM, "P1")) == 2
    assert len(store.readings(SYSTEM, as_of=date(2026, 1, 11))) == 2
    assert len(store.readings(SYSTEM, "P1", as_of=date(2026, 1, 5))) == 1


def test_failure_mid_transaction_leaves_nothing(store, make_readings, monkeypatch):
    store.add_readings(SYSTEM, make_readings({"value": "1"}))
    before_version, before = store.data_version(), live(store)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_audit_each", boom)  # runs after the INSERT, inside the transaction
    with pytest.raises(RuntimeError, match="disk full"):
        store.add_readings(SYSTEM, make_readings({"value": "2"}, {"patient_id": "NEW", "value": "3"}))
    pd.testing.assert_frame_equal(live(store), before)
    assert store.data_version() == before_version
    assert store.patients(SYSTEM)["patient_id"].tolist() == ["P1"]
    monkeypatch.undo()
    assert store.add_readings(SYSTEM, make_readings({"value": "2"})).added == 1  # the store still works


def test_access_denied_for_one_patient_writes_nothing(store, make_readings):
    store.add_patient(SYSTEM, "P1")
    store.add_patient(SYSTEM, "P2")
    version = store.data_version()
    mixed = make_readings({"patient_id": "P1"}, {"patient_id": "P2"})
    with pytest.raises(AccessDenied):
        store.add_readings(PATIENT_P1, mixed)
    assert len(live(store)) == 0
    assert store.data_version() == version
    assert weekly_table(store) == []


@pytest.mark.parametrize(
    "table, row, unknown",
    [
        ("programme", {"exercise": "clamshell", "sessions_per_week": 3, "dose": ""}, "exercise 'clamshell'"),
        ("exercise_log", {"week": pd.Timestamp("2026-01-05"), "exercise": "", "sessions": 2}, "exercise ''"),
        ("goals", {"measure": "hip_flex", "side": "left", "target": 110.0,
                   "target_date": pd.Timestamp("2026-06-01")}, "measure 'hip_flex'"),
    ],
)  # fmt: skip
def test_records_naming_nothing_in_the_catalog_are_refused_whole(store, table, row, unknown):
    store.add_patient(SYSTEM, "P1")
    good = {"programme": "ninety_ninety", "exercise_log": "ninety_ninety", "goals": "hip_flexion"}[table]
    key = "measure" if table == "goals" else "exercise"
    rows = pd.DataFrame([{**row, key: good, "patient_id": "P1"}, {**row, "patient_id": "P1"}])
    with pytest.raises(ValueError, match=f"{table}: {unknown} is not in the catalog; allowed: .*{good}"):
        store.add_records(SYSTEM, table, rows)
    assert store.records(SYSTEM, table).empty  # the good row did not go in either


def test_patient_cannot_create_patients(store, make_readings):
    store.add_patient(SYSTEM, "P1")
    with pytest.raises(AccessDenied, match="may not add or change patient 'NEW'"):
        store.add_readings(PATIENT_P1, make_readings({"patient_id": "P1"}, {"patient_id": "NEW"}))
    assert store.patient_count() == 1 and len(live(store)) == 0


def test_patient_writes_own_readings(store, make_readings):
    store.add_patient(SYSTEM, "P1")
    assert store.add_readings(PATIENT_P1, make_readings({})).added == 1
    assert store.readings(SYSTEM)["entered_by"].tolist() == ["p1"]


def test_dedupe_adds_occurrences_beyond_those_stored(store, make_readings):
    row = {"value": "100", "method": "goniometer"}
    store.add_readings(SYSTEM, make_readings(row), dedupe=True)  # j = 1
    result = store.add_readings(SYSTEM, make_readings(row, row, row), dedupe=True)  # k = 3
    assert (result.added, result.skipped) == (2, 1)
    assert len(live(store)) == 3
    again = store.add_readings(SYSTEM, make_readings(row, row, row), dedupe=True)
    assert (again.added, again.skipped, again.patients_created) == (0, 3, 0)
    assert len(live(store)) == 3
    fewer = store.add_readings(SYSTEM, make_readings(row, row), dedupe=True)  # k=2 < j=3
    assert (fewer.added, fewer.skipped) == (0, 2)


def test_identical_rows_in_one_file_are_all_kept(store, make_readings):
    rows = make_readings({}, {}, {}, {"value": "101"})
    assert store.add_readings(SYSTEM, rows, dedupe=True).added == 4
    assert store.add_readings(SYSTEM, rows, dedupe=True).added == 0
    assert len(live(store)) == 4


def test_dedupe_compares_every_field_including_empty_ones(store, make_readings):
    store.add_readings(SYSTEM, make_readings({}), dedupe=True)
    variants = make_readings(
        {"note": "second trial"},
        {"method": "goniometer"},
        {"value": "100.5"},
        {"side": "right"},
        {"date": "2026-01-06"},
        {"patient_id": "P2"},
        {},  # the same as the stored one: skipped
    )
    result = store.add_readings(SYSTEM, variants, dedupe=True)
    assert (result.added, result.skipped) == (6, 1)


def test_without_dedupe_everything_is_added(store, make_readings):
    store.add_readings(SYSTEM, make_readings({}))
    assert store.add_readings(SYSTEM, make_readings({})).added == 1
    assert len(live(store)) == 2


def test_dedupe_counts_deleted_readings_as_stored(store, make_readings):
    # A soft-deleted reading is still in the store: importing the same file again must not bring it back.
    store.add_readings(SYSTEM, make_readings({}), dedupe=True)
    store.delete_row(SYSTEM, "readings", 1)
    assert store.add_readings(SYSTEM, make_readings({}), dedupe=True).added == 0
    assert len(live(store)) == 0


def test_empty_frame_adds_nothing(store, make_readings):
    result = store.add_readings(SYSTEM, make_readings({}).iloc[0:0], dedupe=True)
    assert (result.added, result.skipped, result.patients_created) == (0, 0, 0)
    assert len(live(store)) == 0


def test_strange_patient_ids_are_stored_literally(store, make_readings):
    ids = ["'; DROP TABLE readings; --", "<script>alert(1)</script>", "Zoë 🦵", 'a"b']
    store.add_readings(SYSTEM, make_readings(*({"patient_id": p} for p in ids)))
    assert sorted(store.patients(SYSTEM)["patient_id"]) == sorted(ids)
    assert sorted(live(store)["patient_id"]) == sorted(ids)
    assert len(live(store, patient_id="'; DROP TABLE readings; --")) == 1


# ---- weekly medians --------------------------------------------------------------------------------------


def test_weekly_table_medians_with_odd_and_even_counts(store, make_readings):
    store.add_readings(
        SYSTEM,
        make_readings(
            # week of Monday 2026-01-05: 10, 20, 30, 40 -> median 25 (even count)
            {"date": "2026-01-05", "value": "10"},
            {"date": "2026-01-07", "value": "40"},
            {"date": "2026-01-09", "value": "20"},
            {"date": "2026-01-11", "value": "30"},  # Sunday: same week
            # week of 2026-01-12: 50, 51, 90 -> 51
            {"date": "2026-01-12", "value": "90"},
            {"date": "2026-01-12", "value": "50"},
            {"date": "2026-01-18", "value": "51"},
            # another side and patient are separate series
            {"date": "2026-01-06", "side": "right", "value": "7"},
            {"patient_id": "P2", "date": "2026-01-06", "value": "8"},
        ),
    )
    assert weekly_table(store) == [
        ("P1", "hip_flexion", "left", "2026-01-05", 25.0, 4),
        ("P1", "hip_flexion", "left", "2026-01-12", 51.0, 3),
        ("P1", "hip_flexion", "right", "2026-01-05", 7.0, 1),
        ("P2", "hip_flexion", "left", "2026-01-05", 8.0, 1),
    ]


def test_weekly_table_follows_later_imports(store, make_readings):
    store.add_readings(SYSTEM, make_readings({"value": "10"}))
    store.add_readings(SYSTEM, make_readings({"date": "2026-01-08", "value": "20"}))
    assert weekly_table(store) == [("P1", "hip_flexion", "left", "2026-01-05", 15.0, 2)]


def test_weekly_as_of_counts_only_readings_up_to_that_day(store, make_readings):
    store.add_readings(
        SYSTEM,
        make_readings(
            {"date": "2025-12-29", "value": "5"},  # the week before
            {"date": "2026-01-05", "value": "10"},  # Monday
            {"date": "2026-01-07", "value": "20"},  # Wednesday
            {"date": "2026-01-09", "value": "60"},  # Friday
        ),
    )

    def week_of_jan_5(as_of):
        frame = store.weekly(SYSTEM, as_of)
        rows = frame[frame["week"] == pd.Timestamp("2026-01-05")]
        return [(r.value, r.n) for r in rows.itertuples()]

    assert week_of_jan_5(date(2026, 1, 4)) == []
    assert week_of_jan_5(date(2026, 1, 5)) == [(10.0, 1)]
    assert week_of_jan_5(date(2026, 1, 7)) == [(15.0, 2)]  # mid-week: Friday's reading not yet counted
    assert week_of_jan_5(date(2026, 1, 10)) == [(20.0, 3)]
    assert week_of_jan_5(date(2026, 1, 11)) == [(20.0, 3)]  # Sunday: listed once, not twice
    assert week_of_jan_5(date(2026, 2, 1)) == [(20.0, 3)]
    full = store.weekly(SYSTEM, date(2026, 1, 11))
    assert full["week"].tolist() == [pd.Timestamp("2025-12-29"), pd.Timestamp("2026-01-05")]
    assert list(full.columns) == ["patient_id", "measure", "side", "week", "value", "n"]


def test_weekly_filters_by_patient(store, make_readings):
    store.add_readings(SYSTEM, make_readings({"patient_id": "P1"}, {"patient_id": "P2"}))
    assert store.weekly(SYSTEM, date(2026, 1, 7), "P2")["patient_id"].tolist() == ["P2"]
    assert store.weekly(SYSTEM, date(2026, 3, 1), "P2")["patient_id"].tolist() == ["P2"]


def test_last_readings(store, make_readings):
    store.add_readings(
        SYSTEM, make_readings({"date": "2026-01-05"}, {"date": "2026-01-20"}, {"patient_id": "P2"})
    )
    last = store.last_readings(SYSTEM, date(2026, 1, 10))
    assert last.values.tolist() == [["P1", pd.Timestamp("2026-01-05")], ["P2", pd.Timestamp("2026-01-05")]]
    assert store.last_readings(SYSTEM, date(2026, 2, 1), "P1")["last_reading"].tolist() == [
        pd.Timestamp("2026-01-20")
    ]


# ---- corrections and deletes -----------------------------------------------------------------------------


def test_soft_delete_hides_keeps_and_audits(store, make_readings):
    store.add_readings(SYSTEM, make_readings({"value": "10"}, {"value": "30", "note": "odd"}))
    version = store.data_version()
    store.delete_row(ADMIN, "readings", 2)
    assert live(store)["value"].tolist() == [10.0]
    deleted_at, deleted_by, value = (
        store._cursor().execute("SELECT deleted_at, deleted_by, value FROM readings WHERE id = 2").fetchone()
    )
    assert deleted_at is not None and deleted_by == "boss" and value == 30.0
    assert count(store, "SELECT count(*) FROM readings") == 2
    entry = store.audit_log(SYSTEM).iloc[0]
    assert (entry["action"], entry["entity"], entry["entity_id"], entry["actor"]) == (
        "delete",
        "readings",
        "2",
        "boss",
    )
    old = json.loads(entry["old_value"])
    assert old["value"] == 30.0 and old["note"] == "odd"
    assert weekly_table(store) == [("P1", "hip_flexion", "left", "2026-01-05", 10.0, 1)]
    assert store.data_version() == version + 1
    with pytest.raises(AccessDenied):
        store.delete_row(SYSTEM, "readings", 2)  # already deleted


def test_deleting_the_only_reading_of_a_week_empties_it(store, make_readings):
    store.add_readings(SYSTEM, make_readings({}))
    store.delete_row(SYSTEM, "readings", 1)
    assert weekly_table(store) == []
    assert len(store.weekly(SYSTEM, date(2026, 3, 1))) == 0
    assert len(store.weekly(SYSTEM, date(2026, 1, 7))) == 0


def test_delete_row_refuses_unknown_tables(store):
    with pytest.raises(ValueError, match="unknown table"):
        store.delete_row(SYSTEM, "users; DROP TABLE readings", 1)


def test_update_reading_keeps_old_value_in_audit_and_refreshes_weekly(store, make_readings):
    store.add_readings(
        SYSTEM,
        make_readings(
            {"value": "10"}, {"value": "20", "date": "2026-01-06"}, {"value": "90", "date": "2026-01-07"}
        ),
    )
    assert weekly_table(store) == [("P1", "hip_flexion", "left", "2026-01-05", 20.0, 3)]
    version = store.data_version()
    store.update_reading(ADMIN, 3, make_readings({"value": "30", "date": "2026-01-07", "note": "typo fixed"}))
    row = live(store).iloc[2]
    assert (row["value"], row["note"]) == (30.0, "typo fixed")
    assert weekly_table(store) == [("P1", "hip_flexion", "left", "2026-01-05", 20.0, 3)]
    store.update_reading(ADMIN, 1, make_readings({"value": "50"}))
    assert weekly_table(store) == [("P1", "hip_flexion", "left", "2026-01-05", 30.0, 3)]
    assert store.data_version() == version + 2
    entry = store.audit_log(SYSTEM, username="boss").iloc[-1]  # oldest first of boss's entries
    assert (entry["action"], entry["entity"], entry["entity_id"]) == ("update", "readings", "3")
    assert json.loads(entry["old_value"])["value"] == 90.0 and json.loads(entry["old_value"])["note"] is None
    assert json.loads(entry["new_value"])["value"] == 30.0
    assert store.readings(SYSTEM).set_index("id").loc[3, "entered_by"] == "boss"


def test_update_moving_the_date_to_another_week_recomputes_both(store, make_readings):
    store.add_readings(
        SYSTEM, make_readings({"value": "10"}, {"value": "20"}, {"date": "2026-01-12", "value": "70"})
    )
    store.update_reading(SYSTEM, 2, make_readings({"value": "20", "date": "2026-01-13"}))
    assert weekly_table(store) == [
        ("P1", "hip_flexion", "left", "2026-01-05", 10.0, 1),
        ("P1", "hip_flexion", "left", "2026-01-12", 45.0, 2),
    ]
    store.update_reading(SYSTEM, 1, make_readings({"value": "10", "date": "2026-01-19"}))
    assert [w for _, _, _, w, _, _ in weekly_table(store)] == ["2026-01-12", "2026-01-19"]
    old = json.loads(store.audit_log(SYSTEM).iloc[0]["old_value"])
    assert old["date"] == "2026-01-05"


def test_update_keeps_patient_measure_and_side(store, make_readings):
    store.add_readings(SYSTEM, make_readings({}))
    for change in ({"side": "right"}, {"measure": "hip_abduction", "value": "30"}, {"patient_id": "P2"}):
        with pytest.raises(ValueError, match="keeps the patient"):
            store.update_reading(SYSTEM, 1, make_readings(change))
    assert live(store)["value"].tolist() == [100.0]


def test_patient_cannot_change_another_patients_reading(store, make_readings):
    store.add_readings(SYSTEM, make_readings({"patient_id": "P1"}, {"patient_id": "P2"}))
    with pytest.raises(AccessDenied):
        store.update_reading(PATIENT_P1, 2, make_readings({"patient_id": "P2", "value": "1"}))
    with pytest.raises(AccessDenied):
        store.delete_row(PATIENT_P1, "readings", 2)
    assert live(store)["value"].tolist() == [100.0, 100.0]
    store.update_reading(PATIENT_P1, 1, make_readings({"value": "101"}))
    assert live(store, patient_id="P1")["value"].tolist() == [101.0]


def test_data_version_bumps_on_every_write(store, make_readings, fast_hashing):
    versions = [store.data_version()]

    def step():
        versions.append(store.data_version())
        assert versions[-1] > versions[-2]

    store.add_patient(SYSTEM, "P1")
    step()
    store.add_readings(SYSTEM, make_readings({}))
    step()
    store.add_readings(SYSTEM, make_readings({}), dedupe=True)  # a write even when nothing new is added
    step()
    store.update_reading(SYSTEM, 1, make_readings({"value": "1"}))
    step()
    store.delete_row(SYSTEM, "readings", 1)
    step()
    store.create_account(None, "boss", "admin", auth.hash_password(PASSWORD))
    step()
    store.disable_account(SYSTEM, "boss")
    step()
    store.readings(SYSTEM)
    store.weekly(SYSTEM, date(2026, 1, 7))
    assert store.data_version() == versions[-1], "reads do not bump"


# ---- access control --------------------------------------------------------------------------------------


@pytest.fixture
def clinic(store, make_readings, fast_hashing):
    """Three patients: t1 treats P1 and P2, t2 treats P3; p1 is patient P1's account."""
    h = auth.hash_password(PASSWORD)
    store.create_account(None, "boss", "admin", h)
    store.create_account(ADMIN, "t1", "therapist", h)
    store.create_account(ADMIN, "t2", "therapist", h)
    store.create_account(ADMIN, "p1", "patient", h, patient_id="P1", therapist="t1")
    store.add_patient(ADMIN, "P2", "Second", therapist="t1")
    store.add_patient(ADMIN, "P3", "Third", therapist="t2")
    store.add_readings(
        SYSTEM, make_readings(*({"patient_id": p, "value": v} for p, v in (("P1", 1), ("P2", 2), ("P3", 3))))
    )
    return store


def test_patient_sees_only_own_readings_and_record(clinic):
    assert live(clinic, PATIENT_P1)["patient_id"].tolist() == ["P1"]
    assert live(clinic, PATIENT_P1, "P2").empty
    assert clinic.patients(PATIENT_P1)["patient_id"].tolist() == ["P1"]
    assert clinic.may_see(PATIENT_P1, "P1") and not clinic.may_see(PATIENT_P1, "P2")
    assert clinic.weekly(PATIENT_P1, date(2026, 3, 1))["patient_id"].tolist() == ["P1"]
    assert clinic.weekly(PATIENT_P1, date(2026, 1, 7))["patient_id"].tolist() == ["P1"]
    assert clinic.last_readings(PATIENT_P1, date(2026, 3, 1))["patient_id"].tolist() == ["P1"]


def test_therapist_sees_only_assigned_patients(clinic):
    assert sorted(set(live(clinic, T1)["patient_id"])) == ["P1", "P2"]
    assert live(clinic, T2)["patient_id"].tolist() == ["P3"]
    assert clinic.patients(T1)[["patient_id", "therapist"]].values.tolist() == [["P1", "t1"], ["P2", "t1"]]
    assert not clinic.may_see(T1, "P3")
    assert clinic.patients(Actor("t9", "therapist")).empty


def test_admin_and_system_see_everyone(clinic):
    assert clinic.patients(ADMIN)["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert len(live(clinic, SYSTEM)) == 3


def test_unknown_role_or_patient_actor_without_record_sees_nothing(clinic):
    assert live(clinic, Actor("x", "patient", None)).empty
    assert live(clinic, Actor("x", "visitor")).empty
    assert not clinic.may_see(Actor("x", "visitor"), "P1")


def test_patient_cannot_write_for_another_patient(clinic, make_readings):
    version = clinic.data_version()
    with pytest.raises(AccessDenied, match="P2"):
        clinic.add_readings(PATIENT_P1, make_readings({"patient_id": "P2", "value": "50"}))
    assert len(live(clinic)) == 3 and clinic.data_version() == version


def test_therapist_cannot_write_for_an_unassigned_patient(clinic, make_readings):
    with pytest.raises(AccessDenied):
        clinic.add_readings(T1, make_readings({"patient_id": "P1"}, {"patient_id": "P3"}))
    assert len(live(clinic)) == 3


def test_therapist_import_creates_and_assigns_new_patients(clinic, make_readings):
    result = clinic.add_readings(T1, make_readings({"patient_id": "P9"}))
    assert result.patients_created == 1
    assert clinic.patients(SYSTEM).set_index("patient_id").loc["P9", "therapist"] == "t1"
    assert clinic.may_see(T1, "P9") and not clinic.may_see(T2, "P9")


def test_only_admins_read_the_audit_trail_and_accounts(clinic):
    for actor in (T1, PATIENT_P1):
        with pytest.raises(AccessDenied):
            clinic.audit_log(actor)
        with pytest.raises(AccessDenied):
            clinic.accounts(actor)


def test_patients_cannot_add_patients(store):
    with pytest.raises(AccessDenied):
        store.add_patient(PATIENT_P1, "P5")
    assert store.patient_count() == 0


# ---- accounts --------------------------------------------------------------------------------------------


def test_first_admin_with_no_actor_only_when_no_accounts(store, fast_hashing):
    h = auth.hash_password(PASSWORD)
    with pytest.raises(AccessDenied):
        store.create_account(None, "first", "therapist", h)  # the first account must be an admin
    assert not store.has_accounts()
    store.create_account(None, "first", "admin", h)
    assert store.has_accounts()
    with pytest.raises(AccessDenied):
        store.create_account(None, "second", "admin", h)
    with pytest.raises(AccessDenied):
        store.create_account(T1, "third", "therapist", h)
    assert store.accounts(SYSTEM)["username"].tolist() == ["first"]


def test_account_rules(store, fast_hashing):
    h = auth.hash_password(PASSWORD)
    store.create_account(None, "boss", "admin", h)
    with pytest.raises(ValueError, match="already exists"):
        store.create_account(ADMIN, "boss", "therapist", h)
    with pytest.raises(ValueError, match="role"):
        store.create_account(ADMIN, "x", "superuser", h)
    for bad in ("", "   ", "u" * 65):
        with pytest.raises(ValueError, match="username"):
            store.create_account(ADMIN, bad, "therapist", h)
    store.create_account(ADMIN, "u" * 64, "therapist", h)
    with pytest.raises(ValueError, match="--patient"):
        store.create_account(ADMIN, "pat", "patient", h)
    store.create_account(ADMIN, "pat", "patient", h, patient_id="P1")
    with pytest.raises(ValueError, match="already has the account"):
        store.create_account(ADMIN, "pat2", "patient", h, patient_id="P1")
    with pytest.raises(ValueError, match="no therapist"):
        store.create_account(ADMIN, "pat3", "patient", h, patient_id="P3", therapist="boss")
    with pytest.raises(ValueError, match="goes with a patient"):
        store.create_account(ADMIN, "t2", "therapist", h, therapist="u" * 64)
    assert sorted(store.accounts(SYSTEM)["username"]) == sorted(["boss", "u" * 64, "pat"])
    assert store.patient_count() == 1, "failed account creations leave no patient behind"


def test_accounts_never_expose_password_hashes(clinic):
    frame = clinic.accounts(SYSTEM)
    assert "password_hash" not in frame.columns
    assert not frame.astype(str).apply(lambda col: col.str.contains("argon2")).any().any()
    assert frame.set_index("username").loc["p1", "patient_id"] == "P1"
    assert list(frame.set_index("username").loc["t1", "patients"]) == ["P1", "P2"]
    assert clinic.account("p1")["password_hash"].startswith("$argon2id$")  # sign-in still reads it


def test_real_argon2_hash_and_verify():
    h = auth.hash_password(PASSWORD)
    assert h.startswith("$argon2id$") and PASSWORD not in h
    assert auth.password_matches(h, PASSWORD)
    assert not auth.password_matches(h, PASSWORD + "!")
    assert not auth.password_matches(None, PASSWORD)
    assert not auth.password_matches("not a hash", PASSWORD)
    with pytest.raises(auth.AuthError):
        auth.hash_password("short")


# ---- sign-in, lockout, sessions --------------------------------------------------------------------------


def test_lockout_after_five_wrong_attempts(clinic):
    for i in range(auth.MAX_FAILED_ATTEMPTS - 1):
        assert auth.sign_in(clinic, "t1", "wrong password", now=T0 + timedelta(seconds=i)) is None
    assert clinic.account("t1")["locked_until"] is None
    assert auth.sign_in(clinic, "t1", "wrong password", now=T0 + timedelta(seconds=10)) is None
    locked_until = T0 + timedelta(seconds=10) + auth.LOCKOUT
    assert clinic.account("t1")["locked_until"] == locked_until
    assert timedelta(minutes=15) == auth.LOCKOUT
    # Locked: even the right password fails, until the lock ends.
    assert auth.sign_in(clinic, "t1", PASSWORD, now=T0 + timedelta(minutes=1)) is None
    assert auth.sign_in(clinic, "t1", PASSWORD, now=locked_until - timedelta(seconds=1)) is None
    token = auth.sign_in(clinic, "t1", PASSWORD, now=locked_until + timedelta(seconds=1))
    assert token
    assert auth.current_actor(clinic, token, now=locked_until + timedelta(seconds=2)) == Actor(
        "t1", "therapist"
    )
    account = clinic.account("t1")
    assert account["failed_attempts"] == 0 and account["locked_until"] is None


def test_success_resets_the_failure_count(clinic):
    for i in range(4):
        auth.sign_in(clinic, "t2", "nope nope", now=T0 + timedelta(seconds=i))
    assert auth.sign_in(clinic, "t2", PASSWORD, now=T0 + timedelta(seconds=5))
    for i in range(4):
        auth.sign_in(clinic, "t2", "nope nope", now=T0 + timedelta(seconds=10 + i))
    assert clinic.account("t2")["locked_until"] is None, "four new failures after a success do not lock"


def test_unknown_user_gets_none(clinic):
    assert auth.sign_in(clinic, "nobody", PASSWORD, now=T0) is None
    assert auth.sign_in(clinic, "", "", now=T0) is None


def test_failed_sign_ins_are_audited(clinic):
    auth.sign_in(clinic, "t1", "wrong password", now=T0)
    auth.sign_in(clinic, "t1", PASSWORD, now=T0)
    actions = clinic.audit_log(SYSTEM, username="t1")["action"].tolist()
    assert actions[:2] == ["sign_in", "sign_in_failed"]


def test_session_idle_timeout(clinic):
    token = auth.sign_in(clinic, "p1", PASSWORD, now=T0)
    assert timedelta(minutes=30) == auth.IDLE_TIMEOUT
    actor = auth.current_actor(clinic, token, now=T0 + timedelta(minutes=30))
    assert actor == Actor("p1", "patient", "P1")
    # Activity slides the window.
    assert auth.current_actor(clinic, token, now=T0 + timedelta(minutes=59))
    assert auth.current_actor(clinic, token, now=T0 + timedelta(minutes=89, seconds=1)) is None
    # Expired sessions are gone for good.
    assert auth.current_actor(clinic, token, now=T0 + timedelta(minutes=60)) is None
    assert count(clinic, "SELECT count(*) FROM sessions WHERE token = ?", [token]) == 0


def test_session_expires_after_30_idle_minutes(clinic):
    token = auth.sign_in(clinic, "p1", PASSWORD, now=T0)
    assert auth.current_actor(clinic, token, now=T0 + timedelta(minutes=30, seconds=1)) is None


def test_no_or_unknown_token(clinic):
    assert auth.current_actor(clinic, None, now=T0) is None
    assert auth.current_actor(clinic, "", now=T0) is None
    assert auth.current_actor(clinic, "forged-token", now=T0) is None


def test_end_session(clinic):
    token = auth.sign_in(clinic, "t1", PASSWORD, now=T0)
    clinic.end_session(token)
    assert auth.current_actor(clinic, token, now=T0) is None


def test_disabled_account_cannot_sign_in_and_its_sessions_end(clinic):
    token = auth.sign_in(clinic, "t1", PASSWORD, now=T0)
    other = auth.sign_in(clinic, "t2", PASSWORD, now=T0)
    clinic.disable_account(ADMIN, "t1")
    assert auth.current_actor(clinic, token, now=T0 + timedelta(seconds=5)) is None
    assert count(clinic, "SELECT count(*) FROM sessions WHERE username = 't1'") == 0
    assert auth.sign_in(clinic, "t1", PASSWORD, now=T0 + timedelta(minutes=1)) is None
    assert auth.current_actor(clinic, other, now=T0 + timedelta(seconds=5)) == T2
    assert bool(clinic.accounts(SYSTEM).set_index("username").loc["t1", "disabled"])
    with pytest.raises(ValueError, match="no account"):
        clinic.disable_account(ADMIN, "ghost")
    with pytest.raises(AccessDenied):
        clinic.disable_account(T2, "t2")


def test_set_password_lifts_the_lockout(clinic, fast_hashing):
    for i in range(5):
        auth.sign_in(clinic, "t1", "wrong password", now=T0 + timedelta(seconds=i))
    assert auth.sign_in(clinic, "t1", PASSWORD, now=T0 + timedelta(minutes=1)) is None
    clinic.set_password(ADMIN, "t1", auth.hash_password("a new password"))
    assert auth.sign_in(clinic, "t1", "a new password", now=T0 + timedelta(minutes=2))
    assert auth.sign_in(clinic, "t1", PASSWORD, now=T0 + timedelta(minutes=3)) is None
    assert "argon2" not in "".join(clinic.audit_log(SYSTEM)["new_value"].dropna())


# ---- audit trail -----------------------------------------------------------------------------------------


def test_audit_log_filters_by_patient_user_and_date(store, make_readings):
    store.add_patient(SYSTEM, "P1")
    store.add_patient(ADMIN, "P2")
    store.add_readings(ADMIN, make_readings({"patient_id": "P2"}))
    store.delete_row(SYSTEM, "readings", 1)
    log = store.audit_log(SYSTEM)
    assert log["id"].tolist() == sorted(log["id"], reverse=True), "newest first"
    by_patient = store.audit_log(SYSTEM, patient_id="P2")
    assert len(by_patient) >= 2 and set(by_patient["patient_id"]) == {"P2"}
    assert set(by_patient["action"]) == {"insert", "delete"}
    by_user = store.audit_log(SYSTEM, username="boss")
    assert len(by_user) >= 2 and set(by_user["actor"]) == {"boss"}
    assert store.audit_log(SYSTEM, patient_id="P1", username="boss").empty
    assert list(log.columns) == [
        "id", "changed_at", "actor", "action", "entity", "entity_id", "patient_id", "old_value", "new_value",
    ]  # fmt: skip

    # Pin the times so the date filters can be checked exactly.
    ids = sorted(log["id"])
    assert len(ids) >= 4
    store._cursor().execute("UPDATE audit SET changed_at = TIMESTAMP '2026-01-11 00:00:00'")
    stamps = ["2026-01-09 23:59:59", "2026-01-10 00:00:00", "2026-01-10 23:59:59"]
    for audit_id, stamp in zip(ids, stamps, strict=False):
        store._cursor().execute("UPDATE audit SET changed_at = ?::TIMESTAMP WHERE id = ?", [stamp, audit_id])

    def picked(**kw):
        return sorted(store.audit_log(SYSTEM, **kw)["id"])

    assert picked(since=date(2026, 1, 10), until=date(2026, 1, 10)) == ids[1:3]
    assert picked(since=date(2026, 1, 11), until=date(2026, 1, 11)) == ids[3:]
    assert picked(since=date(2026, 1, 10)) == ids[1:]
    assert picked(until=date(2026, 1, 9)) == ids[0:1]
    assert picked(since=date(2026, 1, 12), until=date(2026, 1, 12)) == []


def test_ids_follow_the_input_order(store, make_readings):
    values = [5, 3, 9, 1, 7, 3, 2, 8]
    store.add_readings(SYSTEM, make_readings(*({"value": v} for v in values)), dedupe=True)
    assert store.readings(SYSTEM).sort_values("id")["value"].tolist() == values
    more = [4, 3, 3, 3, 6]  # two 3s are stored: one more 3 is added, in its place
    store.add_readings(SYSTEM, make_readings(*({"value": v} for v in more)), dedupe=True)
    assert store.readings(SYSTEM).sort_values("id")["value"].tolist() == [*values, 4, 3, 6]


@pytest.mark.parametrize("patient_id", ["", "   ", "P" * 65])
def test_add_patient_holds_ids_to_the_readings_rule(store, patient_id):
    with pytest.raises(ValueError, match="patient id"):
        store.add_patient(SYSTEM, patient_id)
    assert store.patient_count() == 0
    store.add_patient(SYSTEM, "P" * 64)  # the longest id allowed
    assert store.patient_count() == 1


def test_readings_before_1970_fall_in_their_own_monday_week(store, make_readings):
    """Sunday 1969-12-28 closes the week of 1969-12-22; Monday 1969-12-29 and Thursday 1970-01-01 share one."""
    store.add_readings(SYSTEM, make_readings(
        {"patient_id": "Q1", "date": "1969-12-28", "value": "90"},
        {"patient_id": "Q1", "date": "1969-12-29", "value": "100"},
        {"patient_id": "Q1", "date": "1970-01-01", "value": "110"},
    ))  # fmt: skip
    weekly = store.weekly(SYSTEM, date(2026, 1, 1))
    assert weekly["week"].dt.strftime("%Y-%m-%d").tolist() == ["1969-12-22", "1969-12-29"]
    assert weekly["value"].tolist() == [90.0, 105.0] and weekly["n"].tolist() == [1, 2]
