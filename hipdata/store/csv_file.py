"""A readings CSV file read and checked inside DuckDB, into the temporary table `incoming`.

read_checked does it all: read_typed takes a well-formed file in one pass, DuckDB typing every cell;
anything else goes through read_text, check_structure and check_text, which run every rule of
validate.clean_readings on the text (tests hold the two engines to the same answers) and name every
problem, then type_text. Problems are gathered in the temporary table `problems`: the error keeps the
first of them, copy_problems writes all of them to a file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from hipdata import catalog, messages
from hipdata.contract import (
    CONTEXT_COLUMNS,
    EARLIEST_DATE,
    MAX_KEPT,
    NOTE_MAX,
    PATIENT_ID_MAX,
    READING_COLUMNS,
    SPREADSHEET_ESCAPED,
    Problem,
    ValidationError,
)
from hipdata.store.schema import ENUM_TYPES

# The text rows of a file with their spreadsheet row numbers (the header is row 1): `raw` keeps the file's
# order, so rowid 0 is row 2.
RAW_ROWS = "(SELECT rowid + 2 AS row, * FROM raw)"
CATALOG_COLUMNS = "(catalog_no, catalog_measure, sided, whole, low, high)"
WORDING_COLUMNS = "(wording_measure, named_side, range_text, whole_text, side_text)"
# A number as the rules read one: DuckDB alone would also read digit separators (1_000), which pandas does not.
NUMBER = "CASE WHEN NOT contains({0}, '_') THEN TRY_CAST(trim({0}) AS DOUBLE) END"


def _catalog_rows() -> str:
    """Each measure's rules as rows of an inline SQL table (12 rows), in CATALOG_COLUMNS."""
    return ", ".join(
        f"({i}, '{m.id}', {m.sided}, {m.whole_numbers}, {float(m.valid_min)!r}, {float(m.valid_max)!r})"
        for i, m in enumerate(catalog.MEASURES.values())
    )


def _wording_rows() -> str:
    """messages.message_rows as an inline SQL table, in WORDING_COLUMNS."""
    return ", ".join("(" + ", ".join(_sql_text(x) for x in row) + ")" for row in messages.message_rows())


# A problem row's messages: those of its measure and the side they name (the row's, when valid).
_NAMED_WORDING = """LEFT JOIN w ON w.wording_measure = c.catalog_measure AND w.named_side =
    CASE WHEN c.sided AND trim(side) IN ('left', 'right') THEN trim(side) ELSE '' END"""


_STRUCTURE_MESSAGES = {
    "INVALID UNICODE": "is not UTF-8 text; save the file as CSV UTF-8",
    "UNQUOTED VALUE": 'has a quote in the middle of a field; double it ("") or quote the whole field',
    "INVALID STATE": "has an unterminated quote; close every quoted field",
}


# A rejected row's line without its line ends, and how many fields it has (commas outside quoted fields).
_LINE = "trim(coalesce(csv_line, ''), chr(13) || chr(10))"
_UNQUOTED = f"""regexp_replace({_LINE}, '"([^"]|"")*"', '', 'g')"""
_FIELDS = f"length({_UNQUOTED}) - length(replace({_UNQUOTED}, ',', '')) + 1"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unescaped(cell: str) -> str:
    """A text cell without the apostrophe a spreadsheet-safe export added (contract.SPREADSHEET_ESCAPED)."""
    added = _sql_text("^'" + SPREADSHEET_ESCAPED[1:])
    return f"CASE WHEN regexp_matches({cell}, {added}) THEN substr({cell}, 2) ELSE {cell} END"


def spreadsheet_escaped(cell: str) -> str:
    """A text cell as a spreadsheet-safe CSV writes it."""
    return f"CASE WHEN regexp_matches({cell}, {_sql_text(SPREADSHEET_ESCAPED)}) THEN '''' || {cell} ELSE {cell} END"


def _read_csv(columns: dict[str, str], store_rejects: bool = True, **options) -> str:
    """read_csv of exactly the CSV contract (no guessing), with the rows it cannot read set aside (or,
    without store_rejects, an error at the first such row)."""
    spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
    extra = "".join(f", {k} = {v}" for k, v in options.items())
    return f"""read_csv(?, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
                        columns = {{{spec}}}, null_padding = false, store_rejects = {store_rejects}{extra})"""


def read_checked(cur, path: str | Path, header: list[str], today: date, problems_to: Path | None = None):
    """The file as the temp table `incoming`, every rule checked; or a ValidationError naming the problems.

    Into temporary tables only, before any transaction: a file DuckDB cannot read must not abort the
    transaction the text pass still needs.
    """
    try:
        if not read_typed(cur, path, header, today):
            read_text(cur, path, header)
            check_structure(cur, len(header))
            check_text(cur, today)
            type_text(cur)
    except ValidationError:
        if problems_to is not None:
            copy_problems(cur, problems_to)
        raise
    finally:
        cur.execute("DROP TABLE IF EXISTS problems")


