"""Benchmarks: the app's own path next to a floor measured in the same run, on the same data.

    python -m bench                  # 2,000 patients x 52 weeks, both data shapes; pages at 1,000 patients
    python -m bench --scale          # 1,000 to 20,000 patients x 52 weeks: time, memory, cost per reading

Every step runs in its own process, so that its peak memory (max RSS) is its own, and runs `--repeat`
times alternating with its floor; the fastest run of each counts (the machine is shared, and load only
ever adds time). The floors are in bench/floor.py. Pages are timed inside one process with AppTest, next
to the trends floor for the same patients in that process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import floor

ROOT = Path(__file__).parents[1]
PY = sys.executable
# ratio to the floor, at most. trends runs three ways: on a database whose every patient is new to it (as
# after a bulk import), on one where nothing changed since the last run (every series' numbers are kept),
# and after one patient's write (that patient is recomputed).
TRENDS = ("trends, first run", "trends, kept", "trends after a write")
TARGETS = {"import": 1.5, **dict.fromkeys(TRENDS, 1.0), "flags": 0.8}
SCALE_SIZES = (1000, 2000, 5000, 10000, 20000)
# server time of the first run after a write, at most, in a database of 20,000 patients
PAGE_TARGETS = {
    "caseload, admin (all patients)": 3.0,
    "caseload, therapist (40 patients)": 0.3,
    "progress, one patient": 0.2,
}


@dataclass(frozen=True)
class Run:
    seconds: float
    mib: float


def run(command: list[str], env: dict | None = None) -> tuple[Run, str]:
    """Wall time and peak memory of one process, and its last line on stdout."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE)
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(command)}")
    return Run(elapsed, usage.ru_maxrss / 1024), (out.strip().splitlines() or [""])[-1]


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.seconds)


def compare(app, floor_command, repeat: int) -> tuple[Run, Run]:
    """The app's command and the floor's for run k (app(k), floor_command(k)), alternating, `repeat` times
    each; the fastest of each."""
    apps, floors = [], []
    for k in range(repeat):
        apps.append(run(app(k))[0])
        floors.append(run(floor_command(k))[0])
    return best(apps), best(floors)


def hipdata(db: str | Path, *args: str) -> list[str]:
    return [PY, "-m", "hipdata", "--db", str(db), *args]


def steps(csv: Path, work: Path, repeat: int, tag: str) -> tuple[dict[str, tuple[Run, Run]], Path]:
    """import, trends and flags on one file: {step: (app, floor)}, and the app's database."""
    as_of = date.today().isoformat()

    def db(kind: str, k: int) -> Path:
        return work / f"{tag}-{kind}-{k}.duckdb"

    def app_import(k: int) -> list[str]:
        db("app", k).unlink(missing_ok=True)
        return hipdata(db("app", k), "import", str(csv))

    def floor_import(k: int) -> list[str]:
        db("floor", k).unlink(missing_ok=True)
        return [PY, "-c", floor.import_script(str(db("floor", k)), str(csv))]

    out = {"import": compare(app_import, floor_import, repeat)}
    app_db, sink = db("app", 0), str(work / "floor-out.csv")
    first_db = db("first", 0)
    floor_trends = lambda k: floor.trends_program(str(app_db), as_of, sink)  # noqa: E731

    def trends(db: Path, before=None):
        def command(k: int) -> list[str]:
            if before:
                before()
            return hipdata(db, "trends", "--as-of", as_of, "--format", "csv")

        return command

    def fresh_copy() -> None:  # as an import leaves it: on disk, not in dirty pages that a commit must flush
        shutil.copyfile(app_db, first_db)
        with open(first_db, "rb+") as file:
            os.fsync(file.fileno())

    out[TRENDS[0]] = compare(trends(first_db, fresh_copy), floor_trends, repeat)
    first_db.unlink()
    run(hipdata(app_db, "trends", "--as-of", as_of, "--format", "csv"))  # keeps every patient's numbers
    out[TRENDS[1]] = compare(trends(app_db), floor_trends, repeat)
    out[TRENDS[2]] = compare(
        trends(app_db, lambda: run([PY, "-c", WRITE_ONE.format(db=str(app_db))])), floor_trends, repeat
    )
    out["flags"] = compare(
        lambda k: hipdata(app_db, "flags", "--as-of", as_of, "--format", "csv"), floor_trends, repeat
    )
    for k in range(repeat):  # keep the disk use of the largest sizes in bounds
        db("floor", k).unlink(missing_ok=True)
        if k:
            db("app", k).unlink(missing_ok=True)
    return out, app_db


