"""Weekly check-in: range of motion, field tests, pain, exercises, context and a note. Nothing saved while any error remains."""

from datetime import date

import streamlit as st

from hipdata import catalog, checkin, ui
from hipdata.contract import ValidationError
from hipdata.text import counted

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
last_week = checkin.previous_values(history, day)
context = checkin.usual_context(history)
gen = st.session_state.setdefault("checkin_gen", 0)  # new widget keys after a save give an empty form
errors: dict[str, str] = st.session_state.get("checkin_errors", {})
ui.lefs_form(actor, patient, day)
ui.psfs_form(actor, patient, day)

with st.form(f"checkin-{gen}"):
    values: dict[tuple[str, str], float | None] = {}
    for group, title in catalog.GROUP_LABELS.items():
        st.subheader(title)
        for m in (m for m in catalog.MEASURES.values() if m.group == group):
            sides = m.sides or ("",)
            columns = st.columns(len(sides))
            for side, column in zip(sides, columns, strict=True):
                key = checkin.field_key(m.id, side)
                before = last_week.get((m.id, side))
                values[(m.id, side)] = column.number_input(
                    checkin.field_label(m, side),
                    value=None,
                    step=1 if m.whole_numbers else 0.5,
                    key=f"{key}-{gen}",
                    placeholder=f"last week {before:g}" if before is not None else "not measured",
                    help=f"Allowed {m.valid_min:g} to {m.valid_max:g} {m.unit_label}. MDC {m.mdc:g}.",
                )
                if key in errors:
                    column.error(ui.md_escape(errors[key]))

    st.subheader("Exercises this week")
    programme = store.records(actor, "programme", patient)
    if len(programme):
        st.caption("Your programme: " + ui.md_escape(checkin.programme_summary(programme)))
    exercises = st.data_editor(
        checkin.exercise_table(store.records(actor, "exercise_log", patient), programme, day),
        num_rows="dynamic",
        key=f"exercises-{gen}",
        hide_index=True,
        width="stretch",
        column_config=ui.exercise_columns(),
    )
    if "exercises" in errors:
        st.error(ui.md_escape(errors["exercises"]))

    st.subheader("How you measured")
    chosen_context = {}
    columns = st.columns(2)
    for i, (field, choices) in enumerate(catalog.CONTEXT_CHOICES.items()):
        options = [None, *choices]
        chosen_context[field] = columns[i % 2].selectbox(
            field.replace("_", " ").capitalize(),
            options,
            index=options.index(context.get(field)),
            format_func=lambda c: "not recorded" if c is None else c.replace("_", " "),
            key=f"{field}-{gen}",
        )
    note = st.text_area(
        "Note", key=f"note-{gen}", max_chars=2000, placeholder="Anything that affected this week"
    )
    submitted = st.form_submit_button("Save check-in", type="primary")

if submitted:
    try:
        readings, log = checkin.clean_checkin(patient, shown, values, chosen_context, note, exercises)
    except ValidationError as error:
        st.session_state["checkin_errors"] = checkin.errors_by_field(error)
        st.session_state.pop("checkin_saved", None)
        st.rerun()
    else:
        store.save_checkin(actor, patient, checkin.monday(day), readings, log)
        st.session_state["checkin_saved"] = (readings, log)
        st.session_state["checkin_errors"] = {}
        st.session_state["checkin_gen"] = gen + 1
        st.rerun()

if errors:
    st.error("Nothing was saved. Fix the fields marked above: " + ui.md_escape("; ".join(errors.values())))
saved = st.session_state.get("checkin_saved")
if saved:
    readings, log = saved
    st.success(
        f"Saved: {counted(len(readings), 'reading')}"
        + (f" and {counted(len(log), 'exercise')}." if log is not None else ".")
    )
    st.dataframe(checkin.saved_table(readings), hide_index=True, width="stretch")
    if log is not None and len(log):
        st.dataframe(checkin.log_table(log), hide_index=True, width="stretch")

st.subheader("This week's entries")
this_week = checkin.week_rows(store.readings(actor, patient), day)
if this_week.empty:
    st.caption("Nothing logged for this week yet.")
else:
    st.caption("Correct a value or tick Delete, then save the corrections.")
    edited = st.data_editor(
        checkin.corrections_table(this_week),
        hide_index=True,
        width="stretch",
        key=f"corrections-{gen}",
        disabled=["id", "Measure", "Side", "Date"],
        column_config={"id": None},
    )
    if st.button("Save corrections"):
        try:
            changed = checkin.apply_corrections(store, actor, this_week, edited)
        except ValidationError as error:
            ui.show_problems(error)
        else:
            st.session_state["checkin_gen"] = gen + 1
            st.toast(f"{counted(changed, 'correction')} saved.")
            st.rerun()

st.caption(f"Week of {checkin.monday(day):%d %b %Y}. Readings are grouped by ISO week (Monday to Sunday).")
