"""Security: role boundaries in the store, sessions resolved from the database, no password hash anywhere it
could be shown, no unsafe HTML, escaped markdown, and the app's sign-in gate (idle timeout, single sign-on)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from hipdata import auth
from hipdata.analysis import progress
from hipdata.auth import SYSTEM, Actor
from hipdata.demo import load_demo
from hipdata.report import report_html
from hipdata.store import PATIENT_TABLES, AccessDenied, Store
from hipdata.validate import clean_readings

ROOT = Path(__file__).parents[1]
APP = str(ROOT / "app.py")
TODAY = date(2026, 3, 1)
PASSWORD = "correct horse battery"

ADMIN = Actor("ada", "admin")
TESS = Actor("tess", "therapist")  # assigned P1
TOM = Actor("tom", "therapist")  # assigned P2
NOBODY = Actor("nina", "therapist")  # assigned no one
PAT1 = Actor("pat1", "patient", "P1")
PAT2 = Actor("pat2", "patient", "P2")
NO_ID = Actor("ghost", "patient")  # a patient role without a patient record sees nothing
ALL = {"P1", "P2", "P3"}
SEES = {
    "admin": (ADMIN, ALL),
    "system": (SYSTEM, ALL),
    "therapist": (TESS, {"P1"}),
    "other-therapist": (TOM, {"P2"}),
    "unassigned-therapist": (NOBODY, set()),
    "patient": (PAT1, {"P1"}),
    "other-patient": (PAT2, {"P2"}),
    "patient-without-record": (NO_ID, set()),
    "unknown-role": (Actor("eve", "visitor", "P1"), set()),
}
RECORDS = {
    "exercise_log": {"week": pd.Timestamp("2026-01-05"), "exercise": "foam_rolling", "sessions": 2},
    "goals": {
        "measure": "hip_flexion",
        "side": "left",
        "target": 120.0,
        "target_date": pd.Timestamp("2026-06-01"),
    },
    "notes": {"week": pd.Timestamp("2026-01-05"), "text": "note"},
    "programme": {"exercise": "foam_rolling", "sessions_per_week": 3, "dose": "5 minutes"},
    "lefs": {"date": pd.Timestamp("2026-01-06"), "answers": "2" * 20, "total": 40},
    "psfs": {
        "date": pd.Timestamp("2026-01-06"),
        "activities": '["Squat", "Run", "Hike"]',
        "ratings": "[4, 5, 6]",
        "score": 5.0,
    },
    "plans": {"series": "fingertip_to_floor|pain_low_back"},
}
OWNED = [t for t in PATIENT_TABLES if t != "readings"]


def record(table: str, patient: str) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": patient, **RECORDS[table]}])


def build_clinic(store: Store, hashed: str) -> None:
    """Three patients (P3 unassigned), two therapists, two patient accounts, an admin; data in every table."""
    store.create_account(None, "ada", "admin", hashed)
    for name in ("tess", "tom", "nina"):
        store.create_account(ADMIN, name, "therapist", hashed)
    store.create_account(ADMIN, "pat1", "patient", hashed, "P1", "tess")
    store.create_account(ADMIN, "pat2", "patient", hashed, "P2", "tom")
    raw = pd.DataFrame(
        [
            {"patient_id": p, "date": d, "measure": "hip_flexion", "side": "left", "value": v}
            for p in sorted(ALL)
            for d, v in (("2026-01-06", "100"), ("2026-01-13", "104"), ("2026-02-24", "108"))
        ]
    )
    store.add_readings(ADMIN, clean_readings(raw, today=TODAY))
    for table in OWNED:
        store.add_records(ADMIN, table, pd.concat([record(table, p) for p in sorted(ALL)], ignore_index=True))


@pytest.fixture(scope="module")
def clinic_template(session_db) -> str:
    """The clinic is built once; each test gets its own copy of the database."""
    target = session_db("clinic", template=True)
    store = Store(target)
    try:
        build_clinic(store, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD))
    finally:
        store.close()
    return target


@pytest.fixture(scope="module")
def shared_clinic(clinic_template, copy_db) -> Store:
    """One copy for the tests that only read."""
    store = Store(copy_db(clinic_template, "shared"))
    yield store
    store.close()


@pytest.fixture
def clinic_db(clinic_template, copy_db) -> str:
    return copy_db(clinic_template, "clinic")


@pytest.fixture
def clinic(clinic_db, fast_hashing) -> Store:
    store = Store(clinic_db)
    yield store
    store.close()


def patients_in(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"])


# ---- reads ---------------------------------------------------------------------------------------------


READS = {
    "readings": lambda s, a, p: s.readings(a, p),
    "readings-as-of": lambda s, a, p: s.readings(a, p, TODAY),
    "weekly": lambda s, a, p: s.weekly(a, TODAY, p),
    "last_readings": lambda s, a, p: s.last_readings(a, TODAY, p),
    "export_readings": lambda s, a, p: s.export_readings(a, p),
    "patients": lambda s, a, p: s.patients(a) if p is None else s.patients(a).query("patient_id == @p"),
    "progress": lambda s, a, p: progress(s, a, TODAY, p).trends,
    **{f"records-{t}": (lambda s, a, p, t=t: s.records(a, t, p)) for t in OWNED},
}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("who", list(SEES))
def test_every_read_shows_exactly_the_patients_this_role_may_see(shared_clinic, read, who):
    clinic, (actor, visible) = shared_clinic, SEES[who]
    assert patients_in(READS[read](clinic, actor, None)) == visible
    for patient in sorted(ALL):  # asking for one patient by id cannot widen it either
        assert patients_in(READS[read](clinic, actor, patient)) == visible & {patient}
        assert clinic.may_see(actor, patient) == (patient in visible)


@pytest.mark.parametrize("who", ["therapist", "patient", "patient-without-record", "unknown-role"])
def test_audit_trail_and_accounts_are_for_admins_only(shared_clinic, who):
    clinic, (actor, _) = shared_clinic, SEES[who]
    with pytest.raises(AccessDenied):
        clinic.audit_log(actor)
    with pytest.raises(AccessDenied):
        clinic.audit_log(actor, patient_id=actor.patient_id)
    with pytest.raises(AccessDenied):
        clinic.accounts(actor)


def test_admin_reads_the_audit_trail_and_accounts(clinic):
    assert {"P1", "P2", "P3"} <= set(clinic.audit_log(ADMIN)["patient_id"].dropna())
    assert set(clinic.accounts(ADMIN)["username"]) == {"ada", "tess", "tom", "nina", "pat1", "pat2"}


def test_therapist_list_is_only_themselves_for_a_therapist(clinic):
    assert clinic.therapists(TESS) == ["tess"]
    assert clinic.therapists(PAT1) == []
    assert clinic.therapists(ADMIN) == ["nina", "tess", "tom"]


# ---- writes --------------------------------------------------------------------------------------------


def reading_of(store: Store, patient: str) -> int:
    return int(store.readings(SYSTEM, patient)["id"].iloc[0])


def row_of(store: Store, table: str, patient: str) -> int:
    return int(store.records(SYSTEM, table, patient)["id"].iloc[0])


def correction(make_readings, patient: str) -> pd.DataFrame:
    return make_readings({"patient_id": patient, "date": "2026-01-06", "value": 99}, today=TODAY)


def new_reading(make_readings, patient: str) -> pd.DataFrame:
    return make_readings({"patient_id": patient, "date": "2026-02-26", "value": 111}, today=TODAY)


LOG = pd.DataFrame({"exercise": ["ninety_ninety"], "sessions": [3]})
WRITES = {
    "add_readings": lambda s, a, p, mr: s.add_readings(a, new_reading(mr, p)),
    "add_readings-dedupe": lambda s, a, p, mr: s.add_readings(a, new_reading(mr, p), dedupe=True),
    "save_checkin": lambda s, a, p, mr: s.save_checkin(a, p, date(2026, 2, 23), new_reading(mr, p), LOG),
    "update_reading": lambda s, a, p, mr: s.update_reading(a, reading_of(s, p), correction(mr, p)),
    "delete_row-readings": lambda s, a, p, mr: s.delete_row(a, "readings", reading_of(s, p)),
    "replace_week_log": lambda s, a, p, mr: s.replace_week_log(a, p, date(2026, 1, 5), LOG),
    **{f"add_records-{t}": (lambda s, a, p, mr, t=t: s.add_records(a, t, record(t, p))) for t in OWNED},
    **{f"delete_row-{t}": (lambda s, a, p, mr, t=t: s.delete_row(a, t, row_of(s, t, p))) for t in OWNED},
}
PATIENT_MAY_NOT = {
    f"{verb}-{t}" for verb in ("add_records", "delete_row") for t in ("goals", "notes", "programme", "plans")
}


def snapshot(store: Store) -> tuple:
    return (
        store.data_version(),
        len(store.readings(SYSTEM)),
        *(len(store.records(SYSTEM, t)) for t in OWNED),
        len(store.audit_log(SYSTEM)),
    )


DENIED = [
    ("patient", "P2"),
    ("patient", "P3"),
    ("patient-without-record", "P1"),
    ("therapist", "P2"),
    ("therapist", "P3"),
    ("unassigned-therapist", "P1"),
    ("unknown-role", "P1"),
]


@pytest.mark.parametrize("write", list(WRITES))
def test_no_write_for_a_patient_this_role_may_not_see(clinic, make_readings, write):
    before = snapshot(clinic)
    for who, target in DENIED:
        actor, _ = SEES[who]
        try:
            WRITES[write](clinic, actor, target, make_readings)
        except AccessDenied:
            pass
        else:
            pytest.fail(f"{write}: {who} wrote for {target}")
        assert snapshot(clinic) == before, f"{write}: {who} changed something for {target}"


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize(("who", "target"), [("patient", "P1"), ("therapist", "P1"), ("admin", "P3")])
def test_writes_for_a_patient_this_role_may_see(clinic, make_readings, write, who, target):
    actor, _ = SEES[who]
    if actor.role == "patient" and write in PATIENT_MAY_NOT:
        with pytest.raises(AccessDenied, match="only therapists"):
            WRITES[write](clinic, actor, target, make_readings)
        return
    before = clinic.data_version()
    WRITES[write](clinic, actor, target, make_readings)
    assert clinic.data_version() > before
    newest = clinic.audit_log(ADMIN).iloc[0]
    assert (newest["actor"], newest["patient_id"]) == (actor.username, target)


def test_a_mixed_batch_is_refused_as_a_whole(clinic, make_readings):
    both = make_readings(
        {"patient_id": "P1", "date": "2026-02-26"}, {"patient_id": "P2", "date": "2026-02-26"}, today=TODAY
    )
    before = snapshot(clinic)
    for actor in (PAT1, TESS):
        with pytest.raises(AccessDenied):
            clinic.add_readings(actor, both)
    assert snapshot(clinic) == before


def test_a_check_in_for_yourself_cannot_carry_another_patients_readings(clinic, make_readings):
    before = snapshot(clinic)
    with pytest.raises(AccessDenied):
        clinic.save_checkin(PAT1, "P1", date(2026, 2, 23), new_reading(make_readings, "P2"), None)
    assert snapshot(clinic) == before


def test_patients_cannot_create_patients_through_readings(clinic, make_readings):
    with pytest.raises(AccessDenied, match="may not add or change patient 'P-new'"):
        clinic.add_readings(PAT1, new_reading(make_readings, "P-new"))
    assert "P-new" not in set(clinic.patients(SYSTEM)["patient_id"])


def refusal(call, patient_id: str) -> str:
    with pytest.raises(AccessDenied) as info:
        call()
    assert patient_id in str(info.value)
    return str(info.value).replace(patient_id, "ID")


def test_refusals_never_say_whether_a_patient_exists(clinic, make_readings):
    """The same words for a patient who exists elsewhere and for one who does not exist at all."""
    by_therapist = {
        refusal(lambda: clinic.add_patient(TESS, "P2"), "P2"),  # tom's patient
        refusal(lambda: clinic.add_patient(TESS, "P3"), "P3"),  # nobody's patient
        refusal(lambda: clinic.add_readings(TESS, new_reading(make_readings, "P2")), "P2"),  # an import
        refusal(lambda: clinic.add_records(TESS, "notes", record("notes", "P2")), "P2"),
        refusal(
            lambda: clinic.add_records(TESS, "notes", record("notes", "P-none")), "P-none"
        ),  # cannot create
    }
    assert by_therapist == {"tess may not add or change patient 'ID'"}
    by_patient = {
        refusal(lambda p=p: clinic.add_readings(PAT1, new_reading(make_readings, p)), p)
        for p in ("P2", "P-none")
    }
    assert by_patient == {"pat1 may not add or change patient 'ID'"}
    assert "P-none" not in set(clinic.patients(SYSTEM)["patient_id"])


def test_a_therapists_new_patient_is_theirs(clinic, make_readings):
    clinic.add_readings(TESS, new_reading(make_readings, "P-new"))
    assert clinic.patients(SYSTEM).set_index("patient_id").loc["P-new", "therapist"] == "tess"
    assert "P-new" not in set(clinic.patients(TOM)["patient_id"])


def test_a_correction_cannot_move_a_reading_to_another_patient(clinic, make_readings):
    with pytest.raises(ValueError, match="keeps the patient"):
        clinic.update_reading(PAT1, reading_of(clinic, "P1"), correction(make_readings, "P2"))
    assert clinic.readings(SYSTEM, "P2")["value"].tolist() == [100.0, 104.0, 108.0]


ADMIN_ONLY = {
    "assign": lambda s, a: s.assign(a, "P3", "tess"),
    "create_account": lambda s, a: s.create_account(a, "mallory", "admin", None),
    "create_patient_account": lambda s, a: s.create_account(a, "mallory", "patient", None, "P3"),
    "disable_account": lambda s, a: s.disable_account(a, "ada"),
    "set_password": lambda s, a: s.set_password(a, "ada", "$argon2id$forged"),
    "link_email": lambda s, a: s.link_email(a, "ada", "mallory@example.com"),
}


@pytest.mark.parametrize("write", list(ADMIN_ONLY))
@pytest.mark.parametrize("who", ["therapist", "patient", "patient-without-record", "unknown-role"])
def test_account_and_assignment_writes_are_for_admins_only(clinic, write, who):
    actor, _ = SEES[who]
    before = (snapshot(clinic), clinic.accounts(ADMIN).to_csv(), clinic.patients(ADMIN).to_csv())
    with pytest.raises(AccessDenied):
        ADMIN_ONLY[write](clinic, actor)
    assert (snapshot(clinic), clinic.accounts(ADMIN).to_csv(), clinic.patients(ADMIN).to_csv()) == before
    assert clinic.account("ada")["password_hash"].startswith("$argon2")


@pytest.mark.parametrize("write", list(ADMIN_ONLY))
def test_admin_may_change_accounts_and_assignments(clinic, write):
    before = clinic.data_version()
    ADMIN_ONLY[write](clinic, ADMIN)
    assert clinic.data_version() > before


def test_only_the_first_admin_is_created_without_an_actor(store):
    with pytest.raises(AccessDenied):
        store.create_account(None, "pat", "patient", None, "P1")
    store.create_account(None, "ada", "admin", None)
    with pytest.raises(AccessDenied):
        store.create_account(None, "eve", "admin", None)
    assert list(store.accounts(SYSTEM)["username"]) == ["ada"]


def test_patients_cannot_add_patients(clinic):
    for actor in (PAT1, NO_ID):
        with pytest.raises(AccessDenied):
            clinic.add_patient(actor, "P-mine")
        with pytest.raises(AccessDenied):
            clinic.add_patients(actor, pd.DataFrame({"patient_id": ["P-mine"], "display_name": [""]}))
    assert "P-mine" not in set(clinic.patients(SYSTEM)["patient_id"])


def test_a_therapist_cannot_take_another_therapists_patient(clinic):
    with pytest.raises(AccessDenied):
        clinic.add_patient(TESS, "P2")
    with pytest.raises(AccessDenied):
        clinic.add_patient(TESS, "P-new", therapist="tom")
    assert patients_in(clinic.patients(TESS)) == {"P1"}


# ---- restoring a deleted reading ------------------------------------------------------------------------


def deleted_reading(store: Store, patient: str) -> int:
    reading = int(store.readings(SYSTEM, patient)["id"].iloc[0])
    store.delete_row(SYSTEM, "readings", reading)
    return reading


@pytest.mark.parametrize("who", [ADMIN, SYSTEM, TESS])
def test_an_admin_or_the_assigned_therapist_restores_a_deleted_reading(clinic, who):
    reading = deleted_reading(clinic, "P1")
    before = clinic.readings(SYSTEM, "P1")
    assert list(clinic.deleted_readings(who, "P1")["id"]) == [reading]
    restored = clinic.restore_reading(who, reading)
    assert restored["patient_id"] == "P1" and restored["measure"] == "hip_flexion"
    assert (
        reading in set(clinic.readings(SYSTEM, "P1")["id"])
        and len(clinic.readings(SYSTEM, "P1")) == len(before) + 1
    )
    assert clinic.deleted_readings(who, "P1").empty
    entry = clinic.audit_log(ADMIN, patient_id="P1").iloc[0]
    assert (entry["actor"], entry["action"], entry["entity_id"]) == (who.username, "restore", str(reading))
    assert '"deleted_by": "system"' in entry["old_value"] and '"deleted_at": null' in entry["new_value"]


@pytest.mark.parametrize("who", [PAT1, TOM, NOBODY, Actor("eve", "visitor", "P1")])
def test_nobody_else_restores_a_reading_nor_learns_whether_it_exists(clinic, who):
    reading = deleted_reading(clinic, "P1")
    live = int(clinic.readings(SYSTEM, "P1")["id"].iloc[0])
    if who.role != "patient":
        assert clinic.deleted_readings(who, "P1").empty
    messages = set()
    for target in (reading, live, 99_999):
        with pytest.raises(AccessDenied) as info:
            clinic.restore_reading(who, target)
        messages.add(str(info.value).replace(str(target), "N"))
    assert len(messages) == 1, messages
    assert reading not in set(clinic.readings(SYSTEM, "P1")["id"])


def test_a_live_or_unknown_reading_cannot_be_restored(clinic):
    live = int(clinic.readings(SYSTEM, "P1")["id"].iloc[0])
    for target in (live, 99_999):
        with pytest.raises(AccessDenied, match=f"no deleted reading {target}"):
            clinic.restore_reading(ADMIN, target)


# ---- sessions: who someone is comes from the database ----------------------------------------------------


def test_a_token_yields_the_actor_stored_for_it(clinic):
    now = datetime(2026, 3, 1, 9, 0)
    token1 = clinic.open_session("pat1", now)
    token2 = clinic.open_session("pat2", now)
    assert token1 != token2
    for minutes in (0, 5, 20, 40, 70):  # every request, the heartbeat keeps it alive
        assert auth.current_actor(clinic, token1, now + timedelta(minutes=minutes)) == PAT1
        assert auth.current_actor(clinic, token2, now + timedelta(minutes=minutes)) == PAT2


def test_an_actor_cannot_be_widened_in_place(clinic):
    actor = auth.current_actor(clinic, clinic.open_session("pat1", datetime.now()))
    with pytest.raises(FrozenInstanceError):
        actor.patient_id = "P2"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        actor.role = "admin"  # type: ignore[misc]


@pytest.mark.parametrize("token", ["", None, "forged-token", "pat1", "P1"])
def test_no_actor_without_a_real_token(clinic, token):
    clinic.open_session("pat1", datetime.now())
    assert auth.current_actor(clinic, token) is None


def test_a_changed_token_is_worthless(clinic):
    token = clinic.open_session("pat1", datetime.now())
    for forged in (
        token[:-1],
        token + "A",
        token.upper() if token != token.upper() else token.lower(),
        f"{token}' OR '1'='1",
    ):
        assert auth.current_actor(clinic, forged) is None
    assert auth.current_actor(clinic, token) == PAT1


def test_idle_for_more_than_30_minutes_ends_the_session(clinic):
    start = datetime(2026, 3, 1, 9, 0)
    token = clinic.open_session("tess", start)
    assert auth.current_actor(clinic, token, start + timedelta(minutes=30)) == TESS
    later = start + timedelta(minutes=30) + timedelta(minutes=31)
    assert auth.current_actor(clinic, token, later) is None
    assert (
        auth.current_actor(clinic, token, start + timedelta(minutes=30, seconds=1)) is None
    )  # gone for good


def test_disabling_an_account_ends_its_sessions(clinic):
    token = clinic.open_session("tess", datetime.now())
    clinic.disable_account(ADMIN, "tess")
    assert auth.current_actor(clinic, token) is None
    assert auth.sign_in(clinic, "tess", PASSWORD) is None


# ---- sign-in under simultaneous attempts: the count and the lock come from the account row ----------------


@pytest.fixture
def checks(clinic, monkeypatch):
    """Record every password check against tess's real hash; `checks.gate` (an Event) holds them when cleared."""
    real_hash = clinic.account("tess")["password_hash"]
    real_check = auth.password_matches
    seen: list[str] = []
    gate = threading.Event()
    gate.set()

    def counting(password_hash, password):
        if password_hash == real_hash:
            seen.append(password)
            time.sleep(0.2)  # as slow as a real argon2 check, so the attempts overlap
            assert gate.wait(10)
        return real_check(password_hash, password)

    monkeypatch.setattr(auth, "password_matches", counting)
    seen_with_gate = SimpleNamespace(seen=seen, gate=gate)
    return seen_with_gate


