"""The database schema: migrations, in order, and the enum types of the readings' catalog columns.

One list for both engines: the SQL here is read alike by DuckDB and by PostgreSQL (whose engine spells DOUBLE
as DOUBLE PRECISION and adds the USING clause its ALTER ... TYPE needs).
"""

from hipdata.contract import CONTEXT_COLUMNS

# Each migration runs once, in order, inside one transaction; an older file upgrades itself when opened.
MIGRATIONS: tuple[str, ...] = (
    # 1: patients, readings with context, weekly aggregates, exercise log, audit trail
    """
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO meta VALUES ('data_version', 0);
    CREATE TABLE patients (
        patient_id VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL DEFAULT '',
        created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL, deleted_at TIMESTAMP);
    CREATE TABLE readings (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, date DATE NOT NULL, measure VARCHAR NOT NULL,
        side VARCHAR NOT NULL, value DOUBLE NOT NULL,
        method VARCHAR, position VARCHAR, mode VARCHAR, measured_by VARCHAR, note VARCHAR,
        entered_at TIMESTAMP NOT NULL, entered_by VARCHAR NOT NULL,
        deleted_at TIMESTAMP, deleted_by VARCHAR);
    CREATE TABLE weekly (
        patient_id VARCHAR NOT NULL, measure VARCHAR NOT NULL, side VARCHAR NOT NULL, week DATE NOT NULL,
        value DOUBLE NOT NULL, n INTEGER NOT NULL);
    CREATE TABLE exercise_log (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, week DATE NOT NULL, exercise VARCHAR NOT NULL,
        sessions INTEGER NOT NULL, sets INTEGER, reps INTEGER, seconds INTEGER, band_level VARCHAR,
        load_kg DOUBLE, entered_at TIMESTAMP NOT NULL, entered_by VARCHAR NOT NULL,
        deleted_at TIMESTAMP, deleted_by VARCHAR);
    CREATE TABLE audit (
        id BIGINT NOT NULL, changed_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
        entity VARCHAR NOT NULL, entity_id VARCHAR, patient_id VARCHAR, old_value VARCHAR, new_value VARCHAR);
    """,
    # 2: accounts, sessions and therapist assignments
    """
    CREATE TABLE users (
        username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, patient_id VARCHAR, email VARCHAR,
        password_hash VARCHAR, disabled BOOLEAN NOT NULL DEFAULT false,
        failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP, created_at TIMESTAMP NOT NULL);
    CREATE TABLE sessions (
        token VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL);
    CREATE TABLE assignments (patient_id VARCHAR PRIMARY KEY, therapist VARCHAR NOT NULL);
    """,
    # 3: therapist review: goals, notes, exercise programme, LEFS questionnaire
    """
    CREATE TABLE goals (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, measure VARCHAR NOT NULL, side VARCHAR NOT NULL,
        target DOUBLE NOT NULL, target_date DATE NOT NULL, entered_at TIMESTAMP NOT NULL,
        entered_by VARCHAR NOT NULL, deleted_at TIMESTAMP, deleted_by VARCHAR);
    CREATE TABLE notes (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, week DATE NOT NULL, text VARCHAR NOT NULL,
        entered_at TIMESTAMP NOT NULL, entered_by VARCHAR NOT NULL, deleted_at TIMESTAMP, deleted_by VARCHAR);
    CREATE TABLE programme (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, exercise VARCHAR NOT NULL,
        sessions_per_week INTEGER NOT NULL, dose VARCHAR NOT NULL DEFAULT '', entered_at TIMESTAMP NOT NULL,
        entered_by VARCHAR NOT NULL, deleted_at TIMESTAMP, deleted_by VARCHAR);
    CREATE TABLE lefs (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, date DATE NOT NULL, answers VARCHAR NOT NULL,
        total INTEGER NOT NULL, entered_at TIMESTAMP NOT NULL, entered_by VARCHAR NOT NULL,
        deleted_at TIMESTAMP, deleted_by VARCHAR);
    """,
    # 4: catalog ids stored as enums (smaller, and faster to write and to group by); the weekly medians are
    # computed when read, from the readings themselves. With one check-in a week the `weekly` table held as
    # many rows as `readings`: keeping it up to date cost a bulk import more than reading the file.
    """
    CREATE TYPE measure_id AS ENUM ('figure_four', 'fingertip_to_floor', 'hip_abduction', 'hip_adduction',
        'hip_extension', 'hip_external_rotation', 'hip_flexion', 'hip_internal_rotation', 'pain_ankle_foot',
        'pain_hip', 'pain_knee', 'pain_low_back');
    CREATE TYPE side_id AS ENUM ('', 'left', 'right');
    CREATE TYPE method_id AS ENUM ('goniometer', 'inclinometer', 'phone_app', 'tape_measure', 'visual_estimate');
    CREATE TYPE position_id AS ENUM ('prone', 'seated', 'side_lying', 'standing', 'supine');
    CREATE TYPE mode_id AS ENUM ('active', 'passive');
    CREATE TYPE measured_by_id AS ENUM ('self', 'therapist');
    ALTER TABLE readings ALTER measure TYPE measure_id;
    ALTER TABLE readings ALTER side TYPE side_id;
    ALTER TABLE readings ALTER method TYPE method_id;
    ALTER TABLE readings ALTER position TYPE position_id;
    ALTER TABLE readings ALTER mode TYPE mode_id;
    ALTER TABLE readings ALTER measured_by TYPE measured_by_id;
    DROP TABLE weekly;
    """,
    # 5: one audit entity name per table: readings were audited as `reading` when inserted or corrected
    # and as `readings` when deleted or imported.
    """
    UPDATE audit SET entity = 'readings' WHERE entity = 'reading';
    """,
    # 6: the data version of the last write that changed each patient's records, so that caches of one
    # patient's results (and the caseload's rows) are recomputed only when that patient's data changed
    """
    ALTER TABLE patients ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
    """,
    # 7: Patient-Specific Functional Scale: the patient's own 3-5 activities (a JSON list of names) rated 0-10
    # (a JSON list of whole numbers, in the same order), and their mean
    """
    CREATE TABLE psfs (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, date DATE NOT NULL, activities VARCHAR NOT NULL,
        ratings VARCHAR NOT NULL, score DOUBLE NOT NULL, entered_at TIMESTAMP NOT NULL,
        entered_by VARCHAR NOT NULL, deleted_at TIMESTAMP, deleted_by VARCHAR);
    """,
    # 8: measurement plans: which series a patient's check-in asks for. One row per version; the latest live
    # row is the plan in force, so the older rows are its history (and the audit trail has who and when).
    """
    CREATE TABLE plans (
        id BIGINT NOT NULL, patient_id VARCHAR NOT NULL, series VARCHAR NOT NULL, entered_at TIMESTAMP NOT NULL,
        entered_by VARCHAR NOT NULL, deleted_at TIMESTAMP, deleted_by VARCHAR);
    """,
    # 9: kept trends. Each series' weeks, baseline, current and slope (rules 1-4 over every live reading of
    # its patient), kept with the patient version they were computed at: a trends run recomputes only the
    # patients that changed since. `kept_trends` says which patients were computed at which version,
    # including patients without readings. No keys: a patient's rows are replaced as a whole under the
    # write lock, and an index would cost a first run more than the rows themselves.
    """
    CREATE TABLE kept_trends (patient_id VARCHAR NOT NULL, changed BIGINT NOT NULL);
    CREATE TABLE kept_series (
        patient_id VARCHAR NOT NULL, changed BIGINT NOT NULL, measure measure_id NOT NULL,
        side side_id NOT NULL, weeks INTEGER NOT NULL, baseline DOUBLE NOT NULL, current DOUBLE NOT NULL,
        slope DOUBLE);
    """,
)
# The enum types of migration 4, by reading column, each in alphabetical order (so enums sort as the ids do);
# a test holds them to the catalog.
ENUM_TYPES = {"measure": "measure_id", "side": "side_id", **{c: f"{c}_id" for c in CONTEXT_COLUMNS}}
# The CREATE TYPE statements of migration 4: the DuckDB that checks CSV files for a PostgreSQL store needs them.
ENUM_DEFINITIONS = tuple(s.strip() for s in MIGRATIONS[3].split(";") if s.strip().startswith("CREATE TYPE"))
