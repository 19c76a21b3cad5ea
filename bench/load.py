"""Load, faults and speed of hipdata on one shared PostgreSQL database (not part of `make test`).

    python -m bench.load --pg URL                  # all three parts; speed at 2,000 patients x 52 weeks
    python -m bench.load --pg URL --patients 200   # a quicker run
    python -m bench.load --parts speed             # a throwaway cluster from scripts/pg-cluster, if present

1. load: two app servers and one `hipdata import` at once, and browser sessions (one Chromium, a context
   each) signed in as their own patients saving check-ins on the one-page form. Every check-in the page
   confirmed must be in the database afterwards, and no page may show an error.
2. faults: a writer killed with SIGKILL mid-way, an import and a burst of check-ins in turn: an import is
   all there or not at all, and every check-in the writer acknowledged is there.
3. speed: `hipdata import` and `hipdata trends` against floors on the same server in the same run: COPY of
   the same file into one plain table, and one SQL query for the trend rules 1-4 (bench/floor.py's query,
   in PostgreSQL's dialect).

Each part runs in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import psycopg

from bench import shapes
from bench.run import make_csv
from hipdata import auth, catalog
from hipdata.auth import SYSTEM
from hipdata.store import Store

ROOT = Path(__file__).parents[1]
PY = sys.executable
CLUSTER_SCRIPT = ROOT / "scripts" / "pg-cluster"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "load-password-1"
PAGE_ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema()))"  # the store's own write lock
THE_LOCK = "l.locktype = 'advisory' AND l.objid::BIGINT = hashtext(current_schema())::BIGINT & 4294967295"
LOCK_HELD = f"SELECT count(*) FROM pg_locks l WHERE {THE_LOCK} AND l.granted"
LOCK_WAITS = f"""SELECT count(*), coalesce(max(extract(EPOCH FROM now() - a.query_start)), 0)
                 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE {THE_LOCK} AND NOT l.granted"""


# ---- the database --------------------------------------------------------------------------------------


@contextmanager
def cluster(url: str | None) -> Iterator[str]:
    """The server to use: --pg, or else a throwaway cluster from scripts/pg-cluster."""
    if url:
        yield url
        return
    if not CLUSTER_SCRIPT.exists():
        raise SystemExit(
            "give --pg URL (scripts/pg-cluster, which would start a throwaway cluster, is absent)"
        )
    folder = tempfile.mkdtemp(prefix="hipdata-pg-")
    started = subprocess.run(
        [str(CLUSTER_SCRIPT), "start", folder], check=True, capture_output=True, text=True
    )
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "stop", folder], check=False)


@contextmanager
def schema(url: str, name: str) -> Iterator[str]:
    """A new schema for one part, as a URL whose search_path is that schema; dropped on leaving."""
    name = f"bench_{name}_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {name} CASCADE")


def one(db: str, sql: str, params: tuple = ()):
    with psycopg.connect(db) as con:
        return con.execute(sql, params or None).fetchone()[0]


def settled(db: str, sql: str, params: tuple = ()) -> tuple[object, float]:
    """A query's answer once no writer holds the store's lock (a killed writer's transaction has ended),
    and how long that took."""
    start = time.perf_counter()
    with psycopg.connect(db) as con:
        con.execute(WRITE_LOCK)
        return con.execute(sql, params or None).fetchone()[0], time.perf_counter() - start


def readings_count(db: str) -> int:
    return settled(db, "SELECT count(*) FROM readings WHERE deleted_at IS NULL")[0]


def hipdata(db: str, *args: str) -> list[str]:
    return [PY, "-m", "hipdata", "--db", db, *args]


def add_patients(db: str, names: list[str]) -> None:
    """A patient account per name, for the patient record of the same name in capitals."""
    store, hashed = Store(db), auth.hash_password(PASSWORD)
    try:
        for name in names:
            store.create_account(SYSTEM, name, "patient", hashed, name.upper())
    finally:
        store.close()


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:.2f} / {p95:.2f} / {max(values):.2f} s"


# ---- 1. load: app servers, an import and browser sessions at once --------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(db: str, log: Path) -> Iterator[str]:
    """`streamlit run app.py` on the database, its output in `log`: its URL once it answers."""
    port = free_port()
    command = [PY, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "HIPDATA_DB": db}, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            with suppress(OSError):
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"streamlit did not start, see {log}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Tally:
    """What the browser sessions saw."""

    signed_in: int = 0
    confirmed: list[str] = field(default_factory=list)  # the note of every check-in the page confirmed
    sign_ins: list[float] = field(default_factory=list)  # seconds from opening the app to signed in
    spans: list[tuple[float, float]] = field(default_factory=list)  # click on Save -> confirmation shown
    page_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # actions that timed out or failed
    cut_off: bool = False  # the sessions were still running at --timeout
    lock_queue: int = 0  # the most writers seen waiting for the store's write lock at once
    lock_wait: float = 0.0  # the longest wait seen for it, in seconds


async def settle(page) -> None:
    """Wait until the script has finished the run that the last action started (see tests/test_browser)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    with suppress(PlaywrightTimeout):
        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=1_000)
    await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    await page.wait_for_timeout(300)


