"""In Chromium: download the FHIR Bundle from the review page, import it on the Data page of an empty database."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from hipdata import psfs
from hipdata.auth import SYSTEM
from hipdata.contract import READING_COLUMNS
from hipdata.demo import load_demo
from hipdata.fhir import read_fhir
from hipdata.store import Store
from tests.test_browser import ARGS, CHROMIUM, PASSWORD, cli, serving, settle, shoot, sign_in

pytestmark = pytest.mark.browser
COLUMNS = list(READING_COLUMNS)


def clinic(db: str) -> None:
    """One therapist's patient with readings, a LEFS and two PSFS assessments."""
    store = Store(db)
    load_demo(store, SYSTEM, patients=1, weeks=6, seed=5)
    start = date.today() - timedelta(weeks=4)
    for n, ratings in enumerate([[2, 4, 5], [4, 5, 7]]):
        day = start + timedelta(weeks=2 * n)
        store.add_records(SYSTEM, "psfs", psfs.row("P0001", day, ["Squat", "Hike the ridge", "Run"], ratings))
    lefs = pd.DataFrame(
        {"patient_id": ["P0001"], "date": [pd.Timestamp(start)], "answers": ["3" * 20], "total": [60]}
    )
    store.add_records(SYSTEM, "lefs", lefs)
    store.close()
    cli(db, "users", "add", "tess", "--role", "therapist", stdin=PASSWORD)
    cli(
        db,
        "users",
        "add",
        "pat1",
        "--role",
        "patient",
        "--patient",
        "P0001",
        "--therapist",
        "tess",
        stdin=PASSWORD,
    )


def test_fhir_bundle_goes_from_the_review_page_to_the_data_page_of_an_empty_database(new_db, tmp_path):
    source, target = new_db("source"), new_db("target")
    clinic(source)
    cli(target, "users", "add", "ada", "--role", "admin", stdin=PASSWORD)
    bundle = tmp_path / "bundle.json"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        with serving(source) as (url, _):
            context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = context.new_page()
            sign_in(page, url, "tess")
            expect(page.get_by_role("heading", name="Caseload")).to_be_visible()  # not mid-run
            page.get_by_role("button", name="Open review").click()
            settle(page)
            expect(page.get_by_role("heading", name="Patient review")).to_be_visible()
            page.get_by_role("tab", name="PSFS").click()
            settle(page)
            expect(
                page.get_by_role("tabpanel", name="PSFS").get_by_text("PSFS score (mean of your activities)")
            ).to_be_visible(timeout=15_000)
            shoot(page, "review-psfs")
            page.get_by_role("tab", name="Report").click()
            with page.expect_download() as info:
                page.get_by_role("button", name="Download FHIR R4 Bundle (JSON)").click()
            info.value.save_as(bundle)
            context.close()

            phone = chromium.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            page = phone.new_page()
            sign_in(page, url, "pat1")
            page.get_by_text("Rate your activities (PSFS)").click()
            expect(page.get_by_label("Hike the ridge (0-10)")).to_be_visible(timeout=20_000)
            shoot(page, "checkin-psfs-phone")
            phone.close()
        records = read_fhir(bundle.read_bytes())
        assert len(records.readings) > 50 and len(records.psfs) == 2 and len(records.lefs) == 1

        with serving(target) as (url, _):
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            sign_in(page, url, "ada")
            page.locator("[data-testid='stSidebarNav'] a", has_text="Data").click()
            settle(page)
            page.locator("[data-testid='stFileUploader'] input[type='file']").nth(1).set_input_files(
                str(bundle)
            )
            settle(page)
            expect(page.get_by_text("all valid")).to_be_visible(timeout=20_000)
            page.get_by_role("button", name="Import FHIR file").click()
            settle(page)
            added = len(records.readings) + 3
            expect(
                page.get_by_text(f"Imported {added} records (0 already present, 1 new patients).")
            ).to_be_visible()
            shoot(page, "data-fhir-import")
            context.close()
        chromium.close()

    # the servers are stopped: compare the two databases
    ours, theirs = Store(source), Store(target)
    key = COLUMNS[:5]
    pd.testing.assert_frame_equal(
        ours.readings(SYSTEM)[COLUMNS].sort_values(key).reset_index(drop=True),
        theirs.readings(SYSTEM)[COLUMNS].sort_values(key).reset_index(drop=True),
    )
    for table in ("lefs", "psfs"):
        drop = ["id", "entered_at", "entered_by"]
        pd.testing.assert_frame_equal(ours.records(SYSTEM, table).drop(columns=drop),
                                      theirs.records(SYSTEM, table).drop(columns=drop))  # fmt: skip