def attempts_at_once(store: Store, passwords: list[str]) -> list[str | None]:
    barrier = threading.Barrier(len(passwords))

    def attempt(password: str) -> str | None:
        barrier.wait()
        return auth.sign_in(store, "tess", password)

    with ThreadPoolExecutor(len(passwords)) as pool:
        return list(pool.map(attempt, passwords))


def locked(store: Store) -> bool:
    until = store.account("tess")["locked_until"]
    return until is not None and until > datetime.now()


@pytest.mark.parametrize("round_", range(3))
def test_twenty_attempts_at_once_check_at_most_five_passwords(clinic, checks, round_):
    passwords = [f"wrong guess {i}" for i in range(19)]
    passwords.insert(round_ * 7, PASSWORD)  # the right one first, in the middle, near the end
    tokens = attempts_at_once(clinic, passwords)
    assert len(checks.seen) <= auth.MAX_FAILED_ATTEMPTS
    assert tokens == [None] * 20, "the attempts beyond the limit locked the account before any check ended"
    assert locked(clinic)
    before = len(checks.seen)
    assert auth.sign_in(clinic, "tess", PASSWORD) is None, "the right password is refused while locked"
    assert len(checks.seen) == before, "and is not even checked"
    failed = clinic.audit_log(ADMIN, username="tess")["action"].value_counts()
    assert failed.get("sign_in_failed", 0) <= auth.MAX_FAILED_ATTEMPTS and "sign_in" not in failed