# One patient's write (a note), which changes that patient's version.
WRITE_ONE = """
import pandas as pd
from hipdata.auth import SYSTEM
from hipdata.store import Store
s = Store({db!r})
note = {{"patient_id": [s.patients(SYSTEM)["patient_id"].iloc[0]], "week": [pd.Timestamp("2025-01-06")],
        "text": ["benchmark"]}}
s.add_records(SYSTEM, "notes", pd.DataFrame(note))
"""

PAGE_CODE = """
import time, datetime, json, resource
import duckdb, pandas as pd
from streamlit.testing.v1 import AppTest
from bench import floor, floor_trends
from hipdata import auth
from hipdata.auth import SYSTEM
from hipdata.store import Store

s = Store({db!r})
patients = s.patients(SYSTEM)["patient_id"].tolist()
mine = patients[:40]
if s.account("bench-admin") is None:
    s.create_account(SYSTEM, "bench-admin", "admin", auth.hash_password("benchmark-password"))
    s.create_account(SYSTEM, "bench-therapist", "therapist", auth.hash_password("benchmark-password"))
    for p in mine:
        s.assign(SYSTEM, p, "bench-therapist")
out, as_of = {{}}, datetime.date.today().isoformat()

def write():  # any write bumps the data version, so the next run recomputes instead of reading its cache
    note = {{"patient_id": [mine[0]], "week": [pd.Timestamp("2025-01-06")], "text": ["benchmark"]}}
    s.add_records(SYSTEM, "notes", pd.DataFrame(note))

def page(user, path, patient=None):
    at = AppTest.from_file({app!r}, default_timeout=600)
    at.session_state["session_token"] = s.open_session(user, datetime.datetime.now())
    if patient:
        at.session_state["review_patient"] = patient
        at.switch_page(path)
    return at

def timed(at):
    t = time.perf_counter(); at.run(); assert not at.exception, at.exception
    return time.perf_counter() - t

def floor_time(ids):
    t = time.perf_counter()
    floor_trends.trends(s._cursor(), as_of, floor.MEASURES, ids)
    return time.perf_counter() - t

cases = [("caseload, admin (all patients)", "bench-admin", "app_pages/caseload.py", None, None),
         ("caseload, therapist (40 patients)", "bench-therapist", "app_pages/caseload.py", None, mine),
         ("progress, one patient", "bench-admin", "app_pages/progress.py", mine[0], [mine[0]])]
for label, user, path, patient, ids in cases:
    at = page(user, path, patient)
    first = timed(at)  # the first visit imports the page's modules, once per server process
    after = []
    for _ in range({repeat}):
        write()
        after.append(timed(at))
    cached = min(timed(at) for _ in range({repeat}))
    out[label] = dict(first_visit=first, after_write=min(after), cached=cached)
mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the pages' peak, before the floors
for label, user, path, patient, ids in cases:
    out[label]["floor"] = min(floor_time(ids) for _ in range({repeat}))
print(json.dumps(dict(pages=out, mib=mib)))
"""


def pages(db: Path, repeat: int) -> tuple[dict, float]:
    """Server time of each page, and the page process's peak memory before its floors ran."""
    code = PAGE_CODE.format(db=str(db), app=str(ROOT / "app.py"), repeat=repeat)
    _, line = run([PY, "-c", code], env={"HIPDATA_DB": str(db), "PYTHONPATH": str(ROOT)})
    result = json.loads(line)
    return result["pages"], result["mib"]


def make_csv(shape: str, patients: int, weeks: int, seed: int, path: Path) -> int:
    run(
        [
            PY,
            "-c",
            f"from bench import shapes; shapes.write({shape!r}, {patients}, {weeks}, {seed}, {str(path)!r})",
        ]
    )
    with path.open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 24), b"")) - 1


