"""Weekly check-in: step by step on a phone, or every measure on one page for clinic measurements."""

from datetime import date

import streamlit as st

from hipdata import checkin, ui, ui_checkin
from hipdata.contract import ValidationError

actor = ui.require_actor()
store = ui.store()
st.title("Weekly check-in")
patient = ui.pick_patient(actor)
if patient is None:
    st.stop()

today = date.today()
# A text field: a date picker with limits keeps its last valid date while showing the one typed.
shown = st.text_input(checkin.DATE_LABEL, value=today.isoformat(), max_chars=10, placeholder="YYYY-MM-DD")
try:
    day, day_error = checkin.checkin_day(shown, today), None
except ValidationError as error:
    day, day_error = today, error.problems[0].message  # the rest of the page shows this week meanwhile
if day_error:
    st.error(ui.md_escape(day_error))
history = store.readings(actor, patient)
last = checkin.last_readings(history, day)
ui.lefs_form(actor, patient, day)
ui.psfs_form(actor, patient, day)
ui_checkin.saved_confirmation()

if ui_checkin.choose_mode(actor) == ui_checkin.STEP_BY_STEP:
    ui_checkin.step_flow(actor, patient, day, shown, last)
else:
    ui_checkin.one_page_form(actor, patient, day, shown, history, last)

ui_checkin.corrections(actor, patient, day)
ui_checkin.reminder_download(patient)
st.caption(f"Week of {checkin.monday(day):%d %b %Y}. Readings are grouped by ISO week (Monday to Sunday).")