def test_a_right_password_checked_while_the_limit_is_used_up_does_not_lift_the_lock(clinic, checks):
    checks.gate.clear()  # five attempts (four wrong, the right one) are being checked...
    with ThreadPoolExecutor(5) as pool:
        first = [pool.submit(auth.sign_in, clinic, "tess", p) for p in ["wrong one", "wrong two",
                 "wrong three", "wrong four", PASSWORD]]  # fmt: skip
        for _ in range(100):
            if len(checks.seen) == 5:
                break
            time.sleep(0.05)
        assert (
            auth.sign_in(clinic, "tess", "a sixth guess") is None
        )  # ...and a sixth arrives: refused unchecked
        assert len(checks.seen) == 5 and locked(clinic)
        lock = clinic.account("tess")["locked_until"]
        checks.gate.set()
        assert [f.result() for f in first] == [None] * 5
    assert clinic.account("tess")["locked_until"] == lock, "the success did not lift or move the lock"
    actions = clinic.audit_log(ADMIN, username="tess")["action"].tolist()
    assert "sign_in_refused" in actions and "locked" in actions and "sign_in" not in actions


def test_an_attempt_that_never_finished_still_counts(clinic, checks):
    now = datetime(2026, 3, 1, 9, 0)
    for _ in range(auth.MAX_FAILED_ATTEMPTS):  # five attempts begun and never finished (a killed server)
        assert clinic.begin_sign_in("tess", now, auth.MAX_FAILED_ATTEMPTS, now + auth.LOCKOUT)
    assert auth.sign_in(clinic, "tess", PASSWORD, now=now) is None
    assert checks.seen == [] and clinic.account("tess")["locked_until"] == now + auth.LOCKOUT
    assert auth.sign_in(clinic, "tess", PASSWORD, now=now + auth.LOCKOUT + timedelta(seconds=1))


