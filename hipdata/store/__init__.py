"""Storage: schema and migrations, access control, transactions and the audit trail, on either engine.

This package is the only place that holds SQL (schema.py: the migrations; csv_file.py: reading and checking
a readings file). One Store owns the database for the process, an embedded DuckDB file (duckdb_engine) or a
PostgreSQL database shared by many processes (postgres_engine); the SQL here is written once for both, and
each engine module holds what its dialect spells differently. Every write of records goes through
`_write`, one transaction at a time (the kept trends, derived data, are written by keep_trends). Every read and write takes the acting user and touches only the patients that user
may see: a page cannot forget to filter.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from hipdata import catalog, messages
from hipdata.auth import ROLES, Actor
from hipdata.contract import OPTIONAL_COLUMNS, PATIENT_ID_MAX, READING_COLUMNS
from hipdata.store import csv_file, duckdb_engine
from hipdata.store.schema import ENUM_TYPES, MIGRATIONS

# The store hands out DataFrames that DuckDB builds; it imports pandas only where it builds one itself.
if TYPE_CHECKING:
    import pandas as pd

    from hipdata import series

# Soft-deletable patient-owned tables that follow the same shape (id, patient_id, ..., deleted_at).
PATIENT_TABLES = ("readings", "exercise_log", "goals", "notes", "programme", "lefs", "psfs", "plans")
THERAPIST_TABLES = ("goals", "notes", "programme", "plans")  # patients read these but never write them
# The reading columns with the enums as text, as the pages and files use them.
_AS_TEXT = ", ".join(f"{c}::VARCHAR AS {c}" if c in ENUM_TYPES else c for c in READING_COLUMNS)
DEDUPE_KEY = READING_COLUMNS  # a reading is the same reading when every column of the CSV is the same
_NULLABLE = OPTIONAL_COLUMNS  # the reading columns that may be NULL
# Columns of the other patient-owned tables that name a catalog entry. The pages offer only catalog entries;
# the store refuses anything else from any caller, so a page never meets an id it cannot show.
CATALOG_COLUMNS = {
    ("programme", "exercise"): catalog.EXERCISES,
    ("exercise_log", "exercise"): catalog.EXERCISES,
    ("goals", "measure"): catalog.MEASURES,
}


Patients = str | list[str] | None  # one patient, several, or every patient the actor may see


def _only(patients: Patients, column: str = "patient_id") -> tuple[str, list]:
    """SQL predicate for a Patients selector (one id stays `=`, which DuckDB prunes best)."""
    if patients is None:
        return "true", []
    if isinstance(patients, str):
        return f"{column} = ?", [patients]
    return f"{column} = ANY(?::VARCHAR[])", [list(patients)]


class AccessDenied(PermissionError):
    pass


@dataclass(frozen=True)
class ImportResult:
    added: int
    skipped: int  # rows already in the store (same reading, counted occurrence by occurrence)
    patients_created: int


@dataclass(frozen=True)
class CheckedFile:
    readings: int
    patients: int
    preview: pd.DataFrame  # the first 20 readings as they would be stored


def _first(result) -> tuple | None:
    """The first row; DuckDB streams results and a half-read one blocks the connection, so read them all."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _not_theirs(actor: Actor, patient_id: str) -> str:
    """The refusal for a patient id outside the actor's reach; it never says whether the patient exists."""
    return f"{actor.username} may not add or change patient {patient_id!r}"


def _require_catalog_ids(table: str, rows: pd.DataFrame) -> None:
    """Refuse rows whose catalog columns (CATALOG_COLUMNS) name something the catalog does not hold."""
    for (of, column), entries in CATALOG_COLUMNS.items():
        if of == table and column in rows:
            unknown = rows.loc[~rows[column].isin(list(entries)), column]
            if len(unknown):
                raise ValueError(
                    f"{table}: {column} {unknown.iloc[0]!r} is not in the catalog; allowed: {', '.join(entries)}"
                )


def _json(row: dict | None) -> str | None:
    return None if row is None else json.dumps(row, default=str, ensure_ascii=False, sort_keys=True)


