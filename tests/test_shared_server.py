"""Many processes on one PostgreSQL database: what the embedded file cannot do, held to the same rules.

Each Store here stands for an app server or a command-line run (several in one test, or real processes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

import pytest

from hipdata.auth import SYSTEM, Actor
from hipdata.store import Store
from hipdata.store.schema import MIGRATIONS

pytestmark = pytest.mark.postgres_only

HEADER = "patient_id,date,measure,side,value,note\n"


def readings_file(path, patients: int, weeks: int) -> int:
    """A readings CSV of `patients` x `weeks` x 2 rows (with commas and quotes in the notes); its row count."""
    day = date(2024, 1, 1)
    with open(path, "w") as file:
        file.write(HEADER)
        for p in range(patients):
            for w in range(weeks):
                d = (day + timedelta(weeks=w)).isoformat()
                file.write(f'S{p:04d},{d},hip_flexion,left,{90 + w % 20},"said ""ok"", then left"\n')
                file.write(f"S{p:04d},{d},pain_low_back,,{w % 10},\n")
    return patients * weeks * 2


def hipdata(db: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hipdata", "--db", db, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip


def count(store: Store) -> int:
    return int(store._one("SELECT count(*) FROM readings"))


def test_a_session_from_one_server_is_honoured_by_another(new_db):
    url = new_db()
    one, two = Store(url), Store(url)
    one.create_account(None, "boss", "admin", "hash")
    token = one.open_session("boss", datetime.now())
    assert two.session_actor(token, datetime.now(), timedelta(minutes=30)) == Actor("boss", "admin", None)
    two.end_session(token)  # signed out on one server: signed out everywhere
    assert one.session_actor(token, datetime.now(), timedelta(minutes=30)) is None


def test_a_write_by_one_process_changes_the_versions_another_reads(new_db, make_readings):
    url = new_db()
    app, cli = Store(url), Store(url)
    app.add_patient(SYSTEM, "P1")
    app.add_patient(SYSTEM, "P2")
    before, versions = app.data_version(), app.patient_versions(SYSTEM)
    cli.add_readings(SYSTEM, make_readings({"patient_id": "P2"}))
    assert app.data_version() == before + 1
    after = app.patient_versions(SYSTEM)
    assert after["P1"] == versions["P1"] and after["P2"] > versions["P2"]
    assert len(app.readings(SYSTEM, "P2")) == 1


def test_two_imports_of_one_file_at_the_same_moment_add_its_readings_once(new_db, tmp_path):
    url = new_db()
    Store(url).close()  # migrated before the race, so the race is the imports'
    path = tmp_path / "same.csv"
    rows = readings_file(path, patients=100, weeks=20)
    runs = [hipdata(url, "import", str(path)) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    assert said == [
        f"Imported 0 readings ({rows} already present, 0 new patients).\n",
        f"Imported {rows:,} readings (0 already present, 100 new patients).\n",
    ]
    assert count(Store(url)) == rows


def write_lock_holders(store: Store) -> int:
    """Backends holding this store's write lock (an advisory lock keyed on its schema) right now."""
    return int(store._one(
        """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
             AND objid = (hashtext(current_schema())::BIGINT & 4294967295)::TEXT::OID"""
    ))  # fmt: skip


def test_an_import_killed_inside_its_transaction_leaves_nothing_behind(new_db, tmp_path):
    url = new_db()
    store = Store(url)
    path = tmp_path / "big.csv"
    rows = readings_file(path, patients=200, weeks=26)
    for after in (0.0, 0.1):  # as soon as it holds the write lock, and a moment later (copying or inserting)
        run = hipdata(url, "import", str(path))
        deadline = time.monotonic() + 60
        while not write_lock_holders(store) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert run.poll() is None, "the import ended before it could be killed inside its transaction"
        time.sleep(after)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        while write_lock_holders(store) and time.monotonic() < deadline:  # its server process notices
            time.sleep(0.05)
        stored = count(store)
        assert stored in (0, rows) and store.patient_count() in (0, 200), (
            f"killed {after} s in: {stored} stored"
        )
        assert after or stored == 0  # the first kill came before the commit could
    # Nothing half-written and no lock left behind: the next import runs to the end (or finds it all there).
    done = hipdata(url, "import", str(path))
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert count(store) == rows


def test_servers_opening_an_older_database_at_once_upgrade_it_once(new_db, monkeypatch):
    url = new_db()
    import hipdata.store as store_module

    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:5])
    old = Store(url)  # version 5: written as that version's code wrote patients
    old._cursor().execute("INSERT INTO patients VALUES ('OLD', '', now(), 'system', NULL)")
    old.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    opened, errors = [], []

    def open_one():
        try:
            opened.append(Store(url))
        except Exception as error:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 4
    versions = [r[0] for r in opened[0]._cursor().execute("SELECT version FROM schema_version").fetchall()]
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    assert opened[0].patients(SYSTEM)["patient_id"].tolist() == ["OLD"]
    assert opened[0].patient_versions(SYSTEM)["OLD"] == 0  # migration 6 ran on the old rows


def test_sign_ins_racing_on_two_servers_never_pass_the_attempt_limit(new_db):
    url = new_db()
    servers = [Store(url), Store(url)]
    servers[0].create_account(None, "boss", "admin", "hash")
    lock_until = datetime.now() + timedelta(minutes=15)
    checked, errors = [], []

    def attempt(store: Store):
        try:
            if store.begin_sign_in("boss", datetime.now(), 5, lock_until) is not None:
                checked.append(1)
                store.fail_sign_in("boss", 5, lock_until)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(servers[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(checked) == 5
    assert servers[1].account("boss")["locked_until"] == lock_until


def test_the_url_password_is_never_shown(new_db):
    url = new_db().replace("postgresql://hipdata@", "postgresql://hipdata:s3cret-pw@")
    assert "s3cret-pw" not in Store(url).display
    out = subprocess.run(
        [sys.executable, "-m", "hipdata", "--db", url.replace("host=", "host=/nonexistent"), "trends"],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip
    assert out.returncode == 2 and "cannot open database" in out.stderr and "s3cret-pw" not in out.stderr