def test_two_stores_on_one_database_share_the_count(clinic, clinic_db, checks):
    """Two Store objects, each with its own write lock (as two servers would have): the row decides."""
    other = Store(clinic_db)
    try:
        barrier = threading.Barrier(20)

        def attempt(i: int) -> str | None:
            barrier.wait()
            try:
                return auth.sign_in(clinic if i % 2 else other, "tess", f"wrong guess {i}")
            except duckdb.TransactionException:  # two writers touched the row at once: the loser is refused
                return None

        with ThreadPoolExecutor(20) as pool:
            assert list(pool.map(attempt, range(20))) == [None] * 20
    finally:
        other.close()
    assert len(checks.seen) <= auth.MAX_FAILED_ATTEMPTS and locked(clinic)


# ---- password hashes never leave the users table --------------------------------------------------------


def test_no_password_hash_in_audit_log_accounts_exports_or_report(clinic, tmp_path):
    auth.sign_in(clinic, "pat1", "wrong password here")
    assert auth.sign_in(clinic, "pat1", PASSWORD)
    clinic.set_password(ADMIN, "tom", auth.hash_password("another good password"))
    clinic.link_email(ADMIN, "tess", "tess@example.com")
    assert clinic.account("tom")["password_hash"].startswith("$argon2")  # hashes are really stored
    shown = [
        clinic.audit_log(ADMIN).to_csv(),
        clinic.accounts(ADMIN).to_csv(),
        clinic.export_readings(ADMIN).to_csv(),
        *(clinic.records(ADMIN, t).to_csv() for t in OWNED),
        clinic.patients(ADMIN).to_csv(),
        report_html(clinic, ADMIN, "P1", TODAY),
    ]
    for text in shown:
        assert "$argon2" not in text
        assert "password_hash" not in text
    assert "password_hash" not in clinic.accounts(ADMIN).columns