def without_password(target: str) -> str:
    """A database target as it may be shown: a PostgreSQL URL loses its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", target)


def open_engine(target: str):
    """The engine for a database target: a PostgreSQL URL, or else a DuckDB file path (or :memory:)."""
    if target.startswith(("postgresql://", "postgres://")):
        from hipdata.store import postgres_engine  # psycopg loads only for a PostgreSQL store

        return postgres_engine.Engine(target)
    return duckdb_engine.Engine(target)


class Store:
    def __init__(self, target: str | Path):
        self.path = str(target)
        self._engine = open_engine(self.path)
        self._write_lock = threading.Lock()  # one writer per process (the engine serialises processes)
        self._migrate()

    # ---- connection handling -------------------------------------------------------------------

    def _cursor(self):
        """A cursor for reads on this thread."""
        return self._engine.cursor()

    def close(self) -> None:
        self._engine.close()

    @property
    def display(self) -> str:
        """The database as it may be shown (a URL without its password)."""
        return without_password(self.path)

    @contextmanager
    def _write(self) -> Iterator:
        """The one place writes happen: serialised, in a transaction, and bumping the data version."""
        with self._write_lock, self._engine.transaction() as cur:
            audited = cur.execute("SELECT coalesce(max(id), 0) FROM audit").fetchall()[0][0]
            yield cur
            # Every change to a patient's records is audited with the patient's id (a bulk import marks its
            # patients itself): those patients take this write's version.
            self._mark_changed(cur, "SELECT patient_id FROM audit WHERE id > ?", [audited])
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'data_version'")

    @staticmethod
    def _mark_changed(cur, patients_sql: str, params: list) -> None:
        """The patients that `patients_sql` selects changed in this write: they take the data version that
        the write commits (see _write)."""
        cur.execute(
            f"""UPDATE patients SET changed = (SELECT value + 1 FROM meta WHERE key = 'data_version')
                WHERE patient_id IN ({patients_sql})""",
            params,
        )

    def _df(self, sql: str, params: list | tuple = ()) -> pd.DataFrame:
        return self._cursor().execute(sql, list(params)).df()

    def _one(self, sql: str, params: list | tuple = ()):
        row = _first(self._cursor().execute(sql, list(params)))
        return None if row is None else row[0]

    def _migrate(self) -> None:
        """Apply the migrations this database lacks, each in its own transaction (under the engine's write
        lock: two servers opening an older database at once upgrade it once)."""
        with self._write_lock:
            while True:
                with self._engine.transaction() as cur:
                    cur.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)"
                    )
                    current = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
                    current = current[0][0]
                    if current >= len(MIGRATIONS):
                        return
                    cur.execute(MIGRATIONS[current])
                    cur.execute("INSERT INTO schema_version VALUES (?, now())", [current + 1])

    @cached_property
    def _columns(self) -> dict[str, list[str]]:
        """Each table's columns, in order (read when first needed: most commands never need them)."""
        rows = (
            self._cursor()
            .execute(
                """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_catalog = current_database()
               ORDER BY table_name, ordinal_position"""
            )
            .fetchall()
        )
        columns: dict[str, list[str]] = {}
        for table, column in rows:
            columns.setdefault(table, []).append(column)
        return columns

    def _live_columns(self, table: str, prefix: str = "") -> str:
        """A table's columns without its soft-delete marks: what a record is, for audit and display."""
        return ", ".join(prefix + c for c in self._columns[table] if c not in ("deleted_at", "deleted_by"))

    def schema_version(self) -> int:
        return int(self._one("SELECT max(version) FROM schema_version"))

    def data_version(self) -> int:
        """Changes on every write: a cache key for query results."""
        return int(self._one("SELECT value FROM meta WHERE key = 'data_version'"))

    def patient_versions(self, actor: Actor, patients: Patients = None) -> pd.Series:
        """The data version of the last write that changed each patient's records, by patient id: a cache
        key that a write to another patient, a sign-in or a session heartbeat leaves alone."""
        where, params = self._scope(actor)
        only, only_params = _only(patients)
        frame = self._df(
            f"""SELECT patient_id, changed FROM patients WHERE deleted_at IS NULL AND {where} AND {only}
                ORDER BY patient_id""",
            [*params, *only_params],
        )
        return frame.set_index("patient_id")["changed"]

    def patient_version(self, actor: Actor, patient_id: str) -> int:
        """One patient's version (see patient_versions); -1 for a patient the actor may not see."""
        versions = self.patient_versions(actor, patient_id)
        return int(versions.iloc[0]) if len(versions) else -1

    # ---- access control ------------------------------------------------------------------------

    def _scope(self, actor: Actor, column: str = "patient_id") -> tuple[str, list]:
        """SQL predicate limiting rows to the patients this actor may see."""
        if actor.sees_everything:
            return "true", []
        if actor.role == "therapist":
            return f"{column} IN (SELECT patient_id FROM assignments WHERE therapist = ?)", [actor.username]
        if actor.role == "patient" and actor.patient_id is not None:
            return f"{column} = ?", [actor.patient_id]
        return "false", []

    def _require(self, cur, actor: Actor, patient_ids: list[str], may_create: bool = False) -> list[str]:
        """Raise unless the actor may write for every patient; return the ids that do not exist yet."""
        ids = sorted(set(patient_ids))
        existing = self._existing(cur, actor, ids)
        missing = [p for p in ids if p not in existing]
        creates = may_create and actor.role in ("admin", "system", "therapist")
        refused = [
            p for p in ids if (p not in existing and not creates) or (p in existing and not existing[p])
        ]
        if refused and actor.sees_everything:
            raise AccessDenied(f"unknown patient: {refused[0]}")
        if refused:  # one answer whether the patient exists elsewhere or not at all: no existence oracle
            raise AccessDenied(_not_theirs(actor, refused[0]))
        return missing

    def _existing(self, cur, actor: Actor, ids: list[str]) -> dict[str, bool]:
        """The patients among `ids` that exist, each with whether the actor may see them."""
        where, params = self._scope(actor)
        rows = cur.execute(
            f"SELECT patient_id, {where} FROM patients WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))",
            [*params, ids],
        ).fetchall()
        return dict(rows)

    def may_see(self, actor: Actor, patient_id: str) -> bool:
        where, params = self._scope(actor)
        sql = f"SELECT count(*) FROM patients WHERE patient_id = ? AND deleted_at IS NULL AND {where}"
        return bool(self._one(sql, [patient_id, *params]))

    # ---- audit ---------------------------------------------------------------------------------

    def _audit(self, cur, actor: Actor, action: str, entity: str, entity_id, patient_id, old=None, new=None):
        cur.execute(
            "INSERT INTO audit SELECT coalesce(max(id), 0) + 1, now(), ?, ?, ?, ?, ?, ?, ? FROM audit",
            [actor.username, action, entity, None if entity_id is None else str(entity_id), patient_id,
             _json(old), _json(new)],
        )  # fmt: skip

    def _audit_each(
        self,
        cur,
        actor: Actor,
        entity: str,
        relation: str,
        id_column: str | None = None,
        action: str = "insert",
    ) -> None:
        """One audit row per row of `relation`, written in one statement: the row as JSON is the new value of
        an insert and the old value of a delete."""
        entity_id = f"CAST(r.{id_column} AS VARCHAR)" if id_column else "NULL"
        row = "to_json(r)::VARCHAR"
        old, new = (row, "NULL") if action == "delete" else ("NULL", row)
        cur.execute(
            f"""INSERT INTO audit
                SELECT (SELECT coalesce(max(id), 0) FROM audit) + row_number() OVER (), now(), ?, ?, ?,
                       {entity_id}, r.patient_id, {old}, {new}
                FROM {relation} r""",
            [actor.username, action, entity],
        )

    def audit_log(
        self, actor: Actor, patient_id: str | None = None, username: str | None = None,
        since: date | None = None, until: date | None = None, limit: int | None = None, offset: int = 0,
    ) -> pd.DataFrame:  # fmt: skip
        """Audit entries, newest first, filtered (and, with `limit`, paged) in SQL."""
        where, params = self._audit_filter(actor, patient_id, username, since, until)
        return self._df(
            f"""SELECT id, changed_at, actor, action, entity, entity_id, patient_id, old_value, new_value
                FROM audit WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?""",
            [*params, limit, max(int(offset), 0)],
        )

    def audit_count(
        self, actor: Actor, patient_id: str | None = None, username: str | None = None,
        since: date | None = None, until: date | None = None,
    ) -> int:  # fmt: skip
        where, params = self._audit_filter(actor, patient_id, username, since, until)
        return int(self._one(f"SELECT count(*) FROM audit WHERE {where}", params))

    @staticmethod
    def _audit_filter(actor: Actor, patient_id, username, since, until) -> tuple[str, list]:
        if not actor.sees_everything:
            raise AccessDenied("only admins may read the audit trail")
        where = """(?::VARCHAR IS NULL OR patient_id = ?) AND (?::VARCHAR IS NULL OR actor = ?)
                   AND (?::DATE IS NULL OR changed_at >= ?) AND (?::DATE IS NULL OR changed_at < ?::DATE + 1)"""
        return where, [patient_id, patient_id, username, username, since, since, until, until]

    # ---- patients ------------------------------------------------------------------------------

    def add_patient(
        self, actor: Actor, patient_id: str, display_name: str = "", therapist: str | None = None
    ) -> None:
        """Create a patient record; a therapist's new patient is assigned to them."""
        if not actor.sees_everything and actor.role != "therapist":
            raise AccessDenied("only therapists and admins may add patients")
        if therapist and therapist != actor.username and not actor.sees_everything:
            raise AccessDenied("only an admin may assign a patient to another therapist")
        if not patient_id.strip() or len(patient_id) > PATIENT_ID_MAX:  # the readings CSV's rule
            raise ValueError(
                f"patient id {patient_id!r}: {messages.EMPTY_PATIENT if not patient_id.strip() else messages.LONG_PATIENT}"
            )
        with self._write() as cur:
            if not self._create_patients(cur, actor, [patient_id], {patient_id: display_name}):
                if not actor.sees_everything:  # never hand an existing record to whoever names it
                    raise AccessDenied(_not_theirs(actor, patient_id))
                raise ValueError(f"a patient with id {patient_id!r} already exists")
            if therapist and actor.sees_everything:
                self._assign(cur, actor, patient_id, therapist)

    def _create_patients(self, cur, actor: Actor, ids: list[str], names: dict[str, str] | None = None) -> int:
        names = names or {}
        wanted = list(dict.fromkeys(ids))
        existing = self._existing(cur, actor, wanted)
        new = [p for p in wanted if p not in existing]
        if not new:
            return 0
        self._engine.replace_table(
            cur, "new_patients",
            "SELECT unnest(?::VARCHAR[]) AS patient_id, unnest(?::VARCHAR[]) AS display_name",
            [new, [names.get(p, "") for p in new]],
        )  # fmt: skip
        cur.execute(
            """INSERT INTO patients (patient_id, display_name, created_at, created_by)
               SELECT patient_id, display_name, now(), ? FROM new_patients""",
            [actor.username],
        )
        self._audit_each(cur, actor, "patient", "new_patients", "patient_id")
        if actor.role == "therapist":
            cur.execute("INSERT INTO assignments SELECT patient_id, ? FROM new_patients", [actor.username])
            self._engine.replace_table(
                cur, "new_assignments", "SELECT patient_id, ?::VARCHAR AS therapist FROM new_patients",
                [actor.username],
            )  # fmt: skip
            self._audit_each(cur, actor, "assignment", "new_assignments", "patient_id")
            cur.execute("DROP TABLE new_assignments")
        cur.execute("DROP TABLE new_patients")
        return len(new)

    def add_patients(self, actor: Actor, patients: pd.DataFrame) -> int:
        """Create the patients (patient_id, display_name) that do not exist yet; return how many."""
        if not actor.sees_everything and actor.role != "therapist":
            raise AccessDenied("only therapists and admins may add patients")
        with self._write() as cur:
            names = dict(zip(patients["patient_id"], patients["display_name"], strict=True))
            return self._create_patients(cur, actor, list(names), names)

    def _assign(self, cur, actor: Actor, patient_id: str, therapist: str) -> None:
        old = _first(cur.execute("SELECT therapist FROM assignments WHERE patient_id = ?", [patient_id]))
        if old and old[0] != therapist and not actor.sees_everything:
            raise AccessDenied("only an admin may move a patient to another therapist")
        cur.execute(
            """INSERT INTO assignments VALUES (?, ?)
               ON CONFLICT (patient_id) DO UPDATE SET therapist = excluded.therapist""",
            [patient_id, therapist],
        )
        self._audit(cur, actor, "update" if old else "insert", "assignment", patient_id, patient_id,
                    {"therapist": old[0]} if old else None, {"therapist": therapist})  # fmt: skip

    def assign(self, actor: Actor, patient_id: str, therapist: str) -> None:
        if not actor.sees_everything:
            raise AccessDenied("only an admin may assign patients")
        with self._write() as cur:
            role = _first(cur.execute("SELECT role FROM users WHERE username = ?", [therapist]))
            if not role or role[0] != "therapist":
                raise ValueError(f"no therapist account named {therapist!r}")
            self._require(cur, actor, [patient_id])
            self._assign(cur, actor, patient_id, therapist)

    def patients(self, actor: Actor, patient_id: Patients = None) -> pd.DataFrame:
        where, params = self._scope(actor, "p.patient_id")
        only, only_params = _only(patient_id, "p.patient_id")
        return self._df(
            f"""SELECT p.patient_id, p.display_name, a.therapist FROM patients p
                LEFT JOIN assignments a USING (patient_id)
                WHERE p.deleted_at IS NULL AND {where} AND {only} ORDER BY p.patient_id""",
            [*params, *only_params],
        )

    def patient_count(self) -> int:
        return int(self._one("SELECT count(*) FROM patients WHERE deleted_at IS NULL"))

    # ---- readings ------------------------------------------------------------------------------

    def add_readings(self, actor: Actor, clean: pd.DataFrame, dedupe: bool = False) -> ImportResult:
        """Insert clean readings (from validate.clean_readings) all-or-nothing.

        With dedupe, a reading that appears k times in the input and j times in the store adds max(0, k - j):
        repeated trials inside one file are kept, and importing the same file twice adds nothing.
        """
        with self._write() as cur:
            return self._add_readings(cur, actor, clean, dedupe)

    def _add_readings(self, cur, actor: Actor, clean: pd.DataFrame, dedupe: bool) -> ImportResult:
        columns = ", ".join("CAST(date AS DATE) AS date" if c == "date" else c for c in READING_COLUMNS)
        self._engine.stage_readings(cur, clean.loc[:, list(READING_COLUMNS)], columns)
        return self._insert_incoming(cur, actor, dedupe, per_row_audit=True)

    def _insert_incoming(self, cur, actor: Actor, dedupe: bool, per_row_audit: bool) -> ImportResult:
        """Write the temp table `incoming` (the reading columns, in input order) as new readings.

        Ids follow the input: `incoming` is always a newly made table in input order (see the engine's
        input_position).
        """
        ids = [r[0] for r in cur.execute("SELECT DISTINCT patient_id FROM incoming").fetchall()]
        missing = self._require(cur, actor, ids, may_create=True)
        created = self._create_patients(cur, actor, missing)
        total = cur.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
        deduped = dedupe and len(missing) < len(ids)  # patients created just now have nothing stored to match
        if deduped:
            self._drop_already_stored(cur)
        added = cur.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
        first_id = cur.execute("SELECT coalesce(max(id), 0) FROM readings").fetchall()[0][0]
        columns = ", ".join(READING_COLUMNS)
        cur.execute(
            f"""INSERT INTO readings (id, {columns}, entered_at, entered_by)
                SELECT ? + {self._engine.input_position}, {columns}, now(), ? FROM incoming""",
            [first_id, actor.username],
        )
        last_id = cur.execute("SELECT coalesce(max(id), 0) FROM readings").fetchall()[0][0]
        if per_row_audit:
            new_rows = f"(SELECT {self._live_columns('readings')} FROM readings WHERE id > {int(first_id)})"
            self._audit_each(cur, actor, "readings", new_rows, "id")
        elif added:  # a bulk import: one entry naming the id range; each row keeps who entered it and when
            summary = {
                "readings": added,
                "first_id": first_id + 1,
                "last_id": last_id,
                "skipped": total - added,
            }
            self._audit(cur, actor, "import", "readings", None, None, None, summary)
            if deduped:  # some patients may have had every reading skipped
                self._mark_changed(cur, "SELECT patient_id FROM incoming", [])
            else:  # every patient of the file (no second pass over the rows)
                self._mark_changed(cur, "SELECT unnest(?::VARCHAR[])", [ids])
        cur.execute("DROP TABLE incoming")
        return ImportResult(added=int(added), skipped=int(total - added), patients_created=created)

    def add_demo(
        self, actor: Actor, patients: pd.DataFrame, readings: pd.DataFrame, records: dict[str, pd.DataFrame]
    ) -> ImportResult:
        """A data set in one transaction: killed at any moment it leaves all or nothing; run again, it adds
        what is missing and nothing twice.

        Creates the patients (patient_id, display_name) that do not exist, adds the readings not stored yet
        (deduplicated), and writes each table of `records` (exercise log, programme) for the patients that
        never had a row in it (deleted rows count: what was removed on purpose does not come back).
        """
        if not actor.sees_everything and actor.role != "therapist":
            raise AccessDenied("only therapists and admins may add patients")
        with self._write() as cur:
            names = dict(zip(patients["patient_id"], patients["display_name"], strict=True))
            created = self._create_patients(cur, actor, list(names), names)
            result = self._add_readings(cur, actor, readings, dedupe=True)
            for table, rows in records.items():
                if table not in PATIENT_TABLES or table == "readings":
                    raise ValueError(f"unknown table {table}")
                had = cur.execute(
                    f"SELECT DISTINCT patient_id FROM {table} WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))",
                    [list(names)],
                ).fetchall()
                missing = rows[~rows["patient_id"].isin({p for (p,) in had})]
                if len(missing):
                    self._insert_owned(cur, actor, table, missing)
        return ImportResult(result.added, result.skipped, created + result.patients_created)

    def save_checkin(
        self, actor: Actor, patient_id: str, week: date, readings: pd.DataFrame, log: pd.DataFrame | None
    ) -> None:
        """A whole check-in in one transaction: its readings and, when given, the week's exercise log."""
        with self._write() as cur:
            self._require(cur, actor, [patient_id])
            if len(readings):
                if set(readings["patient_id"]) != {patient_id}:
                    raise AccessDenied("a check-in holds one patient's readings")
                self._add_readings(cur, actor, readings, dedupe=False)
            if log is not None:
                self._replace_week_log(cur, actor, patient_id, week, log)

    def import_records(
        self, actor: Actor, patients: pd.DataFrame, readings: pd.DataFrame, records: dict[str, pd.DataFrame]
    ) -> ImportResult:
        """Patients, readings and questionnaire records (e.g. from a FHIR file) in one transaction.

        Readings are deduplicated as a CSV import's are; a questionnaire record identical to one stored
        (same patient, date and answers) is skipped. `added` and `skipped` count readings and records.
        """
        with self._write() as cur:
            names = dict(zip(patients["patient_id"], patients["display_name"], strict=True))
            ids = sorted(
                {*names, *readings["patient_id"], *(p for r in records.values() for p in r["patient_id"])}
            )
            missing = self._require(cur, actor, ids, may_create=True)
            created = self._create_patients(cur, actor, missing, names)
            result = self._add_readings(cur, actor, readings, dedupe=True)
            added, skipped = result.added, result.skipped
            for table, rows in records.items():
                if table not in ("lefs", "psfs"):
                    raise ValueError(f"unknown table {table}")
                new = self._not_stored(cur, table, rows)
                if len(new):
                    self._insert_owned(cur, actor, table, new)
                added, skipped = added + len(new), skipped + len(rows) - len(new)
        return ImportResult(added=added, skipped=skipped, patients_created=created + result.patients_created)

    def _not_stored(self, cur, table: str, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows with no identical live row in the table (every column compared)."""
        if rows.empty:
            return rows
        same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM r.{c}" for c in rows.columns)
        with self._engine.registered(cur, "incoming_records", rows, like=table):
            return cur.execute(
                f"""SELECT {", ".join(f"r.{c}" for c in rows.columns)} FROM incoming_records r WHERE NOT EXISTS (
                        SELECT 1 FROM {table} s WHERE s.deleted_at IS NULL AND {same})"""
            ).df()

    def import_csv(
        self,
        actor: Actor,
        path: str | Path,
        header: list[str],
        today: date | None = None,
        progress: Callable[[str], None] = lambda stage: None,
    ) -> ImportResult:
        """Import a readings CSV file all-or-nothing, checked and written inside DuckDB.

        A well-formed file is read once, with DuckDB typing every cell as it goes (catalog ids as enums,
        values as numbers), and the remaining rules run on the typed rows. A file with anything else (a
        stray space, a typo, a broken row) is read again as text: there every rule of
        validate.clean_readings runs (tests hold the two to the same answers) and every problem is named.
        """
        checker = self._engine.checker()
        csv_file.read_checked(checker, path, header, today or date.today())
        progress("checking")
        with self._write() as cur:
            progress("writing")
            self._engine.stage_checked(checker, cur)
            result = self._insert_incoming(cur, actor, dedupe=True, per_row_audit=False)
            progress("saving")
        return result

    def check_csv(
        self, path: str | Path, header: list[str], today: date | None = None, problems_to: Path | None = None
    ) -> CheckedFile:
        """Check a readings CSV file as import_csv does, writing nothing: the counts and the first rows.

        On a bad file the ValidationError holds the first contract.MAX_KEPT problems and the count of all;
        with `problems_to`, every problem is also written there as a spreadsheet-safe CSV file.
        """
        cur = self._engine.checker()
        csv_file.read_checked(cur, path, header, today or date.today(), problems_to)
        readings, patients = cur.execute(
            "SELECT count(*), count(DISTINCT patient_id) FROM incoming"
        ).fetchall()[0]
        preview = cur.execute(f"SELECT {_AS_TEXT} FROM incoming ORDER BY rowid LIMIT 20").df()
        cur.execute("DROP TABLE incoming")
        return CheckedFile(int(readings), int(patients), preview)

    def _drop_already_stored(self, cur) -> None:
        """Keep only the occurrences of each reading beyond those already stored (k - j of them)."""
        key = ", ".join(DEDUPE_KEY)
        # Equal keys, NULL equal to NULL, written as plain equalities both engines hash-join (PostgreSQL
        # cannot hash IS NOT DISTINCT FROM, and a nested loop over a large import takes hours). A nullable
        # column is compared as text with NULL as '', which no stored value is (notes '' are stored NULL).
        same = " AND ".join(
            f"coalesce(n.{c}::VARCHAR, '') = coalesce(s.{c}::VARCHAR, '')"
            if c in _NULLABLE
            else f"n.{c} = s.{c}"
            for c in DEDUPE_KEY
        )
        kept = ", ".join(f"n.{c}" for c in (*READING_COLUMNS, *self._engine.staged_columns))
        order = self._engine.input_order
        self._engine.replace_table(
            cur, "incoming",
            f"""WITH numbered AS (
                    SELECT *, {order} AS input_order, row_number() OVER (PARTITION BY {key}) AS occurrence
                    FROM incoming),
                stored AS (
                    SELECT {key}, count(*) AS stored FROM readings
                    WHERE patient_id IN (SELECT patient_id FROM incoming)
                    GROUP BY {key})
                SELECT {kept} FROM numbered n LEFT JOIN stored s ON {same}
                WHERE n.occurrence > coalesce(s.stored, 0) ORDER BY n.input_order""",
        )  # fmt: skip

    def readings(
        self, actor: Actor, patient_id: str | None = None, as_of: date | None = None
    ) -> pd.DataFrame:
        """Live readings the actor may see, oldest first, with their ids and who entered them."""
        where, params = self._scope(actor)
        return self._df(
            f"""SELECT id, {_AS_TEXT}, entered_at, entered_by FROM readings
                WHERE deleted_at IS NULL AND {where} AND (?::VARCHAR IS NULL OR patient_id = ?)
                  AND (?::DATE IS NULL OR date <= ?)
                ORDER BY patient_id, date, measure, side, id""",
            [*params, patient_id, patient_id, as_of, as_of],
        )

    def export_readings(self, actor: Actor, patient_id: str | None = None) -> pd.DataFrame:
        """Readings in the CSV contract's columns, ready to write."""
        return self.readings(actor, patient_id).loc[:, list(READING_COLUMNS)]

    def series_readings(
        self, actor: Actor, as_of: date, patient_id: Patients = None, last_days: bool = False
    ) -> series.Readings:
        """The live readings on or before as_of as numpy arrays coded by series and week (patients as codes
        into their sorted ids, measure and side as enum codes): no text per reading, and no pandas.
        last_days: also each patient's latest reading."""
        import numpy as np

        from hipdata import series

        where, params = self._scope(actor)
        cur = self._cursor()
        only, only_params = _only(patient_id)
        ids = [r[0] for r in cur.execute(
            f"SELECT patient_id FROM patients WHERE {where} AND {only} ORDER BY 1", [*params, *only_params]
        ).fetchall()]  # fmt: skip
        spans = {
            "measures": series.SERIES_SPAN // series.SIDE_SPAN,
            "sides": series.SIDE_SPAN,
            "weeks": series.WEEK_SPAN,
        }
        cols = cur.execute(self._engine.series_readings.format(**spans), [ids, len(ids), as_of]).fetchnumpy()
        labels = self._enum_labels()
        last_day = None
        if last_days:
            last = cur.execute(self._engine.last_days, [ids, len(ids), as_of]).fetchnumpy()
            last_day = np.full(len(ids), series.NO_DAY)
            last_day[last["code"].astype("int64")] = last["day"].astype("int64")
        return series.Readings(
            cols["cell"].astype("int64", copy=False),
            cols["value"].astype(float, copy=False),
            (ids, *labels),
            last_day,
        )

    # ---- kept trends: each series' numbers, kept with the patient version they were computed at ------

    def trends_to_compute(
        self, actor: Actor, as_of: date, patients: Patients = None
    ) -> tuple[list[str], list[int], bool] | None:
        """The patients in view whose kept trends are missing or older than their records, in id order, with
        their versions; and whether that is every patient in view. None when a patient in view has a live
        reading after as_of: trends on an earlier day are computed each time, not kept. Otherwise kept
        numbers, which cover every live reading of their version, are those of as_of too.

        Versions are read before the readings: a write in between leaves a version older than the readings,
        which costs only a recomputation next time."""
        where, params = self._scope(actor)
        only, only_params = _only(patients)
        cur = self._cursor()
        later = f"SELECT 1 FROM readings WHERE deleted_at IS NULL AND date > ?::DATE AND {where} AND {only} LIMIT 1"
        if _first(cur.execute(later, [as_of, *params, *only_params])):
            return None
        where, params = self._scope(actor, "p.patient_id")
        only, only_params = _only(patients, "p.patient_id")
        rows = cur.execute(
            f"""SELECT p.patient_id, p.changed, k.patient_id IS NOT NULL FROM patients p
                LEFT JOIN kept_trends k ON k.patient_id = p.patient_id AND k.changed = p.changed
                WHERE {where} AND {only} ORDER BY 1""",
            [*params, *only_params],
        ).fetchall()
        stale = [(p, changed) for p, changed, kept in rows if not kept]
        return [p for p, _ in stale], [c for _, c in stale], len(stale) == len(rows)

    def keep_trends(self, ids: list[str], versions: list[int], numbers: dict) -> None:
        """Keep the trend numbers computed over every live reading of the patients `ids` at `versions` (as
        trends_to_compute gave them), unless newer ones are kept already. `numbers` has one row per series:
        patient (a code into ids), measure and side (enum codes), weeks, baseline, current and slope (NaN
        under three weeks). Derived data: no audit entry, no new data version."""
        import numpy as np

        marks = {
            "code": np.arange(len(ids)),
            "patient_id": np.asarray(ids, dtype=object),
            "changed": np.asarray(versions, dtype=np.int64),
        }
        # A patient's kept rows are replaced whole, and never by numbers older than theirs (a slower run's)
        replaced = """SELECT m.patient_id FROM new_marks m JOIN kept_trends k ON k.patient_id = m.patient_id
                      WHERE k.changed <= m.changed"""
        with (
            self._write_lock,
            self._engine.transaction() as cur,
            self._engine.registered(cur, "new_marks", marks, None),
            self._engine.registered(cur, "new_series", numbers, None),
        ):
            cur.execute(f"DELETE FROM kept_series WHERE patient_id IN ({replaced})")
            cur.execute(f"DELETE FROM kept_trends WHERE patient_id IN ({replaced})")
            cur.execute(
                """INSERT INTO kept_series
                   SELECT m.patient_id, m.changed, (enum_range(NULL::measure_id))[s.measure + 1],
                          (enum_range(NULL::side_id))[s.side + 1], s.weeks, s.baseline, s.current, s.slope
                   FROM new_series s JOIN new_marks m ON m.code = s.patient
                   WHERE m.patient_id NOT IN (SELECT patient_id FROM kept_trends)"""
            )
            cur.execute(
                """INSERT INTO kept_trends SELECT patient_id, changed FROM new_marks
                   WHERE patient_id NOT IN (SELECT patient_id FROM kept_trends)"""
            )
        self._engine.checkpoint()  # a bulk write: into the file here, which may run beside other work

    def kept_trends(self, actor: Actor, patients: Patients = None) -> dict:
        """The kept trend numbers of the patients in view, one row per series in series order (patient id,
        measure, side): patient_id as text, measure and side as enum codes (their names under `labels`),
        weeks, baseline, current and slope. A patient whose records changed after trends_to_compute keeps
        the numbers of then: the table is that of one moment, and the next run computes them again."""
        import numpy as np

        where, params = self._scope(actor, "p.patient_id")
        only, only_params = _only(patients, "p.patient_id")
        code = self._engine.enum_code.format
        cur = self._cursor()
        cols = cur.execute(
            f"""SELECT s.patient_id, {code(column="s.measure", type="measure_id")} AS measure,
                       {code(column="s.side", type="side_id")} AS side, s.weeks, s.baseline, s.current,
                       coalesce(s.slope, 'NaN'::DOUBLE) AS slope
                FROM patients p
                JOIN kept_trends k ON k.patient_id = p.patient_id
                JOIN kept_series s ON s.patient_id = k.patient_id AND s.changed = k.changed
                WHERE {where} AND {only} ORDER BY p.patient_id, s.measure, s.side""",
            [*params, *only_params],
        ).fetchnumpy()
        types = {"patient_id": object, "measure": np.int64, "side": np.int64, "weeks": np.int64}
        out = {name: np.asarray(column).astype(types.get(name, float)) for name, column in cols.items()}
        out["labels"] = self._enum_labels()
        return out

    def _enum_labels(self) -> tuple[list[str], list[str]]:
        """The measure and side enums' values, in code order."""
        cur = self._cursor()
        return tuple(
            [r[0] for r in cur.execute(f"SELECT unnest(enum_range(NULL::{ENUM_TYPES[c]}))").fetchall()]
            for c in ("measure", "side")
        )

    def table_csv(self, table: pd.DataFrame | dict, safe: tuple[str, ...] = ()) -> bytes:
        """A table as spreadsheet-safe CSV (table_csv.frame_csv), written with this thread's DuckDB connection:
        the store's own for a DuckDB store (a new in-memory database would cost more than most tables)."""
        from hipdata.store.table_csv import frame_csv

        return frame_csv(table, self._engine.checker(), safe)

    def weekly(self, actor: Actor, as_of: date, patient_id: Patients = None) -> pd.DataFrame:
        """Weekly medians of the live readings on or before as_of, sorted by series and week.

        The key columns come back as pandas categoricals (patients as codes into their ids, measure and side
        as enums): turning a million DuckDB strings into Python strings would cost more than the medians.
        """
        import pandas as pd

        from hipdata import series

        weekly = series.weekly_series(self.series_readings(actor, as_of, patient_id))
        keys = zip(
            ("patient_id", "measure", "side"), series.decode(weekly.code), weekly.series.labels, strict=True
        )
        return pd.DataFrame(
            {
                **{col: pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=object))
                   for col, codes, names in keys},
                "week": series.monday_of(weekly.series.t.astype("int64")).astype("datetime64[D]").astype("datetime64[ns]"),
                "value": weekly.series.v,
                "n": weekly.n.astype("int64"),
            }
        )  # fmt: skip

    def last_readings(self, actor: Actor, as_of: date, patient_id: Patients = None) -> pd.DataFrame:
        where, params = self._scope(actor)
        only, only_params = _only(patient_id)
        return self._df(
            f"""SELECT patient_id, max(date)::TIMESTAMP AS last_reading FROM readings
                WHERE deleted_at IS NULL AND date <= ? AND {where} AND {only}
                GROUP BY patient_id ORDER BY patient_id""",
            [as_of, *params, *only_params],
        )

    def _owned_row(self, cur, actor: Actor, table: str, row_id: int) -> dict:
        where, params = self._scope(actor)
        result = cur.execute(
            f"SELECT * FROM {table} WHERE id = ? AND deleted_at IS NULL AND {where}", [row_id, *params]
        )
        row = _first(result)
        if row is None:
            raise AccessDenied(f"no {table} row {row_id} that {actor.username} may change")
        return dict(zip([d[0] for d in result.description], row, strict=True))

    def update_reading(self, actor: Actor, reading_id: int, clean: pd.DataFrame) -> None:
        """Correct one reading with a validated one-row frame; the old value stays in the audit trail."""
        import pandas as pd

        new = clean.iloc[0]
        fields = ("value", "method", "position", "mode", "measured_by", "note")
        with self._write() as cur:
            old = self._owned_row(cur, actor, "readings", reading_id)
            if (old["patient_id"], old["measure"], old["side"]) != (
                new["patient_id"],
                new["measure"],
                new["side"],
            ):
                raise ValueError("a correction keeps the patient, measure and side of the reading")
            values = [None if pd.isna(new[f]) else new[f] for f in fields]
            cur.execute(
                f"""UPDATE readings SET {", ".join(f"{f} = ?" for f in fields)}, date = ?,
                    entered_at = now(), entered_by = ? WHERE id = ?""",
                [*values, new["date"].date(), actor.username, reading_id],
            )
            self._audit(cur, actor, "update", "readings", reading_id, old["patient_id"],
                        {k: old[k] for k in (*fields, "date")},
                        {**dict(zip(fields, values, strict=True)), "date": new["date"].date()})  # fmt: skip

    def delete_row(self, actor: Actor, table: str, row_id: int) -> None:
        """Soft delete: the row stays, marked deleted, and the audit trail records who and when."""
        if table not in PATIENT_TABLES:
            raise ValueError(f"unknown table {table}")
        if table in THERAPIST_TABLES and actor.role == "patient":
            raise AccessDenied(f"only therapists may change {table}")
        with self._write() as cur:
            old = self._owned_row(cur, actor, table, row_id)
            cur.execute(f"UPDATE {table} SET deleted_at = now(), deleted_by = ? WHERE id = ?",
                        [actor.username, row_id])  # fmt: skip
            self._audit(cur, actor, "delete", table, row_id, old["patient_id"], old, None)

    def deleted_readings(self, actor: Actor, patient_id: str | None = None) -> pd.DataFrame:
        """Deleted readings the actor may see, most recently deleted first: what restore_reading can bring back."""
        where, params = self._scope(actor)
        return self._df(
            f"""SELECT id, {_AS_TEXT}, deleted_at, deleted_by FROM readings
                WHERE deleted_at IS NOT NULL AND {where} AND (?::VARCHAR IS NULL OR patient_id = ?)
                ORDER BY deleted_at DESC, id""",
            [*params, patient_id, patient_id],
        )

    def restore_reading(self, actor: Actor, reading_id: int) -> dict:
        """Undo a deletion (admins, and the patient's therapist); audited. Returns the reading, as text."""
        if not actor.sees_everything and actor.role != "therapist":
            raise AccessDenied("only therapists and admins may restore readings")
        where, params = self._scope(actor)
        with self._write() as cur:
            result = cur.execute(
                f"SELECT {_AS_TEXT}, deleted_at, deleted_by FROM readings WHERE id = ? AND deleted_at IS NOT NULL AND {where}",
                [reading_id, *params],
            )
            row = _first(result)
            if row is None:  # the same answer whether it does not exist, is not deleted, or is not theirs
                raise AccessDenied(f"no deleted reading {reading_id} that {actor.username} may restore")
            reading = dict(zip([d[0] for d in result.description], row, strict=True))
            cur.execute("UPDATE readings SET deleted_at = NULL, deleted_by = NULL WHERE id = ?", [reading_id])
            deletion = {k: reading.pop(k) for k in ("deleted_at", "deleted_by")}
            self._audit(cur, actor, "restore", "readings", reading_id, reading["patient_id"], deletion,
                        dict.fromkeys(deletion))  # fmt: skip
        return reading

    # ---- generic patient-owned records (exercise log, goals, notes, programme, LEFS) ------------

    def _insert_owned(self, cur, actor: Actor, table: str, rows: pd.DataFrame) -> None:
        _require_catalog_ids(table, rows)
        self._require(cur, actor, rows["patient_id"].unique().tolist())
        first_id = cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchall()[0][0]
        cols = ", ".join(rows.columns)
        with self._engine.registered(cur, "incoming_rows", rows, like=table):
            cur.execute(
                f"""INSERT INTO {table} (id, {cols}, entered_at, entered_by)
                    SELECT ? + {self._engine.frame_position}, {cols}, now(), ? FROM incoming_rows""",
                [first_id, actor.username],
            )
        audited = f"(SELECT {self._live_columns(table)} FROM {table} WHERE id > {int(first_id)})"
        self._audit_each(cur, actor, table, audited, "id")

    def add_records(self, actor: Actor, table: str, rows: pd.DataFrame) -> None:
        if table not in PATIENT_TABLES or table == "readings":
            raise ValueError(f"unknown table {table}")
        if table in THERAPIST_TABLES and actor.role == "patient":
            raise AccessDenied(f"only therapists may write {table}")
        with self._write() as cur:
            self._insert_owned(cur, actor, table, rows)

    def records(self, actor: Actor, table: str, patient_id: Patients = None) -> pd.DataFrame:
        if table not in PATIENT_TABLES:
            raise ValueError(f"unknown table {table}")
        where, params = self._scope(actor)
        only, only_params = _only(patient_id)
        return self._df(
            f"""SELECT {self._live_columns(table)} FROM {table}
                WHERE deleted_at IS NULL AND {where} AND {only} ORDER BY patient_id, id""",
            [*params, *only_params],
        )

    def replace_week_log(self, actor: Actor, patient_id: str, week: date, clean: pd.DataFrame) -> None:
        """This week's exercise log, replaced as a whole so a check-in can be corrected."""
        with self._write() as cur:
            self._require(cur, actor, [patient_id])
            self._replace_week_log(cur, actor, patient_id, week, clean)

    def _replace_week_log(self, cur, actor: Actor, patient_id: str, week: date, clean: pd.DataFrame) -> None:
        import pandas as pd

        self._engine.replace_table(
            cur, "replaced_log",
            "SELECT * FROM exercise_log WHERE patient_id = ? AND week = ? AND deleted_at IS NULL",
            [patient_id, week],
        )  # fmt: skip
        self._audit_each(
            cur, actor, "exercise_log", "replaced_log", "id", action="delete"
        )  # old rows in full
        cur.execute(
            "UPDATE exercise_log SET deleted_at = now(), deleted_by = ? WHERE id IN (SELECT id FROM replaced_log)",
            [actor.username],
        )
        cur.execute("DROP TABLE replaced_log")
        if len(clean):
            self._insert_owned(
                cur, actor, "exercise_log", clean.assign(patient_id=patient_id, week=pd.Timestamp(week))
            )

    # ---- accounts and sessions -----------------------------------------------------------------

    def has_accounts(self) -> bool:
        return bool(self._one("SELECT count(*) FROM users"))

    def account(self, username: str) -> dict | None:
        """The full account row, hash included: for sign-in only, never for display."""
        result = self._cursor().execute("SELECT * FROM users WHERE username = ?", [username])
        row = _first(result)
        return None if row is None else dict(zip([d[0] for d in result.description], row, strict=True))

    def create_account(
        self, actor: Actor | None, username: str, role: str, password_hash: str | None,
        patient_id: str | None = None, therapist: str | None = None, email: str | None = None,
    ) -> None:  # fmt: skip
        """Create an account. With no accounts yet, only the first admin may be created (actor None)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not username.strip() or len(username) > 64:
            raise ValueError("username must be 1 to 64 characters")
        with self._write() as cur:
            first = cur.execute("SELECT count(*) FROM users").fetchall()[0][0] == 0
            if actor is None:
                if not (first and role == "admin"):
                    raise AccessDenied("only an admin may create accounts")
                actor = Actor(username, "admin")
            elif not actor.sees_everything:
                raise AccessDenied("only an admin may create accounts")
            if cur.execute("SELECT count(*) FROM users WHERE username = ?", [username]).fetchall()[0][0]:
                raise ValueError(f"an account named {username!r} already exists")
            if role == "patient":
                if not patient_id:
                    raise ValueError("a patient account needs --patient ID")
                self._create_patients(cur, actor, [patient_id])
                taken = _first(cur.execute("SELECT username FROM users WHERE patient_id = ?", [patient_id]))
                if taken:
                    raise ValueError(f"patient {patient_id} already has the account {taken[0]!r}")
            if therapist:
                t = _first(cur.execute("SELECT role FROM users WHERE username = ?", [therapist]))
                if not t or t[0] != "therapist":
                    raise ValueError(f"no therapist account named {therapist!r}")
                if role != "patient":
                    raise ValueError("--therapist goes with a patient account")
            cur.execute(
                "INSERT INTO users (username, role, patient_id, email, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?, now())",
                [username, role, patient_id if role == "patient" else None, email, password_hash],
            )
            self._audit(cur, actor, "insert", "user", username, patient_id, None,
                        {"role": role, "patient_id": patient_id})  # fmt: skip
            if therapist:
                self._assign(cur, actor, patient_id, therapist)

    def accounts(self, actor: Actor) -> pd.DataFrame:
        """Accounts without their password hashes."""
        if not actor.sees_everything:
            raise AccessDenied("only admins may list accounts")
        return self._df(
            """SELECT u.username, u.role, u.patient_id, u.email, u.disabled,
                      u.locked_until IS NOT NULL AND u.locked_until > now() AS locked, u.created_at,
                      array_agg(a.patient_id ORDER BY a.patient_id) FILTER (WHERE a.patient_id IS NOT NULL) AS patients
               FROM users u LEFT JOIN assignments a ON a.therapist = u.username
               GROUP BY u.username, u.role, u.patient_id, u.email, u.disabled, u.locked_until, u.created_at
               ORDER BY u.role, u.username"""
        )

    def therapists(self, actor: Actor) -> list[str]:
        if not actor.sees_everything:
            return [actor.username] if actor.role == "therapist" else []
        rows = self._cursor().execute("SELECT username FROM users WHERE role = 'therapist' ORDER BY 1")
        return [r[0] for r in rows.fetchall()]

    def _update_account(self, actor: Actor, username: str, changes: dict, audit_new: dict) -> None:
        if not actor.sees_everything:
            raise AccessDenied("only an admin may change accounts")
        with self._write() as cur:
            result = cur.execute("SELECT * FROM users WHERE username = ?", [username])
            row = _first(result)
            if row is None:
                raise ValueError(f"no account named {username!r}")
            before = dict(zip([d[0] for d in result.description], row, strict=True))
            sets = ", ".join(f"{k} = ?" for k in changes)
            cur.execute(f"UPDATE users SET {sets} WHERE username = ?", [*changes.values(), username])
            if changes.get("disabled") or "password_hash" in changes:  # a reset signs everyone out
                cur.execute("DELETE FROM sessions WHERE username = ?", [username])
            old = {k: before[k] for k in audit_new if k in before} or None  # never the password hash
            self._audit(cur, actor, "update", "user", username, None, old, audit_new)

    def disable_account(self, actor: Actor, username: str) -> None:
        self._update_account(actor, username, {"disabled": True}, {"disabled": True})

    def set_password(self, actor: Actor, username: str, password_hash: str) -> None:
        self._update_account(
            actor, username, {"password_hash": password_hash, "failed_attempts": 0, "locked_until": None},
            {"password": "reset"},
        )  # fmt: skip

    def link_email(self, actor: Actor, username: str, email: str) -> None:
        self._update_account(actor, username, {"email": email}, {"email": email})

    def account_by_email(self, email: str) -> str | None:
        return self._one("SELECT username FROM users WHERE lower(email) = lower(?) AND NOT disabled", [email])

    # Sign-in: an attempt counts against the limit from the moment it starts, and the count and the lock are
    # decided by single UPDATE statements on the account's row inside a write transaction. However many
    # attempts arrive at once (threads here, or processes against a shared server), at most `max_attempts`
    # reach the password check before the account locks; those beyond are refused unchecked.

    def begin_sign_in(
        self, username: str, now: datetime, max_attempts: int, lock_until: datetime
    ) -> str | None:
        """Count an attempt: the password hash to check it against, or None when refused without a check.

        Refused: no such account, disabled, locked, or `max_attempts` already counted (failed, or still being
        checked); in that last case the account locks now. A lock that has ended starts a fresh count.
        """
        with self._write() as cur:
            allowed = _first(cur.execute(
                """UPDATE users SET failed_attempts = CASE WHEN locked_until <= ? THEN 1 ELSE failed_attempts + 1 END,
                                    locked_until = NULL
                   WHERE username = ? AND NOT disabled
                     AND (locked_until IS NULL AND failed_attempts < ? OR locked_until <= ?)
                   RETURNING coalesce(password_hash, '')""",
                [now, username, max_attempts, now],
            ))  # fmt: skip
            if allowed is None:
                self._lock_if_spent(cur, username, max_attempts, lock_until)
            return None if allowed is None else allowed[0]

    def _lock_if_spent(self, cur, username: str, max_attempts: int, lock_until: datetime) -> bool:
        locked = _first(cur.execute(
            """UPDATE users SET locked_until = ?
               WHERE username = ? AND locked_until IS NULL AND failed_attempts >= ? RETURNING username""",
            [lock_until, username, max_attempts],
        ))  # fmt: skip
        if locked:
            self._audit(cur, Actor(username, "anonymous"), "locked", "user", username, None, None,
                        {"locked_until": lock_until})  # fmt: skip
        return bool(locked)

    def fail_sign_in(self, username: str, max_attempts: int, lock_until: datetime) -> None:
        """A checked attempt failed: it was counted when it began; lock the account if it used the last one."""
        with self._write() as cur:
            self._audit(cur, Actor(username, "anonymous"), "sign_in_failed", "user", username, None)
            self._lock_if_spent(cur, username, max_attempts, lock_until)

    def finish_sign_in(self, username: str, now: datetime) -> str | None:
        """The password matched: a session token, unless the account locked or was disabled meanwhile.

        A success never lifts a lock in force (other attempts may have used up the limit while this one was
        being checked); otherwise it resets the count.
        """
        with self._write() as cur:
            cleared = _first(cur.execute(
                """UPDATE users SET failed_attempts = 0, locked_until = NULL
                   WHERE username = ? AND NOT disabled AND (locked_until IS NULL OR locked_until <= ?)
                   RETURNING username""",
                [username, now],
            ))  # fmt: skip
            if cleared is None:
                self._audit(cur, Actor(username, "anonymous"), "sign_in_refused", "user", username, None)
                return None
            return self._open_session(cur, username, now)

    def open_session(self, username: str, now: datetime) -> str:
        """A session for an account whose identity was proven elsewhere (single sign-on); leaves any lock."""
        with self._write() as cur:
            return self._open_session(cur, username, now)

    def _open_session(self, cur, username: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", [token, username, now, now])
        self._audit(cur, Actor(username, "user"), "sign_in", "user", username, None)
        return token

    def session_actor(self, token: str, now: datetime, idle: timedelta) -> Actor | None:
        row = _first(
            self._cursor().execute(
                """SELECT u.username, u.role, u.patient_id, s.last_seen FROM sessions s
                   JOIN users u USING (username) WHERE s.token = ? AND NOT u.disabled""",
                [token],
            )
        )
        if row is None:
            return None
        if now - row[3] > idle:
            self.end_session(token)
            return None
        if now - row[3] > timedelta(minutes=1):  # keep the heartbeat cheap: at most one write a minute
            with self._write() as cur:
                cur.execute("UPDATE sessions SET last_seen = ? WHERE token = ?", [now, token])
        return Actor(row[0], row[1], row[2])

    def end_session(self, token: str) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM sessions WHERE token = ?", [token])