def _typed_rows(header: list[str]) -> str:
    """The file's rows typed by DuckDB as it reads them, with each date's text (`date_text`) for the rules
    of _typed_rules. Parameter: the file's path.

    The header was checked against the catalog's column names, so it is safe to spell out here.
    """
    types = {
        "patient_id": "VARCHAR",
        "date": "VARCHAR",
        "value": "VARCHAR",
        "note": "VARCHAR",
        **ENUM_TYPES,
    }
    cell = {c: c if c in header else "NULL" for c in READING_COLUMNS}  # optional columns may be absent
    context = ", ".join(f"{cell[c]}::{ENUM_TYPES[c]} AS {c}" for c in CONTEXT_COLUMNS)
    return f"""SELECT {_unescaped("patient_id")} AS patient_id, TRY_CAST(date AS DATE) AS date, measure,
                      coalesce(side, ''::side_id) AS side, {NUMBER.format("value")} AS value, {context},
                      nullif({_unescaped(cell["note"])}, '') AS note, date AS date_text
               FROM {_read_csv({c: types[c] for c in header}, store_rejects=False)}"""


def _by_measure(rule) -> str:
    """A measure's rule as a list indexed by the measure's enum code, for rows of _typed_rows: a lookup
    per row, with no join."""
    rules = ", ".join(str(rule(catalog.MEASURES[m])).lower() for m in sorted(catalog.MEASURES))
    return f"[{rules}][enum_code(measure) + 1]"  # measure_id lists the ids in alphabetical order


def _typed_rules() -> str:
    """True for a row of _typed_rows that passes the rules of check_text, false (never NULL) otherwise.
    Parameter: today.

    For cells DuckDB has already typed: the date must read back exactly as written (YYYY-MM-DD, no spaces),
    the measure's side, range and whole numbers, the lengths.
    """
    low, high = _by_measure(lambda m: float(m.valid_min)), _by_measure(lambda m: float(m.valid_max))
    return f"""coalesce(
        trim(patient_id) <> '' AND length(patient_id) <= {PATIENT_ID_MAX}
        AND date::VARCHAR = date_text AND date >= DATE '{EARLIEST_DATE}' AND date <= ?::DATE
        AND (side <> '') = {_by_measure(lambda m: m.sided)} AND isfinite(value) AND value BETWEEN {low} AND {high}
        AND (NOT {_by_measure(lambda m: m.whole_numbers)} OR value = round(value))
        AND coalesce(length(note), 0) <= {NOTE_MAX},
        false)"""


def read_typed(cur, path: str | Path, header: list[str], today: date) -> bool:
    """Read the file into `incoming`, typed by DuckDB; True when every cell was taken and every row passes.

    One pass: the rules run on each row as it is read, and the first row that breaks one ends the statement
    as a cell DuckDB cannot type does (keeping every rejected row of a file of bad rows would cost
    gigabytes); the text pass then says what is wrong.
    """
    cur.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    try:
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE incoming AS SELECT {", ".join(READING_COLUMNS)}
                FROM ({_typed_rows(header)}) WHERE CASE WHEN {_typed_rules()} THEN true ELSE error('a row breaks a rule') END""",
            [str(path), today],
        )
    except duckdb.Error:
        return False
    return True


def read_text(cur, path: str | Path, header: list[str]) -> None:
    """Read the file into `raw` as text, one column per CSV column; empty fields as empty text.

    Text cells lose the apostrophe a spreadsheet-safe export added; the value column is a number.
    """
    cell = {c: c if c == "value" else _unescaped(c) for c in header}
    text = ", ".join(
        f"coalesce({cell[c]}, '') AS {c}" if c in header else f"'' AS {c}" for c in READING_COLUMNS
    )
    try:
        cur.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE raw AS
                SELECT {text} FROM {_read_csv(dict.fromkeys(header, "VARCHAR"), all_varchar="true")}""",
            [str(path)],
        )
    except duckdb.Error as error:
        reason = "is not UTF-8 text" if "unicode" in str(error).lower() else "is not a readable CSV file"
        raise ValidationError(
            [Problem(None, "file", "", f"{reason}: {str(error).splitlines()[0]}")]
        ) from None


def type_text(cur) -> None:
    """The checked text rows of `raw` as `incoming`, typed and trimmed as validate.clean_readings does."""
    context = ", ".join(f"nullif(trim({c}), '')::{c}_id AS {c}" for c in CONTEXT_COLUMNS)
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT patient_id, CAST(trim(date) AS DATE) AS date, trim(measure)::measure_id AS measure,
                   trim(side)::side_id AS side, CAST(trim(value) AS DOUBLE) AS value, {context},
                   nullif(note, '') AS note
            FROM raw ORDER BY rowid"""
    )
    cur.execute("DROP TABLE raw")


def check_structure(cur, width: int) -> None:
    """Rows DuckDB could not split into the header's columns: each is named once, with what is wrong.

    A row with fewer or more fields than the header is refused, even when only optional fields are missing.
    """
    known = " ".join(f"WHEN {_sql_text(k)} THEN {_sql_text(m)}" for k, m in _STRUCTURE_MESSAGES.items())
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE problems AS
            SELECT line::BIGINT AS row, 0 AS rule, 'row' AS column_name, left({_LINE}, 80) AS value,
                   CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS')
                        THEN replace({_sql_text(messages.wrong_field_count("{fields}", width))}, '{{fields}}', ({_FIELDS})::VARCHAR)
                        ELSE CASE error_type {known} ELSE error_message END END AS message
            FROM reject_errors QUALIFY row_number() OVER (PARTITION BY line ORDER BY line) = 1"""
    )  # DuckDB may report one row more than once: name it once
    raise_problems(cur)


