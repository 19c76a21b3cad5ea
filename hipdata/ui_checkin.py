"""Streamlit glue of the weekly check-in: the step-by-step flow, the single-page clinic form, the reminder.

The step-by-step flow keeps what the patient entered in session state of its own (Streamlit forgets the
state of a widget that is not drawn), so going Back loses nothing; nothing is written before "Save check-in".
Every rule and message comes from hipdata.checkin and hipdata.validate, the same as for the clinic form.
"""

from __future__ import annotations

from datetime import date, time

import pandas as pd
import streamlit as st

from hipdata import catalog, checkin, howto, plan, reminder, ui
from hipdata.auth import Actor
from hipdata.contract import ValidationError
from hipdata.text import counted
from hipdata.ui_inclinometer import big_number_fields, inclinometer, step_top

STEP_BY_STEP, ONE_PAGE = "Step by step", "All on one page"
_STATE = ("wiz_values", "wiz_phone", "wiz_cards", "wiz_added")


def choose_mode(actor: Actor) -> str:
    """Patients start step by step; therapists entering clinic measurements start on the one-page form."""
    options = [STEP_BY_STEP, ONE_PAGE]
    default = STEP_BY_STEP if actor.role == "patient" else ONE_PAGE
    return st.segmented_control("Check-in", options, default=default, key="checkin_mode") or default


# ---- step by step ----------------------------------------------------------------------------------------


def _state() -> tuple[dict, dict, dict, list]:
    s = st.session_state
    return tuple(s.setdefault(name, [] if name == "wiz_added" else {}) for name in _STATE)


def _field_key(series: tuple[str, str]) -> str:
    return "wiz-field-" + checkin.field_key(*series).replace(":", "-")


def _placeholder(before: tuple[float, date] | None) -> str:
    """The latest earlier reading in an empty field, with its date: it may be from this week or months ago."""
    return f"last {before[0]:g} on {before[1]:%d %b}" if before else "not measured"


def _last_reading(value: str, day: date) -> str:
    return f"Last reading: {value} on {day:%d %b %Y}"


def _number(series, values: dict, before: tuple[float, date] | None, error: str | None) -> None:
    """A number field whose value lives in `values`, so it survives the steps where it is not drawn."""
    m = catalog.MEASURES[series[0]]
    key = _field_key(series)
    if key not in st.session_state:
        st.session_state[key] = values.get(series)
    values[series] = st.number_input(
        checkin.field_label(m, series[1]),
        key=key,
        placeholder=_placeholder(before),
        help=checkin.field_help(m),
        **number_field(m, "%.1f"),
    )
    if error:
        st.error(ui.md_escape(error))


def number_field(m: catalog.Measure, decimal_format: str | None = None) -> dict:
    """The step and format of a measure's number field, always a float field: an integer field truncates a
    typed 3.5 to 3 in the browser before any rule sees it, so a pain of 3.5 would be saved as 3 unasked;
    as a float it reaches the rules, which refuse it with their message."""
    if m.whole_numbers:
        return {"step": 1.0, "format": "%g"}  # 3 shows as 3, and a typed 3.5 stays 3.5
    return {"step": 0.5, **({"format": decimal_format} if decimal_format else {})}


def _howto(measure_id: str) -> None:
    guide, protocol = howto.howto(measure_id), catalog.PROTOCOLS[measure_id]
    with st.expander("How to measure", expanded=True, icon=":material/help:"):
        st.image(howto.drawing(measure_id), width=420)  # the full column on a phone, no more on a desktop
        st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(guide.steps(), start=1)))
        st.markdown("**Avoid**\n" + "\n".join(f"- {mistake}" for mistake in guide.mistakes))
        st.caption(f"Protocol: {protocol.text}. Source: {protocol.source}.")