async def note_errors(page, tally: Tally, account: str) -> None:
    """The exception boxes and error alerts the page shows."""
    tally.page_errors += [f"{account}: {text}" for text in await page.locator(PAGE_ERRORS).all_inner_texts()]


async def check_in(page, tally: Tally, account: str, k: int, timeout_ms: int) -> None:
    """The quickest check-in of the tests: two fields and a note on the one-page form, then Save."""
    from playwright.async_api import expect

    note = f"load {account} {k}"
    await page.get_by_role("spinbutton", name="Hip internal rotation, left (°)", exact=True).fill(str(30 + k))
    await page.get_by_role("spinbutton", name="Low back pain (0-10)", exact=True).fill("2")
    await page.get_by_role("textbox", name="Note", exact=True).fill(note)
    start = time.perf_counter()
    await page.get_by_role("button", name="Save check-in").click()
    await expect(page.get_by_text(f"Note: {note}", exact=True)).to_be_visible(timeout=timeout_ms)
    tally.spans.append((start, time.perf_counter()))
    tally.confirmed.append(note)
    await settle(page)


async def session(browser, url: str, account: str, args, tally: Tally, limit: asyncio.Semaphore) -> None:
    async with limit:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(args.action_timeout * 1000)
        step = "open the app"
        try:
            start = time.perf_counter()
            await page.goto(url, wait_until="domcontentloaded")
            await settle(page)
            step = "sign in"
            await page.get_by_label("Username", exact=True).fill(account)
            await page.get_by_label("Password", exact=True).fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await settle(page)
            step = "choose the one-page form"
            await page.get_by_role("radio", name="All on one page").click()
            await settle(page)
            tally.signed_in += 1
            tally.sign_ins.append(time.perf_counter() - start)
            for k in range(args.checkins):
                step = f"check-in {k + 1}"
                await check_in(page, tally, account, k, args.action_timeout * 1000)
                await note_errors(page, tally, account)
        except Exception as error:  # a timeout or a closed page: counted, and the other sessions go on
            message = str(error).splitlines()[0] if str(error) else ""
            tally.failures.append(f"{account} ({url}), {step}: {type(error).__name__}: {message}")
            with suppress(Exception):
                await note_errors(page, tally, account)
        finally:
            with suppress(Exception):
                await context.close()


async def run_import(command: list[str], tally: Tally) -> tuple[float, float, int | None, str]:
    """The import, started once the first check-in is confirmed: its start, end, exit code (None when cut
    off) and last line of output."""
    while not tally.confirmed:
        await asyncio.sleep(0.1)
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        return start, time.perf_counter(), None, "cut off at --timeout"
    return start, time.perf_counter(), process.returncode, (out.decode().strip().splitlines() or [""])[-1]


async def watch_lock(db: str, tally: Tally) -> None:
    """Sample the writers waiting for the store's write lock, until cancelled."""
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as con:
        while True:
            waiting, longest = await (await con.execute(LOCK_WAITS)).fetchone()
            tally.lock_queue, tally.lock_wait = max(tally.lock_queue, waiting), max(tally.lock_wait, longest)
            await asyncio.sleep(0.1)