def ratio_row(name: str, app: Run, base: Run, target: float | None) -> str:
    ratio = app.seconds / base.seconds
    verdict = "" if target is None else (" ✓" if ratio <= target else " ✗ over target")
    goal = "" if target is None else f"≤ {target:g}x"
    return (
        f"| {name} | {app.seconds:.2f} s | {base.seconds:.2f} s | {ratio:.2f}x{verdict} | {goal} "
        f"| {app.mib:.0f} / {base.mib:.0f} MiB |"
    )


def main_bench(args, work: Path) -> None:
    print("| data | step | hipdata | floor | ratio | target | peak memory hipdata / floor |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        csv = work / f"{shape}.csv"
        rows = make_csv(shape, args.patients, args.weeks, args.seed, csv)
        results, _ = steps(csv, work, args.repeat, shape)
        for step, (app, base) in results.items():
            label = f"{shape}, {rows:,} readings"
            print(ratio_row(f"{label} | {step}", app, base, TARGETS[step]), flush=True)
    page_csv = work / "pages.csv"
    make_csv("demo", args.page_patients, args.weeks, args.seed, page_csv)
    page_db = work / "pages.duckdb"
    run(hipdata(str(page_db), "import", str(page_csv)))
    print_pages(*pages(page_db, args.repeat), f"{args.page_patients:,} patients x {args.weeks} weeks")


def print_pages(results: dict, mib: float, label: str) -> None:
    print(f"\n| page, server time, {label} | first visit | first run after a write | cached | floor "
          "| target after a write |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, t in results.items():
        limit = PAGE_TARGETS[name]
        mark = "✓" if t["after_write"] <= limit else "✗ over target"
        print(
            f"| {name} | {t['first_visit']:.2f} s | {t['after_write']:.3f} s | {t['cached']:.3f} s "
            f"| {t['floor']:.3f} s | ≤ {limit:g} s {mark} |"
        )
    print(f"\npeak memory of the page process (before its floors ran): {mib:.0f} MiB", flush=True)


def scale(args, work: Path) -> None:
    per_reading: dict[int, dict[str, float]] = {}
    for patients in args.sizes:
        csv = work / f"scale-{patients}.csv"
        rows = make_csv("demo", patients, args.weeks, args.seed, csv)
        results, db = steps(csv, work, args.repeat, f"scale-{patients}")
        page_times, page_mib = pages(db, args.repeat)
        print(f"\n## {patients:,} patients x {args.weeks} weeks = {rows:,} readings\n")
        print("| step | hipdata | floor | ratio | target | peak memory hipdata / floor | µs per reading |")
        print("|---|---|---|---|---|---|---|")
        per_reading[patients] = {}
        for step, (app, base) in results.items():
            cost = 1e6 * app.seconds / rows
            per_reading[patients][step] = cost
            memory = app.mib / base.mib
            note = f" (memory {memory:.2f}x{' ✓' if memory <= 1.5 else ' ✗'})" if step == TRENDS[0] else ""
            print(ratio_row(step, app, base, TARGETS[step]) + f" {cost:.2f}{note} |")
        print_pages(page_times, page_mib, f"{patients:,} patients")
        db.unlink()
        csv.unlink()
    if 2000 in per_reading and len(per_reading) > 1:
        largest = max(per_reading)
        print(f"\n| step | µs per reading at 2,000 | at {largest:,} | growth | target |")
        print("|---|---|---|---|---|")
        for step, cost in per_reading[2000].items():
            growth = per_reading[largest][step] / cost
            mark = " ✓" if growth <= 1.3 else " ✗"
            print(
                f"| {step} | {cost:.2f} | {per_reading[largest][step]:.2f} | {growth:.2f}x{mark} | ≤ 1.3x |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--page-patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step and its floor")
    parser.add_argument("--shapes", nargs="+", default=["demo", "mixed"], choices=["demo", "mixed"])
    parser.add_argument("--scale", action="store_true", help="the scale curve instead")
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=list(SCALE_SIZES),
        help="patients per size of the scale curve, comma-separated",
    )  # fmt: skip
    args = parser.parse_args()
    # Byte-compiled first, as an installed package is: with PYTHONDONTWRITEBYTECODE set, every command would
    # compile hipdata from source again (about 40 ms), which no installed command pays.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "hipdata"), str(ROOT / "bench")], check=True)
    work = Path(tempfile.mkdtemp(prefix="hipdata-bench-"))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; files in {work}\n")
    (scale if args.scale else main_bench)(args, work)


if __name__ == "__main__":
    main()
