"""The step-by-step check-in on a phone in real Chromium: 390x844, touch, and the motion sensor emulated
through the DevTools protocol (set before the page loads), then the saved readings read back from the store.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from hipdata.auth import SYSTEM
from hipdata.store import Store
from tests.test_browser import ARGS, CHROMIUM, SHOTS, cli, serving, settle, sign_in

pytestmark = pytest.mark.browser
WIDTH = 390


@pytest.fixture
def clinic(new_db):
    """A patient on the default plan, with weeks of demo readings, and the app serving them."""
    db = new_db("phone")
    cli(db, "demo", "--patients", "2", "--weeks", "6", "--seed", "5")
    cli(db, "users", "add", "pat1", "--role", "patient", "--patient", "P0001", stdin="rehab-password-1")
    with serving(db) as (url, stop):
        yield url, db, stop


@pytest.fixture
def phone():
    """A phone-sized touch page whose orientation sensor the test sets through CDP."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(
            viewport={"width": WIDTH, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=1
        )
        page = context.new_page()
        cdp = context.new_cdp_session(page)

        def tilt(beta: float = 0, gamma: float = 0) -> None:
            cdp.send(
                "DeviceOrientation.setDeviceOrientationOverride", {"alpha": 0, "beta": beta, "gamma": gamma}
            )

        tilt(0, 0)  # before the page loads
        yield page, tilt
        browser.close()


def shoot(page: Page, name: str) -> None:
    """The whole step in one picture: the app scrolls inside its main panel, so grow the window to fit it."""
    SHOTS.mkdir(exist_ok=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH + 1, f"{name}: sideways scrolling"
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(844, height)})
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": WIDTH, "height": 844})


def field(page: Page, label: str):
    return page.get_by_role("spinbutton", name=label, exact=True)


def next_step(page: Page, number: int) -> None:
    shoot(page, f"checkin-step-{number}")
    page.get_by_role("button", name="Next").scroll_into_view_if_needed()
    page.get_by_role("button", name="Next").tap()
    settle(page)
    # the new step's progress line comes into view, not the buttons the patient just tapped
    expect(page.get_by_text(re.compile(rf"^{number + 1} of \d+$"))).to_be_in_viewport()


def measure_with_phone(
    page: Page, tilt, series: str, zero: tuple, moved: tuple, expected: int, near: tuple | None = None
) -> None:
    """Zero the phone in the start position, move it, hold still, and use the steady angle.

    Held still in the start position after Set zero (or at `near`, under 5 degrees from it), the phone
    offers no angle: a tap on Set zero by mistake must not let 0 degrees be saved.
    """
    widget = page.locator(f".incl[data-series='{series}']")  # this step's, not the last step's on its way out
    widget.get_by_role("button", name="Measure with phone").tap()
    listening = re.compile("Waiting for the motion sensor|Hold the phone in the start position")
    expect(widget.get_by_text(listening)).to_be_visible()
    tilt(*zero)
    expect(widget.get_by_text("Hold the phone in the start position, then tap Set zero.")).to_be_visible()
    page.wait_for_timeout(300)  # the zero reading delivered
    use = widget.get_by_role("button", name="Use this angle")
    expect(use).to_be_disabled()  # nothing to use before the zero
    widget.get_by_role("button", name="Set zero").tap()
    move_on = widget.get_by_text("Zero set: now move to the test position and hold still.", exact=False)
    for still in (zero, near) if near else (zero,):
        tilt(*still)
        page.wait_for_timeout(1_500)  # longer than a steady hold
        expect(move_on).to_be_visible()
        expect(widget.get_by_text("Steady at")).to_have_count(0)
        expect(use).to_be_disabled()
    if near:
        shoot(page, "checkin-phone-zero-set")
    tilt(*moved)
    expect(widget.get_by_text(f"Steady at {expected}°. Tap Use this angle.")).to_be_visible(timeout=5_000)
    expect(use).to_be_enabled()
    use.tap()