def _measure_step(step: plan.Step, values: dict, phone: dict, last: dict, errors: dict) -> None:
    series = step.series[0]
    m = catalog.MEASURES[series[0]]
    before = last.get(series)
    st.caption(
        _last_reading(ui.format_value(m.id, before[0]), before[1]) if before else "No earlier reading."
    )
    _howto(m.id)
    if catalog.PROTOCOLS[m.id].method == "inclinometer":
        angle = inclinometer(key="wiz-phone-" + checkin.field_key(*series), series=checkin.field_key(*series))
        if angle is not None:  # set before the field is drawn, so the field shows it
            values[series] = phone[series] = angle
            st.session_state[_field_key(series)] = angle
    _number(series, values, before, errors.get(checkin.field_key(*series)))


def _pain_step(step: plan.Step, values: dict, last: dict, errors: dict) -> None:
    st.caption("0 = no pain, 10 = the worst pain you can imagine. Leave a region empty if you are unsure.")
    with st.expander("How to rate pain"):
        st.image(howto.drawing(step.series[0][0]), width=420)
        st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(howto.howto("pain_hip").steps(), start=1)))
    for series in step.series:
        before = last.get(series)
        _number(series, values, before, errors.get(checkin.field_key(*series)))
        if before:
            st.caption(_last_reading(f"{before[0]:g}", before[1]))  # the field says 0-10


def _exercise_step(exercises: list[str], cards: dict, added: list, errors: dict) -> None:
    """One card per exercise with sessions and dose: readable at 375 px, nothing cut off."""
    from hipdata.validate import BAND_LEVELS

    if not exercises:
        st.caption("No exercises in your programme. Add one below if you did any.")
    labels = {"sessions": "Sessions this week", "sets": "Sets", "reps": "Reps", "seconds": "Seconds",
              "band_level": "Band", "load_kg": "Load kg"}  # fmt: skip
    for exercise in exercises:
        e = catalog.EXERCISES[exercise]
        with st.container(border=True, key=f"wiz-card-{exercise}"):
            st.markdown(f"**{e.label}**")
            st.caption(f"Dose: {e.dose}. Leave empty if you did not do it.")
            for column in checkin.dose_fields(exercise):
                key = f"wiz-ex-{exercise}-{column}"
                if key not in st.session_state:
                    st.session_state[key] = cards.get((exercise, column))
                if column == "band_level":
                    cards[(exercise, column)] = st.selectbox(
                        labels[column], list(BAND_LEVELS), index=None, key=key
                    )
                else:
                    step = 0.5 if column == "load_kg" else 1
                    cards[(exercise, column)] = st.number_input(labels[column], step=step, key=key)
    if "exercises" in errors:
        st.error(ui.md_escape(errors["exercises"]))
    others = [e for e in catalog.EXERCISES if e not in exercises]
    extra = st.selectbox(
        "Add an exercise", others, index=None, format_func=lambda e: catalog.EXERCISES[e].label,
        key="wiz-add-exercise", placeholder="Choose an exercise you also did",
    )  # fmt: skip
    if extra and extra not in added:
        added.append(extra)
        st.rerun()


def _contexts(values: dict, phone: dict, actor: Actor) -> dict:
    rater = "self" if actor.role == "patient" else "therapist"
    return {
        s: checkin.protocol_context(s, by_phone=phone.get(s) == v, rater=rater)
        for s, v in values.items()
        if v is not None
    }


def _reset() -> None:
    for name in (*_STATE, "wiz_step", "wiz_errors", "wiz_cards_seeded"):
        st.session_state.pop(name, None)
    for key in [k for k in st.session_state if str(k).startswith(("wiz-field-", "wiz-ex-", "wiz-add"))]:
        del st.session_state[key]


