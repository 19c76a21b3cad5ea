"""Shared fixtures: a store on a temporary file, CSV files, the command line, and clean readings.

Keep fixtures generic here; a fixture used by one test module belongs in that module.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from hipdata import auth
from hipdata.cli import main
from hipdata.store import Store
from hipdata.validate import clean_readings

# A date safely in the past, used as "today" wherever validation takes a `today` parameter.
TODAY = date(2026, 3, 1)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh Store on its own database file."""
    s = Store(tmp_path / "store.duckdb")
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
def cli_db(tmp_path: Path) -> Path:
    """The database file the `run_cli` helper points `--db` at (not created until a command opens it)."""
    return tmp_path / "cli" / "hipdata.duckdb"


@pytest.fixture
def run_cli(cli_db: Path):
    """Invoke `hipdata` in-process: run_cli("import", path, input=..., env=..., db=None to omit --db)."""
    runner = CliRunner()

    def run(*args, input: str | bytes | None = None, env: dict | None = None, db: Path | None | bool = True):
        prefix = ["--db", str(cli_db)] if db is True else ([] if db in (None, False) else ["--db", str(db)])
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
