"""`hipdata copy --to`: a whole database into an empty one of either engine, verified, and refused otherwise.

Run on DuckDB, the copies go from file to file; run with --store=postgres, from PostgreSQL to a DuckDB file
and back to a new PostgreSQL schema: together the two runs move every kind of record both ways.
"""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from hipdata.auth import SYSTEM
from hipdata.cli import main
from hipdata.store import Store
from hipdata.store.copying import COPIED_TABLES, CopyError, copy_database, row_counts
from tests.test_audit import write_paths


@pytest.fixture
def full_store(new_db, tmp_path) -> Store:
    """A database holding every kind of record: each write path of the Store taken once, deletions included."""
    store = Store(new_db("source"))
    for _, write, _ in write_paths(store, tmp_path):
        write()
    yield store
    store.close()


def everything(store: Store) -> dict[str, pd.DataFrame]:
    """What a clinic would compare: readings with their ids and who entered them, deleted ones, accounts
    (hashes included), every other record, the audit trail."""
    frames = {
        "readings": store.readings(SYSTEM),
        "deleted": store.deleted_readings(SYSTEM),
        "accounts": store._df("SELECT * FROM users ORDER BY username"),
        "sessions": store._df("SELECT * FROM sessions ORDER BY token"),
        "audit": store.audit_log(SYSTEM),
        "patients": store.patients(SYSTEM),
        "versions": store.patient_versions(SYSTEM).to_frame(),
    }
    for table in ("exercise_log", "goals", "notes", "programme", "lefs", "psfs", "plans"):
        frames[table] = store._df(f"SELECT * FROM {table} ORDER BY id")
    return frames


def assert_same(a: Store, b: Store) -> None:
    left, right = everything(a), everything(b)
    for name, frame in left.items():
        pd.testing.assert_frame_equal(frame, right[name], check_dtype=False, obj=name)
    assert a.data_version() == b.data_version()


def test_every_record_survives_a_copy_there_and_back(full_store, new_db, tmp_path):
    there = Store(str(tmp_path / "there.duckdb"))  # the other engine when the suite runs on PostgreSQL
    copied = copy_database(full_store, there)
    assert [t.table for t in copied] == list(COPIED_TABLES) and all(t.matches for t in copied)
    counts = row_counts(full_store)
    assert {t.table: t.rows for t in copied} == counts
    assert all(counts[t] for t in ("patients", "users", "readings", "audit", "psfs", "plans", "sessions"))
    back = Store(new_db("back"))
    assert all(t.matches for t in copy_database(there, back))
    for copy in (there, back):
        assert_same(full_store, copy)
    # The copy is a working database: a new write takes the next ids and sign-ins still check the same hash.
    reading_ids = back.readings(SYSTEM)["id"]
    back.add_patient(SYSTEM, "NEW")
    assert back.account("tess")["password_hash"] == full_store.account("tess")["password_hash"]
    assert back.readings(SYSTEM)["id"].tolist() == reading_ids.tolist()
    assert back.audit_log(SYSTEM)["id"].max() == full_store.audit_log(SYSTEM)["id"].max() + 1


def test_a_target_that_holds_anything_is_refused_and_left_as_it_was(full_store, new_db):
    target = Store(new_db("busy"))
    target.add_patient(SYSTEM, "THEIRS")
    with pytest.raises(CopyError, match=r"already holds rows \(1 in patients, 1 in audit\)"):
        copy_database(full_store, target)
    assert row_counts(target) == {t: int(t in ("patients", "audit")) for t in COPIED_TABLES}


def test_a_copy_that_fails_half_way_leaves_the_target_empty(full_store, new_db, monkeypatch):
    target = Store(new_db("broken"))
    load, loaded = target._engine.load, []

    def failing_load(cur, table, columns, path):
        if table == "readings":
            raise OSError("disk full")
        load(cur, table, columns, path)
        loaded.append(table)

    monkeypatch.setattr(target._engine, "load", failing_load)
    with pytest.raises(OSError, match="disk full"):
        copy_database(full_store, target)
    assert loaded == ["patients", "users", "assignments", "sessions"]
    assert not any(row_counts(target).values()) and target.data_version() == 0


def test_the_command_copies_says_so_and_refuses_a_second_time(full_store, new_db, tmp_path):
    target = new_db("cli")
    runner = CliRunner()
    result = runner.invoke(main, ["--db", full_store.path, "copy", "--to", target])
    assert result.exit_code == 0, result.output
    assert "every count and checksum matches" in result.output
    assert f"  readings {row_counts(full_store)['readings']:>15,} rows" in result.output
    again = runner.invoke(main, ["--db", full_store.path, "copy", "--to", target])
    assert again.exit_code == 2 and "nothing copied: the target already holds rows" in again.output
    itself = runner.invoke(main, ["--db", full_store.path, "copy", "--to", full_store.path])
    assert itself.exit_code == 2 and "the target is the database being copied" in itself.output