def test_no_password_hash_from_the_command_line(run_cli, fast_hashing, tmp_path):
    assert run_cli("users", "add", "ada", "--role", "admin", input=f"{PASSWORD}\n").exit_code == 0
    assert run_cli("users", "add", "tess", "--role", "therapist", input=f"{PASSWORD}\n").exit_code == 0
    added = run_cli(
        "users",
        "add",
        "pat",
        "--role",
        "patient",
        "--patient",
        "P1",
        "--therapist",
        "tess",
        input=f"{PASSWORD}\n",
    )
    reset = run_cli("users", "reset-password", "pat", input=f"{PASSWORD}!\n")
    listed = run_cli("users", "list")
    exported = run_cli("export")
    report = run_cli("report", "P1", "-o", tmp_path / "r.html")
    outputs = [added, reset, listed, exported, report]
    assert all(r.exit_code == 0 for r in outputs), [r.stderr for r in outputs]
    assert "tess" in listed.stdout and "P1" in listed.stdout
    for result in outputs:
        assert "$argon2" not in result.stdout + result.stderr
    assert "$argon2" not in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "$argon2" not in (tmp_path / "r-readings.csv").read_text(encoding="utf-8")
    store = Store(run_cli.db)
    try:
        assert store.account("pat")["password_hash"].startswith("$argon2")
        assert "$argon2" not in store.audit_log(SYSTEM).to_csv()
    finally:
        store.close()


