"""Shared fixtures: a fresh database on either store, CSV files, the command line, and clean readings.

Every test runs on the store `--store` names (default: $HIPDATA_TEST_STORE, else duckdb). Under postgres,
$HIPDATA_TEST_PG holds the URL of a database the tests may fill (`scripts/with-postgres` starts a throwaway
cluster and sets it); each test database is a schema of its own there. Tests that are about one engine carry
the marker `duckdb_only` or `postgres_only` and are deselected on the other.

Keep fixtures generic here; a fixture used by one test module belongs in that module.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode

import pandas as pd
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from hipdata import auth
from hipdata.cli import main
from hipdata.store import Store, open_engine
from hipdata.validate import clean_readings

# A date safely in the past, used as "today" wherever validation takes a `today` parameter.
TODAY = date(2026, 3, 1)

STORES = ("duckdb", "postgres")
ONLY = {"duckdb": "duckdb_only", "postgres": "postgres_only"}  # the marker that keeps a test on one store


def pytest_addoption(parser):
    parser.addoption(
        "--store",
        choices=STORES,
        default=os.environ.get("HIPDATA_TEST_STORE") or "duckdb",
        help="the store every test runs on (default: $HIPDATA_TEST_STORE, else duckdb); "
        "postgres needs $HIPDATA_TEST_PG, e.g. from scripts/with-postgres",
    )


def pytest_configure(config):
    engine = config.getoption("store")
    if engine not in STORES:
        raise pytest.UsageError(
            f"--store / HIPDATA_TEST_STORE must be one of {', '.join(STORES)}, not {engine!r}"
        )
    if engine == "postgres" and not os.environ.get("HIPDATA_TEST_PG"):
        pytest.exit(
            "--store=postgres needs HIPDATA_TEST_PG, the URL of a PostgreSQL database the tests may fill "
            "(run `scripts/with-postgres pytest --store=postgres` to get a throwaway cluster)",
            returncode=4,
        )


def pytest_report_header(config):
    engine = config.getoption("store")
    return f"hipdata store: {engine}" + (
        f" ({os.environ['HIPDATA_TEST_PG']})" if engine == "postgres" else ""
    )


def pytest_collection_modifyitems(config, items):
    """Tests marked for the other store are deselected (not skipped): they do not apply to this run."""
    other = [marker for engine, marker in ONLY.items() if engine != config.getoption("store")]
    keep, drop = [], []
    for item in items:
        (drop if any(item.get_closest_marker(m) for m in other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def with_search_path(url: str, schema: str) -> str:
    """The libpq URL with `-c search_path=SCHEMA` added to its `options` (the rest of the query kept)."""
    base, _, query = url.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    setting = f"-c search_path={schema}"
    if any(key == "options" for key, _ in params):
        params = [(key, f"{value} {setting}" if key == "options" else value) for key, value in params]
    else:
        params.append(("options", setting))
    return f"{base}?{urlencode(params, quote_via=quote, safe='/')}"


def with_dbname(url: str, dbname: str) -> str:
    """The libpq URL naming another database (`postgresql://user@host/DBNAME?query`)."""
    base, mark, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{quote(dbname)}{mark}{query}"


def dbname_of(url: str) -> str:
    base = url.partition("?")[0]
    return unquote(base.partition("://")[2].partition("/")[2])


class Databases:
    """Makes fresh, empty databases on the selected store: a DuckDB file, or a PostgreSQL schema.

    A database meant to be copied (`template=True`) is, on PostgreSQL, a database of its own, which
    CREATE DATABASE ... TEMPLATE copies the way the DuckDB file is copied on disk.
    """

    def __init__(self, engine: str):
        self.engine = engine
        self.url = os.environ.get("HIPDATA_TEST_PG", "")
        self.schemas: list[str] = []
        self.databases: list[str] = []

    def _admin(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def new(self, folder: Path, name: str, template: bool = False) -> str:
        if self.engine == "duckdb":
            return str(folder / f"{name}.duckdb")
        from psycopg import sql

        made = f"t_{secrets.token_hex(4)}"
        with self._admin() as con:
            if template:
                con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(made)))
                self.databases.append(made)
                return with_dbname(self.url, made)
            con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(made)))
        self.schemas.append(made)
        return with_search_path(self.url, made)

    def copy(self, source: str, folder: Path, name: str) -> str:
        """A copy of a database made with template=True, with no store open on it."""
        if self.engine == "duckdb":
            target = folder / f"{name}.duckdb"
            shutil.copyfile(source, target)
            return str(target)
        from psycopg import sql

        made = f"t_{secrets.token_hex(4)}"
        with self._admin() as con:
            con.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(made), sql.Identifier(dbname_of(source))
                )
            )
        self.databases.append(made)
        return with_dbname(source, made)

    def drop_all(self) -> None:
        """Drop what this run made, so a long-lived database does not fill up (best effort)."""
        if not (self.schemas or self.databases):
            return
        import psycopg
        from psycopg import sql

        # a schema still locked by a store a test left open stays: the cluster is thrown away anyway
        with suppress(psycopg.Error), self._admin() as con:
            con.execute("SET lock_timeout = '10s'")
            for start in range(0, len(self.schemas), 100):
                batch = [sql.Identifier(schema) for schema in self.schemas[start : start + 100]]
                with suppress(psycopg.Error):
                    con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.SQL(", ").join(batch)))
            for database in self.databases:
                with suppress(psycopg.Error):
                    con.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
                    )
        self.schemas.clear()
        self.databases.clear()


@pytest.fixture(scope="session")
def databases(pytestconfig) -> Databases:
    made = Databases(pytestconfig.getoption("store"))
    yield made
    made.drop_all()


@pytest.fixture(scope="session")
def store_engine(pytestconfig) -> str:
    """The store this run uses: "duckdb" or "postgres"."""
    return pytestconfig.getoption("store")


@pytest.fixture
def new_db(databases: Databases, tmp_path: Path):
    """new_db(name="store") -> a fresh, empty database for Store(), --db or HIPDATA_DB, on the selected store.

    DuckDB: the path of a file under tmp_path (not created yet). PostgreSQL: the $HIPDATA_TEST_PG URL with
    `options=-c search_path=<a new schema>`.
    """
    return lambda name="store": databases.new(tmp_path, name)


@pytest.fixture(scope="session")
def session_db(databases: Databases, tmp_path_factory):
    """session_db(name, template=False) -> like new_db, for module- and session-scoped fixtures.

    template=True makes a database that copy_db can copy (close every store on it first).
    """
    return lambda name="store", template=False: databases.new(tmp_path_factory.mktemp(name), name, template)


@pytest.fixture(scope="session")
def copy_db(databases: Databases, tmp_path_factory):
    """copy_db(template, name="copy") -> a new copy of a session_db(..., template=True) database."""
    return lambda template, name="copy": databases.copy(template, tmp_path_factory.mktemp(name), name)


@contextmanager
def _bare(target: str) -> Iterator:
    engine = open_engine(target)
    try:
        with engine.transaction() as cur:
            yield cur
    finally:
        engine.close()


@pytest.fixture(scope="session")
def bare_db():
    """with bare_db(target) as cur: one transaction on the database with no Store and no migrations run,
    in the SQL both engines read (`?` parameters): for building an older database by hand."""
    return _bare


@pytest.fixture
def store(new_db) -> Store:
    """A fresh Store on its own database."""
    s = Store(new_db())
    yield s
    s.close()


@pytest.fixture
def csv_file(tmp_path: Path):
    """Write text (or bytes) to a new file under tmp_path and return its path."""
    count = 0

    def make(content: str | bytes, name: str | None = None) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"input_{count}.csv")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return make


@pytest.fixture
def cli_db(new_db) -> str:
    """The database the `run_cli` helper points `--db` at (a DuckDB file is not created until a command opens it)."""
    return new_db("cli")


@pytest.fixture
def run_cli(cli_db: str):
    """Invoke `hipdata` in-process: run_cli("import", path, input=..., env=..., db=None to omit --db)."""
    runner = CliRunner()

    def run(*args, input: str | bytes | None = None, env: dict | None = None, db: str | None | bool = True):
        prefix = ["--db", cli_db] if db is True else ([] if db in (None, False) else ["--db", str(db)])
        return runner.invoke(
            main, [*prefix, *(str(a) for a in args)], input=input, env=env, catch_exceptions=False
        )

    run.db = cli_db
    return run


@pytest.fixture
def fast_hashing(monkeypatch):
    """argon2 with tiny cost parameters, so tests that hash and verify passwords stay fast.

    Hashes made under this fixture carry their own (cheap) parameters, so verifying them is cheap too.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", lambda: cheap)


@pytest.fixture
def make_readings():
    """Clean readings (as validate.clean_readings returns them) from a few dicts of raw text.

    Missing keys default to patient P1, 2026-01-05, hip_flexion, left, 100.
    """

    def make(*rows: dict, today: date = TODAY) -> pd.DataFrame:
        defaults = {
            "patient_id": "P1",
            "date": "2026-01-05",
            "measure": "hip_flexion",
            "side": "left",
            "value": "100",
        }
        raw = pd.DataFrame([{**defaults, **{k: str(v) for k, v in r.items()}} for r in rows], dtype=str)
        return clean_readings(raw, today=today)

    return make
