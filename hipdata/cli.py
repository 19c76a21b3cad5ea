"""The `hipdata` command line: import, export, demo data, trend tables, accounts and reports.

Commands import what they need when they run: `import` checks files inside DuckDB and starts without pandas.

Exit code 0 on success, 2 on bad input with the message on stderr (never a traceback for a user's mistake).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hipdata import auth
from hipdata.auth import SYSTEM
from hipdata.contract import ValidationError
from hipdata.file_import import import_file
from hipdata.store import AccessDenied, Store, without_password
from hipdata.text import counted

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_DB = "data/hipdata.duckdb"


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def default_db() -> str:
    return os.environ.get("HIPDATA_DB") or DEFAULT_DB


def open_store(ctx: click.Context, target: str | None = None) -> Store:
    target = target or ctx.obj["db"]
    try:
        return Store(target)
    except Exception as error:  # a locked file or an unreachable server is the user's environment, not a bug
        fail(f"cannot open database {without_password(target)}: {error}")


@click.group()
@click.option(
    "--db",
    default=default_db,
    show_default="$HIPDATA_DB or data/hipdata.duckdb",
    help="Database: a DuckDB file, or a PostgreSQL URL (postgresql://user:password@host:5432/dbname).",
)
@click.pass_context
def main(ctx: click.Context, db: str) -> None:
    """hipdata: weekly hip-mobility progress that separates real change from measurement noise."""
    ctx.obj = {"db": db}


# ---- import / export -------------------------------------------------------------------------------


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_(ctx: click.Context, file: Path) -> None:
    """Import a readings CSV, all or nothing. Importing the same file twice adds nothing."""
    store = open_store(ctx)
    stages = ["reading", "checking", "writing", "saving"]  # the import's steps, in order
    bar = click.progressbar(
        length=len(stages), label=f"Importing {file.name}", file=sys.stderr, hidden=file.stat().st_size < 5_000_000,
        item_show_func=lambda stage: stage,
    )  # fmt: skip
    with bar:
        try:
            result = import_file(store, SYSTEM, file, progress=lambda stage: bar.update(1, stage))
        except ValidationError as error:
            fail(f"{file}: nothing imported. {error}")
        bar.update(1, "done")
    click.echo(
        f"Imported {counted(result.added, 'reading')} ({result.skipped} already present, "
        f"{counted(result.patients_created, 'new patient')})."
    )


@main.command()
@click.option("--patient", help="Only this patient's readings.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.pass_context
def export(ctx: click.Context, patient: str | None, output: Path | None) -> None:
    """Export readings as CSV, in the same format import reads."""
    store = open_store(ctx)
    require_patient(store, patient)
    from hipdata.csv_io import readings_csv

    frame = store.export_readings(SYSTEM, patient)
    data = readings_csv(frame)
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    if output:
        click.echo(f"Exported {counted(len(frame), 'reading')} to {output}.", err=True)


def require_patient(store: Store, patient: str | None) -> None:
    if patient is not None and not store.may_see(SYSTEM, patient):
        fail(f"no patient with id {patient!r}")


@main.command()
@click.option(
    "--to", "target", required=True, help="The empty database to fill: a DuckDB file or a PostgreSQL URL."
)
@click.pass_context
def copy(ctx: click.Context, target: str) -> None:
    """Copy this whole database into an empty one (DuckDB or PostgreSQL), then verify every table."""
    from hipdata.store.copying import CopyError, copy_database

    source = open_store(ctx)
    if os.path.abspath(target) == os.path.abspath(source.path) or target == source.path:
        fail("the target is the database being copied")
    destination = open_store(ctx, target)
    click.echo(f"Copying {without_password(source.path)} to {without_password(target)}...", err=True)
    try:
        copied = copy_database(source, destination)
    except CopyError as error:
        fail(f"nothing copied: {error}")
    for t in copied:
        click.echo(
            f"  {t.table:<13} {t.rows:>10,} rows  checksum {t.checksum}  {'ok' if t.matches else 'DIFFERS'}"
        )
    if not all(t.matches for t in copied):
        fail("the copy does not read back as the source: keep using the source, and report this")
    total = sum(t.rows for t in copied)
    click.echo(f"Copied {counted(total, 'row')} in {len(copied)} tables; every count and checksum matches.")


@main.group()
def readings() -> None:
    """Readings kept by the store: restore one deleted by mistake."""


@readings.command("restore")
@click.argument("reading_id", type=int)
@click.pass_context
def readings_restore(ctx: click.Context, reading_id: int) -> None:
    """Bring back a deleted reading by its id (the audit trail records it)."""
    try:
        r = open_store(ctx).restore_reading(SYSTEM, reading_id)
    except AccessDenied:
        fail(f"no deleted reading with id {reading_id}")
    side = f" {r['side']}" if r["side"] else ""
    click.echo(
        f"Restored reading {reading_id}: {r['patient_id']} {r['date']} {r['measure']}{side} {r['value']:g}."
    )


# ---- demo data -------------------------------------------------------------------------------------


@main.command()
@click.option("--patients", default=12, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--weeks", default=16, show_default=True, type=click.IntRange(1, 520))
@click.option("--seed", default=7, show_default=True, type=int)
@click.pass_context
def demo(ctx: click.Context, patients: int, weeks: int, seed: int) -> None:
    """Load realistic synthetic patients (deterministic for a seed; loading twice adds nothing)."""
    from hipdata.demo import load_demo

    store = open_store(ctx)
    result = load_demo(store, SYSTEM, patients=patients, weeks=weeks, seed=seed)
    click.echo(
        f"Demo data: {counted(result.added, 'reading')} added for {counted(patients, 'patient')} "
        f"over {counted(weeks, 'week')}."
    )


# ---- trend tables ----------------------------------------------------------------------------------


def as_of_option(f):
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="Read only readings on or before this date (YYYY-MM-DD; default today).",
    )(f)


def table_options(f):
    f = as_of_option(f)
    f = click.option("--patient", help="Only this patient.")(f)
    return click.option(
        "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
    )(f)


def _write(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)


def emit(frame: pd.DataFrame, fmt: str) -> None:
    """Write a table to stdout: numbers unrounded (shortest text that reads back the same), dates as
    YYYY-MM-DD, a missing value empty in CSV and null in JSON, lists joined with | in CSV."""
    import pandas as pd

    lists = [n for n, c in frame.items() if c.dtype == object and len(c) and isinstance(c.iloc[0], list)]
    if fmt == "csv":
        from hipdata.store.table_csv import frame_csv

        return _write(frame_csv(frame.assign(**{n: frame[n].str.join("|") for n in lists})))
    columns = []
    for _, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.dt.strftime("%Y-%m-%d")
        columns.append(column.astype(object).where(column.notna(), None).tolist())
    records = [dict(zip(frame.columns, row, strict=True)) for row in zip(*columns, strict=True)]
    sys.stdout.write(json.dumps(records, ensure_ascii=False, allow_nan=False) + "\n")


def _store_and_day(ctx: click.Context, patient: str | None, as_of) -> tuple[Store, date]:
    store = open_store(ctx)
    require_patient(store, patient)
    return store, as_of.date() if as_of else date.today()


def _progress(ctx: click.Context, patient: str | None, as_of):
    from hipdata.analysis import progress

    store, day = _store_and_day(ctx, patient, as_of)
    return progress(store, SYSTEM, day, patient, slopes=False)


@main.command()
@table_options
@click.pass_context
def weekly(ctx, patient, as_of, fmt):
    """Weekly values: the median of each week's readings per patient, measure and side."""
    store, day = _store_and_day(ctx, patient, as_of)
    emit(store.weekly(SYSTEM, day, patient), fmt)