# ---- no unsafe HTML; markdown escaped ------------------------------------------------------------------


def source_files() -> list[Path]:
    return [
        ROOT / "app.py",
        *sorted((ROOT / "app_pages").glob("*.py")),
        *sorted((ROOT / "hipdata").glob("*.py")),
    ]


def test_no_unsafe_html_anywhere_in_the_app():
    files = source_files()
    assert (
        len(files) > 10 and ROOT / "hipdata" / "ui.py" in files and ROOT / "app_pages" / "review.py" in files
    )
    offenders = [
        str(f.relative_to(ROOT))
        for f in files
        if re.search(r"unsafe_allow_html|\bst\.html\(|components\.v1|components\.html", f.read_text("utf-8"))
    ]
    assert offenders == []


SPECIAL = set("\\`*_[]#|<>~$:&")


def unescaped_specials(text: str) -> list[str]:
    """Markdown-special characters that are not preceded by an escaping backslash."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in SPECIAL:
            found.append(text[i])
        i += 1
    return found


def test_md_escape_makes_markdown_and_html_inert():
    from hipdata.ui import md_escape

    text = "**x** <b>y</b> [a](http://e)"
    assert md_escape(text) == r"\*\*x\*\* \<b\>y\</b\> \[a\](http\://e)"
    assert unescaped_specials(md_escape(text)) == []
    assert md_escape("&amp; &lt;") == r"\&amp; \&lt;"  # shows "&amp; &lt;", not "& <"


@pytest.mark.parametrize(
    "text",
    [
        "_em_ `code` # heading ~~gone~~ | a | b |",
        "<script>alert(1)</script>",
        "![img](http://e/x.png) :red[alarm] :material/delete: $x^2$",
        "back\\slash \\*not bold\\*",
        "plain words stay as they are",
        "&amp; &lt;b&gt; &#42; &#x2A; AT&T",  # entities would show as the characters they name
    ],
)
def test_md_escape_escapes_every_special_character_and_round_trips(text):
    from hipdata.ui import md_escape

    escaped = md_escape(text)
    assert unescaped_specials(escaped) == []
    assert re.sub(r"\\(.)", r"\1", escaped) == text  # shown exactly as typed


def test_md_escape_accepts_errors_and_numbers():
    from hipdata.ui import md_escape

    assert md_escape(ValueError("bad *input*")) == r"bad \*input\*"
    assert md_escape(42) == "42"


# ---- the app: role gate, idle timeout, single sign-on -----------------------------------------------------


@pytest.fixture
def db(new_db, monkeypatch) -> Store:
    path = new_db("app")
    monkeypatch.setenv("HIPDATA_DB", path)
    return Store(path)


def session(
    store: Store, username: str, role: str, patient: str | None = None, at: datetime | None = None
) -> str:
    store.create_account(SYSTEM, username, role, None, patient)
    return store.open_session(username, at or datetime.now())


def run_app(
    token: str | None = None, state: dict | None = None, secrets: dict | None = None, user: dict | None = None
) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if user is not None:
        at.user = user
    if token:
        at.session_state["session_token"] = token
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def page_text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "success", "error", "warning", "title", "text", "subheader")
    parts = [str(e.value) for kind in kinds for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value} {m.help}" for m in at.metric]
    parts += [f"{s.label} {s.options}" for s in at.selectbox]
    return "\n".join(parts)


def test_session_token_key_is_the_one_the_app_reads():
    from hipdata.ui import TOKEN_KEY

    assert TOKEN_KEY == "session_token"


def test_a_patient_cannot_review_another_patient_by_editing_session_state(db):
    load_demo(db, SYSTEM, patients=3, weeks=6)
    token = session(db, "pat", "patient", "P0001")
    tampered = {"review_patient": "P0002", "patient": "P0002", "progress-patient": "P0002"}
    at = run_app(token, state=tampered)
    at.switch_page("app_pages/progress.py").run()
    assert not at.exception, at.exception
    assert "My progress" in page_text(at)
    assert all(s.label != "Patient" for s in at.selectbox)
    shown = sorted((m.label, m.value) for m in at.metric)
    assert shown  # the page shows the patient's own cards

    from hipdata.ui import format_value, series_label

    def cards(patient: str) -> list[tuple[str, str]]:
        rows = progress(db, SYSTEM, date.today(), patient).trends
        rom = rows[rows["measure"].str.startswith("hip_")]
        return sorted(
            (series_label(r.measure, r.side), format_value(r.measure, r.current)) for r in rom.itertuples()
        )

    assert shown == cards("P0001")
    assert shown != cards("P0002")
    text = page_text(at)
    assert "P0002" not in text and "P0003" not in text
    assert db.patients(SYSTEM).set_index("patient_id").loc["P0002", "display_name"] not in text


def test_a_patients_check_in_is_saved_as_their_own_whatever_the_session_state_says(db):
    load_demo(db, SYSTEM, patients=2, weeks=3)
    token = session(db, "pat", "patient", "P0001")
    at = run_app(
        token, state={"review_patient": "P0002", "patient": "P0002", "checkin_mode": "All on one page"}
    )
    assert "Weekly check-in" in page_text(at)
    assert all(s.label != "Patient" for s in at.selectbox)
    before = {p: len(db.readings(SYSTEM, p)) for p in ("P0001", "P0002")}
    field = next(n for n in at.number_input if n.key and n.key.startswith("pain_low_back-"))
    field.set_value(7)
    next(b for b in at.button if b.label == "Save check-in").click().run()
    assert not at.exception, at.exception
    assert len(db.readings(SYSTEM, "P0002")) == before["P0002"]
    mine = db.readings(SYSTEM, "P0001")
    assert len(mine) == before["P0001"] + 1
    newest = mine.sort_values("id").iloc[-1]
    assert (newest["measure"], newest["value"], newest["entered_by"]) == ("pain_low_back", 7.0, "pat")


def test_idle_for_31_minutes_shows_the_sign_in_page_and_says_why(db):
    token = session(db, "tess", "therapist", at=datetime.now() - timedelta(minutes=31))
    at = run_app(token)
    assert "after 30 minutes without activity" in page_text(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert "session_token" not in at.session_state
    assert "Caseload" not in page_text(at)


def test_active_29_minutes_ago_is_still_signed_in(db):
    token = session(db, "tess", "therapist", at=datetime.now() - timedelta(minutes=29))
    at = run_app(token)
    assert "Caseload" in page_text(at)
    assert "signed out" not in page_text(at)


OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x",
    "client_id": "x",
    "client_secret": "x",
    "server_metadata_url": "http://localhost/.well-known/openid-configuration",
}


def test_single_sign_on_button_when_configured(db):
    db.create_account(SYSTEM, "ada", "admin", None)
    # A real server reads [auth] from secrets.toml and starts with is_logged_in False; AppTest's
    # at.secrets does not reach st.user, so the test seeds the signed-out user itself.
    at = run_app(secrets={"auth": OIDC}, user={"is_logged_in": False})
    labels = [b.label for b in at.button]
    assert "Sign in with single sign-on" in labels and "Sign in" in labels


def test_no_single_sign_on_button_without_secrets(db):
    db.create_account(SYSTEM, "ada", "admin", None)
    at = run_app()
    assert [b.label for b in at.button] == ["Sign in"]
    assert "single sign-on" not in page_text(at)


def test_single_sign_on_signs_in_the_account_linked_to_the_email(db):
    db.create_account(SYSTEM, "ada", "admin", None)
    db.create_account(SYSTEM, "tess", "therapist", None)
    db.link_email(SYSTEM, "tess", "Tess@Example.com")
    at = run_app(secrets={"auth": OIDC}, user={"is_logged_in": True, "email": "tess@example.com"})
    assert "Caseload" in page_text(at)
    assert auth.current_actor(db, at.session_state["session_token"]) == TESS


def test_single_sign_on_with_an_unlinked_email_gets_no_session(db):
    db.create_account(SYSTEM, "ada", "admin", None)
    db.create_account(SYSTEM, "tess", "therapist", None)
    db.link_email(SYSTEM, "tess", "tess@example.com")
    db.disable_account(SYSTEM, "tess")
    for email in ("mallory@example.com", "tess@example.com"):  # unknown, and linked to a disabled account
        at = run_app(secrets={"auth": OIDC}, user={"is_logged_in": True, "email": email})
        assert "No hipdata account is linked to this e-mail address" in page_text(at)
        assert "session_token" not in at.session_state
        assert "Caseload" not in page_text(at)


def test_a_therapist_cannot_claim_an_unassigned_patient_by_naming_it(clinic):
    with pytest.raises(AccessDenied):
        clinic.add_patient(TESS, "P3")  # P3 exists and has no therapist
    assert "P3" not in patients_in(clinic.patients(TESS))
    assert pd.isna(clinic.patients(SYSTEM).set_index("patient_id").loc["P3", "therapist"])


@pytest.mark.parametrize("table", ["goals", "notes", "programme", "plans"])
def test_patients_cannot_delete_their_therapists_records(clinic, table):
    row = row_of(clinic, table, "P1")
    with pytest.raises(AccessDenied):
        clinic.delete_row(PAT1, table, row)
    assert row in set(clinic.records(SYSTEM, table, "P1")["id"])


def test_a_password_reset_ends_the_accounts_sessions(clinic):
    token = clinic.open_session("pat1", datetime.now())
    clinic.set_password(ADMIN, "pat1", "new-hash")
    assert auth.current_actor(clinic, token) is None


# ---- per-patient versions: what a write changed, for the page caches ----------------------------------

MORE_WRITES = {
    "assign": lambda s, p: s.assign(ADMIN, p, "nina"),
    "restore_reading": lambda s, p: (
        s.delete_row(SYSTEM, "readings", reading_of(s, p)),
        s.restore_reading(SYSTEM, int(s.deleted_readings(SYSTEM, p)["id"].iloc[0])),
    ),
}


def versions(store: Store) -> dict[str, int]:
    return store.patient_versions(SYSTEM).to_dict()


@pytest.mark.parametrize("write", [*WRITES, *MORE_WRITES])
def test_a_write_changes_the_version_of_its_patient_only(clinic, make_readings, write):
    before = versions(clinic)
    if write in WRITES:
        WRITES[write](clinic, SYSTEM, "P1", make_readings)
    else:
        MORE_WRITES[write](clinic, "P1")
    after = versions(clinic)
    assert after["P1"] > before["P1"] and after["P1"] == clinic.data_version()
    assert {p: v for p, v in after.items() if p != "P1"} == {p: v for p, v in before.items() if p != "P1"}


def test_an_import_changes_the_versions_of_the_patients_in_the_file(clinic, csv_file):
    before = versions(clinic)
    path = csv_file(
        "patient_id,date,measure,side,value\nP2,2026-02-02,hip_flexion,left,90\nNEW,2026-02-02,pain_low_back,,3\n"
    )
    clinic.import_csv(SYSTEM, path, ["patient_id", "date", "measure", "side", "value"], today=TODAY)
    after = versions(clinic)
    assert after["P2"] == after["NEW"] == clinic.data_version() > before["P2"]
    assert (after["P1"], after["P3"]) == (before["P1"], before["P3"])


def test_sign_ins_sessions_and_accounts_change_no_patient(clinic):
    before = versions(clinic)
    token = auth.sign_in(clinic, "tess", PASSWORD)
    assert token and clinic.session_actor(token, datetime.now() + timedelta(minutes=5), timedelta(hours=1))
    auth.sign_in(clinic, "tess", "wrong password")
    clinic.create_account(ADMIN, "theo", "therapist", "x")
    clinic.end_session(token)
    assert versions(clinic) == before