def step_flow(actor: Actor, patient: str, day: date, shown: str, last: dict) -> None:
    """The phone-first check-in: one measure per step, a summary, then one save.

    `day` is the date the page works with; `shown` is the date as the field shows it, which is what a save
    stores (or refuses): never a date the patient does not see. `last`: checkin.last_readings.
    """
    store = ui.store()
    big_number_fields()
    values, phone, cards, added = _state()
    plans = store.records(actor, "plans", patient)
    more = st.toggle("More measures", key="wiz_more", help="Also ask for the measures outside your plan.")
    steps = plan.steps(tuple(catalog.series_keys()) if more else plan.current(plans, patient))
    log = store.records(actor, "exercise_log", patient)
    exercises = checkin.card_exercises(store.records(actor, "programme", patient), log, day, added)
    if not cards and not st.session_state.get("wiz_cards_seeded"):
        cards.update(checkin.this_week_values(log, day))
        st.session_state["wiz_cards_seeded"] = True
    total = len(steps) + 1  # the summary is the last step
    index = min(st.session_state.get("wiz_step", 0), total - 1)
    errors: dict = st.session_state.get("wiz_errors", {})
    step_top(index)
    st.progress((index + 1) / total, text=f"{index + 1} of {total}")

    if index == total - 1:
        _summary(actor, patient, day, shown, values, phone, exercises, cards)
        if st.button("Back", icon=":material/arrow_back:", key="wiz-back"):
            st.session_state["wiz_step"] = index - 1
            st.rerun()
        return

    step = steps[index]
    st.subheader(step.title)
    if step.kind == "measure":
        _measure_step(step, values, phone, last, errors)
    elif step.kind == "pain":
        _pain_step(step, values, last, errors)
    else:
        _exercise_step(exercises, cards, added, errors)
    shown = {checkin.field_key(*series) for series in step.series} | {"exercises"}
    for field, message in errors.items():  # a problem not tied to this step's fields, e.g. the date
        if field not in shown:
            st.error(ui.md_escape(message))

    back, forward = st.columns(2)
    if index > 0 and back.button("Back", icon=":material/arrow_back:", key="wiz-back", width="stretch"):
        st.session_state["wiz_step"], st.session_state["wiz_errors"] = index - 1, {}
        st.rerun()
    if forward.button(
        "Next", type="primary", icon=":material/arrow_forward:", key="wiz-next", width="stretch"
    ):
        asked = {s: values.get(s) for s in step.series}
        table = checkin.cards_table(exercises, cards) if step.kind == "exercises" else _no_exercises()
        found = checkin.step_errors(patient, day, asked, table, contexts=_contexts(asked, phone, actor))
        st.session_state["wiz_errors"] = found
        if not found:
            st.session_state["wiz_step"] = index + 1
        st.rerun()


def _no_exercises() -> pd.DataFrame:
    return pd.DataFrame(columns=list(checkin.EXERCISE_HEADERS.values()))


def _summary(actor, patient, day, shown, values, phone, exercises, cards) -> None:
    st.subheader("Check and save")
    contexts = _contexts(values, phone, actor)
    table = checkin.cards_table(exercises, cards)
    entered = checkin.summary_lines(values, contexts)
    done = checkin.exercise_lines(table)
    st.markdown(
        "\n".join(f"- {ui.md_escape(line)}" for line in entered) if entered else "No measurements entered."
    )
    if done:
        st.markdown("**Exercises**\n" + "\n".join(f"- {ui.md_escape(line)}" for line in done))
    note = st.text_area(
        "Note", key="wiz-note", max_chars=2000, placeholder="Anything that affected this week"
    )
    errors = st.session_state.get("wiz_errors", {})
    if errors:
        st.error("Nothing was saved: " + ui.md_escape("; ".join(errors.values())))
    if st.button("Save check-in", type="primary", key="wiz-save", width="stretch"):
        try:
            readings, log = checkin.clean_checkin(
                patient, shown, values, checkin.NO_CONTEXT, note, table, contexts=contexts
            )
        except ValidationError as error:
            st.session_state["wiz_errors"] = checkin.errors_by_field(error)
        else:
            ui.store().save_checkin(actor, patient, checkin.monday(day), readings, log)
            _reset()
            st.session_state.pop("wiz-note", None)
            st.session_state["checkin_saved"] = (readings, log)
        st.rerun()


# ---- the single-page form (clinic measurements) ------------------------------------------------------------


