"""End-to-end tests in Debian's Chromium through Playwright, against `streamlit run app.py` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hipdata import ui
from hipdata.auth import SYSTEM
from hipdata.caseload import BADGES
from hipdata.store import Store
from tests.test_caseload import add_every_flag

pytestmark = pytest.mark.browser
ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "rehab-password-1"
SHOTS = ROOT / "screenshots"
AMP_USER = "amp&amp;<b>x</b>"  # an entity and a tag in a name: both must show as typed


def cli(db: str, *args: str, stdin: str | None = None) -> None:
    env = {**os.environ, "HIPDATA_DB": db}
    subprocess.run(
        [sys.executable, "-m", "hipdata", *args], input=stdin, text=True, check=True, env=env, cwd=ROOT
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """`streamlit run app.py` on this database, on a free port: its URL, and a stop() that ends it early
    (DuckDB lets one process open the file: stop the app before reading it back). Stopped on leaving."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port := free_port()), "--browser.gatherUsageStats", "false"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "HIPDATA_DB": db},
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            process.wait(10)

    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield url, stop
    finally:
        stop()


@pytest.fixture(scope="module")
def server(session_db):
    """A clinic: an admin, two therapists with their patients, demo readings; the app serving it."""
    assert Path(CHROMIUM).exists(), (
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    )
    db = session_db("clinic")
    cli(db, "demo", "--patients", "6", "--weeks", "10", "--seed", "3")
    cli(db, "users", "add", "ada", "--role", "admin", stdin=PASSWORD)
    for name in ("tess", "tom"):
        cli(db, "users", "add", name, "--role", "therapist", stdin=PASSWORD)
    for account, patient, therapist in (
        ("pat1", "P0001", "tess"),
        ("pat2", "P0002", "tess"),
        ("pat4", "P0004", "tom"),
    ):
        cli(db, "users", "add", account, "--role", "patient", "--patient", patient, "--therapist", therapist,
            stdin=PASSWORD)  # fmt: skip
    cli(db, "users", "add", "locky", "--role", "patient", "--patient", "P0005", stdin=PASSWORD)
    cli(db, "users", "add", AMP_USER, "--role", "therapist", stdin=PASSWORD)
    cli(db, "users", "add", "fran", "--role", "therapist", stdin=PASSWORD)
    store = Store(db)  # fran's caseload: one patient with every flag, and one demo patient
    add_every_flag(store, "P0099", date.today(), "Mara Manyflags")
    for patient in ("P0099", "P0006"):
        store.assign(SYSTEM, patient, "fran")
    store.close()
    with serving(db) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def settle(page: Page) -> None:
    """Wait until the script has finished the run that the last action started.

    On a busy machine the run may start a moment after the click: wait for it to start (briefly), or the
    state read is still the one from before the click, and the next action races the rerun.
    """
    with suppress(PlaywrightTimeout):
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=1_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=30_000)
    page.wait_for_timeout(300)