@main.command("trends")
@table_options
@click.pass_context
def trends_(ctx, patient, as_of, fmt):
    """Baseline, current, change, MDC, slope and status of every series."""
    store, day = _store_and_day(ctx, patient, as_of)
    if fmt == "csv":
        from hipdata.progress_csv import trends_csv

        return _write(trends_csv(store, SYSTEM, day, patient))
    from hipdata.analysis import series_trends

    emit(series_trends(store, SYSTEM, day, patient)[1], fmt)


@main.command()
@table_options
@click.pass_context
def flags(ctx, patient, as_of, fmt):
    """Patient flags: inactive, worsening, pain rising, asymmetry, plateau."""
    if fmt == "csv":
        from hipdata.progress_csv import flags_csv

        store, day = _store_and_day(ctx, patient, as_of)
        return _write(flags_csv(store, SYSTEM, day, patient))
    emit(_progress(ctx, patient, as_of).flags, fmt)


# ---- FHIR ------------------------------------------------------------------------------------------


@main.group()
def fhir() -> None:
    """FHIR R4: export a Bundle, import a Bundle or a single Observation."""


@fhir.command("export")
@click.option("--patient", help="Only this patient.")
@as_of_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def fhir_export(ctx, patient: str | None, as_of, output: Path) -> None:
    """Write one FHIR R4 Bundle (type collection): patients, readings, LEFS and PSFS."""
    from hipdata.fhir import export_json

    store = open_store(ctx)
    require_patient(store, patient)
    data = export_json(store, SYSTEM, patient, as_of.date() if as_of else None)
    output.write_bytes(data)
    click.echo(f"FHIR Bundle written to {output}.", err=True)