def one_page_form(
    actor: Actor, patient: str, day: date, shown: str, history: pd.DataFrame, last: dict
) -> None:
    """Every measure on one page, with the measurement context: for clinic measurements by a therapist.
    A save stores the date as shown (see step_flow)."""
    store = ui.store()
    context = checkin.usual_context(history)
    if actor.role != "patient":
        context["measured_by"] = "therapist"
    gen = st.session_state.setdefault("checkin_gen", 0)  # new widget keys after a save give an empty form
    errors: dict[str, str] = st.session_state.get("checkin_errors", {})
    with st.form(f"checkin-{gen}", enter_to_submit=False):  # Enter in one field must not save the rest blank
        values: dict[tuple[str, str], float | None] = {}
        for group, title in catalog.GROUP_LABELS.items():
            st.subheader(title)
            for m in (m for m in catalog.MEASURES.values() if m.group == group):
                sides = m.sides or ("",)
                columns = st.columns(len(sides))
                for side, column in zip(sides, columns, strict=True):
                    key = checkin.field_key(m.id, side)
                    before = last.get((m.id, side))
                    values[(m.id, side)] = column.number_input(
                        checkin.field_label(m, side),
                        value=None,
                        key=f"{key}-{gen}",
                        placeholder=_placeholder(before),
                        help=f"{checkin.field_help(m)} MDC {m.mdc:g}.",
                        **number_field(m),
                    )
                    if key in errors:
                        column.error(ui.md_escape(errors[key]))

        st.subheader("Exercises this week")
        programme = store.records(actor, "programme", patient)
        if len(programme):
            st.caption("Programme: " + ui.md_escape(checkin.programme_summary(programme)))
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

        st.subheader("How it was measured")
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
        else:
            store.save_checkin(actor, patient, checkin.monday(day), readings, log)
            st.session_state["checkin_saved"] = (readings, log)
            st.session_state["checkin_errors"] = {}
            st.session_state["checkin_gen"] = gen + 1
        st.rerun()
    if errors:
        st.error(
            "Nothing was saved. Fix the fields marked above: " + ui.md_escape("; ".join(errors.values()))
        )


def saved_confirmation() -> None:
    saved = st.session_state.get("checkin_saved")
    if not saved:
        return
    readings, log = saved
    st.success(
        f"Saved: {counted(len(readings), 'reading')}"
        + (f" and {counted(len(log), 'exercise')}." if log is not None else ".")
    )
    keys = list(zip(readings["measure"], readings["side"], strict=True))
    values = dict(zip(keys, readings["value"], strict=True))
    contexts = dict(zip(keys, readings[["method", "position"]].to_dict("records"), strict=True))
    lines = checkin.summary_lines(values, contexts)
    lines += checkin.exercise_lines(checkin.log_table(log)) if log is not None and len(log) else []
    notes = readings["note"].dropna().unique() if "note" in readings else []
    lines += [f"Note: {note}" for note in notes]  # one note per check-in: every reading carries it
    st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in lines))


def corrections(actor: Actor, patient: str, day: date) -> None:
    """This week's readings, to correct a value or delete one."""
    store = ui.store()
    this_week = checkin.week_rows(store.readings(actor, patient), day)
    if this_week.empty:
        st.caption("Nothing logged for this week yet.")
        return
    with st.expander(f"This week's entries ({len(this_week)}): correct or delete", icon=":material/edit:"):
        _corrections_editor(store, actor, this_week)


def _corrections_editor(store, actor: Actor, this_week: pd.DataFrame) -> None:
    st.caption("Correct a value or tick Delete, then save the corrections.")
    gen = st.session_state.get("checkin_gen", 0)
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
            st.toast(f"{changed} correction(s) saved.")
            st.rerun()


# ---- weekly reminder ---------------------------------------------------------------------------------------


def reminder_download(patient: str) -> None:
    with st.expander("Add a weekly reminder to my calendar", icon=":material/event:"):
        weekday = st.selectbox(
            "Day", range(7), index=6, format_func=lambda d: reminder.WEEKDAYS[d], key="reminder-day"
        )
        at = st.time_input("Time", value=time(9, 0), step=900, key="reminder-time")
        st.download_button(
            "Add a weekly reminder to my calendar",
            reminder.weekly_reminder(weekday, at, reminder.checkin_url(), uid_seed=patient),
            file_name="hipdata-weekly-check-in.ics",
            mime="text/calendar",
            icon=":material/download:",
        )
        st.caption("Opens in your phone's calendar app: a weekly event with the link to this check-in.")