async def browse(
    db: str, urls: list[str], accounts: list[str], import_command: list[str], args, tally: Tally
):
    """Every session at once (at most --concurrency), split across the servers, and the import; all of it
    bounded by --timeout. The import's outcome (see run_import), None if it never started."""
    from playwright.async_api import async_playwright

    limit = asyncio.Semaphore(args.concurrency)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        importing = asyncio.create_task(run_import(import_command, tally))
        watching = asyncio.create_task(watch_lock(db, tally))
        sessions = [
            session(browser, urls[i % len(urls)], a, args, tally, limit) for i, a in enumerate(accounts)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*sessions), args.timeout)
        except TimeoutError:
            tally.cut_off = True
        finally:
            await browser.close()
            watching.cancel()
        if not tally.confirmed:
            importing.cancel()
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(importing), args.timeout / 2)
        except TimeoutError:
            importing.cancel()
            return await importing


def log_errors(logs: list[Path]) -> list[str]:
    """Lines of the servers' output that report an error."""
    lines = [f"{log.name}: {line}" for log in logs for line in log.read_text(errors="replace").splitlines()]
    return [line for line in lines if "Traceback" in line or "Error" in line or "error" in line]


def load(url: str, args, work: Path) -> None:
    big = work / "load.csv"
    file_readings = make_csv("demo", args.load_patients, args.weeks, args.seed, big)
    accounts = [f"load{i:02d}" for i in range(1, args.sessions + 1)]
    print(f"\n## 1. Load: 2 app servers, `hipdata import` of {file_readings:,} readings and {len(accounts)} "
          f"browser sessions x {args.checkins} check-ins, at once\n", flush=True)  # fmt: skip
    with schema(url, "load") as db:
        add_patients(db, accounts)
        logs = [work / "server-a.log", work / "server-b.log"]
        tally, started = Tally(), time.perf_counter()
        with app_server(db, logs[0]) as a, app_server(db, logs[1]) as b:
            imported = asyncio.run(browse(db, [a, b], accounts, hipdata(db, "import", str(big)), args, tally))
        wall = time.perf_counter() - started
        found = set(settled(db, "SELECT coalesce(array_agg(DISTINCT note), '{}') FROM readings "
                                "WHERE deleted_at IS NULL AND note LIKE 'load %'")[0])  # fmt: skip
        total = readings_count(db)
    confirmed = set(tally.confirmed)
    times = [end - start for start, end in tally.spans]
    rows = [
        ("sessions signed in", f"{tally.signed_in} / {len(accounts)}"),
        ("check-ins confirmed on the page", len(confirmed)),
        (
            "... found in the database",
            f"{len(confirmed & found)} (missing {len(confirmed - found)}, "
            f"saved but not confirmed {len(found - confirmed)})",
        ),  # fmt: skip
        ("errors shown on pages", len(tally.page_errors)),
        ("failed or timed-out actions", len(tally.failures)),
        (
            "sessions cut off at --timeout",
            "yes: unfinished check-ins are not counted" if tally.cut_off else "no",
        ),
        ("sign-in (open the app to the check-in form), p50 / p95 / max", percentiles(tally.sign_ins)),
        ("page time per check-in (Save to confirmation), p50 / p95 / max", percentiles(times)),
    ]
    if imported:
        start, end, code, last = imported
        during = [e - s for s, e in tally.spans if s < end and e > start]
        expected = file_readings + 2 * len(found)
        rows += [
            ("import", f"{end - start:.1f} s, exit {code}: {last}"),
            (f"... check-ins saved while it ran ({len(during)}), p50 / p95 / max", percentiles(during)),
            ("readings in the database = file + 2 per check-in", f"{total:,} = {expected:,}"
                                                                 f" {'✓' if total == expected else '✗'}"),
        ]  # fmt: skip
    rows.append(("writers waiting for the write lock at once (most) / longest wait",
                 f"{tally.lock_queue} / {tally.lock_wait:.1f} s"))  # fmt: skip
    server_errors = log_errors(logs)
    rows += [("error lines in the servers' output", len(server_errors)),
             ("wall time (bound)", f"{wall:.0f} s ({args.timeout} s)")]  # fmt: skip
    print("| load | |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for line in (tally.failures + tally.page_errors + server_errors)[:20]:
        print(f"    {line}")
    ok = (
        confirmed <= found
        and not tally.page_errors
        and not tally.failures
        and tally.signed_in == len(accounts)
    )
    print(f"\nload: {'PASS' if ok else 'FAIL'} (confirmed check-ins missing: {len(confirmed - found)}, "
          f"errors on pages: {len(tally.page_errors)}, failed actions: {len(tally.failures)})", flush=True)  # fmt: skip


# ---- 2. faults: writers killed mid-way -----------------------------------------------------------------

BURST = """
import sys
from datetime import date
import pandas as pd
from hipdata import checkin
from hipdata.auth import SYSTEM
from hipdata.store import Store

store, patient, tag = Store(sys.argv[1]), sys.argv[2], sys.argv[3]
values = {("hip_internal_rotation", "left"): 30.0, ("pain_low_back", ""): 2.0}
today = date.today()
print("ready", flush=True)
for i in range(1_000_000):
    note = f"{tag} {i}"
    readings, log = checkin.clean_checkin(patient, today, values, {}, note, pd.DataFrame())
    store.save_checkin(SYSTEM, patient, checkin.monday(today), readings, log)
    print(note, flush=True)  # acknowledged: the transaction has committed
"""


@dataclass
class Trial:
    writer: str
    killed_after: float
    lock_held: bool  # the writer held the store's write lock when it was killed
    lock_freed: float  # seconds until the next writer could take the lock
    seen: str
    ok: bool


def kill_after(process: subprocess.Popen, delay: float, db: str) -> tuple[bool, bool]:
    """SIGKILL the process after `delay` seconds: whether it was still running, and held the write lock."""
    with suppress(subprocess.TimeoutExpired):
        process.wait(delay)
    running, held = process.poll() is None, one(db, LOCK_HELD) > 0
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running, held


def import_trial(db: str, path: Path, rows: int, seconds: float, rng: random.Random) -> Trial:
    before = readings_count(db)
    delay = rng.uniform(0.1, 0.8) * seconds
    process = subprocess.Popen(hipdata(db, "import", str(path)), cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    running, held = kill_after(process, delay, db)
    after, freed = settled(db, "SELECT count(*) FROM readings WHERE deleted_at IS NULL")
    state = "none" if after == before else "all" if after == before + rows else "PART"
    seen = f"{state} of {rows:,} readings ({after - before:+,})" + (
        "" if running else ", finished before the kill"
    )
    return Trial("import", delay, held, freed, seen, state != "PART")


def checkin_trial(db: str, patient: str, tag: str, rng: random.Random) -> Trial:
    process = subprocess.Popen(
        [PY, "-c", BURST, db, patient, tag], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    process.stdout.readline()  # ready: the store is open
    delay = rng.uniform(0.3, 3.0)
    _, held = kill_after(process, delay, db)
    acknowledged = set(process.stdout.read().split("\n")) - {""}
    found, freed = settled(db, "SELECT coalesce(array_agg(DISTINCT note), '{}') FROM readings "
                               "WHERE deleted_at IS NULL AND note LIKE %s", (f"{tag} %",))  # fmt: skip
    missing, extra = acknowledged - set(found), set(found) - acknowledged
    seen = f"{len(acknowledged)} acknowledged, {len(missing)} missing, {len(extra)} saved but unacknowledged"
    return Trial("check-ins", delay, held, freed, seen, not missing)


def faults(url: str, args, work: Path) -> None:
    print(f"\n## 2. Faults: {args.trials} writers killed with SIGKILL mid-way\n", flush=True)
    import pandas as pd

    from hipdata import demo

    frame = shapes.demo_readings(args.fault_patients, args.weeks, args.seed)
    frame["patient_id"] = frame["patient_id"].astype(str)
    rng = random.Random(args.seed)

    def trial_file(k: int) -> Path:  # new patients for every file, so that nothing in it is already stored
        path = work / f"fault-{k}.csv"
        readings = frame.assign(patient_id=f"K{k}-" + frame["patient_id"])
        demo.write_csv(demo.Demo(pd.DataFrame(), readings, pd.DataFrame()), path)
        return path

    with schema(url, "faults") as db:
        add_patients(db, ["burst"])
        start = time.perf_counter()  # one import to the end: how long an import takes, to kill it inside that
        subprocess.run(hipdata(db, "import", str(trial_file(0))), cwd=ROOT, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        print(f"an uninterrupted import of {len(frame):,} readings: {seconds:.1f} s; kills come within it\n")
        print("| trial | writer | killed after | held the write lock | lock free after | found | verdict |")
        print("|---|---|---|---|---|---|---|")
        trials = []
        for k in range(1, args.trials + 1):
            if k % 2:
                t = import_trial(db, trial_file(k), len(frame), seconds, rng)
            else:
                t = checkin_trial(db, "BURST", f"burst {k}", rng)
            trials.append(t)
            print(f"| {k} | {t.writer} | {t.killed_after:.2f} s | {'yes' if t.lock_held else 'no'} "
                  f"| {t.lock_freed:.2f} s | {t.seen} | {'ok' if t.ok else 'FAIL'} |", flush=True)  # fmt: skip
    print(f"\nfaults: {'PASS' if all(t.ok for t in trials) else 'FAIL'}", flush=True)


# ---- 3. speed: import and trends against floors on the same server ------------------------------------

TRENDS_SQL = """
WITH m(measure, direction, mdc) AS (VALUES {measures}),
measures AS (SELECT e.m AS measure, e.i - 1 AS code FROM unnest(enum_range(NULL::measure_id)) WITH ORDINALITY e(m, i)),
sides AS (SELECT e.s AS side, e.i - 1 AS code FROM unnest(enum_range(NULL::side_id)) WITH ORDINALITY e(s, i)),
codes AS (SELECT patient_id, row_number() OVER (ORDER BY patient_id) AS pcode
          FROM patients WHERE deleted_at IS NULL),
w AS (SELECT (pcode * 4096 + ms.code * 4 + sd.code)::INTEGER AS sid, (date - DATE '1970-01-05') / 7 AS wk,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS v
      FROM readings JOIN codes USING (patient_id) JOIN measures ms USING (measure) JOIN sides sd USING (side)
      WHERE deleted_at IS NULL AND date <= DATE '{as_of}' GROUP BY 1, 2),
n AS (SELECT sid, wk, v, row_number() OVER (PARTITION BY sid ORDER BY wk)::INTEGER AS i FROM w),
s AS (SELECT sid, count(*)::INTEGER AS weeks, array_agg(v ORDER BY i) AS vs FROM n GROUP BY sid),
sl AS (SELECT a.sid, percentile_cont(0.5) WITHIN GROUP (ORDER BY (b.v - a.v) / (b.wk - a.wk)) AS slope
       FROM n a JOIN n b ON a.sid = b.sid AND a.i < b.i GROUP BY a.sid),
k AS (SELECT sid, weeks, (vs[1] + vs[least(2, weeks)]) / 2 AS baseline,
             (vs[greatest(weeks - 1, 1)] + vs[weeks]) / 2 AS current FROM s),
t AS (SELECT c.patient_id, ms.measure::TEXT AS measure, sd.side::TEXT AS side, weeks, baseline, current,
             current - baseline AS change, (current - baseline) * direction AS improvement, mdc,
             CASE WHEN weeks >= 3 THEN slope END AS slope_per_week
      FROM k LEFT JOIN sl USING (sid) JOIN codes c ON c.pcode = sid / 4096
      JOIN measures ms ON ms.code = sid / 4 % 1024 JOIN sides sd ON sd.code = sid % 4
      JOIN m ON m.measure = ms.measure::TEXT)
SELECT *, CASE WHEN weeks < 4 THEN 'insufficient_data' WHEN improvement >= mdc THEN 'improved'
               WHEN improvement <= -mdc THEN 'worsened' ELSE 'no_detectable_change' END AS status
FROM t ORDER BY 1, 2, 3
"""


def trends_sql(as_of: str) -> str:
    measures = ", ".join(
        f"('{m.id}', {m.direction}, {m.mdc}::DOUBLE PRECISION)" for m in catalog.MEASURES.values()
    )
    return TRENDS_SQL.format(measures=measures, as_of=as_of)


def copy_out(db: str, sql: str, out: Path) -> None:
    with (
        psycopg.connect(db) as con,
        con.cursor() as cur,
        cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy,
        out.open("wb") as file,
    ):
        for chunk in copy:
            file.write(chunk)


def copy_in(db: str, path: Path) -> None:
    """The import floor: the file into one plain table by COPY, checking nothing."""
    columns = ", ".join(f"{c} {'DATE' if c == 'date' else 'DOUBLE PRECISION' if c == 'value' else 'TEXT'}"
                        for c in path.open().readline().strip().split(","))  # fmt: skip
    with psycopg.connect(db) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE floor_copy ({columns})")
        with cur.copy("COPY floor_copy FROM STDIN (FORMAT csv, HEADER)") as copy, path.open("rb") as file:
            while chunk := file.read(1 << 20):
                copy.write(chunk)


def timed(step, *args) -> float:
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def run_command(command: list[str], out: Path | None = None) -> None:
    with open(out or os.devnull, "wb") as file:
        done = subprocess.run(command, cwd=ROOT, stdout=file, stderr=subprocess.PIPE)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()}")


def trend_rows(path: Path) -> dict[tuple, tuple]:
    with path.open(newline="") as file:
        return {
            (r["patient_id"], r["measure"], r["side"]): (r["status"], float(r["slope_per_week"] or "nan"))
            for r in csv.DictReader(file)
        }


def same_trends(a: Path, b: Path) -> str:
    """Whether the floor computed what `hipdata trends` printed: every series, status and slope."""
    x, y = trend_rows(a), trend_rows(b)
    if x.keys() != y.keys():
        return f"✗ different series ({len(x):,} vs {len(y):,})"
    status = sum(x[k][0] != y[k][0] for k in x)
    slope = max((abs(x[k][1] - y[k][1]) for k in x if x[k][1] == x[k][1] or y[k][1] == y[k][1]), default=0.0)
    return f"{'✓' if not status and slope < 1e-9 else '✗'} {len(x):,} series, {status} statuses differ, largest slope difference {slope:.1g}"


def speed(url: str, args, work: Path) -> None:
    path = work / "speed.csv"
    rows = make_csv("demo", args.patients, args.weeks, args.seed, path)
    print(f"\n## 3. Speed: {args.patients:,} patients x {args.weeks} weeks = {rows:,} readings\n", flush=True)
    as_of = date.today().isoformat()
    with schema(url, "speed") as db:
        Store(db).close()  # the schema's tables exist before the import is timed
        app_import = timed(run_command, hipdata(db, "import", str(path)))
        floor_import = timed(copy_in, db, path)
        with psycopg.connect(db, autocommit=True) as con:
            con.execute("DROP TABLE floor_copy")
            con.execute(
                "VACUUM ANALYZE"
            )  # what autovacuum does after a bulk load; both sides read the same tables
        app_out, floor_out = work / "trends-app.csv", work / "trends-floor.csv"
        app_trends, floor_trends = [], []
        for _ in range(args.repeat):
            app_trends.append(
                timed(run_command, hipdata(db, "trends", "--as-of", as_of, "--format", "csv"), app_out)
            )
            floor_trends.append(timed(copy_out, db, trends_sql(as_of), floor_out))
        check = same_trends(app_out, floor_out)
    print("| step | hipdata | floor | ratio | floor is |")
    print("|---|---|---|---|---|")
    for step, app, base, what in (
        ("import", app_import, floor_import, "COPY of the file into one plain table"),
        (
            f"trends (best of {args.repeat})",
            min(app_trends),
            min(floor_trends),
            "one SQL query for rules 1-4",
        ),
    ):
        print(f"| {step} | {app:.2f} s | {base:.2f} s | {app / base:.2f}x | {what} |")
    print(f"\nfloor query = `hipdata trends`: {check}", flush=True)


# ---- main ----------------------------------------------------------------------------------------------

PARTS = {"load": load, "faults": faults, "speed": speed}


def server_line(url: str) -> str:
    settings = ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather")
    with psycopg.connect(url) as con:
        return ", ".join(f"{s} {con.execute(f'SHOW {s}').fetchone()[0]}" for s in settings)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", help="PostgreSQL URL (default: a throwaway cluster from scripts/pg-cluster)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--patients", type=int, default=2000, help="patients of the speed part")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of trends and its floor; the fastest counts"
    )
    parser.add_argument(
        "--load-patients", type=int, default=300, help="patients in the file imported under load"
    )
    parser.add_argument("--sessions", type=int, default=20, help="browser sessions, one patient account each")
    parser.add_argument("--concurrency", type=int, default=20, help="browser sessions at once, at most")
    parser.add_argument("--checkins", type=int, default=3, help="check-ins per session")
    parser.add_argument("--action-timeout", type=int, default=120, help="seconds for one browser action")
    parser.add_argument("--timeout", type=int, default=300, help="seconds for the whole load part")
    parser.add_argument("--trials", type=int, default=10, help="writers killed in the faults part")
    parser.add_argument(
        "--fault-patients", type=int, default=300, help="patients in each file of the faults part"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hipdata-load-"))
    with cluster(args.pg) as url:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; PostgreSQL: {server_line(url)}; "
              f"files in {work}")  # fmt: skip
        for part in args.parts:
            PARTS[part](url, args, work)


if __name__ == "__main__":
    main()