def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(url)
    settle(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    settle(page)


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def visit_every_page(page: Page) -> list[str]:
    """Open each page of the sidebar and return the text each one shows."""
    links = page.locator("[data-testid='stSidebarNav'] a")
    texts = []
    for i in range(links.count()):
        links.nth(i).click()
        settle(page)
        texts.append(page.locator("[data-testid='stMain']").inner_text())
    return texts


def test_patient_logs_a_week_at_phone_width(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = context.new_page()
    sign_in(page, server, "pat1")
    expect(page.get_by_role("heading", name="Weekly check-in")).to_be_visible()
    page.get_by_role("radio", name="All on one page").click()  # the one-page form; steps: test_checkin_phone
    settle(page)
    page.get_by_role("spinbutton", name="Hip internal rotation, left (°)", exact=True).fill("33")
    page.get_by_role("spinbutton", name="Low back pain (0-10)", exact=True).fill("2")
    page.get_by_role("button", name="Save check-in").click()
    settle(page)
    expect(page.get_by_text("Saved: 2 readings")).to_be_visible()
    shoot(page, "patient-checkin-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # no sideways scrolling
    context.close()


def test_a_typed_pain_of_3_5_is_refused_in_the_browser_not_saved_as_3(server, page):
    """An integer field would send 3 for a typed 3.5 (the browser parses it as an integer): the pain field
    keeps what was typed, and the rules refuse it with the form's message."""
    sign_in(page, server, "pat2")
    page.get_by_role("radio", name="All on one page").click()
    settle(page)
    pain = page.get_by_role("spinbutton", name="Hip pain, left (0-10)", exact=True)
    pain.fill("3.5")
    page.get_by_role("spinbutton", name="Low back pain (0-10)", exact=True).fill("4")
    page.get_by_role("button", name="Save check-in").click()
    settle(page)
    expect(page.get_by_text("Hip pain, left: must be a whole number of points out of 10, with no "
                            "decimals; you entered 3.5/10").first).to_be_visible()  # fmt: skip
    expect(page.get_by_text("Saved:")).to_have_count(0)
    expect(pain).to_have_value("3.5")  # shown as typed, to be corrected
    expect(page.get_by_role("spinbutton", name="Low back pain (0-10)", exact=True)).to_have_value("4")


def test_patient_sees_only_their_own_data_on_every_page(server, page):
    sign_in(page, server, "pat1")
    for text in visit_every_page(page):
        for other in ("P0002", "P0003", "P0004", "P0005", "P0006"):
            assert other not in text
    shoot(page, "patient-progress")


def test_therapist_sees_only_assigned_patients(server, page):
    sign_in(page, server, "tom")
    for text in visit_every_page(page):
        for other in ("P0001", "P0002", "P0005"):
            assert other not in text


def test_wrong_password_gets_nothing(server, page):
    sign_in(page, server, "tess", "not-the-password")
    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)


def test_locked_account_stays_locked_with_the_right_password(server, page):
    for _ in range(5):
        sign_in(page, server, "locky", "wrong-password")
    sign_in(page, server, "locky")
    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)


def test_admin_sees_users_and_audit(server, page):
    sign_in(page, server, "ada")
    menu = page.locator("[data-testid='stSidebarNav'] a")
    expect(menu.filter(has_text="Progress")).to_have_count(1)
    expect(menu.filter(has_text="My progress")).to_have_count(0)  # a patient's own page only
    page.get_by_role("link", name="Users").click()
    settle(page)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert "argon2" not in page.content()
    page.get_by_role("link", name="Audit").click()
    settle(page)
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()


def test_therapist_reviews_a_patient_and_downloads_an_offline_report(server, page, browser, tmp_path):
    sign_in(page, server, "tess")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    shoot(page, "therapist-caseload")
    page.get_by_role("button", name="Open review").click()
    settle(page)
    expect(page.get_by_role("heading", name="Patient review")).to_be_visible()
    page.get_by_role("tab", name="Goals").click()
    page.get_by_role("spinbutton", name="Target value", exact=True).fill("45")
    page.get_by_role("button", name="Add goal").click()
    settle(page)
    page.get_by_role("tab", name="Notes").click()
    page.get_by_role("textbox", name="Note", exact=True).fill("Good week; progress the band.")
    page.get_by_role("button", name="Add note").click()
    settle(page)
    expect(page.get_by_text("Good week; progress the band.")).to_be_visible()
    shoot(page, "therapist-review")
    page.get_by_role("tab", name="Report").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download report (HTML)").click()
    report = tmp_path / "report.html"
    info.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert "Good week; progress the band." in html and "45.0" in html
    offline = browser.new_context(offline=True)
    viewer = offline.new_page()
    blocked = []
    viewer.route("http*://**", lambda route: (blocked.append(route.request.url), route.abort()))
    viewer.goto(report.as_uri())
    viewer.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
    assert viewer.locator(".js-plotly-plot").count() >= 3
    assert blocked == []
    viewer.screenshot(path=str(SHOTS / "report.png"), full_page=False)
    offline.close()


def test_every_request_goes_to_the_apps_own_origin(server, page):
    """A clinic's browser talks to the clinic's server only: no font server, no CDN, not even for the icon."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, server, "ada")
    visit_every_page(page)
    page.reload()
    settle(page)
    elsewhere = [
        u for u in requests if not u.startswith(server + "/") and not u.startswith(("data:", "blob:"))
    ]
    assert requests and elsewhere == []
    icon = page.locator("link[rel~='icon']").first.get_attribute("href")
    assert icon.startswith("data:image/svg+xml") or icon.startswith(server)


def test_a_name_with_an_entity_shows_as_typed(server, page):
    sign_in(page, server, AMP_USER)
    caption = page.locator("[data-testid='stSidebar']").get_by_text("Signed in as", exact=False)
    assert caption.inner_text() == f"Signed in as {AMP_USER} (therapist)"


@pytest.mark.parametrize("width", [390, 1280])
def test_a_bad_upload_lists_its_first_problems_and_downloads_all_of_them(server, browser, tmp_path, width):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, server, "tess")
    page.get_by_role("link", name="Data").click()
    settle(page)
    page.set_viewport_size({"width": width, "height": 900})  # a narrow window hides the sidebar's links
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient_id,date,measure,side,value,note\n" + "=1+2,2026-01-05,hip_flexion,left,999,@x\n" * 1200
    )
    page.get_by_role("region", name="Readings CSV").get_by_test_id(
        "stFileUploaderDropzoneInput"
    ).set_input_files(str(bad))
    settle(page)
    expect(page.get_by_text("Nothing was imported: 1,200 problems in 1,200 rows to fix.")).to_be_visible()
    expect(page.get_by_text("The first 1,000 problems")).to_be_visible()
    shoot(page, f"data-upload-problems-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    with page.expect_download() as info:
        page.get_by_role("button", name="Download all 1,200 problems as CSV").click()
    saved = tmp_path / "problems.csv"
    info.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,column,value,message" and len(lines) == 1201
    assert lines[1] == '2,value,999,"Hip flexion (hip_flexion), left: must be a number from 0° to 160°"'
    context.close()


def test_a_table_offers_search_and_full_screen_but_no_unescaped_download(server, page):
    """Streamlit's table toolbar would write its own CSV, without the spreadsheet-safe escaping."""
    sign_in(page, server, "tess")
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    table.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.get_by_role("button", name="Fullscreen")).to_be_visible()
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)