@fhir.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def fhir_import(ctx, file: Path) -> None:
    """Import a FHIR R4 JSON file all or nothing; importing it twice adds nothing."""
    from hipdata.fhir import import_json

    store = open_store(ctx)
    try:
        result = import_json(store, SYSTEM, file.read_bytes())
    except ValidationError as error:
        fail(f"{file}: nothing imported. {error}")
    click.echo(
        f"Imported {result.added} records ({result.skipped} already present, "
        f"{result.patients_created} new patients)."
    )


# ---- report ----------------------------------------------------------------------------------------


@main.command()
@click.argument("patient_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@as_of_option
@click.pass_context
def report(ctx, patient_id: str, output: Path, as_of) -> None:
    """Write a self-contained HTML progress report (and a CSV of the readings beside it)."""
    from hipdata.report import write_report

    store = open_store(ctx)
    require_patient(store, patient_id)
    csv_path = write_report(store, SYSTEM, patient_id, output, as_of.date() if as_of else date.today())
    click.echo(f"Report written to {output} (readings in {csv_path}).")


# ---- accounts --------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage accounts: add, list, disable, reset-password."""


def read_new_password() -> str:
    """From stdin when it is not a terminal (one line, or two identical lines); else prompt twice."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    lines = sys.stdin.read().splitlines()
    if not lines or not lines[0]:
        fail("no password given on standard input")
    if len(lines) > 1 and lines[1] and lines[1] != lines[0]:
        fail("the two passwords on standard input differ")
    return lines[0]


def hashed_password() -> str:
    try:
        return auth.hash_password(read_new_password())
    except auth.AuthError as error:
        fail(str(error))


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(auth.ROLES))
@click.option("--patient", help="Link a patient account to this patient record (created if needed).")
@click.option("--therapist", help="Assign the patient to this therapist account.")
@click.option("--email", help="E-mail used by single sign-on, when it is configured.")
@click.pass_context
def users_add(
    ctx, name: str, role: str, patient: str | None, therapist: str | None, email: str | None
) -> None:
    """Add an account; the password comes from stdin or a prompt."""
    store = open_store(ctx)
    try:
        store.create_account(SYSTEM, name, role, hashed_password(), patient, therapist, email)
    except (ValueError, AccessDenied) as error:
        fail(str(error))
    click.echo(f"Added {role} {name}.")


@users.command("list")
@click.pass_context
def users_list(ctx) -> None:
    """List accounts (never their password hashes)."""
    import pandas as pd

    frame = open_store(ctx).accounts(SYSTEM)
    frame["patients"] = frame["patients"].map(lambda p: "" if pd.api.types.is_scalar(p) else "|".join(p))
    frame = frame.drop(columns=["created_at"]).astype(object)
    shown = frame.where(frame.notna(), "")  # no value is blank, not None or NaN
    click.echo(shown.to_string(index=False) if len(frame) else "No accounts yet.")


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx, name: str) -> None:
    """Disable an account and end its sessions."""
    try:
        open_store(ctx).disable_account(SYSTEM, name)
    except ValueError as error:
        fail(str(error))
    click.echo(f"Disabled {name}.")


@users.command("reset-password")
@click.argument("name")
@click.pass_context
def users_reset_password(ctx, name: str) -> None:
    """Set a new password and lift any lockout."""
    store = open_store(ctx)
    if store.account(name) is None:
        fail(f"no account named {name!r}")
    store.set_password(SYSTEM, name, hashed_password())
    click.echo(f"Password reset for {name}.")