def raise_problems(cur) -> None:
    """Raise a ValidationError with the first MAX_KEPT rows of `problems` and the count of all of them.

    The table lasts until the check ends, so copy_problems can still write all of them.
    """
    total, rows = cur.execute("SELECT count(*), count(DISTINCT row) FROM problems").fetchall()[0]
    if total:
        first = cur.execute(
            f"SELECT row, column_name, value, message FROM problems ORDER BY row, rule LIMIT {MAX_KEPT}"
        ).fetchall()
        raise ValidationError([Problem(int(r), c, v, m) for r, c, v, m in first], total=total, rows=rows)


def copy_problems(cur, path: str | Path) -> None:
    """Every problem of the last failed check as a spreadsheet-safe CSV file: row, column, value, message.

    Nothing is written when the check failed before reading rows (the error then holds every problem).
    """
    if not cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'problems'").fetchall()[0][0]:
        return
    cells = ", ".join(
        f"{spreadsheet_escaped(c)} AS {c.removesuffix('_name')}" for c in ("column_name", "value", "message")
    )
    cur.execute(
        f"COPY (SELECT row, {cells} FROM problems ORDER BY row, rule) TO {_sql_text(str(path))} (HEADER)"
    )


def check_text(cur, today: date) -> None:
    """Every rule of validate.clean_readings as one SQL pass; raise ValidationError listing all problems."""
    checks = [
        ("patient_id", "trim(patient_id) = ''", _sql_text(messages.EMPTY_PATIENT)),
        ("patient_id", f"length(patient_id) > {PATIENT_ID_MAX}", _sql_text(messages.LONG_PATIENT)),
        ("date", "bad_date", _sql_text(messages.BAD_DATE)),
        ("date", f"NOT bad_date AND day < DATE '{EARLIEST_DATE}'", _sql_text(messages.EARLY_DATE)),
        ("date", "NOT bad_date AND day > ?::DATE", _sql_text(messages.future_date(today))),
        ("measure", "catalog_measure IS NULL", _sql_text(messages.UNKNOWN_MEASURE)),
        ("side", "sided AND trim(side) NOT IN ('left', 'right')", "side_text"),
        ("side", "NOT sided AND trim(side) <> ''", "side_text"),
        ("value", "NOT finite", f"coalesce(range_text, {_sql_text(messages.NOT_A_NUMBER)})"),
        ("value", "finite AND (number < low OR number > high)", "range_text"),
        ("value", "finite AND whole AND number <> round(number)", "whole_text"),
        *[
            (column, f"trim({column}) <> '' AND trim({column}) NOT IN ({', '.join(repr(x) for x in choices)})",
             _sql_text(messages.not_a_choice(choices)))
            for column, choices in catalog.CONTEXT_CHOICES.items()
        ],
        ("note", f"length(note) > {NOTE_MAX}", _sql_text(messages.LONG_NOTE)),
    ]  # fmt: skip
    # One pass computes every rule for every row; the problems are only spelled out when there are any.
    flags = ", ".join(
        f"coalesce({condition}, false) AS rule_{i}" for i, (_, condition, _) in enumerate(checks)
    )
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE checked AS
            WITH c{CATALOG_COLUMNS} AS (VALUES {_catalog_rows()}),
            parsed AS (
                SELECT *, try_strptime(trim(date), '%Y-%m-%d')::DATE AS day,
                       {NUMBER.format("value")} AS number FROM {RAW_ROWS}),
            typed AS (
                SELECT p.*, c.*, day IS NULL OR NOT regexp_full_match(trim(date), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                       AS bad_date, coalesce(isfinite(number), false) AS finite
                FROM parsed p LEFT JOIN c ON c.catalog_measure = trim(p.measure))
            SELECT row, catalog_no, {flags} FROM typed""",
        [today],
    )
    any_rule = " OR ".join(f"rule_{i}" for i in range(len(checks)))
    if cur.execute(f"SELECT count(*) FROM checked WHERE {any_rule}").fetchall()[0][0]:
        found = " UNION ALL ".join(
            f"SELECT row, {i} AS rule, '{column}' AS column_name, {column} AS value, {message} AS message "
            f"FROM checked JOIN {RAW_ROWS} USING (row) LEFT JOIN c USING (catalog_no) {_NAMED_WORDING} WHERE rule_{i}"
            for i, (column, _, message) in enumerate(checks)
        )
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE problems AS
                WITH c{CATALOG_COLUMNS} AS (VALUES {_catalog_rows()}), w{WORDING_COLUMNS} AS (VALUES {_wording_rows()})
                {found}"""
        )
        raise_problems(cur)
    cur.execute("DROP TABLE checked")