# Greedy word wrap (as the grid wraps a cell) of a cell's text in the app's font, in a real browser: the
# number of lines the text takes in a column `width` px wide (8.5 px padding each side).
WRAPPED_LINES = """([text, width]) => {
    const pen = document.createElement("canvas").getContext("2d");
    pen.font = "14px " + getComputedStyle(document.body).fontFamily;
    let lines = 1, line = "";
    for (const word of text.split(" ")) {
        const longer = line ? line + " " + word : word;
        if (line && pen.measureText(longer).width > width - 17) { lines += 1; line = word; } else line = longer;
    }
    return lines;
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_a_patient_with_every_flag_shows_all_of_them_in_the_caseload(server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    page = context.new_page()
    sign_in(page, server, "fran")
    grid = page.get_by_test_id("stDataFrame")
    expect(grid).to_be_visible()
    settle(page)
    shoot(page, f"caseload-every-flag-{width}")
    flags = grid.get_by_test_id("glide-cell-3-0")  # the grid's accessible copy of the first row's Flags cell
    assert flags.text_content() == " · ".join(BADGES[f] for f in BADGES if f != "never_logged")
    columns = ui.caseload_columns()
    flags_width = columns["badges"]["width"]
    assert page.evaluate(WRAPPED_LINES, [flags.text_content(), flags_width]) <= 3  # all fit a 65 px row
    assert ui.CASELOAD_ROW_HEIGHT > 64  # Streamlit wraps cell text only in rows taller than 4rem
    scroller = grid.locator(".dvn-scroller")
    content, shown = scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
    if width == 1280:
        assert content <= shown  # all ten columns, no sideways scrolling
    else:  # the row marker, patient, days and flags on the screen; the rest scrolls sideways
        marker = content - sum(c["width"] for c in columns.values())
        assert marker + sum(columns[c]["width"] for c in ("patient", "days_since_checkin", "badges")) <= shown
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    context.close()