def test_patient_completes_the_default_plan_with_the_phone_inclinometer(clinic, phone):
    url, db, stop = clinic
    page, tilt = phone
    sign_in(page, url, "pat1")
    expect(page.get_by_text("1 of 10")).to_be_visible()
    expect(page.get_by_text("Last reading:")).to_be_visible()
    field(page, "Forward fold: fingertip-to-floor distance (cm)").fill("12.5")
    next_step(page, 1)
    field(page, "Figure-four (FABER): knee-to-floor distance, left (cm)").fill("14")
    next_step(page, 2)
    field(page, "Figure-four (FABER): knee-to-floor distance, right (cm)").fill("15.5")
    next_step(page, 3)

    angles = {  # series: (zero orientation, moved orientation, the angle between them, held near zero)
        ("hip_internal_rotation:left", "Hip internal rotation, left (°)"): ((0, 0), (35, 0), 35, None),
        ("hip_internal_rotation:right", "Hip internal rotation, right (°)"): ((20, 0), (110, 0), 90, None),
        ("hip_external_rotation:left", "Hip external rotation, left (°)"): ((10, 5), (40, 5), 30, (13, 5)),
        ("hip_external_rotation:right", "Hip external rotation, right (°)"): ((0, -15), (0, 27), 42, None),
    }  # zeroed level, zeroed tilted, held 3 degrees off the zero first, the other axis
    for number, ((series, label), (zero, moved, expected, near)) in enumerate(angles.items(), start=4):
        measure_with_phone(page, tilt, series, zero, moved, expected, near)
        settle(page)
        expect(field(page, label)).to_have_value(f"{expected:.1f}")
        next_step(page, number)

    expect(page.get_by_role("heading", name="Pain this week")).to_be_visible()
    field(page, "Low back pain (0-10)").fill("2")
    field(page, "Hip pain, left (0-10)").fill("3")
    next_step(page, 8)
    expect(page.get_by_role("heading", name="Exercises this week")).to_be_visible()
    page.set_viewport_size({"width": 375, "height": 844})  # the exercise cards on the narrowest phone
    settle(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    card = page.locator("[class*='st-key-wiz-card-']").first
    assert card.bounding_box()["x"] + card.bounding_box()["width"] <= 375
    page.set_viewport_size({"width": WIDTH, "height": 844})
    next_step(page, 9)
    expect(page.get_by_role("heading", name="Check and save")).to_be_visible()
    page.get_by_role("textbox", name="Note").fill("Stiff at first, better after the warm-up")
    shoot(page, "checkin-step-10")
    page.get_by_role("button", name="Save check-in").tap()
    settle(page)
    expect(page.get_by_text("Saved: 9 readings")).to_be_in_viewport()  # not left above the new step 1
    expect(page.get_by_text("Note: Stiff at first, better after the warm-up")).to_be_visible()
    shoot(page, "checkin-saved")

    stop()  # DuckDB: one process opens the file; read it back once the app has let go
    store = Store(db)
    try:
        saved = store.readings(SYSTEM, "P0001")
    finally:
        store.close()
    today = saved[(saved["date"].dt.date == date.today()) & (saved["entered_by"] == "pat1")]
    got = {
        (r.measure, r.side): (r.value, r.method, r.position, r.mode, r.measured_by)
        for r in today.itertuples()
    }
    phone_reading = ("inclinometer", "seated", "active", "self")
    expected = {
        ("fingertip_to_floor", ""): (12.5, "tape_measure", "standing", "active", "self"),
        ("figure_four", "left"): (14.0, "tape_measure", "supine", "passive", "self"),
        ("figure_four", "right"): (15.5, "tape_measure", "supine", "passive", "self"),
        ("hip_internal_rotation", "left"): (35.0, *phone_reading),
        ("hip_internal_rotation", "right"): (90.0, *phone_reading),
        ("hip_external_rotation", "left"): (30.0, *phone_reading),
        ("hip_external_rotation", "right"): (42.0, *phone_reading),
        ("pain_low_back", ""): (2.0, None, None, None, "self"),
        ("pain_hip", "left"): (3.0, None, None, None, "self"),
    }
    assert set(got) == set(expected)
    for series, (value, *context) in expected.items():
        assert abs(got[series][0] - value) <= 0.5, series
        assert [None if c != c else c for c in got[series][1:]] == context, series


def test_without_https_or_without_a_sensor_the_phone_says_why_and_typing_still_works(clinic):
    url, _, _ = clinic
    port = url.rsplit(":", 1)[1]
    # A name other than localhost is not a secure origin over plain http, as a clinic's LAN address would be.
    args = [*ARGS, "--host-resolver-rules=MAP clinic.test 127.0.0.1"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        for address, message in (
            (f"http://clinic.test:{port}", "only works when this page is opened over HTTPS"),
            (url, "No motion sensor answers on this device"),  # a desktop browser with no sensor emulated
        ):
            page = browser.new_context(viewport={"width": WIDTH, "height": 844}, has_touch=True).new_page()
            sign_in(page, address, "pat1")
            for number in (2, 3, 4):
                page.get_by_role("button", name="Next").click()
                settle(page)
                expect(page.get_by_text(f"{number} of 10")).to_be_visible()
            expect(page.get_by_role("heading", name="Hip internal rotation, left")).to_be_visible()
            widget = page.locator(".incl[data-series='hip_internal_rotation:left']")
            widget.get_by_role("button", name="Measure with phone").click()
            expect(widget.get_by_role("alert")).to_contain_text(message, timeout=5_000)
            expect(widget.get_by_text("Type the angle in the field")).to_be_visible()
            field(page, "Hip internal rotation, left (°)").fill("33")
            page.get_by_role("button", name="Next").click()
            settle(page)
            expect(page.get_by_text("5 of 10")).to_be_visible()
            page.context.close()
        browser.close()


def test_enter_in_a_psfs_field_does_not_save_the_psfs(clinic, phone):
    """The phone keyboard's Enter (Go) moves on or closes the keyboard; only the button saves the ratings."""
    url, db, stop = clinic
    page, _ = phone
    sign_in(page, url, "pat1")
    page.get_by_text("Name the activities you find hard (PSFS)").tap()
    for i, name in enumerate(["Squat to pick up my child", "Run 5 km", "Kneel in the garden"], start=1):
        page.get_by_role("textbox", name=f"Activity {i}", exact=True).fill(name)
        page.get_by_role("textbox", name=f"Activity {i}", exact=True).press("Enter")
        field(page, f"Rating of activity {i} (0-10)").fill(str(i + 2))
        field(page, f"Rating of activity {i} (0-10)").press("Enter")
        settle(page)
    expect(page.get_by_text("PSFS saved")).to_have_count(0)
    expect(page.get_by_text("Nothing was saved")).to_have_count(0)
    shoot(page, "checkin-psfs-after-enter")
    page.get_by_role("button", name="Save activity ratings").tap()
    settle(page)
    expect(page.get_by_text("PSFS saved: score 4.0/10.")).to_be_visible()

    stop()
    store = Store(db)
    try:
        assert len(store.records(SYSTEM, "psfs", "P0001")) == 1
    finally:
        store.close()
